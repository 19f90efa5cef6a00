/**
 * The printable reports without any screen: which period a report covers
 * (a day in the plant's zone, or one cycle), and the figures it prints —
 * volumes, each phase against its plan, oxygen and turbidity against their
 * limits — from the cycle report's rows (GET api/cycles) and the journal.
 */
import type { JournalEntry, JournalKind } from '../../../src/web/protocol.js';
import { fromZonedInput, toZonedInput } from '../shared/format.js';
import type { Cycle } from '../trends/history-api.js';

export type ReportRequest = { kind: 'day'; day: string } | { kind: 'cycle'; start: number };

/** The plant's calendar day holding `ts`, as "2026-12-07". */
export function dayOf(ts: number, timeZone: string): string {
  return toZonedInput(ts, timeZone).slice(0, 10);
}

/** The day `n` days from `day` ("2026-12-07", -1 → "2026-12-06"), by the calendar. */
export function shiftDay(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** What the route asks for: ?day=YYYY-MM-DD, ?cycle=<start ms>, else today. */
export function readReportQuery(query: string, now: number, timeZone: string): ReportRequest {
  const p = new URLSearchParams(query);
  const cycle = Number(p.get('cycle'));
  if (p.has('cycle') && Number.isInteger(cycle) && cycle > 0) return { kind: 'cycle', start: cycle };
  const day = p.get('day') ?? '';
  if (/^\d{4}-\d\d-\d\d$/.test(day) && fromZonedInput(`${day}T00:00`, timeZone) !== undefined) return { kind: 'day', day };
  return { kind: 'day', day: dayOf(now, timeZone) };
}

/** A day's bounds in the plant's zone: from its midnight to the next (23 or 25 hours on a change of summer time). */
export function dayBounds(day: string, timeZone: string): { from: number; to: number } {
  const from = fromZonedInput(`${day}T00:00`, timeZone)!;
  const to = fromZonedInput(`${shiftDay(day, 1)}T00:00`, timeZone)!;
  return { from, to };
}

/** The journal kinds a report lists as alarms, and as the operators' actions. */
export const ALARM_KINDS: readonly JournalKind[] = ['alarm'];
export const ACTION_KINDS: readonly JournalKind[] = ['ack', 'shelve', 'unshelve', 'out-of-service', 'in-service', 'command'];

/** Oldest first, as a report reads. */
export const chronological = (list: readonly JournalEntry[]): JournalEntry[] => [...list].sort((a, b) => a.ts - b.ts || a.seq - b.seq);

export interface Figures {
  cycles: number;
  flagged: number;
  /** m³ treated by the cycles of the period (null: no figure). */
  volume: number | null;
  /** The lowest oxygen minimum during aeration, the mean of the cycles' means, the highest turbidity at discharge. */
  oxygenMin: number | null;
  oxygenMean: number | null;
  turbidityMax: number | null;
}

const nums = (list: readonly (number | null)[]): number[] => list.filter((v): v is number => v !== null && Number.isFinite(v));

export function figures(cycles: readonly Cycle[]): Figures {
  const vol = nums(cycles.map((c) => c.volumeM3));
  const mins = nums(cycles.map((c) => c.oxygenMinMgL));
  const means = nums(cycles.map((c) => c.oxygenMeanMgL));
  const turb = nums(cycles.map((c) => c.turbidityAtDischargeNtu));
  return {
    cycles: cycles.length,
    flagged: cycles.filter((c) => c.anomalies.length > 0).length,
    volume: vol.length ? vol.reduce((a, b) => a + b, 0) : null,
    oxygenMin: mins.length ? Math.min(...mins) : null,
    oxygenMean: means.length ? means.reduce((a, b) => a + b, 0) / means.length : null,
    turbidityMax: turb.length ? Math.max(...turb) : null,
  };
}

/** Whether a figure keeps within [low, high] (either may be absent); null without a figure or a limit. */
export function withinLimits(v: number | null, low: number | undefined, high: number | undefined): boolean | null {
  if (v === null || (low === undefined && high === undefined)) return null;
  return (low === undefined || v >= low) && (high === undefined || v <= high);
}
