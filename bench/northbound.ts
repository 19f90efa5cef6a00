/**
 * bench:northbound — 10,000 tags changing every second, from the bus to an
 * MQTT subscriber through the Sparkplug B edge node: latency from the value's
 * poll time (its sourceTs, set when it is published on the bus, as a poller
 * does after a scan) to its arrival at a subscriber of the broker, and the
 * CPU of the process running the edge node.
 *
 * Reference, in the same run, same broker and subscriber: a plain MQTT.js
 * publisher sending the same values as JSON ({tag, value, ts} per value,
 * one message per device and scan) — what any bridge costs at the least.
 * Target (issue 26): p99 ≤ 100 ms poll → broker.
 *
 * Processes (unpinned; the machine's 2 cores are shared): a private
 * Mosquitto, this process (bus + edge node, or the reference publisher),
 * and a subscriber child that notes when each message arrives and decodes
 * them all at the end, so decoding never delays a receipt (Eclipse Tahu's decoder
 * for Sparkplug, JSON.parse for the reference) and reports the latencies.
 * 10 devices × 1,000 tags; each device publishes its 1,000 changed values
 * once a second, the devices 100 ms apart (as 10 scan loops would).
 *
 * usage: npm run bench:northbound [-- --seconds 15]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MemoryBus } from '../src/bus/memory.js';
import { SqliteCommandLedger } from '../src/commands/ledger.js';
import { parseConfig } from '../src/config/load.js';
import { NorthboundCommands } from '../src/northbound/commands.js';
import { SparkplugEdgeNode } from '../src/northbound/sparkplug/edge-node.js';
import type { TagValue } from '../src/tags/types.js';
import { freePort } from '../test/helpers/ports.js';
import { startProcess } from '../test/helpers/process.js';
import { reportGoal } from './goal.js';

const DEVICES = 10;
const PER_DEVICE = 1000;
const TARGET_P99_MS = 100;
const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const SECONDS = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 15;

const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

// ---------------------------------------------------------------- the subscriber child
if (args[0] === '--subscriber') {
  const [, url, mode] = args as [string, string, 'sparkplug' | 'json'];
  const tahu = (createRequire(import.meta.url)('sparkplug-payload') as { get(ns: string): { decodePayload(b: Uint8Array): { metrics?: { timestamp?: { toNumber(): number } | number | null }[] | null } } }).get('spBv1.0');
  const latencies: number[] = [];
  let values = 0;
  /** Values polled from this time on are measured (sent by the parent when its warm-up ends). */
  let from = Infinity;
  const client = await mqtt.connectAsync(url!);
  // The receipt time of every message; decoding waits for the report, so it never delays the next receipt (for either mode).
  const received: { at: number; topic: string; payload: Buffer }[] = [];
  client.on('message', (topic, payload) => void received.push({ at: Date.now(), topic, payload }));
  const decodeAll = (): void => {
    for (const { at, topic, payload } of received) {
      const count = (ts: number): void => {
        if (ts < from) return;
        latencies.push(at - ts);
        values++;
      };
      if (mode === 'json') {
        for (const v of JSON.parse(payload.toString()) as { ts: number }[]) count(v.ts);
      } else if (topic.includes('/DDATA/')) {
        for (const m of tahu.decodePayload(payload).metrics ?? []) count(typeof m.timestamp === 'number' ? m.timestamp : m.timestamp!.toNumber());
      }
    }
  };
  await client.subscribeAsync(mode === 'json' ? 'bench/#' : 'spBv1.0/#', { qos: 0 });
  process.on('message', (msg: string | { measureFrom: number }) => {
    if (typeof msg === 'object') from = msg.measureFrom;
    if (msg === 'report') {
      decodeAll();
      process.send!({ values, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: latencies.reduce((a, b) => Math.max(a, b), 0) });
      void client.endAsync().then(() => process.exit(0));
    }
  });
  process.send!('ready');
} else {
  await main();
}

interface Report {
  values: number;
  p50: number;
  p99: number;
  max: number;
}
interface Phase extends Report {
  cpu: number;
  expected: number;
}

async function subscriber(url: string, mode: 'sparkplug' | 'json'): Promise<{ measure(from: number): void; report(): Promise<Report> }> {
  const child = fork(new URL(import.meta.url).pathname, ['--subscriber', url, mode], { execArgv: ['--import', 'tsx'] });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  return {
    measure: (from: number) => void child.send({ measureFrom: from }),
    report: () => new Promise<Report>((resolve) => {
      child.once('message', (r) => resolve(r as Report));
      child.send('report');
    }),
  };
}

