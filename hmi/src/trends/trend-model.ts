/**
 * The trend page without any screen: its state in the URL (pens and
 * period), the pens' y axes (one per unit), the historian's series joined
 * onto one time axis with gaps kept as gaps and uncertain stretches apart,
 * the value of each pen at the cursor, zoom and steps through time, and the
 * live tail that appends streamed values while the period reaches now.
 */
import type { TagInfo } from '../../../src/web/protocol.js';
import { formatDateTime, formatNumber } from '../shared/format.js';
import type { HistorianStatus, HistorySeries, SampleQuality } from './history-api.js';
import { MAX_PENS } from './history-api.js';
import { type Period, type RangePreset, presetPeriod } from '../shared/periods.js';
import { msg } from '../i18n/locale.js';

// ------------------------------------------------------------------ the URL

export interface TrendUrlState {
  pens: string[];
  period: Period;
}

const LIVE_PRESETS: readonly Exclude<RangePreset, 'custom'>[] = ['hour', 'day', 'week', 'month', 'this-month', 'last-month'];

/** Whether a tag can be drawn: numbers and booleans. */
export const trendable = (t: Pick<TagInfo, 'type'>): boolean => t.type !== 'string';
export const isBool = (t: Pick<TagInfo, 'type'>): boolean => t.type === 'bool' || t.type === 'bit';

