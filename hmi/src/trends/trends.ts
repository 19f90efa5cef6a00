/**
 * A short history of every numeric tag, kept in the browser for the
 * faceplate's trend: the values received in the last minutes. Values arrive
 * by exception (only changes), so a series is a staircase: each point holds
 * until the next.
 */

export interface TrendPoint {
  t: number;
  v: number;
  good: boolean;
}

export interface TrendsOptions {
  /** How far back to keep. Default 10 minutes. */
  windowMs?: number;
  /** Points kept per tag at most. Default 3000. */
  maxPoints?: number;
}

export class Trends {
  readonly windowMs: number;
  private readonly maxPoints: number;
  private readonly series = new Map<string, TrendPoint[]>();

  constructor(options: TrendsOptions = {}) {
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.maxPoints = options.maxPoints ?? 3000;
  }

  add(tag: string, value: unknown, t: number, good: boolean): void {
    const v = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : undefined;
    if (v === undefined || !Number.isFinite(v)) return;
    let s = this.series.get(tag);
    if (!s) {
      s = [];
      this.series.set(tag, s);
    }
    const last = s[s.length - 1];
    if (last && t < last.t) return; // an older value (replayed twice) adds nothing
    s.push({ t, v, good });
    this.trim(s, t);
  }

  /** The points of the window ending at `now`, with the last point before it (so the line starts at the left edge). */
  points(tag: string, now: number): readonly TrendPoint[] {
    const s = this.series.get(tag);
    if (!s) return [];
    this.trim(s, now);
    return s;
  }

  private trim(s: TrendPoint[], now: number): void {
    const from = now - this.windowMs;
    // Keep one point older than the window: it is the value at the window's start.
    let drop = 0;
    while (drop + 1 < s.length && s[drop + 1]!.t <= from) drop++;
    if (s.length - drop > this.maxPoints) drop = s.length - this.maxPoints;
    if (drop > 0) s.splice(0, drop);
  }
}
