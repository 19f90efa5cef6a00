/**
 * One tag's trend over [from, to) for a chart `points` pixels wide (what
 * Historian.query answers): raw samples when the range holds few enough,
 * else minute, else hour rollups (with finer data for the part not rolled up
 * yet), reduced by M4 to at most 4 points per pixel plus gap markers.
 *
 * Built for a year at 1,000 pixels in a few milliseconds while ingest runs
 * (issue 25): every read is issued at once (on PostgreSQL, concurrent round
 * trips on the pool's connections: two round trips deep, not six); final
 * rollup rows come from memory (tier-cache.ts); the sample count that picks
 * the resolution stops once past the threshold; and the points are reduced
 * as they are laid out (M4Sink), never held as a year of 35,000 points.
 */
import { M4Sink, type Series } from './m4.js';
import { appendRawSeries, appendRollupSeries } from './series.js';
import type { TierCache } from './tier-cache.js';
import { BUCKET_MS, type HistoryStore, type Resolution, type RollupResolution, type RollupRow } from './types.js';

/** Past this many raw samples in the range (per pixel column), rollups are used. */
const RAW_PER_PIXEL = 50;
/** Past this many minutes in the range (per pixel column), hour rollups are used. */
const MINUTES_PER_PIXEL = 50;

export interface TrendSource {
  store: HistoryStore;
  tiers: TierCache;
  /** A tier's watermark: its rows below it are final (undefined: no rollups yet). */
  mark(r: RollupResolution): Promise<number | undefined>;
  /** How long a tier's rows are kept (null: forever). */
  keep(r: RollupResolution): number | null;
  staleMs(tag: string): number;
  now(): number;
}

/**
 * A store call as a promise even when it throws at once (a read-only store
 * whose file is not there yet): reads issued together must all reject, or
 * one's failure leaves the others' unhandled.
 */
const later = async <T>(f: () => Promise<T>): Promise<T> => f();

export async function trend(o: TrendSource, tag: string, from: number, to: number, points: number): Promise<Series & { resolution: Resolution }> {
  const limit = RAW_PER_PIXEL * points;
  const [m, h, count] = await Promise.all([o.mark('minute'), o.mark('hour'), later(() => o.store.countRaw(tag, from, to, limit))]);
  const minuteMark = m ?? -Infinity;
  const hourMark = h ?? -Infinity;
  const now = o.now();
  let resolution: Resolution = 'raw';
  if (minuteMark > from && count > limit) resolution = hourMark > from && (to - from) / 60_000 > MINUTES_PER_PIXEL * points ? 'hour' : 'minute';
  // [from, hourEnd) from hours, [hourEnd, minuteEnd) from minutes, the rest raw.
  const hourEnd = resolution === 'hour' ? Math.min(to, hourMark) : from;
  const minuteEnd = resolution === 'raw' ? hourEnd : Math.min(to, Math.max(hourEnd, minuteMark));
  const rows = (r: RollupResolution, a: number, b: number, mark: number): Promise<RollupRow[]> | undefined => {
    if (!(a < b)) return undefined;
    const size = BUCKET_MS[r];
    const keep = o.keep(r);
    // Rows retention may delete by now are not cached; a bucket of margin for a writer whose clock runs ahead.
    const floor = keep === null ? -Infinity : now - keep + size;
    return o.tiers.read(r, tag, Math.floor(a / size) * size, b, mark, floor);
  };
  const [hours, minutes, raw] = await Promise.all([
    rows('hour', from, hourEnd, hourMark),
    rows('minute', hourEnd, minuteEnd, minuteMark),
    minuteEnd < to ? Promise.all([later(() => o.store.readRaw(tag, minuteEnd, to)), later(() => o.store.lastBefore(tag, minuteEnd))]) : undefined,
  ]);
  const s = new M4Sink(from, to, points);
  if (hours) appendRollupSeries(s, hours, BUCKET_MS.hour, from, hourEnd);
  if (minutes) appendRollupSeries(s, minutes, BUCKET_MS.minute, hourEnd, minuteEnd);
  if (raw) appendRawSeries(s, raw[0], raw[1], minuteEnd, to, o.staleMs(tag), now);
  return { resolution, ...s.result() };
}