function readTime(s: string | null): number | undefined {
  if (!s) return undefined;
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The trend's state from the route's query (`pens=a,b&last=day` or
 * `pens=a,b&from=ISO&to=ISO`). Unknown or untrendable tags are left out;
 * without pens, `defaults` are shown; without a period, the last hour.
 */
export function parseTrendQuery(query: string, o: { now: number; timeZone: string; tags: ReadonlyMap<string, Pick<TagInfo, 'type'>>; defaults: readonly string[] }): TrendUrlState {
  const p = new URLSearchParams(query);
  const asked = (p.get('pens') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const known = (n: string): boolean => {
    const t = o.tags.get(n);
    return t !== undefined && trendable(t);
  };
  let pens = [...new Set(asked)].filter(known).slice(0, MAX_PENS);
  if (pens.length === 0 && !p.has('pens')) pens = o.defaults.filter(known).slice(0, MAX_PENS);
  return { pens, period: parsePeriod(p, o.now, o.timeZone, 'hour') };
}

/** A period from a query (`last=<preset>`, or `from=` and optionally `to=`, ISO or epoch ms); else the fallback preset. */
export function parsePeriod(p: URLSearchParams, now: number, timeZone: string, fallback: Exclude<RangePreset, 'custom'>): Period {
  const from = readTime(p.get('from'));
  const to = readTime(p.get('to'));
  const last = p.get('last') as Exclude<RangePreset, 'custom'> | null;
  if (from !== undefined && to !== undefined && from < to) return { preset: 'custom', from, to };
  if (from !== undefined && to === undefined && from < now) return { preset: 'custom', from, to: undefined };
  return presetPeriod(last && LIVE_PRESETS.includes(last) ? last : fallback, now, timeZone);
}

const iso = (t: number): string => new Date(t).toISOString();

/** A period in a query: presets by name (they mean "up to now" when opened again), other periods by their ISO bounds. */
export function formatPeriod(p: Period): string {
  if (p.preset !== 'custom') return `last=${p.preset}`;
  return p.to === undefined ? `from=${iso(p.from)}` : `from=${iso(p.from)}&to=${iso(p.to)}`;
}

/** The route's query for a state. */
export function formatTrendQuery(s: TrendUrlState): string {
  return `pens=${s.pens.map(encodeURIComponent).join(',')}&${formatPeriod(s.period)}`;
}

export const hrefTrend = (s: TrendUrlState): string => `#/trends?${formatTrendQuery(s)}`;

/** The pens shown when none are asked for: the first dashboard's bars (level, oxygen, turbidity on the SBR), else the first numeric tags. */
export function defaultPens(pages: readonly { kind: string; bars?: readonly { tag: string }[] }[], tagList: readonly Pick<TagInfo, 'name' | 'type'>[], max = 4): string[] {
  const dash = pages.find((p) => p.kind === 'dashboard' && p.bars && p.bars.length > 0);
  if (dash?.bars) return dash.bars.map((b) => b.tag).slice(0, max);
  return tagList
    .filter((t) => trendable(t) && !isBool(t))
    .map((t) => t.name)
    .slice(0, max);
}

// ------------------------------------------------------------------ axes

export interface PenInfo {
  tag: string;
  /** The unit shown on the axis ('' for none). */
  unit: string;
  bool: boolean;
  decimals: number;
  label: string;
}

export interface AxisGroup {
  /** The uPlot scale key. */
  key: string;
  unit: string;
  bool: boolean;
  /** Indexes into the pens. */
  pens: number[];
}

/** One y axis per unit (booleans share one OFF/ON axis), in the order the pens first use them. */
export function axisGroups(pens: readonly PenInfo[]): AxisGroup[] {
  const groups: AxisGroup[] = [];
  pens.forEach((p, i) => {
    const key = p.bool ? 'bool' : `u:${p.unit}`;
    let g = groups.find((x) => x.key === key);
    if (!g) {
      g = { key, unit: p.bool ? '' : p.unit, bool: p.bool, pens: [] };
      groups.push(g);
    }
    g.pens.push(i);
  });
  return groups;
}

/** Dash patterns of the pens, so they differ without colour (the chart and the legend draw the same). */
export const PEN_DASH: readonly number[][] = [[], [10, 4], [2, 3], [12, 3, 3, 3], [6, 6], [1, 3]];
export const penColour = (i: number): string => `var(--pen-${(i % PEN_DASH.length) + 1})`;
export const penDash = (i: number): number[] => PEN_DASH[i % PEN_DASH.length]!;

/** How many points to ask for: about two per pixel of the plot (the server keeps the extremes of each bucket). */
export const pointsFor = (plotWidthPx: number): number => Math.min(10_000, Math.max(200, Math.round(plotWidthPx * 2)));

/** At phone width only this many y axes are drawn (the legend gives every pen's value), so the plot keeps its width. */
export const PHONE_AXES = 2;

/**
 * The time axis's labels in the plant's zone: hours and minutes (seconds,
 * tenths when the ticks are that close), and the date under the first tick
 * and wherever the day changes; only dates when ticks are days apart.
 */
export function timeTicks(splits: readonly number[], incrMs: number, timeZone: string): string[] {
  let prevDay = '';
  return splits.map((t) => {
    const [day = '', clock = ''] = formatDateTime(t, timeZone).split(' ');
    const newDay = day !== prevDay;
    prevDay = day;
    if (incrMs >= 86_400_000) return day;
    let time = incrMs >= 60_000 ? clock.slice(0, 5) : clock;
    if (incrMs < 1000) time += `.${String(Math.floor((t % 1000) / 100))}`;
    return newDay ? `${time}\n${day}` : time;
  });
}

// ------------------------------------------------------------------ series

export interface PenData {
  tag: string;
  t: number[];
  v: (number | null)[];
  q: SampleQuality[];
}

export const fromHistory = (s: HistorySeries): PenData => ({ tag: s.tag, t: [...s.t], v: [...s.v], q: [...s.q] });

/** `undefined`: this pen has no sample at that time (skipped); `null`: a gap (the line stops). */
export type Y = number | null | undefined;

export interface Joined {
  /** Times of every pen's samples, ascending, each once. */
  x: number[];
  /** Per pen: its good-quality staircase, and its uncertain one (drawn apart, dashed in the quality colour). */
  good: Y[][];
  unsure: Y[][];
}

/** A value with no quality counts as good; a missing value is a gap whatever its quality. */
const isGood = (v: number | null, q: SampleQuality): boolean => v !== null && (q === 'good' || q === null);

/**
 * Joins the pens onto one time axis. Each pen stays a staircase of its own
 * samples (values arrive by exception and hold until the next): where
 * another pen has a sample it has none (undefined). A null value is a gap;
 * a good stretch ends where an uncertain one starts and the other way round
 * (each holds up to the next sample, then stops).
 */
export function joinPens(pens: readonly PenData[], extendTo?: number): Joined {
  const all = new Set<number>();
  for (const p of pens) for (const t of p.t) all.add(t);
  if (extendTo !== undefined) all.add(extendTo);
  const x = [...all].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const good: Y[][] = [];
  const unsure: Y[][] = [];
  for (const p of pens) {
    const g: Y[] = new Array<Y>(x.length).fill(undefined);
    const u: Y[] = new Array<Y>(x.length).fill(undefined);
    for (let k = 0; k < p.t.length; k++) {
      const i = index.get(p.t[k]!)!;
      const v = p.v[k] ?? null;
      const kind = v === null ? 'gap' : isGood(v, p.q[k] ?? null) ? 'good' : 'unsure';
      // A stretch of the other kind (or a gap) ends here: the staircase holds up to this sample, then stops (null).
      g[i] = kind === 'good' ? v : null;
      u[i] = kind === 'unsure' ? v : null;
    }
    // While live, the last value holds up to now (values arrive only when they change).
    const n = p.t.length;
    if (extendTo !== undefined && n > 0 && p.t[n - 1]! < extendTo) {
      const i = index.get(extendTo)!;
      const v = p.v[n - 1] ?? null;
      const kind = v === null ? 'gap' : isGood(v, p.q[n - 1] ?? null) ? 'good' : 'unsure';
      g[i] = kind === 'good' ? v : null;
      u[i] = kind === 'unsure' ? v : null;
    }
    good.push(g);
    unsure.push(u);
  }
  return { x, good, unsure };
}

// ------------------------------------------------------------------ the cursor

export interface PenReading {
  /** When the value shown was recorded (it holds from then). */
  t: number;
  v: number | null;
  q: SampleQuality;
}

/** The pen's value at time `t`: its last sample at or before `t` (a staircase); undefined before its first. */
export function readingAt(p: PenData, t: number): PenReading | undefined {
  let lo = 0;
  let hi = p.t.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (p.t[mid]! <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  return { t: p.t[found]!, v: p.v[found] ?? null, q: p.q[found] ?? null };
}

/** A reading's quality in a word, as the legend writes it. */
export function qualityText(r: PenReading | undefined): { word: string; mark: string; good: boolean } {
  const t = msg().trends.quality;
  if (!r) return { word: t.noData, mark: '–', good: false };
  if (r.v === null) return { word: r.q === 'bad' ? t.badGap : t.noDataGap, mark: '✕', good: false };
  if (r.q === 'uncertain') return { word: t.uncertain, mark: '?', good: false };
  if (r.q === 'bad') return { word: t.bad, mark: '✕', good: false };
  return { word: t.good, mark: '', good: true };
}

// ------------------------------------------------------------------ zoom and steps

/** The shortest period a zoom goes down to. */
export const MIN_SPAN_MS = 1000;

const fixed = (from: number, to: number): Period => ({ preset: 'custom', from: Math.round(from), to: Math.round(to) });

/** A period chosen on the chart (dragged), at least MIN_SPAN_MS. */
export function zoomTo(a: number, b: number): Period {
  const from = Math.min(a, b);
  const to = Math.max(a, b);
  if (to - from >= MIN_SPAN_MS) return fixed(from, to);
  const mid = (from + to) / 2;
  return fixed(mid - MIN_SPAN_MS / 2, mid + MIN_SPAN_MS / 2);
}

/** Twice as long around the same middle, never past now. */
export function zoomOut(bounds: { from: number; to: number }, now: number): Period {
  const span = (bounds.to - bounds.from) * 2;
  let to = (bounds.from + bounds.to) / 2 + span / 2;
  if (to > now) to = now;
  return fixed(to - span, to);
}

/** Half a period earlier (-1) or later (+1); later stops at now. */
export function step(bounds: { from: number; to: number }, dir: -1 | 1, now: number): Period {
  const span = bounds.to - bounds.from;
  let to = bounds.to + (dir * span) / 2;
  if (to > now) to = now;
  return fixed(to - span, to);
}

// ------------------------------------------------------------------ the live tail

/** A live value's quality as the historian writes it: bad data is a gap. */
export function liveSample(value: unknown, quality: string): { v: number | null; q: SampleQuality } {
  const n = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : null;
  if (quality.startsWith('Bad_') || n === null || !Number.isFinite(n)) return { v: null, q: 'bad' };
  return { v: n, q: quality.startsWith('Uncertain_') ? 'uncertain' : 'good' };
}

/**
 * Appends a streamed value to a pen while the period reaches now: only
 * newer than what it has (a value replayed after a resync adds nothing),
 * and samples before the window's start are dropped but the last of them
 * (it is the value at the left edge).
 */
export function appendLive(p: PenData, t: number, v: number | null, q: SampleQuality, windowFrom: number): boolean {
  const n = p.t.length;
  if (n > 0 && t <= p.t[n - 1]!) return false;
  p.t.push(t);
  p.v.push(v);
  p.q.push(q);
  let drop = 0;
  while (drop + 1 < p.t.length && p.t[drop + 1]! <= windowFrom) drop++;
  if (drop > 0) {
    p.t.splice(0, drop);
    p.v.splice(0, drop);
    p.q.splice(0, drop);
  }
  return true;
}

// ------------------------------------------------------------------ the historian's figures

const DAY = 86_400_000;


/** A retention as the server states it ("90d", "2y", "forever", or ms; null: kept for ever) in words. */
export function retentionText(r: unknown): string {
  const t = msg().historian;
  if (typeof r === 'string') {
    const m = /^(\d+)\s*([ydhms])$/.exec(r.trim());
    if (m) return `${m[1]} ${t.units[m[2]!]![m[1] === '1' ? 0 : 1]}`;
    if (/^forever$/i.test(r.trim())) return t.forever;
    if (r.trim()) return r.trim();
  }
  if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) return t.forever;
  if (r >= 365 * DAY && r % (365 * DAY) === 0) return `${r / (365 * DAY)} ${t.units.y![r === 365 * DAY ? 0 : 1]}`;
  if (r >= DAY) return `${Math.round(r / DAY)} ${t.units.d![Math.round(r / DAY) === 1 ? 0 : 1]}`;
  if (r >= 3_600_000) return `${Math.round(r / 3_600_000)} h`;
  return `${Math.round(r / 60_000)} min`;
}

export function bytesText(b: number): string {
  if (b >= 1e9) return `${(b / 1e9).toFixed(2)}\u00a0GB`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(1)}\u00a0MB`;
  return `${Math.round(b / 1e3)}\u00a0kB`;
}

/** "Historian: 12.3 MB on disk, 1,234,567 samples since …; kept: raw 90 days, minute rollups 2 years, hourly for ever." */
export function historianText(s: HistorianStatus, time: (t: number) => string): string {
  const r = s.retention ?? { raw: undefined, minute: undefined, hour: undefined };
  return msg().historian.status(bytesText(s.bytes), formatNumber(s.samples, 0), s.oldest === null ? null : time(s.oldest), retentionText(r.raw), retentionText(r.minute), retentionText(r.hour));
}
