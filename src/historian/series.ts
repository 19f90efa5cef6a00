/**
 * A trend's points from what the store holds (historian.ts reads, these lay
 * out): raw samples with gaps where a tag went stale, or rollup rows drawn as
 * their first, extremes and last. A null value is a gap: bad quality, or no
 * data. The points are appended to `s`, which may already hold a coarser part
 * of the range.
 */
import type { Samples } from './codec.js';
import type { Series } from './m4.js';
import { type QualityClass, type RollupRow, isBadIndex, qualityClass } from './types.js';

/** Raw samples of [from, to); `carry` is the last sample before `from`, which holds until it goes stale. */
export function appendRawSeries(
  s: Series,
  samples: Samples,
  carry: { ts: number; v: number; q: number } | undefined,
  from: number,
  to: number,
  stale: number,
  now: number,
): void {
  let prev = carry && from - carry.ts < stale ? carry : undefined;
  const push = (t: number, v: number | null, q: QualityClass | null): void => {
    s.t.push(t);
    s.v.push(v);
    s.q.push(q);
  };
  const value = (v: number, q: number): number | null => (isBadIndex(q) || !Number.isFinite(v) ? null : v);
  if (prev) push(from, value(prev.v, prev.q), qualityClass(prev.q));
  else if (s.t.length > 0 && s.v[s.v.length - 1] !== null) push(from, null, null);
  for (let i = 0; i < samples.n; i++) {
    const ts = samples.ts[i]!;
    if (prev && ts - prev.ts > stale) push(prev.ts + stale, null, null);
    else if (!prev && i === 0 && s.t.length > 0 && ts > from) push(from, null, null);
    push(ts, value(samples.v[i]!, samples.q[i]!), qualityClass(samples.q[i]!));
    prev = { ts, v: samples.v[i]!, q: samples.q[i]! };
  }
  if (prev && prev.ts + stale < Math.min(to, now)) push(prev.ts + stale, null, null);
}

/** Rollup rows of buckets `size` ms long, read from the bucket holding `from` up to `to`; a missing bucket is a gap. */
export function appendRollupSeries(s: Series, rows: readonly RollupRow[], size: number, from: number, to: number): void {
  const push = (t: number, v: number | null, q: QualityClass | null): void => {
    s.t.push(Math.max(from, t));
    s.v.push(v);
    s.q.push(q);
  };
  let expected = Math.floor(from / size) * size;
  for (const row of rows) {
    if (row.t > expected) push(expected, null, null);
    expected = row.t + size;
    if (!Number.isFinite(row.min)) {
      push(row.t, null, 'bad');
      continue;
    }
    const q: QualityClass = row.good >= 0.999 ? 'good' : 'uncertain';
    push(row.t, row.first, q);
    const [a, b] = row.first > row.last ? [row.max, row.min] : [row.min, row.max];
    push(row.t + Math.floor(size / 3), a, q);
    if (b !== a) push(row.t + Math.floor((2 * size) / 3), b, q);
    push(row.t + size - 1, row.last, q);
  }
  if (expected < to && rows.length > 0) push(expected, null, null);
}
