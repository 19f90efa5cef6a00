/**
 * The alarm-rate figures (ISA-18.2, EEMUA 191) put against their targets in
 * words, without any screen, and the geometry of the activations chart.
 */
import type { AlarmPriority, RateFigures } from '../../../src/web/protocol.js';
import { formatNumber } from '../shared/format.js';
import { msg } from '../i18n/locale.js';

export type Verdict = 'ok' | 'warn' | 'bad' | 'none';

/** Fewer activations than this say nothing about shares (the top ten's, the priorities'). */
export const MIN_FOR_SHARES = 30;

export const VERDICT_MARK: Record<Verdict, string> = { ok: '✓', warn: '!', bad: '✕', none: '–' };

export interface FigureRow {
  key: string;
  label: string;
  value: string;
  target: string;
  verdict: Verdict;
  /** The verdict in words, specific to the figure. */
  words: string;
}

export const percent = (share: number, decimals = 1): string => `${formatNumber(share * 100, decimals)}\u00a0%`;

/** A share of activations: whole percent, one decimal below 10 % (1 in 209 is 0.5 %, not 0 %). */
const sharePct = (share: number): string => percent(share, share > 0 && share < 0.1 ? 1 : 0);

const per10 = (n: number): string => msg().rates.rows.per10(formatNumber(n, n >= 10 || Number.isInteger(n) ? 0 : 2));

export const RATING_WORD: Record<RateFigures['rating'], string> = { acceptable: 'ACCEPTABLE', manageable: 'MANAGEABLE', overloaded: 'OVERLOADED' };
export const RATING_MARK: Record<RateFigures['rating'], string> = { acceptable: '✓', manageable: '!', overloaded: '✕' };

export function ratingSentence(f: RateFigures): string {
  const t = f.targets;
  const w = msg().rates.rows;
  switch (f.rating) {
    case 'acceptable':
      return w.sentenceAcceptable(per10(f.averagePer10Min), t.acceptablePer10Min);
    case 'manageable':
      return w.sentenceManageable(per10(f.averagePer10Min), t.acceptablePer10Min, t.manageablePer10Min);
    case 'overloaded':
      return w.sentenceOverloaded(per10(f.averagePer10Min), t.manageablePer10Min);
  }
}

/** The target for a share of activations by priority (medium is counted with low: the targets name three levels). */
function mixTarget(f: RateFigures, p: 'critical' | 'high' | 'low'): number {
  return f.targets.priorityMix[p];
}

const tooFew = (n: number): string => (n === 0 ? msg().rates.rows.noneInPeriod : msg().rates.rows.tooFew(n, MIN_FOR_SHARES));

function mixVerdict(share: number, target: number, n: number, lowSide: boolean): { verdict: Verdict; words: string } {
  if (n < MIN_FOR_SHARES) return { verdict: 'none', words: tooFew(n) };
  const diff = share - target;
  const w = msg().rates.rows;
  if (Math.abs(diff) <= 0.05) return { verdict: 'ok', words: w.asRecommended };
  // More critical or high than recommended dilutes priority; fewer low-priority ones means the same.
  const tooMany = lowSide ? diff < 0 : diff > 0;
  if (!tooMany) return { verdict: 'ok', words: lowSide ? w.moreFine : w.fewerFine };
  return { verdict: Math.abs(diff) > 0.2 ? 'bad' : 'warn', words: lowSide ? w.fewerTooHigh : w.moreMeaningless };
}

