/**
 * bench:commands — an operator command's round trip, from the HTTP request to
 * the `confirmed` outcome on the SSE stream, with a 50 ms scan: the web
 * validates and queues it, the poller writes it between scans and reads it
 * back, the outcome comes back over the stream.
 *
 * Reference, in the same run and placement: the same write and read-back sent
 * directly with Planta's Modbus client (no HTTP, no bus, no poller) — the floor
 * the full path is compared with. Arakur answered after a fixed 600 ms sleep.
 * Target (issue 7): p99 < 30 ms + one scan period (80 ms).
 *
 * Processes: the simulated PLC, Planta (`planta start --no-sim`) and this
 * client; pinned placement puts the PLC and Planta on CPU 0 and the client on CPU 1.
 *
 * usage: npm run bench:commands [-- --count 300]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModbusTcpClient } from '../src/modbus/index.js';
import { openStream } from '../test/helpers/sse.js';
import { freePort } from '../test/helpers/ports.js';
import { run, startProcess } from '../test/helpers/process.js';
import { reportGoal } from './goal.js';

const args = process.argv.slice(2);
const countArg = args.indexOf('--count');
const COUNT = countArg >= 0 ? Number(args[countArg + 1]) : 300;
const SCAN_MS = 50;
const TARGET_MS = 30 + SCAN_MS;
const root = new URL('..', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');

const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const fmt = (xs: number[]): string => `p50 ${pct(xs, 0.5).toFixed(1).padStart(6)} ms   p99 ${pct(xs, 0.99).toFixed(1).padStart(6)} ms   max ${Math.max(...xs).toFixed(1).padStart(6)} ms`;

/** The default configuration with a 50 ms scan, the PLC on `port`, and a non-critical command for the bench. */
function benchConfig(dir: string, port: number): string {
  let text = readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8')
    .replace('port: 5020', `port: ${port}`)
    .replace('fast: 500ms', `fast: ${SCAN_MS}ms`);
  text = text.replace(
    'commands:\n',
    `commands:\n  bench_turbidity_limit:\n    label: Set the turbidity limit\n    confirmation: Set the turbidity limit to {limit} NTU?\n    role: engineer\n` +
      `    params:\n      limit: { tag: limits.turbidity_max }\n    steps:\n      - { set: limits.turbidity_max, value: $limit }\n`,
  );
  const file = join(dir, 'bench.yaml');
  writeFileSync(file, text);
  copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
  return file;
}

