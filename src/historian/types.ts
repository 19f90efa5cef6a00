/**
 * The historian's storage interface. SQLite (sqlite.ts) is the embedded
 * default; PostgreSQL (postgres.ts) is behind the same interface, which is
 * why everything that reads is asynchronous, and store-and-forward
 * (store-and-forward.ts) wraps any of them. Appending is synchronous and only
 * buffers: a sample is acknowledged (survives a crash) once a `flush()` that
 * started after it resolves.
 */
import { type ErrorCode, PlantaError } from '../errors.js';
import { QUALITIES, type Quality } from '../tags/quality.js';
import type { Samples } from './codec.js';

export type { Samples };

export type RollupResolution = 'minute' | 'hour';
export type Resolution = 'raw' | RollupResolution;
export const BUCKET_MS: Record<RollupResolution, number> = { minute: 60_000, hour: 3_600_000 };

/**
 * One bucket of one tag. Values are NaN where the bucket had no usable
 * value (only bad quality or no data): they become NULL in the store.
 */
export interface RollupRow {
  /** Bucket start, epoch ms. */
  t: number;
  /** The value in effect at the bucket's start (or its first usable sample). */
  first: number;
  min: number;
  max: number;
  /** The last usable value in effect in the bucket. */
  last: number;
  /** Arithmetic mean of the bucket's usable samples. */
  avg: number;
  /** Time-weighted average of the value in effect (step interpolation), over the time it was usable. */
  twa: number;
  /** Samples stored in the bucket. */
  count: number;
  /** Share of the bucket's time with Good quality, 0..1. */
  good: number;
}

export interface StoreStatus {
  /** Bytes on disk (database plus its write-ahead log). */
  bytes: number;
  /** Raw samples kept. */
  samples: number;
  /** The oldest time any resolution still holds, epoch ms. */
  oldest: number | null;
}

export type Retained = 'raw' | RollupResolution;

/** A store that forwards to a remote database through a local disk buffer (store-and-forward). */
export interface BufferStats {
  /** Bytes of samples waiting in the buffer, and its maximum. */
  bytes: number;
  maxBytes: number;
  /** Samples waiting in the buffer: acknowledged, not yet in the database. */
  samples: number;
  /** Samples dropped (oldest first) because the buffer was full. */
  dropped: number;
  /** Samples forwarded from the buffer to the database. */
  forwarded: number;
  /** Samples not after their tag's last stored time, skipped (a replay). */
  skipped: number;
  /** False from a failed commit until the buffer is forwarded. */
  online: boolean;
}

export interface HistoryStore {
  /** The numeric id of a tag, created on first use (persisted with the next flush). */
  tagId(name: string): number;
  tagNames(): string[];
  /** Buffers one sample; `q` is an index into QUALITIES, `v` NaN when there is no number. Times must increase per tag. */
  append(id: number, ts: number, v: number, q: number): void;
  /**
   * Commits everything appended so far; resolves with the number of samples
   * committed. A rejected commit wrote nothing; SQLite keeps its samples for
   * the next flush, PostgreSQL gives them up (store-and-forward.ts holds them).
   */
  flush(): Promise<number>;
  /** Samples appended and not yet committed. */
  queueDepth(): number;
  /** Samples of a tag with from ≤ ts < to, oldest first. */
  readRaw(tag: string, from: number, to: number): Promise<Samples>;
  /**
   * How many raw samples lie in [from, to) (an upper bound: whole blocks).
   * With `atMost`, counting may stop once past it (a trend only asks whether
   * there are more than it would draw: a year of blocks need not be summed).
   */
  countRaw(tag: string, from: number, to: number, atMost?: number): Promise<number>;
  /** The time of each tag's last sample this store holds (for a remote store: as far as it can tell now; never throws for an outage). */
  lastTimes(): Promise<Map<string, number>>;
  /** The last sample of a tag before `t`. */
  lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined>;
  /** The last sample before `t` of each tag, in the order given, at once (a replay snapshot: one round trip where the store can). */
  lastBeforeMany?(tags: readonly string[], t: number): Promise<({ ts: number; v: number; q: number } | undefined)[]>;
  writeRollups(resolution: RollupResolution, tag: string, rows: RollupRow[]): Promise<void>;
  /** Rows with from ≤ t < to, oldest first. */
  readRollups(resolution: RollupResolution, tag: string, from: number, to: number): Promise<RollupRow[]>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** Deletes at most `maxRows` rows (blocks or rollups) wholly older than `before`; resolves with the rows deleted. */
  prune(what: Retained, before: number, maxRows: number): Promise<number>;
  status(): Promise<StoreStatus>;
  /** Store-and-forward figures, for a store that has a buffer. */
  buffer?(): BufferStats;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** The historian's errors, answered with the status of their code. */
export class HistorianError extends PlantaError<Extract<ErrorCode, `PLANTA_HISTORIAN_${string}` | `PLANTA_HISTORY_${string}`>> {}

const GOOD = QUALITIES.indexOf('Good');
export const QUALITY_INDEX = Object.fromEntries(QUALITIES.map((q, i) => [q, i])) as Record<Quality, number>;
export const isBadIndex = (q: number): boolean => QUALITIES[q]?.startsWith('Bad_') ?? true;
export const isGoodIndex = (q: number): boolean => q === GOOD;

/** The three-way quality of the trend API. */
export type QualityClass = 'good' | 'uncertain' | 'bad';
export function qualityClass(q: number): QualityClass {
  return q === GOOD ? 'good' : isBadIndex(q) ? 'bad' : 'uncertain';
}
