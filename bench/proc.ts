/** What the benchmarks read about processes and placement (Linux: /proc, taskset). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
