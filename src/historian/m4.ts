/**
 * M4 reduction (Jugel et al., "M4: A Visualization-Oriented Time Series Data
 * Aggregation", VLDB 2014): per pixel column keep the first, minimum, maximum
 * and last points, so a line drawn from the result is the line drawn from
 * all the data — spikes included. A gap (null) in a column is kept too, so a
 * gap never gets bridged.
 *
 * The reduction streams (M4Sink): a trend's points are fed to it as they are
 * laid out (series.ts) and never held all at once — a year of hour rollups is
 * 35,000 points, of which only the ≤ 4 per pixel are kept.
 */
import type { QualityClass } from './types.js';

export interface Series {
  t: number[];
  v: (number | null)[];
  q: (QualityClass | null)[];
}

/** Where a trend's points go, in time order. */
export interface PointSink {
  push(t: number, v: number | null, q: QualityClass | null): void;
  /** Points pushed so far. */
  readonly length: number;
  /** The value of the last point pushed (undefined: none yet). */
  readonly lastValue: number | null | undefined;
  /** At least `n` more points are coming. */
  expect?(n: number): void;
}

const FIRST = 0;
const MIN = 1;
const MAX = 2;
const LAST = 3;
const GAP = 4;

/**
 * M4 of the points pushed, over [from, to) at `pixels` columns. While at most
 * 4 × pixels points came, they are kept as they are (and returned so: no
 * reduction needed); past that only each column's picks are.
 */
export class M4Sink implements PointSink {
  length = 0;
  lastValue: number | null | undefined = undefined;
  private readonly out: Series = { t: [], v: [], q: [] };
  /** The points as pushed, while there are few enough to be the answer. */
  private all: Series | undefined = { t: [], v: [], q: [] };
  private readonly limit: number;
  private readonly scale: number;
  private col = -1;
  /** The current column's picks (first, min, max, last, gap): index of the point (-1: none), time, value, quality. */
  private readonly pi = new Float64Array(5).fill(-1);
  private readonly pt = new Float64Array(5);
  private readonly pv = new Float64Array(5);
  private readonly pq: (QualityClass | null)[] = [null, null, null, null, null];

  constructor(
    private readonly from: number,
    to: number,
    private readonly pixels: number,
  ) {
    // No range: nothing to reduce over; every point is the answer.
    this.limit = to > from ? 4 * pixels : Infinity;
    this.scale = pixels / (to - from);
  }

  private pick(k: number, i: number, t: number, v: number, q: QualityClass | null): void {
    this.pi[k] = i;
    this.pt[k] = t;
    this.pv[k] = v;
    this.pq[k] = q;
  }

  expect(n: number): void {
    if (this.length + n > this.limit) this.all = undefined;
  }

  push(t: number, v: number | null, q: QualityClass | null): void {
    const i = this.length++;
    this.lastValue = v;
    if (this.all) {
      this.all.t.push(t);
      this.all.v.push(v);
      this.all.q.push(q);
      if (this.length > this.limit) this.all = undefined;
    }
    if (this.limit === Infinity) return;
    const c = Math.min(this.pixels - 1, Math.max(0, Math.floor((t - this.from) * this.scale)));
    if (c !== this.col) {
      if (this.col >= 0) this.emit();
      this.col = c;
      this.pi.fill(-1);
    }
    const pi = this.pi;
    if (v === null) {
      if (pi[GAP]! < 0) this.pick(GAP, i, t, NaN, q);
      return;
    }
    if (pi[FIRST]! < 0) this.pick(FIRST, i, t, v, q);
    if (pi[MIN]! < 0 || v < this.pv[MIN]!) this.pick(MIN, i, t, v, q);
    if (pi[MAX]! < 0 || v > this.pv[MAX]!) this.pick(MAX, i, t, v, q);
    this.pick(LAST, i, t, v, q);
  }

  /** The column's picks in the order they came, each once. */
  private emit(): void {
    let prev = -1;
    for (;;) {
      // The smallest index after prev (five picks: a scan beats a sort).
      let k = -1;
      for (let j = 0; j < 5; j++) {
        const i = this.pi[j]!;
        if (i > prev && (k < 0 || i < this.pi[k]!)) k = j;
      }
      if (k < 0) return;
      prev = this.pi[k]!;
      this.out.t.push(this.pt[k]!);
      this.out.v.push(k === GAP ? null : this.pv[k]!);
      this.out.q.push(this.pq[k]!);
    }
  }

  /** The reduced series (the points themselves when there were at most 4 per pixel). */
  result(): Series {
    if (this.all) return this.all;
    if (this.col >= 0) this.emit();
    this.col = -1;
    return this.out;
  }
}

export function m4(s: Series, from: number, to: number, pixels: number): Series {
  const n = s.t.length;
  if (n <= 4 * pixels || !(to > from)) return s;
  const sink = new M4Sink(from, to, pixels);
  for (let i = 0; i < n; i++) sink.push(s.t[i]!, s.v[i]!, s.q[i]!);
  return sink.result();
}
