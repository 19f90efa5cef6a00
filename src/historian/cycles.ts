/**
 * The cycle report of a batch process, from the recorded history: each
 * cycle's program, its phases' planned and actual durations, measurements
 * over given phases, the volume treated and the alarms raised, with the
 * anomalies flagged. Which tags play which part comes from the
 * configuration (`historian.cycles`); nothing here knows it is an SBR.
 */
import type { CycleConfig } from '../config/schema.js';
import type { Samples } from './codec.js';
import { csvCell } from './export.js';
import { isBadIndex } from './types.js';

export interface CyclePhase {
  name: string;
  plannedS: number | null;
  actualS: number | null;
}

export interface Anomaly {
  code: string;
  text: string;
}

export interface Cycle {
  start: number;
  /** null while the cycle runs. */
  end: number | null;
  program: number | null;
  phases: CyclePhase[];
  oxygenMeanMgL: number | null;
  oxygenMinMgL: number | null;
  turbidityAtDischargeNtu: number | null;
  volumeM3: number | null;
  /** Alarms raised from its start until the next cycle started (or now). */
  alarms: number;
  anomalies: Anomaly[];
}

export interface CycleSource {
  readRaw(tag: string, from: number, to: number): Promise<Samples>;
  lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined>;
}

export interface CycleReportOptions {
  config: CycleConfig;
  source: CycleSource;
  /** Alarm activations in [from, to) (the alarm journal). */
  alarmCount?: (from: number, to: number) => number | Promise<number>;
  now?: () => number;
  /** How far past `to` to look for the end of the last cycle. Default 2 days. */
  lookaheadMs?: number;
}

interface Interval {
  start: number;
  /** null: still active at the end of the data. */
  end: number | null;
}

const UNIT_S = { s: 1, min: 60, h: 3600 } as const;

/** The intervals during which a boolean tag is true (with good or uncertain quality). */
async function activeIntervals(source: CycleSource, tag: string, from: number, to: number): Promise<Interval[]> {
  const out: Interval[] = [];
  const before = await source.lastBefore(tag, from);
  let open: number | null = before && !isBadIndex(before.q) && before.v >= 0.5 ? before.ts : null;
  const s = await source.readRaw(tag, from, to);
  for (let i = 0; i < s.n; i++) {
    const on = !isBadIndex(s.q[i]!) && s.v[i]! >= 0.5;
    if (on && open === null) open = s.ts[i]!;
    else if (!on && open !== null) {
      out.push({ start: open, end: s.ts[i]! });
      open = null;
    }
  }
  if (open !== null) out.push({ start: open, end: null });
  return out;
}

