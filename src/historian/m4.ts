/**
 * M4 reduction (Jugel et al., "M4: A Visualization-Oriented Time Series Data
 * Aggregation", VLDB 2014): per pixel column keep the first, minimum, maximum
 * and last points, so a line drawn from the result is the line drawn from
 * all the data — spikes included. A gap (null) in a column is kept too, so a
 * gap never gets bridged.
 */
import type { QualityClass } from './types.js';

export interface Series {
  t: number[];
  v: (number | null)[];
  q: (QualityClass | null)[];
}

export function m4(s: Series, from: number, to: number, pixels: number): Series {
  const n = s.t.length;
  if (n <= 4 * pixels || !(to > from)) return s;
  const out: Series = { t: [], v: [], q: [] };
  const scale = pixels / (to - from);
  let col = -1;
  let first = -1;
  let min = -1;
  let max = -1;
  let last = -1;
  let gap = -1;
  const emit = (): void => {
    const picks = [first, min, max, last, gap].filter((i) => i >= 0).sort((a, b) => a - b);
    let prev = -1;
    for (const i of picks) {
      if (i === prev) continue;
      prev = i;
      out.t.push(s.t[i]!);
      out.v.push(s.v[i]!);
      out.q.push(s.q[i]!);
    }
  };
  for (let i = 0; i < n; i++) {
    const c = Math.min(pixels - 1, Math.max(0, Math.floor((s.t[i]! - from) * scale)));
    if (c !== col) {
      if (col >= 0) emit();
      col = c;
      first = min = max = last = gap = -1;
    }
    const v = s.v[i];
    if (v === null || v === undefined) {
      if (gap < 0) gap = i;
      continue;
    }
    if (first < 0) first = i;
    if (min < 0 || v < s.v[min]!) min = i;
    if (max < 0 || v > s.v[max]!) max = i;
    last = i;
  }
  if (col >= 0) emit();
  return out;
}