async function measure(pinned: boolean): Promise<{ planta: number[]; pulse: number[]; direct: number[] }> {
  const wrap = (cpu: number, a: string[]): [string, string[]] => (pinned ? ['taskset', ['-c', String(cpu), ...a]] : [a[0]!, a.slice(1)]);
  const dir = mkdtempSync(join(tmpdir(), 'planta-bench-'));
  const plcPort = await freePort();
  const env = { ...process.env, PLANTA_LOG_LEVEL: 'warn', PLANTA_LOG_FORMAT: 'json' };
  const [simCmd, simArgs] = wrap(0, [process.execPath, planta, 'sim', '--port', String(plcPort), '--no-control', '--no-autostart']);
  const sim = await startProcess(simCmd, simArgs, /Modbus\/TCP/, { env });
  const db = join(dir, 'planta.db');
  const password = 'round-trip-measurer-42';
  const added = await run(process.execPath, [planta, 'user', 'add', 'bench', '--role', 'engineer', '--password-stdin', '--db', db], { input: `${password}\n` });
  if (added.code !== 0) throw new Error(`user add: ${added.stderr}`);
  const [srvCmd, srvArgs] = wrap(0, [process.execPath, planta, 'start', '--no-sim', '--config', benchConfig(dir, plcPort), '--port', '0', '--db', db]);
  const server = await startProcess(srvCmd, srvArgs, /Planta is running: http:\/\/localhost:(\d+)/, { env, timeoutMs: 60_000 });
  const base = `http://127.0.0.1:${server.match[1]}`;
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench', password }) });
  const { csrf } = (await login.json()) as { csrf: string };
  const session = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': csrf };
  try {
    const stream = await openStream(Number(server.match[1]));
    await stream.waitEvents(1);
    const confirmed = new Map<string, number>();
    stream.socket.on('data', () => {
      for (const e of stream.events.splice(0)) {
        if (e.event !== 'command') continue;
        const o = JSON.parse(e.data) as { id: string; status: string; reason?: string };
        if (o.status === 'confirmed') confirmed.set(o.id, performance.now());
        else if (o.status !== 'queued') throw new Error(`command ${o.id} ${o.status}: ${o.reason}`);
      }
    });
    // Wait for the poller to be connected (a command sent before would wait for the link).
    for (;;) {
      const devices = (await (await fetch(`${base}/api/devices`, { headers: session })).json()) as { status: { state: string } | null }[];
      if (devices[0]?.status?.state === 'connected') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const roundTrip = async (command: string, params: object): Promise<number> => {
      const id = `bench-${Math.random().toString(36).slice(2, 12)}`;
      const t0 = performance.now();
      const res = await fetch(`${base}/api/commands`, { method: 'POST', headers: { 'content-type': 'application/json', ...session }, body: JSON.stringify({ id, command, params }) });
      if (res.status !== 202) throw new Error(`${command}: ${res.status} ${await res.text()}`);
      for (;;) {
        const t = confirmed.get(id);
        if (t !== undefined) return t - t0;
        await new Promise((r) => setImmediate(r));
      }
    };
    const plantaTimes: number[] = [];
    for (let i = 0; i < COUNT + 20; i++) {
      const ms = await roundTrip('bench_turbidity_limit', { limit: 10 + (i % 20) });
      if (i >= 20) plantaTimes.push(ms);
    }
    const pulseTimes: number[] = [];
    for (let i = 0; i < Math.min(100, COUNT); i++) pulseTimes.push(await roundTrip('silence_horn', {}));
    stream.close();

    const client = new ModbusTcpClient({ host: '127.0.0.1', port: plcPort });
    const direct: number[] = [];
    for (let i = 0; i < COUNT + 20; i++) {
      const t0 = performance.now();
      await client.writeSingleRegister(7, 10 + (i % 20));
      const back = await client.readHoldingRegisters(7, 1);
      if (back[0] !== 10 + (i % 20)) throw new Error('direct read-back differs');
      if (i >= 20) direct.push(performance.now() - t0);
    }
    await client.close();
    return { planta: plantaTimes, pulse: pulseTimes, direct };
  } finally {
    await server.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`bench:commands — ${COUNT} commands per run, scan ${SCAN_MS} ms, node ${process.version}`);
const verdicts: { pinned: boolean; p99: number; ratio: number }[] = [];
for (const pinned of availableParallelism() >= 2 ? [false, true] : [false]) {
  console.log(`\n== ${pinned ? 'pinned: PLC and Planta on CPU 0, client on CPU 1' : 'processes left to the scheduler'}`);
  const r = await measure(pinned);
  console.log(`  reference: direct write + read-back        ${fmt(r.direct)}`);
  console.log(`  Planta: set value, HTTP → confirmed on SSE ${fmt(r.planta)}   p99 ratio to the reference ${(pct(r.planta, 0.99) / pct(r.direct, 0.99)).toFixed(1)}`);
  console.log(`  Planta: pulse (waits for the PLC's scan)   ${fmt(r.pulse)}`);
  const p99 = pct(r.planta, 0.99);
  verdicts.push({ pinned, p99, ratio: p99 / pct(r.direct, 0.99) });
}
console.log('\nsummary');
for (const v of verdicts) {
  reportGoal(`commands ${v.pinned ? 'pinned' : 'unpinned'}`, `p99 HTTP → confirmed < ${TARGET_MS} ms (Arakur ≥ 600 ms)`, `p99 ${v.p99.toFixed(1)} ms, ${v.ratio.toFixed(1)}× the direct write`, v.p99 < TARGET_MS);
}
process.exitCode = verdicts.some((v) => v.p99 >= TARGET_MS) ? 1 : 0;
