/**
 * Alarm-system performance figures after ISA-18.2 and EEMUA 191, over a
 * period, compared with targets: average and peak alarm rates per 10 minutes,
 * time in flood, chattering and stale alarms, the top ten's share of the
 * load, and the priority distribution.
 */
import type { AlarmState } from '../bus/alarm-messages.js';

export interface RateTargets {
  /** Average activations per 10 minutes per operator position: acceptable / manageable maximum. */
  acceptablePer10Min: number;
  manageablePer10Min: number;
  /** More than this many in 10 minutes is a flood. */
  floodPer10Min: number;
  /** Share of the time in flood at most. */
  floodTimeShare: number;
  /** This many activations of one alarm within a minute is chattering. */
  chatterCount: number;
  /** Active longer than this is stale. */
  staleMs: number;
  /** Target share of activations by priority. */
  priorityMix: { critical: number; high: number; low: number };
}

export const DEFAULT_TARGETS: RateTargets = {
  acceptablePer10Min: 1,
  manageablePer10Min: 2,
  floodPer10Min: 10,
  floodTimeShare: 0.01,
  chatterCount: 3,
  staleMs: 24 * 3_600_000,
  priorityMix: { critical: 0.05, high: 0.15, low: 0.8 },
};

export interface Activation {
  ts: number;
  source: string;
  priority: string;
}

export interface RateFigures {
  from: number;
  to: number;
  activations: number;
  averagePer10Min: number;
  peakPer10Min: number;
  /** Share of the period during which more than floodPer10Min fell in the trailing 10 minutes. */
  floodTimeShare: number;
  chattering: { source: string; maxPerMinute: number }[];
  stale: { id: string; activeSince: number }[];
  top10: { source: string; count: number; share: number }[];
  top10Share: number;
  priorities: Record<'critical' | 'high' | 'medium' | 'low', number>;
  /** Per-bucket counts for a chart: `bucketMs` wide, from `from`. */
  buckets: number[];
  bucketMs: number;
  rating: 'acceptable' | 'manageable' | 'overloaded';
  targets: RateTargets;
}

const TEN_MIN = 600_000;

/** How long, within [from, to], more than `limit` activations fall in a trailing window of `windowMs`. */
function timeOver(ts: number[], limit: number, windowMs: number, from: number, to: number): number {
  // Each activation counts for [t, t + window): sweep the starts and ends.
  const points: [number, number][] = [];
  for (const t of ts) points.push([t, 1], [t + windowMs, -1]);
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let count = 0;
  let since = 0;
  let total = 0;
  for (const [t, d] of points) {
    const before = count;
    count += d;
    if (before <= limit && count > limit) since = t;
    if (before > limit && count <= limit) total += Math.max(0, Math.min(t, to) - Math.max(since, from));
  }
  return total;
}

function maxInWindow(ts: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let i = 0; i < ts.length; i++) {
    while (ts[i]! - ts[start]! >= windowMs) start++;
    best = Math.max(best, i - start + 1);
  }
  return best;
}

export function alarmRates(activations: Activation[], states: AlarmState[], from: number, to: number, targets: RateTargets = DEFAULT_TARGETS): RateFigures {
  const period = Math.max(1, to - from);
  const ts = activations.map((a) => a.ts).sort((a, b) => a - b);
  const bySource = new Map<string, number[]>();
  for (const a of activations) {
    const list = bySource.get(a.source);
    if (list) list.push(a.ts);
    else bySource.set(a.source, [a.ts]);
  }
  const priorities = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const a of activations) if (a.priority in priorities) priorities[a.priority as keyof typeof priorities]++;
  const counts = [...bySource].map(([source, list]) => ({ source, count: list.length })).sort((a, b) => b.count - a.count);
  const top10 = counts.slice(0, 10).map((c) => ({ ...c, share: activations.length ? c.count / activations.length : 0 }));
  const bucketMs = period <= 2 * 3_600_000 ? 60_000 : period <= 2 * 86_400_000 ? TEN_MIN : 3_600_000;
  const buckets = new Array<number>(Math.ceil(period / bucketMs)).fill(0);
  for (const t of ts) {
    const i = Math.floor((t - from) / bucketMs);
    if (i >= 0 && i < buckets.length) buckets[i]!++;
  }
  const average = (activations.length / period) * TEN_MIN;
  const now = to;
  return {
    from,
    to,
    activations: activations.length,
    averagePer10Min: average,
    peakPer10Min: maxInWindow(ts, TEN_MIN),
    floodTimeShare: timeOver(ts, targets.floodPer10Min, TEN_MIN, from, to) / period,
    chattering: [...bySource]
      .map(([source, list]) => ({ source, maxPerMinute: maxInWindow(list.sort((a, b) => a - b), 60_000) }))
      .filter((c) => c.maxPerMinute >= targets.chatterCount)
      .sort((a, b) => b.maxPerMinute - a.maxPerMinute),
    stale: states
      .filter((s) => s.active === true && s.activeSince !== null && now - s.activeSince > targets.staleMs)
      .map((s) => ({ id: s.id, activeSince: s.activeSince! })),
    top10,
    top10Share: top10.reduce((n, c) => n + c.share, 0),
    priorities,
    buckets,
    bucketMs,
    rating: average <= targets.acceptablePer10Min ? 'acceptable' : average <= targets.manageablePer10Min ? 'manageable' : 'overloaded',
    targets,
  };
}
