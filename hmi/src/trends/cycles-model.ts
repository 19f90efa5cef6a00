/**
 * The SBR cycle report without any screen: each cycle's figures in words
 * with their units, each phase's actual duration against its plan (over
 * the plan is marked), and the anomalies the server found, so the page can
 * flag them by mark and text, never by colour alone.
 */
import { formatDuration, formatNumber } from '../shared/format.js';
import type { Cycle, CyclePhase } from './history-api.js';

export interface PhaseView {
  name: string;
  actual: string;
  planned: string;
  /** Longer than planned: by how much, in words. */
  over: string | undefined;
}

export interface CycleView {
  key: string;
  running: boolean;
  program: string;
  duration: string;
  phases: PhaseView[];
  oxygenMean: string;
  oxygenMin: string;
  turbidity: string;
  volume: string;
  alarms: string;
  anomalies: readonly { code: string; text: string }[];
}

const NONE = '—';
const num = (v: number | null, decimals: number, unit: string): string => (v === null || !Number.isFinite(v) ? NONE : `${formatNumber(v, decimals)}\u00a0${unit}`);
const secs = (s: number | null): string => (s === null || !Number.isFinite(s) ? NONE : formatDuration(s * 1000));

/** A phase may overrun its plan by this much before it counts as over (the PLC's timers tick by the second). */
const TOLERANCE_S = 1;

export function phaseView(p: CyclePhase): PhaseView {
  const over = p.actualS !== null && p.plannedS !== null && p.actualS > p.plannedS + TOLERANCE_S ? `${formatDuration((p.actualS - p.plannedS) * 1000)} over plan` : undefined;
  return { name: p.name, actual: secs(p.actualS), planned: secs(p.plannedS), over };
}

export function cycleView(c: Cycle, now: number): CycleView {
  const running = c.end === null;
  return {
    key: String(c.start),
    running,
    program: c.program === null ? NONE : `Program ${c.program}`,
    duration: `${formatDuration((c.end ?? now) - c.start)}${running ? ' so far' : ''}`,
    phases: c.phases.map(phaseView),
    oxygenMean: num(c.oxygenMeanMgL, 2, 'mg/L'),
    oxygenMin: num(c.oxygenMinMgL, 2, 'mg/L'),
    turbidity: num(c.turbidityAtDischargeNtu, 1, 'NTU'),
    volume: num(c.volumeM3, 1, 'm³'),
    alarms: String(c.alarms),
    anomalies: c.anomalies,
  };
}

/** The phase names of a list of cycles, in the order they first appear (the table's columns). */
export function phaseNames(cycles: readonly Cycle[]): string[] {
  const names: string[] = [];
  for (const c of cycles) for (const p of c.phases) if (!names.includes(p.name)) names.push(p.name);
  return names;
}

/** "3 cycles, 1 with anomalies". */
export function cyclesSummary(cycles: readonly Cycle[]): string {
  const n = cycles.length;
  const flagged = cycles.filter((c) => c.anomalies.length > 0).length;
  const base = `${n} cycle${n === 1 ? '' : 's'}`;
  return flagged === 0 ? base : `${base}, ${flagged} with anomalies`;
}
