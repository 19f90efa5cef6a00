/**
 * The cycle's timing without a screen: each step's time left (planned minus
 * elapsed, never below zero) and when the cycle is expected to end — the
 * active step's time left plus the planned durations of the steps after it —
 * in the steps' own unit (the SBR's minutes).
 */

/** Milliseconds per unit of the step tags; an unknown unit gives no end time rather than a wrong one. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };

export const unitMs = (unit: string | undefined): number | undefined => UNIT_MS[unit ?? ''];

export interface StepTiming {
  active: boolean;
  /** Elapsed and planned in the step's unit; null while unknown. */
  elapsed: number | null;
  planned: number | null;
}

export function timeLeft(s: StepTiming): number | null {
  return s.elapsed === null || s.planned === null ? null : Math.max(0, s.planned - s.elapsed);
}

/** What is left of the cycle, in the steps' unit: null when no step is active or a needed figure is unknown. */
export function cycleLeft(steps: readonly StepTiming[]): number | null {
  const at = steps.findIndex((s) => s.active);
  if (at < 0) return null;
  let left = timeLeft(steps[at]!);
  for (const s of steps.slice(at + 1)) left = left === null || s.planned === null ? null : left + s.planned;
  return left;
}
