/**
 * One measured poller process for bench:contention: DEVICES unit ids of a load
 * simulator, REGISTERS uint16 tags each in two scan groups of PERIOD ms —
 * "control" (the first half, never shed) and "trend" (the second half, shed
 * first: devices[].shedOrder) — for SECONDS after a warm-up. Counts, over the
 * measured window, every deadline missed by cause, every scan shed, and every
 * value published with a quality other than Good.
 *
 * usage: run-contention.ts PORT DEVICES REGISTERS PERIOD_MS SECONDS
 * Prints one JSON line.
 */
import { MemoryBus } from '../../src/bus/memory.js';
import type { DeviceStatus } from '../../src/bus/types.js';
import { parseConfig } from '../../src/config/load.js';
import { Poller } from '../../src/poller/poller.js';
import { runQueueClock } from '../../src/util/stalls.js';

const [portText, devicesText, registersText, periodText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const devices = Number(devicesText);
const registers = Number(registersText);
const period = Number(periodText);
const seconds = Number(secondsText);
const WARMUP_MS = 3000;
const half = Math.floor(registers / 2);

let yaml = 'devices:\n';
for (let u = 1; u <= devices; u++) {
  yaml += `  d${u}: { host: 127.0.0.1, port: ${port}, unitId: ${u}, timeout: 1s, scanGroups: { control: ${period}ms, trend: ${period}ms }, shedOrder: [trend] }\n`;
}
yaml += 'tags:\n';
for (let u = 1; u <= devices; u++) {
  for (let a = 0; a < registers; a++) yaml += `  d${u}.r${a}: { device: d${u}, area: holding, address: ${a}, scan: ${a < half ? 'control' : 'trend'} }\n`;
}
const config = parseConfig(yaml, 'contention.yaml');

let measuring = false;
let published = 0;
const notGood: Record<string, number> = {};
const bus = new MemoryBus();
await bus.subscribeValues((batch) => {
  if (!measuring) return;
  published += batch.length;
  for (const v of batch) if (v.quality !== 'Good') notGood[v.quality] = (notGood[v.quality] ?? 0) + 1;
});
const poller = new Poller(config, { bus });
await poller.start();
await new Promise((r) => setTimeout(r, WARMUP_MS));

interface Totals {
  overruns: number;
  causes: Record<string, number>;
  groups: Record<string, { scans: number; missed: number; shed: number }>;
  excused: number;
  timeouts: number;
}
function totals(): Totals {
  const t: Totals = { overruns: 0, causes: {}, groups: {}, excused: 0, timeouts: 0 };
  for (const d of poller.devices) {
    const s: DeviceStatus = d.status();
    t.overruns += s.overruns;
    t.excused += s.excusedTimeouts ?? 0;
    t.timeouts += s.errors.timeout;
    for (const [c, n] of Object.entries(s.overrunCauses ?? {})) t.causes[c] = (t.causes[c] ?? 0) + n;
    for (const g of s.scanGroups ?? []) {
      const x = (t.groups[g.name] ??= { scans: 0, missed: 0, shed: 0 });
      x.scans += g.scans;
      x.missed += g.missed;
      x.shed += g.shed;
    }
  }
  return t;
}

for (const d of poller.devices) d.resetFigures();
const t0 = totals();
const starved = runQueueClock();
const starved0 = starved();
const cpu0 = process.cpuUsage();
const w0 = performance.now();
measuring = true;
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - w0) / 1000;
const cpu = process.cpuUsage(cpu0);
const starvedMs = starved() - starved0;
const t1 = totals();
let jitterP99 = 0;
for (const d of poller.devices) jitterP99 = Math.max(jitterP99, d.status().jitterMs.p99 ?? 0);
await poller.stop();

const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
console.log(
  JSON.stringify({
    seconds: Math.round(elapsed * 100) / 100,
    /** Deadlines of each group over the window: one per device per period. */
    deadlinesPerGroup: Math.round((devices * elapsed * 1000) / period),
    overruns: t1.overruns - t0.overruns,
    causes: diff(t0.causes, t1.causes),
    groups: Object.fromEntries(Object.keys(t1.groups).map((g) => [g, diff(t0.groups[g]!, t1.groups[g]!)])),
    excusedTimeouts: t1.excused - t0.excused,
    timeouts: t1.timeouts - t0.timeouts,
    published,
    notGood,
    cores: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 1000) / 1000,
    starvedShare: Math.round((starvedMs / 1000 / elapsed) * 1000) / 1000,
    jitterP99Ms: Math.round(jitterP99 * 10) / 10,
  }),
);
process.exit(0);
