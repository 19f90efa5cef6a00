/**
 * One measured poller process for bench:poller. Polls DEVICES unit ids of a
 * load simulator, REGISTERS uint16 tags each, every PERIOD ms, for SECONDS
 * after a warm-up; checks every published value against the load pattern.
 *
 * usage: run-poller.ts PORT DEVICES REGISTERS PERIOD_MS SECONDS MODE
 *   MODE planta: the full poller (plan, decode, deadband, publish on the bus)
 *   MODE raw:    the reference — the same requests with the same client, nothing decoded or published
 * Prints one JSON line.
 */
import { MemoryBus } from '../../src/bus/memory.js';
import type { DeviceStatus } from '../../src/bus/types.js';
import { parseConfig } from '../../src/config/load.js';
import { ModbusTcpClient } from '../../src/modbus/index.js';
import { planReads } from '../../src/poller/plan.js';
import { Poller } from '../../src/poller/poller.js';
import { loadGeneration } from '../../src/sim/load.js';
import { SampleWindow } from '../../src/util/percentiles.js';
import { Periodic } from '../../src/util/scheduler.js';

const [portText, devicesText, registersText, periodText, secondsText, mode = 'planta'] = process.argv.slice(2);
const port = Number(portText);
const devices = Number(devicesText);
const registers = Number(registersText);
const period = Number(periodText);
const seconds = Number(secondsText);
const WARMUP_MS = 2000;

let yaml = 'devices:\n';
for (let u = 1; u <= devices; u++) {
  yaml += `  d${u}: { host: 127.0.0.1, port: ${port}, unitId: ${u}, timeout: 1s, scanGroups: { fast: ${period}ms } }\n`;
}
yaml += 'tags:\n';
for (let u = 1; u <= devices; u++) {
  for (let a = 0; a < registers; a++) yaml += `  d${u}.r${a}: { device: d${u}, area: holding, address: ${a} }\n`;
}
const config = parseConfig(yaml, 'bench.yaml');
/** Unit and address from a tag name "d<unit>.r<address>", without a lookup. */
function where(tag: string): number {
  let unit = 0;
  let i = 1;
  for (; tag.charCodeAt(i) !== 46; i++) unit = unit * 10 + tag.charCodeAt(i) - 48;
  let address = 0;
  for (i += 2; i < tag.length; i++) address = address * 10 + tag.charCodeAt(i) - 48;
  return unit * 65536 + address;
}

let measuring = false;
/** Worst device's request round trip p99 (planta mode). */
let latencyP99 = 0;
let published = 0;
let invalid = 0;

async function planta(): Promise<() => Promise<{ overruns: number; jitterP99: number | null; decoded: number }>> {
  const bus = new MemoryBus();
  await bus.subscribeValues((batch) => {
    if (!measuring) return;
    published += batch.length;
    // Every value of one device's batch comes from one reply of the load device, hence one generation.
    let g = -1;
    for (const v of batch) {
      if (v.quality !== 'Good') {
        invalid++;
        continue;
      }
      const w = where(v.tag);
      const gen = loadGeneration(w >>> 16, w & 0xffff, v.value as number);
      if (g === -1) g = gen;
      else if (Math.abs(gen - g) > 1) invalid++;
    }
  });
  const statuses = new Map<string, DeviceStatus>();
  await bus.subscribeDeviceStatus((s) => statuses.set(s.device, s));
  const poller = new Poller(config, { bus });
  await poller.start();
  const scans0 = new Map<string, number>();
  const overruns0 = new Map<string, number>();
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  for (const d of poller.devices) {
    d.resetFigures();
    const s = d.status();
    scans0.set(s.device, s.scans);
    overruns0.set(s.device, s.overruns);
  }
  return async () => {
    let overruns = 0;
    let jitterP99: number | null = 0;
    let scans = 0;
    latencyP99 = 0;
    for (const d of poller.devices) {
      const s = d.status();
      overruns += s.overruns - overruns0.get(s.device)!;
      scans += s.scans - scans0.get(s.device)!;
      jitterP99 = Math.max(jitterP99, s.jitterMs.p99 ?? 0);
      latencyP99 = Math.max(latencyP99, s.latencyMs.p99 ?? 0);
    }
    await poller.stop();
    return { overruns, jitterP99, decoded: scans * registers };
  };
}

async function raw(): Promise<() => Promise<{ overruns: number; jitterP99: number | null; decoded: number }>> {
  const loops = config.devices.map((d) => {
    const client = new ModbusTcpClient({ host: d.host, port: d.port, unitId: d.unitId });
    const blocks = planReads(config.tags.filter((t) => t.device === d.name), d);
    const jitter = new SampleWindow();
    let scans = 0;
    const loop: Periodic = new Periodic(period, async () => {
      jitter.add(loop.stats.lastLatenessMs);
      await Promise.allSettled(blocks.map((b) => client.request({ fc: 3, address: b.address, quantity: b.quantity })));
      if (measuring) scans++;
    });
    loop.start();
    return { client, loop, jitter, scans: () => scans };
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  for (const l of loops) l.jitter.clear();
  const overruns0 = loops.map((l) => l.loop.stats.overruns);
  return async () => {
    const overruns = loops.reduce((n, l, i) => n + l.loop.stats.overruns - overruns0[i]!, 0);
    const jitterP99 = Math.max(...loops.map((l) => l.jitter.percentiles(0.99)[0] ?? 0));
    const decoded = loops.reduce((n, l) => n + l.scans(), 0) * registers;
    for (const l of loops) {
      await l.loop.stop();
      await l.client.close();
    }
    return { overruns, jitterP99, decoded };
  };
}

const finish = mode === 'raw' ? await raw() : await planta();
measuring = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = process.cpuUsage(cpu0);
const elapsed = (performance.now() - t0) / 1000;
measuring = false;
const { overruns, jitterP99, decoded } = await finish();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(
  JSON.stringify({
    mode,
    tags: devices * registers,
    decodedPerSecond: Math.round(decoded / elapsed),
    publishedPerSecond: Math.round(published / elapsed),
    cores: Math.round((cpuSeconds / elapsed) * 1000) / 1000,
    cpuMsPer1kTags: Math.round(((cpuSeconds * 1000) / (decoded / 1000)) * 1000) / 1000,
    jitterP99Ms: jitterP99 === null ? null : Math.round(jitterP99 * 10) / 10,
    latencyP99Ms: Math.round(latencyP99 * 10) / 10,
    overruns,
    invalid,
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
process.exit(0);
