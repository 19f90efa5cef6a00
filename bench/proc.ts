/** What the benchmarks read about processes and placement (Linux: /proc, taskset). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Started, startProcess } from '../test/helpers/process.js';
import { reportGoal } from './goal.js';

/**
 * A measuring child's result: the JSON object on the last line it printed. A child that failed, or printed no such
 * line, throws with everything it said, named `what`.
 */
export function lastJsonLine<T>(r: { code: number | null; stdout: string; stderr: string }, what: string): T {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(line) as T;
}

/** Whether `taskset` can pin a process here. */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * Starts processes that are all killed when the bench ends, fails or is
 * interrupted (SIGINT, SIGTERM, SIGHUP): a bench never leaves a server behind.
 */
export function childTracker(env?: NodeJS.ProcessEnv): (cmd: string, args: string[], ready: RegExp, timeoutMs?: number) => Promise<Started & { match: RegExpExecArray }> {
  const children = new Set<Started>();
  const killChildren = (): void => {
    for (const p of children) p.child.kill('SIGKILL');
  };
  process.on('exit', killChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killChildren();
      process.exit(130);
    });
  }
  return async (cmd, args, ready, timeoutMs = 60_000) => {
    const p = await startProcess(cmd, args, ready, { timeoutMs, ...(env ? { env } : {}) });
    children.add(p);
    p.child.once('exit', () => children.delete(p));
    return p;
  };
}

/** The command line that runs `cmd` pinned to CPU 0 (taskset -c 0), or as it is. */
export function pin(pinned: boolean, cmd: string, args: string[]): [string, string[]] {
  return pinned ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args];
}

/** A measured ratio against its target. */
export interface Check {
  name: string;
  ratio: number;
  target: number;
  /** What the ratio is of, after the figure (e.g. "× the line limit"). */
  unit?: string;
}

/** Prints each check as a goal line (bench/goal.ts), met or missed; sets the exit code to 1 if any was missed. */
export function summarise(checks: readonly Check[]): void {
  console.log('\nsummary');
  let missed = 0;
  for (const c of checks) {
    if (!reportGoal(c.name, `≥ ${c.target}${c.unit ? ` ${c.unit}` : ''}`, `${c.ratio.toFixed(2)}${c.unit ? ` ${c.unit}` : ''}`, c.ratio >= c.target)) missed++;
  }
  process.exitCode = missed > 0 ? 1 : 0;
}

/** A positive number given as `--name N` on the command line, or `def`. */
export function numberOption(name: string, def: number, args: readonly string[] = process.argv.slice(2)): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
