/**
 * bench:contention — the poller under contention (issue 25, goal 4): 100,000
 * tags over 100 devices of the generic load simulator, every register
 * changing at every scan, scanned every 100 ms in two groups per device:
 * "control" (half the tags, never shed) and "trend" (the other half, shed
 * first, devices[].shedOrder). Other processes busy on the same cores: one
 * CPU hog (a process spinning) per core.
 *
 * Reference, in the same run and placement: the same load, no hog.
 * Reported: deadlines missed by cause (planta-late, device-slow,
 * cpu-starved), scans shed per group, values published with a quality other
 * than Good, the share of the time the poller's event loop waited for a CPU.
 *
 * Goal: under contention no deadline missed for Planta's own lateness beyond
 * the reference's overruns (those it could have met), no value Bad or stale,
 * and the load shed from the lower group first (control never shed, its
 * deadlines met at least as often as trend's).
 *
 * Placements: left to the scheduler (a hog per CPU); and pinned — simulator
 * on CPU 0, poller on CPU 1, a hog on each.
 *
 * usage: npm run bench:contention [-- --seconds 10 --devices 100 --registers 1000 --period 100]
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { run } from '../test/helpers/process.js';
import { reportGoal } from './goal.js';
import { childTracker, hasTaskset, lastJsonLine, numberOption } from './proc.js';

const opt = numberOption;
const SECONDS = opt('seconds', 10);
const DEVICES = opt('devices', 100);
const REGISTERS = opt('registers', 1000);
const PERIOD = opt('period', 100);
const here = new URL('.', import.meta.url).pathname;
const planta = new URL('../bin/planta.js', import.meta.url).pathname;
const node = process.execPath;
const start = childTracker({ ...process.env, PLANTA_LOG_LEVEL: 'warn' });
const ncpu = availableParallelism();

interface Result {
  seconds: number;
  deadlinesPerGroup: number;
  overruns: number;
  causes: Record<string, number>;
  groups: Record<string, { scans: number; missed: number; shed: number }>;
  excusedTimeouts: number;
  timeouts: number;
  published: number;
  notGood: Record<string, number>;
  cores: number;
  starvedShare: number;
  jitterP99Ms: number;
}

const on = (cpu: number | undefined, cmd: string, a: string[]): [string, string[]] => (cpu === undefined ? [cmd, a] : ['taskset', ['-c', String(cpu), cmd, ...a]]);

async function measure(pinned: boolean, hogs: boolean): Promise<Result> {
  const spinning = [];
  if (hogs) {
    for (let i = 0; i < ncpu; i++) {
      const [c, a] = on(pinned ? i : undefined, node, ['-e', "console.log('spinning'); for (;;);"]);
      spinning.push(await start(c, a, /spinning/));
    }
  }
  const [sc, sa] = on(pinned ? 0 : undefined, node, [planta, 'sim', '--port', '0', '--no-control', '--load', `${DEVICES}x${REGISTERS}`, '--change', `${PERIOD}ms`]);
  const sim = await start(sc, sa, /Modbus\/TCP\s+\S+:(\d+)/);
  try {
    const [c, a] = on(pinned ? 1 : undefined, node, ['--import', 'tsx', `${here}contention/run-contention.ts`, sim.match[1]!, String(DEVICES), String(REGISTERS), String(PERIOD), String(SECONDS)]);
    const r = await run(c, a, { timeoutMs: (SECONDS + 300) * 1000 });
    return lastJsonLine<Result>(r, 'run-contention');
  } finally {
    await sim.stop();
    for (const h of spinning) await h.stop();
  }
}

const pct = (n: number, of: number): string => `${((100 * n) / Math.max(1, of)).toFixed(2)} %`;
const bad = (r: Result): number => Object.values(r.notGood).reduce((n, v) => n + v, 0);
const met = (r: Result, g: string): number => {
  const x = r.groups[g]!;
  // A deadline met: the group read in its slot (neither skipped by an overrun nor shed).
  return x.scans / r.deadlinesPerGroup;
};

function show(label: string, r: Result): void {
  const c = r.causes;
  const g = (name: string): string => {
    const x = r.groups[name]!;
    return `${name}: read ${pct(x.scans, r.deadlinesPerGroup)} of its slots, missed ${x.missed}, shed ${x.shed}`;
  };
  console.log(`  ${label.padEnd(22)} overruns ${r.overruns} of ${r.deadlinesPerGroup} slots (planta-late ${c['planta-late'] ?? 0}, device-slow ${c['device-slow'] ?? 0}, cpu-starved ${c['cpu-starved'] ?? 0})`);
  console.log(`  ${''.padEnd(22)} ${g('control')}; ${g('trend')}`);
  console.log(
    `  ${''.padEnd(22)} ${r.cores.toFixed(2)} core, event loop waiting for a CPU ${(r.starvedShare * 100).toFixed(1)} % of the time, jitter p99 ${r.jitterP99Ms} ms, ` +
      `${(r.published / r.seconds / 1000).toFixed(0)}k values/s, not Good ${bad(r)} (${JSON.stringify(r.notGood)}), timeouts ${r.timeouts} (excused ${r.excusedTimeouts})`,
  );
}

console.log(
  `bench:contention — ${DEVICES * REGISTERS} tags over ${DEVICES} devices every ${PERIOD} ms (control + trend, trend shed first), ${SECONDS} s per run after a 3 s warm-up; ` +
    `${ncpu} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load ${loadavg()[0]!.toFixed(2)}`,
);
const goals: boolean[] = [];
for (const pinned of hasTaskset() && ncpu >= 2 ? [false, true] : [false]) {
  const place = pinned ? 'pinned' : 'unpinned';
  console.log(`\n== ${pinned ? 'pinned: simulator on CPU 0, poller on CPU 1, a hog on each' : `left to the scheduler, ${ncpu} hogs`} (load ${loadavg()[0]!.toFixed(2)})`);
  const ref = await measure(pinned, false);
  show('reference (no hog)', ref);
  const con = await measure(pinned, true);
  show('contention', con);
  const late = con.causes['planta-late'] ?? 0;
  console.log(`  control's slots read: ${(met(con, 'control') / Math.max(1e-9, met(ref, 'control'))).toFixed(2)}× the reference's; trend's ${(met(con, 'trend') / Math.max(1e-9, met(ref, 'trend'))).toFixed(2)}×`);
  goals.push(
    reportGoal(
      `contention ${place} planta-late`,
      "no deadline missed for Planta's own lateness beyond the reference's overruns (same load, no hog)",
      `planta-late ${late} of ${con.deadlinesPerGroup} slots (reference overruns ${ref.overruns}); cpu-starved ${con.causes['cpu-starved'] ?? 0}, device-slow ${con.causes['device-slow'] ?? 0}; starved ${(con.starvedShare * 100).toFixed(1)} % of the time`,
      late <= ref.overruns,
    ),
    reportGoal(
      `contention ${place} quality`,
      'no value Bad or stale for Planta’s lateness',
      `${bad(con)} of ${con.published} values not Good (reference ${bad(ref)}); ${con.excusedTimeouts} timeouts excused`,
      bad(con) === 0,
    ),
    reportGoal(
      `contention ${place} shedding`,
      'the lower group sheds first: control never shed, its slots read at least as often as trend’s',
      `control read ${pct(con.groups.control!.scans, con.deadlinesPerGroup)} (shed ${con.groups.control!.shed}), trend ${pct(con.groups.trend!.scans, con.deadlinesPerGroup)} (shed ${con.groups.trend!.shed})`,
      con.groups.control!.shed === 0 && met(con, 'control') >= met(con, 'trend'),
    ),
  );
}
process.exitCode = goals.every(Boolean) ? 0 : 1;
process.exit();
