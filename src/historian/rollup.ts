/**
 * Rollups: per-bucket figures of a tag's step function. A sample's value
 * holds until the next sample, for at most `staleMs` (after that nothing is
 * known: the historian was not recording). Bad quality and non-numbers are
 * unusable: they count in no average, minimum or maximum.
 */
import type { Samples } from './codec.js';
import { type RollupRow, isBadIndex, isGoodIndex } from './types.js';

export interface Carry {
  ts: number;
  v: number;
  q: number;
}

/**
 * The rows of the buckets [from, to) of size `size` (from and to aligned),
 * from the samples in that range and the last sample before it (`carry`).
 * Buckets where nothing at all is known are left out.
 */
export function rollupBuckets(samples: Samples, carry: Carry | undefined, from: number, to: number, size: number, staleMs: number): RollupRow[] {
  const rows: RollupRow[] = [];
  let cur: Carry | undefined = carry;
  let i = 0;
  for (let b = from; b < to; b += size) {
    const end = b + size;
    let min = Infinity;
    let max = -Infinity;
    let first = NaN;
    let last = NaN;
    let sum = 0;
    let usableCount = 0;
    let count = 0;
    let usableMs = 0;
    let goodMs = 0;
    let knownMs = 0;
    let weighted = 0;
    // Walks the segments of the step function inside [b, end).
    let t = b;
    while (t < end) {
      const next = i < samples.n && samples.ts[i]! < end ? samples.ts[i]! : end;
      if (cur !== undefined && next > t) {
        const validTo = Math.min(next, cur.ts + staleMs);
        if (validTo > t) {
          const ms = validTo - t;
          knownMs += ms;
          const usable = !isBadIndex(cur.q) && Number.isFinite(cur.v);
          if (usable) {
            usableMs += ms;
            weighted += cur.v * ms;
            if (cur.v < min) min = cur.v;
            if (cur.v > max) max = cur.v;
            if (Number.isNaN(first)) first = cur.v;
            last = cur.v;
            if (isGoodIndex(cur.q)) goodMs += ms;
          }
        }
      }
      if (next >= end) break;
      // The sample at `next` starts a new segment.
      cur = { ts: samples.ts[i]!, v: samples.v[i]!, q: samples.q[i]! };
      count++;
      if (!isBadIndex(cur.q) && Number.isFinite(cur.v)) {
        sum += cur.v;
        usableCount++;
        if (cur.v < min) min = cur.v;
        if (cur.v > max) max = cur.v;
        if (Number.isNaN(first)) first = cur.v;
        last = cur.v;
      }
      i++;
      t = next;
    }
    if (count === 0 && knownMs === 0) continue;
    rows.push({
      t: b,
      first,
      min: min === Infinity ? NaN : min,
      max: max === -Infinity ? NaN : max,
      last,
      avg: usableCount > 0 ? sum / usableCount : NaN,
      twa: usableMs > 0 ? weighted / usableMs : NaN,
      count,
      good: goodMs / size,
    });
  }
  return rows;
}

/** Hour rows from the minute rows of each hour (or any coarser bucket from finer rows). */
export function combineRows(rows: RollupRow[], fine: number, size: number): RollupRow[] {
  const out: RollupRow[] = [];
  let k = 0;
  while (k < rows.length) {
    const t = Math.floor(rows[k]!.t / size) * size;
    let min = Infinity;
    let max = -Infinity;
    let first = NaN;
    let last = NaN;
    let count = 0;
    let sum = 0;
    let twaSum = 0;
    let twaN = 0;
    let good = 0;
    let inner = 0;
    for (; k < rows.length && rows[k]!.t < t + size; k++) {
      const r = rows[k]!;
      inner++;
      if (r.min < min) min = r.min;
      if (r.max > max) max = r.max;
      if (Number.isNaN(first) && Number.isFinite(r.first)) first = r.first;
      if (Number.isFinite(r.last)) last = r.last;
      count += r.count;
      if (Number.isFinite(r.avg)) sum += r.avg * r.count;
      if (Number.isFinite(r.twa)) {
        twaSum += r.twa;
        twaN++;
      }
      good += r.good;
    }
    const avgCount = rows.slice(k - inner, k).reduce((n, r) => n + (Number.isFinite(r.avg) ? r.count : 0), 0);
    out.push({
      t,
      first,
      min: min === Infinity ? NaN : min,
      max: max === -Infinity ? NaN : max,
      last,
      avg: avgCount > 0 ? sum / avgCount : NaN,
      twa: twaN > 0 ? twaSum / twaN : NaN,
      count,
      good: (good * fine) / size,
    });
  }
  return out;
}
