/**
 * The historian's calls as types (GET api/history, api/history/export,
 * api/cycles, api/cycles.csv, api/historian/status) and their query strings:
 * shared/api.ts makes them with fetch; unit tests stand in for the server.
 */
import type { Cycle } from '../../../src/historian/cycles.js';
import type { CallResult } from '../shared/call-result.js';

export type SampleQuality = 'good' | 'uncertain' | 'bad' | null;
export type Resolution = 'raw' | 'minute' | 'hour';

/** One tag's samples: `t` ascending (epoch ms); `v` null is a gap (never drawn across). */
export interface HistorySeries {
  tag: string;
  unit: string;
  resolution: Resolution;
  t: number[];
  v: (number | null)[];
  q: SampleQuality[];
}

export interface HistoryAnswer {
  from: number;
  to: number;
  series: HistorySeries[];
}

/** The cycle report's rows as the server sends them (GET api/cycles). */
export type { Anomaly as CycleAnomaly, Cycle, CyclePhase } from '../../../src/historian/cycles.js';

export interface HistorianStatus {
  bytes: number;
  samples: number;
  oldest: number | null;
  /** How long each resolution is kept (ms; null: for ever) — read defensively, see retentionText. */
  retention: { raw: unknown; minute: unknown; hour: unknown };
}

export interface HistoryQuery {
  tags: readonly string[];
  from: number;
  to: number;
  points?: number;
}

export interface HistoryApi {
  history(q: HistoryQuery): Promise<CallResult<HistoryAnswer>>;
  /** Newest first. */
  cycles(from: number, to: number): Promise<CallResult<{ cycles: Cycle[] }>>;
  status(): Promise<CallResult<HistorianStatus>>;
}

/** At most this many tags in one request (the server's limit). */
export const MAX_PENS = 16;

const tagList = (tags: readonly string[]): string => tags.map(encodeURIComponent).join(',');

/** The path and query of GET api/history (relative, like every call of the HMI). */
export function historyPath(q: HistoryQuery): string {
  const points = q.points === undefined ? '' : `&points=${Math.round(q.points)}`;
  return `api/history?tags=${tagList(q.tags)}&from=${Math.floor(q.from)}&to=${Math.ceil(q.to)}${points}`;
}

/** The CSV export of the same pens and period. */
export function exportPath(tags: readonly string[], from: number, to: number): string {
  return `api/history/export?tags=${tagList(tags)}&from=${Math.floor(from)}&to=${Math.ceil(to)}`;
}

export const cyclesPath = (from: number, to: number): string => `api/cycles?from=${Math.floor(from)}&to=${Math.ceil(to)}`;
export const cyclesCsvPath = (from: number, to: number): string => `api/cycles.csv?from=${Math.floor(from)}&to=${Math.ceil(to)}`;
