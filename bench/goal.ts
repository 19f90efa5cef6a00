/**
 * The one format every bench states its goals in, so that `npm run bench`
 * (scripts/bench-all.ts) can collect them:
 *
 *   goal <name>: <goal> — measured <measured> — MET
 *
 * A bench that missed a goal may exit 1 (as each did before this format):
 * `npm run bench` takes a non-zero exit with a MISSED line for a miss, and
 * any other failure (no goal line, every goal met, a signal) for a crash.
 */

/** A goal line: name, goal, measured, verdict. */
export const GOAL_LINE = /^goal (.+?): (.+) — measured (.+) — (MET|MISSED)$/;

export interface GoalResult {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

/**
 * Prints one goal line and returns whether it was met. `name` is short and
 * unique within the bench (e.g. "poller load B pinned"), `goal` the target
 * (e.g. "p99 ≤ 1.0× the reference"), `measured` the figure with its ratio
 * and reference (e.g. "0.82× (9.1 / 11.1 ms)").
 */
export function reportGoal(name: string, goal: string, measured: string, met: boolean): boolean {
  const clean = (s: string): string => s.replace(/\s+/g, ' ').replaceAll(' — ', ' - ').trim();
  console.log(`goal ${clean(name).replaceAll(':', ' ')}: ${clean(goal)} — measured ${clean(measured)} — ${met ? 'MET' : 'MISSED'}`);
  return met;
}

/** Parses a goal line printed by reportGoal; undefined for any other line. */
export function parseGoal(line: string): GoalResult | undefined {
  const m = GOAL_LINE.exec(line.trim());
  return m ? { name: m[1]!, goal: m[2]!, measured: m[3]!, met: m[4] === 'MET' } : undefined;
}
