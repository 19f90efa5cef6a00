/**
 * bench:poller — the poller against the generic load simulator:
 *   load A: 10,000 tags over 10 devices, scanned every 50 ms   (200,000 tags/s)
 *   load B: 100,000 tags over 100 devices, scanned every 100 ms (1,000,000 tags/s)
 * Every register changes at every scan, so every tag is decoded, compared and
 * published each time; the measured process checks every published value
 * against the load pattern.
 *
 * Reference, in the same run and placement: the same requests sent by the
 * same Modbus client with nothing decoded or published (the floor of the
 * work). Targets (issue 5): zero overruns and at most one core for the
 * poller, under both loads.
 *
 * Placements: left to the scheduler; and pinned — simulator on CPU 0, the
 * measured process on CPU 1 (taskset), so the two never share a core.
 *
 * usage: npm run bench:poller [-- --seconds 10]
 */
import { availableParallelism } from 'node:os';
import { run, startProcess } from '../test/helpers/process.js';
import { reportGoal } from './goal.js';
import { lastJsonLine } from './proc.js';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const SECONDS = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 10;
const here = new URL('.', import.meta.url).pathname;
const planta = new URL('../bin/planta.js', import.meta.url).pathname;

interface Result {
  mode: string;
  tags: number;
  decodedPerSecond: number;
  publishedPerSecond: number;
  cores: number;
  cpuMsPer1kTags: number;
  jitterP99Ms: number | null;
  overruns: number;
  invalid: number;
  rssMb: number;
}

const loads = [
  { name: 'A', devices: 10, registers: 1000, periodMs: 50 },
  { name: 'B', devices: 100, registers: 1000, periodMs: 100 },
];

const pinnable = availableParallelism() >= 2;
const wrap = (cpu: number | undefined, cmd: string, a: string[]): [string, string[]] =>
  cpu === undefined ? [cmd, a] : ['taskset', ['-c', String(cpu), cmd, ...a]];

async function measure(load: (typeof loads)[number], pinned: boolean, mode: 'planta' | 'raw'): Promise<Result> {
  const [simCmd, simArgs] = wrap(pinned ? 0 : undefined, process.execPath, [
    planta, 'sim', '--port', '0', '--no-control', '--load', `${load.devices}x${load.registers}`, '--change', `${load.periodMs}ms`,
  ]);
  const sim = await startProcess(simCmd, simArgs, /Modbus\/TCP\s+\S+:(\d+)/, { env: { ...process.env, PLANTA_LOG_LEVEL: 'warn' } });
  try {
    const [cmd, a] = wrap(pinned ? 1 : undefined, process.execPath, [
      '--import', 'tsx', `${here}poller/run-poller.ts`, sim.match[1]!, String(load.devices), String(load.registers), String(load.periodMs), String(SECONDS), mode,
    ]);
    // Generous: on a loaded machine the start alone (tsx, 100 k tags of configuration) can take a minute.
    const r = await run(cmd, a, { timeoutMs: (SECONDS + 300) * 1000 });
    return lastJsonLine<Result>(r, 'run-poller');
  } finally {
    await sim.stop();
  }
}

const fmt = (r: Result): string =>
  `${(r.decodedPerSecond / 1000).toFixed(0).padStart(5)}k tags/s decoded  ${(r.publishedPerSecond / 1000).toFixed(0).padStart(5)}k/s published  ` +
  `${r.cores.toFixed(2)} core  ${r.cpuMsPer1kTags.toFixed(3)} ms CPU/1k tags  jitter p99 ${String(r.jitterP99Ms).padStart(5)} ms  ` +
  `overruns ${r.overruns}  invalid ${r.invalid}  RSS ${r.rssMb} MB`;

console.log(`bench:poller — ${SECONDS} s per run after a 2 s warm-up, node ${process.version}`);
const verdicts: { name: string; measured: string; ok: boolean }[] = [];
for (const pinned of pinnable ? [false, true] : [false]) {
  console.log(`\n== ${pinned ? 'pinned: simulator on CPU 0, measured process on CPU 1' : 'processes left to the scheduler'}`);
  for (const load of loads) {
    const ref = await measure(load, pinned, 'raw');
    const p = await measure(load, pinned, 'planta');
    const expected = (load.devices * load.registers * 1000) / load.periodMs;
    console.log(`load ${load.name}: ${load.devices * load.registers} tags, ${load.devices} devices, every ${load.periodMs} ms (${expected / 1000}k tags/s)`);
    console.log(`  reference (requests only)  ${fmt(ref)}`);
    console.log(`  Planta poller              ${fmt(p)}`);
    console.log(`  CPU ratio Planta / reference ${(p.cores / ref.cores).toFixed(2)}`);
    const ok = p.overruns === 0 && p.cores <= 1 && p.invalid === 0 && p.decodedPerSecond >= 0.97 * expected;
    verdicts.push({
      name: `poller load ${load.name} ${pinned ? 'pinned' : 'unpinned'}`,
      measured: `overruns ${p.overruns}, ${p.cores.toFixed(2)} core (${(p.cores / ref.cores).toFixed(2)}× the reference), ${p.invalid} invalid values, ${((p.decodedPerSecond / expected) * 100).toFixed(1)}% of the expected rate`,
      ok,
    });
  }
}
console.log('\nsummary');
for (const v of verdicts) reportGoal(v.name, 'zero overruns, ≤ 1 core, every value valid, ≥ 97% of the full rate', v.measured, v.ok);
process.exitCode = verdicts.every((v) => v.ok) ? 0 : 1;
