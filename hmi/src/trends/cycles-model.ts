/**
 * The SBR cycle report without any screen: each cycle's figures in words
 * with their units, each phase's actual duration against its plan (over
 * the plan is marked), and the anomalies the server found, so the page can
 * flag them by mark and text, never by colour alone.
 */
import { formatDuration, formatNumber } from '../shared/format.js';
import type { Cycle, CyclePhase } from './history-api.js';
import { msg } from '../i18n/locale.js';

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
  const over = p.actualS !== null && p.plannedS !== null && p.actualS > p.plannedS + TOLERANCE_S ? msg().cycles.over(formatDuration((p.actualS - p.plannedS) * 1000)) : undefined;
  return { name: p.name, actual: secs(p.actualS), planned: secs(p.plannedS), over };
}

/** How the server words each anomaly (src/historian/cycles.ts): its figures, to say it again in the user's language. */
const ANOMALY_SHAPES: Record<string, RegExp> = {
  PHASE_OVER_PLAN: /^(.+) took (.+), planned (.+)$/,
  OXYGEN_LOW: /^oxygen fell to (\S+) during (.+) \(minimum (\S+)\)$/,
  OXYGEN_HIGH: /^oxygen rose to (\S+) during (.+) \(maximum (\S+)\)$/,
  TURBIDITY_HIGH: /^turbidity reached (\S+) during (.+) \(maximum (\S+)\)$/,
  CYCLE_INCOMPLETE: /^the cycle ended without (.+)$/,
};

/** Plain numbers from the server ("2.5") in the user's way of writing them ("2,5"). */
const localNumber = (s: string): string => (/^-?\d+(\.\d+)?$/.test(s) ? formatNumber(Number(s), s.split('.')[1]?.length ?? 0) : s);

/** An anomaly in the user's language (`phase` names a phase in it); the server's words when their shape is not known. */
export function anomalyText(a: { code: string; text: string }, phase: (name: string) => string = (n) => n): string {
  const m = ANOMALY_SHAPES[a.code]?.exec(a.text);
  if (!m) return a.text;
  const t = msg().cycles.anomalyText;
  switch (a.code) {
    case 'PHASE_OVER_PLAN':
      return t.PHASE_OVER_PLAN(phase(m[1]!), m[2]!, m[3]!);
    case 'OXYGEN_LOW':
      return t.OXYGEN_LOW(localNumber(m[1]!), phase(m[2]!), localNumber(m[3]!));
    case 'OXYGEN_HIGH':
      return t.OXYGEN_HIGH(localNumber(m[1]!), phase(m[2]!), localNumber(m[3]!));
    case 'TURBIDITY_HIGH':
      return t.TURBIDITY_HIGH(localNumber(m[1]!), phase(m[2]!), localNumber(m[3]!));
    default:
      return t.CYCLE_INCOMPLETE(m[1]!.split(', ').map(phase).join(', '));
  }
}

export function cycleView(c: Cycle, now: number, phase: (name: string) => string = (n) => n): CycleView {
  const running = c.end === null;
  const duration = formatDuration((c.end ?? now) - c.start);
  return {
    key: String(c.start),
    running,
    program: c.program === null ? NONE : msg().cycles.programN(c.program),
    duration: running ? msg().cycles.soFar(duration) : duration,
    phases: c.phases.map(phaseView),
    oxygenMean: num(c.oxygenMeanMgL, 2, 'mg/L'),
    oxygenMin: num(c.oxygenMinMgL, 2, 'mg/L'),
    turbidity: num(c.turbidityAtDischargeNtu, 1, 'NTU'),
    volume: num(c.volumeM3, 1, 'm³'),
    alarms: String(c.alarms),
    anomalies: c.anomalies.map((a) => ({ code: a.code, text: anomalyText(a, phase) })),
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
  return msg().cycles.summary(n, flagged);
}