/** Drives `publish(device, values)` with every device's 1,000 values once a second, devices 100 ms apart; measures this process's CPU. */
async function drive(publish: (device: number, values: TagValue[]) => void | Promise<void>, sub: { measure(from: number): void; report(): Promise<Report> }): Promise<Phase> {
  let round = 0;
  const warmup = 2;
  const ticks = (SECONDS + warmup) * DEVICES;
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  const start = performance.now();
  for (let i = 0; i < ticks; i++) {
    const due = start + i * (1000 / DEVICES);
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (i === warmup * DEVICES) {
      sub.measure(Date.now());
      cpu0 = process.cpuUsage();
      t0 = performance.now();
    }
    const device = i % DEVICES;
    if (device === 0) round++;
    const now = Date.now();
    const values: TagValue[] = Array.from({ length: PER_DEVICE }, (_, k) => ({ tag: `d${device}.t${k}`, value: round * 0.5 + k, quality: 'Good', sourceTs: now, serverTs: now }));
    await publish(device, values);
  }
  await new Promise((r) => setTimeout(r, 500));
  const used = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const r = await sub.report();
  return { ...r, cpu: (used.user + used.system) / 1000 / wall, expected: SECONDS * DEVICES * PER_DEVICE };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'planta-bench-northbound-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type information\n`);
  const broker = await startProcess('/usr/sbin/mosquitto', ['-c', conf], /running/);
  const url = `mqtt://127.0.0.1:${port}`;
  try {
    // Reference: the same values as JSON, one message per device and scan, from a plain MQTT.js client.
    const refSub = await subscriber(url, 'json');
    const plain = await mqtt.connectAsync(url);
    const reference = await drive((device, values) => {
      plain.publish(`bench/d${device}`, JSON.stringify(values.map((v) => ({ tag: v.tag, value: v.value, ts: v.sourceTs }))), { qos: 0 });
    }, refSub);
    await plain.endAsync();

    // Planta: the values on the in-memory bus, the edge node publishing DDATA by exception.
    let yaml = 'plant: { name: Bench }\ndevices:\n';
    for (let d = 0; d < DEVICES; d++) yaml += `  d${d}: { host: 127.0.0.1, port: ${5020 + d} }\n`;
    yaml += 'tags:\n';
    for (let d = 0; d < DEVICES; d++) for (let k = 0; k < PER_DEVICE; k++) yaml += `  d${d}.t${k}: { device: d${d}, area: holding, address: ${k}, scale: 0.5, unit: m }\n`;
    yaml += `northbound:\n  sparkplug:\n    broker: ${url}\n    group: Bench\n    node: planta\n    store: ${join(dir, 'sp.db')}\n`;
    const config = parseConfig(yaml, 'bench.yaml');
    const bus = new MemoryBus();
    const records = new SqliteCommandLedger(':memory:');
    const edge = new SparkplugEdgeNode({ config: config.northbound.sparkplug!, plant: config, bus, commands: new NorthboundCommands({ bus, config, records }) });
    const spSub = await subscriber(url, 'sparkplug');
    await edge.start();
    while (!edge.isLive) await new Promise((r) => setTimeout(r, 20));
    const planta = await drive((_, values) => bus.publishValues(values), spSub);
    await edge.stop();
    await records.close();

    const line = (name: string, p: Phase): string =>
      `${name.padEnd(32)} p50 ${p.p50.toFixed(1).padStart(6)} ms   p99 ${p.p99.toFixed(1).padStart(6)} ms   max ${p.max.toFixed(0).padStart(5)} ms   delivered ${((100 * p.values) / p.expected).toFixed(1)} %   CPU ${p.cpu.toFixed(2)} core`;
    console.log(`bench:northbound — ${DEVICES} devices × ${PER_DEVICE} tags, every tag changing every second, ${SECONDS} s measured (unpinned; private Mosquitto; subscriber in a child process)`);
    console.log(line('reference (MQTT.js, JSON)', reference));
    console.log(line('Planta Sparkplug B edge node', planta));
    console.log(`ratio Planta / reference: p99 ${(planta.p99 / reference.p99).toFixed(2)}, CPU ${(planta.cpu / reference.cpu).toFixed(2)}`);
    reportGoal(
      'northbound sparkplug',
      `p99 ≤ ${TARGET_P99_MS} ms poll → broker (subscriber), every value delivered`,
      `p99 ${planta.p99.toFixed(1)} ms (${(planta.p99 / reference.p99).toFixed(2)}× MQTT.js JSON), ${((100 * planta.values) / planta.expected).toFixed(1)} % delivered`,
      planta.p99 <= TARGET_P99_MS && planta.values >= planta.expected,
    );
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