export function figureRows(f: RateFigures): FigureRow[] {
  const t = f.targets;
  const none = f.activations === 0;
  const rows: FigureRow[] = [];
  const w = msg().rates.rows;
  rows.push({
    key: 'average',
    label: w.average,
    value: per10(f.averagePer10Min),
    target: w.averageTarget(t.acceptablePer10Min, t.manageablePer10Min),
    verdict: f.rating === 'acceptable' ? 'ok' : f.rating === 'manageable' ? 'warn' : 'bad',
    words: f.rating === 'acceptable' ? w.acceptable : f.rating === 'manageable' ? w.manageable : w.overloaded,
  });
  rows.push({
    key: 'peak',
    label: w.peak,
    value: per10(f.peakPer10Min),
    target: w.peakTarget(t.floodPer10Min),
    verdict: none ? 'none' : f.peakPer10Min > t.floodPer10Min ? 'bad' : 'ok',
    words: none ? w.noActivations : f.peakPer10Min > t.floodPer10Min ? w.flood : w.noFlood,
  });
  rows.push({
    key: 'flood',
    label: w.floodTime,
    value: percent(f.floodTimeShare, 2),
    target: w.lessThan(percent(t.floodTimeShare, 0)),
    verdict: f.floodTimeShare === 0 ? 'ok' : f.floodTimeShare < t.floodTimeShare ? 'ok' : f.floodTimeShare < 5 * t.floodTimeShare ? 'warn' : 'bad',
    words: f.floodTimeShare === 0 ? w.neverFlood : f.floodTimeShare < t.floodTimeShare ? w.someFlood : w.tooLongFlood,
  });
  rows.push({
    key: 'chattering',
    label: w.chattering,
    value: `${f.chattering.length}`,
    target: w.chatterTarget(t.chatterCount),
    verdict: f.chattering.length === 0 ? 'ok' : 'bad',
    words: f.chattering.length === 0 ? w.none : w.chatteringN(f.chattering.length),
  });
  rows.push({
    key: 'stale',
    label: w.stale,
    value: `${f.stale.length}`,
    target: w.staleTarget(formatNumber(t.staleMs / 3_600_000, 0)),
    verdict: f.stale.length === 0 ? 'ok' : 'warn',
    words: f.stale.length === 0 ? w.none : w.staleN(f.stale.length),
  });
  rows.push({
    key: 'top10',
    label: w.top10,
    value: percent(f.top10Share, 0),
    target: w.top10Target,
    verdict: f.activations < MIN_FOR_SHARES ? 'none' : f.top10Share <= 0.05 ? 'ok' : f.top10Share <= 0.2 ? 'warn' : 'bad',
    words: f.activations < MIN_FOR_SHARES ? tooFew(f.activations) : f.top10Share <= 0.05 ? w.spread : w.fewMakeLoad,
  });
  const n = f.activations;
  const share = (p: AlarmPriority): number => (n ? f.priorities[p] / n : 0);
  const crit = mixVerdict(share('critical'), mixTarget(f, 'critical'), n, false);
  const high = mixVerdict(share('high'), mixTarget(f, 'high'), n, false);
  const lowShare = share('low') + share('medium');
  const low = mixVerdict(lowShare, mixTarget(f, 'low'), n, true);
  rows.push({ key: 'critical', label: w.critical, value: `${sharePct(share('critical'))} (${f.priorities.critical})`, target: w.about(percent(mixTarget(f, 'critical'), 0)), ...crit });
  rows.push({ key: 'high', label: w.high, value: `${sharePct(share('high'))} (${f.priorities.high})`, target: w.about(percent(mixTarget(f, 'high'), 0)), ...high });
  rows.push({
    key: 'low',
    label: w.mediumLow,
    value: `${sharePct(lowShare)} ${w.mediumLowCounts(f.priorities.medium, f.priorities.low)}`,
    target: w.about(percent(mixTarget(f, 'low'), 0)),
    ...low,
  });
  return rows;
}

// ------------------------------------------------------------------ the chart

export interface ChartBar {
  i: number;
  x: number;
  y: number;
  width: number;
  height: number;
  count: number;
  /** Above the flood rate for its width (buckets of 10 minutes or more). */
  over: boolean;
}

export interface ChartGeometry {
  bars: ChartBar[];
  /** The top of the count axis. */
  yMax: number;
  ticks: { value: number; y: number }[];
  /** The flood rate (more than floodPer10Min in 10 minutes) for one bucket's width, and where it is drawn; null for buckets under 10 minutes. */
  flood: { value: number; y: number } | null;
  plot: { left: number; top: number; width: number; height: number };
}

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const pow = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= n) return m * pow;
  return 10 * pow;
}

export function chartGeometry(buckets: readonly number[], bucketMs: number, floodPer10Min: number, size: { width: number; height: number }): ChartGeometry {
  const plot = { left: 40, top: 10, width: size.width - 48, height: size.height - 34 };
  // A bucket narrower than 10 minutes cannot show a flood by itself: the line is drawn for 10-minute buckets and wider.
  const floodApplies = bucketMs >= 600_000;
  const floodValue = (floodPer10Min * bucketMs) / 600_000;
  const most = Math.max(0, ...buckets);
  const yMax = niceMax(Math.max(most, floodApplies ? floodValue * 1.1 : 0));
  const y = (v: number): number => plot.top + plot.height - (v / yMax) * plot.height;
  const n = Math.max(1, buckets.length);
  const slot = plot.width / n;
  const gap = slot > 4 ? Math.min(2, slot * 0.2) : 0;
  const bars = buckets.map((count, i) => ({
    i,
    x: plot.left + i * slot + gap / 2,
    y: y(count),
    width: Math.max(0.5, slot - gap),
    height: plot.top + plot.height - y(count),
    count,
    over: floodApplies && count > floodValue,
  }));
  const ticks = [0, yMax / 2, yMax].map((value) => ({ value, y: y(value) }));
  return { bars, yMax, ticks, flood: floodApplies && floodValue <= yMax ? { value: floodValue, y: y(floodValue) } : null, plot };
}
