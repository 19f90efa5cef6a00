/**
 * A trend's points from what the store holds (historian.ts reads, these lay
 * out): raw samples with gaps where a tag went stale, or rollup rows drawn as
 * their first, extremes and last. A null value is a gap: bad quality, or no
 * data. The points go to `s` (M4Sink: reduced as they come), which may
 * already hold a coarser part of the range.
 */
import type { Samples } from './codec.js';
import type { PointSink } from './m4.js';
import { type QualityClass, type RollupRow, isBadIndex, qualityClass } from './types.js';

/** Raw samples of [from, to); `carry` is the last sample before `from`, which holds until it goes stale. */
export function appendRawSeries(
  s: PointSink,
  samples: Samples,
  carry: { ts: number; v: number; q: number } | undefined,
  from: number,
  to: number,
  stale: number,
  now: number,
): void {
  let prev = carry && from - carry.ts < stale ? carry : undefined;
  const push = (t: number, v: number | null, q: QualityClass | null): void => s.push(t, v, q);
  const value = (v: number, q: number): number | null => (isBadIndex(q) || !Number.isFinite(v) ? null : v);
  if (prev) push(from, value(prev.v, prev.q), qualityClass(prev.q));
  else if (s.length > 0 && s.lastValue !== null) push(from, null, null);
  for (let i = 0; i < samples.n; i++) {
    const ts = samples.ts[i]!;
    if (prev && ts - prev.ts > stale) push(prev.ts + stale, null, null);
    else if (!prev && i === 0 && s.length > 0 && ts > from) push(from, null, null);
    push(ts, value(samples.v[i]!, samples.q[i]!), qualityClass(samples.q[i]!));
    prev = { ts, v: samples.v[i]!, q: samples.q[i]! };
  }
  if (prev && prev.ts + stale < Math.min(to, now)) push(prev.ts + stale, null, null);
}

/** Rollup rows of buckets `size` ms long, read from the bucket holding `from` up to `to`; a missing bucket is a gap. */
export function appendRollupSeries(s: PointSink, rows: readonly RollupRow[], size: number, from: number, to: number): void {
  const push = (t: number, v: number | null, q: QualityClass | null): void => s.push(Math.max(from, t), v, q);
  // At least a point a row: the sink need not keep the points in case they are few.
  s.expect?.(rows.length);
  let expected = Math.floor(from / size) * size;
  const third = Math.floor(size / 3);
  const twoThirds = Math.floor((2 * size) / 3);
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k]!;
    if (row.t > expected) push(expected, null, null);
    expected = row.t + size;
    if (!Number.isFinite(row.min)) {
      push(row.t, null, 'bad');
      continue;
    }
    const q: QualityClass = row.good >= 0.999 ? 'good' : 'uncertain';
    push(row.t, row.first, q);
    const falling = row.first > row.last;
    const a = falling ? row.max : row.min;
    const b = falling ? row.min : row.max;
    push(row.t + third, a, q);
    if (b !== a) push(row.t + twoThirds, b, q);
    push(row.t + size - 1, row.last, q);
  }
  if (expected < to && rows.length > 0) push(expected, null, null);
}