/** Time-weighted mean, minimum and maximum of a tag over intervals (step interpolation, usable values only). */
async function statsOver(source: CycleSource, tag: string, intervals: { start: number; end: number }[]): Promise<{ mean: number | null; min: number | null; max: number | null }> {
  let weighted = 0;
  let ms = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const iv of intervals) {
    if (!(iv.end > iv.start)) continue;
    const carry = await source.lastBefore(tag, iv.start);
    const s = await source.readRaw(tag, iv.start, iv.end);
    let t = iv.start;
    let v = carry && !isBadIndex(carry.q) ? carry.v : NaN;
    const add = (until: number): void => {
      if (Number.isFinite(v) && until > t) {
        weighted += v * (until - t);
        ms += until - t;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    };
    for (let i = 0; i < s.n; i++) {
      add(s.ts[i]!);
      t = s.ts[i]!;
      v = isBadIndex(s.q[i]!) ? NaN : s.v[i]!;
      if (Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    add(iv.end);
  }
  return { mean: ms > 0 ? weighted / ms : null, min: min === Infinity ? null : min, max: max === -Infinity ? null : max };
}

export class CycleReport {
  private readonly c: CycleConfig;
  private readonly source: CycleSource;
  private readonly now: () => number;
  private readonly lookaheadMs: number;
  private readonly alarmCount: ((from: number, to: number) => number | Promise<number>) | undefined;

  constructor(o: CycleReportOptions) {
    this.c = o.config;
    this.source = o.source;
    this.now = o.now ?? Date.now;
    this.lookaheadMs = o.lookaheadMs ?? 2 * 86_400_000;
    this.alarmCount = o.alarmCount;
  }

  private async valueAt(ref: string | number | undefined, t: number): Promise<number | null> {
    if (ref === undefined) return null;
    if (typeof ref === 'number') return ref;
    const s = await this.source.lastBefore(ref, t + 1);
    return s && !isBadIndex(s.q) && Number.isFinite(s.v) ? s.v : null;
  }

  /** The cycles that started in [from, to), newest first. */
  async cycles(from: number, to: number): Promise<Cycle[]> {
    const now = this.now();
    const horizon = Math.max(to, Math.min(now, to + this.lookaheadMs));
    const phases = await Promise.all(this.c.phases.map((p) => activeIntervals(this.source, p.active, from, horizon)));
    const starts = phases[0]!.filter((iv) => iv.start >= from && iv.start < to).map((iv) => iv.start);
    const nextStarts = phases[0]!.map((iv) => iv.start).filter((t) => t >= from);
    const out: Cycle[] = [];
    for (const start of starts) {
      const next = nextStarts.find((t) => t > start) ?? Infinity;
      out.push(await this.cycle(start, next, phases, now));
    }
    return out.reverse();
  }

  private async cycle(start: number, next: number, phases: Interval[][], now: number): Promise<Cycle> {
    const c = this.c;
    // The phases' intervals that began in this cycle, each cut at the next cycle's start.
    const own = phases.map((ivs) => ivs.filter((iv) => iv.start >= start && iv.start < next).map((iv) => ({ start: iv.start, end: iv.end === null ? (next === Infinity ? null : next) : Math.min(iv.end, next) })));
    const ends = own.flat().map((iv) => iv.end);
    const lastPhase = own[own.length - 1]!;
    let end: number | null;
    if (ends.some((e) => e === null)) end = null;
    else if (lastPhase.length > 0) end = lastPhase[lastPhase.length - 1]!.end;
    else end = Math.max(...(ends as number[]));
    const closed = (ivs: { start: number; end: number | null }[]): { start: number; end: number }[] => ivs.map((iv) => ({ start: iv.start, end: iv.end ?? now }));

    const programValue = await this.valueAt(c.program, start);
    const program = programValue === null ? null : Math.round(programValue);
    const anomalies: { code: string; text: string }[] = [];
    const phaseOut: CyclePhase[] = [];
    for (let k = 0; k < c.phases.length; k++) {
      const p = c.phases[k]!;
      const plannedTag = c.program === undefined ? p.planned[0] : program !== null ? p.planned[program - 1] : undefined;
      const planned = await this.valueAt(plannedTag, start);
      const plannedS = planned === null ? null : planned * UNIT_S[c.plannedUnit];
      const ivs = own[k]!;
      let actualS = ivs.length === 0 ? null : Math.round(closed(ivs).reduce((s, iv) => s + iv.end - iv.start, 0) / 1000);
      if (p.elapsed !== undefined && ivs.length > 0) {
        // Up to the next cycle, not the phase's end: the count's last step is written in the scan that ends the phase.
        const counted = (await statsOver(this.source, p.elapsed, [{ start: ivs[0]!.start, end: Math.min(next, now) }])).max;
        actualS = counted === null ? null : Math.round(counted * UNIT_S[c.plannedUnit]);
      }
      const finished = ivs.length > 0 && ivs.every((iv) => iv.end !== null);
      if (finished && plannedS !== null && actualS !== null && actualS > plannedS + c.tolerance / 1000) {
        anomalies.push({ code: 'PHASE_OVER_PLAN', text: `${p.name} took ${fmtS(actualS)}, planned ${fmtS(plannedS)}` });
      }
      phaseOut.push({ name: p.name, plannedS, actualS });
    }

    const phaseIntervals = (name: string): { start: number; end: number }[] => closed(own[c.phases.findIndex((p) => p.name === name)] ?? []);
    let oxygenMean: number | null = null;
    let oxygenMin: number | null = null;
    if (c.oxygen) {
      const ivs = phaseIntervals(c.oxygen.phase);
      const s = await statsOver(this.source, c.oxygen.tag, ivs);
      oxygenMean = s.mean;
      oxygenMin = s.min;
      if (ivs.length > 0) {
        const lo = await this.valueAt(c.oxygen.min, ivs[0]!.start);
        const hi = await this.valueAt(c.oxygen.max, ivs[0]!.start);
        if (lo !== null && s.min !== null && s.min < lo) anomalies.push({ code: 'OXYGEN_LOW', text: `oxygen fell to ${round(s.min)} during ${c.oxygen.phase} (minimum ${lo})` });
        if (hi !== null && s.max !== null && s.max > hi) anomalies.push({ code: 'OXYGEN_HIGH', text: `oxygen rose to ${round(s.max)} during ${c.oxygen.phase} (maximum ${hi})` });
      }
    }
    let turbidity: number | null = null;
    if (c.turbidity) {
      const ivs = phaseIntervals(c.turbidity.phase);
      const s = await statsOver(this.source, c.turbidity.tag, ivs);
      turbidity = s.mean;
      const max = ivs.length > 0 ? await this.valueAt(c.turbidity.max, ivs[0]!.start) : null;
      if (max !== null && s.max !== null && s.max > max) anomalies.push({ code: 'TURBIDITY_HIGH', text: `turbidity reached ${round(s.max)} during ${c.turbidity.phase} (maximum ${max})` });
    }
    let volume: number | null = null;
    if (c.volume) {
      const a = await this.valueAt(c.volume.tag, start);
      const b = await this.valueAt(c.volume.tag, end ?? now);
      if (a !== null && b !== null) {
        volume = b - a;
        if (volume < 0 && c.volume.wrap !== undefined) volume += c.volume.wrap;
        if (volume < 0) volume = null;
      }
    }
    if (end !== null && own.some((ivs) => ivs.length === 0)) {
      anomalies.push({ code: 'CYCLE_INCOMPLETE', text: `the cycle ended without ${c.phases.filter((_, k) => own[k]!.length === 0).map((p) => p.name).join(', ')}` });
    }
    // Until the next cycle starts, not until this one's last phase ends: the alarm that ended it (an emergency stop) is
    // journalled when the alarm engine saw it, a little after the PLC's reading that ended the phase.
    const alarms = this.alarmCount ? await this.alarmCount(start, Math.min(next, now)) : 0;
    return {
      start,
      end,
      program,
      phases: phaseOut,
      oxygenMeanMgL: oxygenMean === null ? null : round(oxygenMean),
      oxygenMinMgL: oxygenMin === null ? null : round(oxygenMin),
      turbidityAtDischargeNtu: turbidity === null ? null : round(turbidity),
      volumeM3: volume === null ? null : round(volume),
      alarms,
      anomalies,
    };
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;
const fmtS = (s: number): string => (s % 60 === 0 ? `${s / 60} min` : `${Math.round(s / 6) / 10} min`);

/** The report as CSV: one row per cycle, planned and actual minutes per phase. */
export function cyclesCsv(cycles: readonly Cycle[], phaseNames: readonly string[]): string {
  const head = ['start', 'end', 'program'];
  for (const p of phaseNames) head.push(`${p} planned [s]`, `${p} actual [s]`);
  head.push('oxygen mean [mg/L]', 'oxygen min [mg/L]', 'turbidity at discharge [NTU]', 'volume [m³]', 'alarms', 'anomalies');
  const cell = (x: number | null): string => (x === null ? '' : String(x));
  const lines = [head.map(csvCell).join(',')];
  for (const c of cycles) {
    const row = [new Date(c.start).toISOString(), c.end === null ? '' : new Date(c.end).toISOString(), cell(c.program)];
    for (const name of phaseNames) {
      const p = c.phases.find((x) => x.name === name);
      row.push(cell(p?.plannedS ?? null), cell(p?.actualS ?? null));
    }
    row.push(cell(c.oxygenMeanMgL), cell(c.oxygenMinMgL), cell(c.turbidityAtDischargeNtu), cell(c.volumeM3), String(c.alarms), c.anomalies.map((a) => a.text).join('; '));
    lines.push(row.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
