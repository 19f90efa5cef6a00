/**
 * bench:distributed — the distributed mode under load, against the
 * all-in-one mode in the same run: DEVICES (10) simulated devices × TAGS
 * (1,000) holding registers, every one changing every PERIOD (100) ms (the
 * simulator's `--load` device, one unit id per device, scanned every PERIOD),
 * to CLIENTS (500) SSE clients.
 *
 *   distributed  `planta poll` → a private redis-server → two `planta web`,
 *                CLIENTS/2 streams on each (three planta processes)
 *   all-in-one   `planta start --no-sim --bus memory`: poller and web in one
 *                process on the in-memory bus, the same CLIENTS streams, as
 *                two load clients of CLIENTS/2 each on its one port
 *
 * Latency: from the poller's sourceTs (Date.now() when the device's reply was
 * decoded; the delta's `t` is the sourceTs of its batch's first value) to the
 * read that completed the event in the load client (CLOCK_REALTIME of the
 * same host, up to 1 ms of truncation): p50/p99/max over every delta of
 * every client in the measured window, so it includes the poller's publish,
 * Redis (distributed) and the web's SSE fan-out. Also deltas/s, drops
 * (deltas skipped, snapshots instead of deltas for a slow client, closed
 * streams), and CPU (cores, /proc utime+stime over the window) and peak RSS
 * of every process: simulator, poller, each web node, redis-server itself,
 * the all-in-one process, and the load clients' CPU.
 *
 * The load client is test/peers/c/sse-load-client.c (epoll, one thread), as
 * in bench:stream. Planta runs as an esbuild bundle on plain Node, as
 * `planta` does. Redis: a private `redis-server --save '' --appendonly no` on
 * a free port of 127.0.0.1 (never the machine's shared Redis), stopped at the
 * end. Everything binds 127.0.0.1; every child is killed at exit.
 *
 * Placement: left to the scheduler (this bench runs ~8 processes; pinning
 * them on a small machine would measure the pinning), printed with each
 * process's allowed CPUs. Each mode runs ROUNDS (2) times, taking turns.
 *
 * usage: npm run bench:distributed [-- --devices 10] [--tags 1000] [--period 100]
 *        [--clients 500] [--seconds 8] [--warmup 2] [--rounds 2]
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- a plain .mjs script without types
import { bundle } from '../scripts/build-server.mjs';
import { freePort } from '../test/helpers/ports.js';
import type { Started } from '../test/helpers/process.js';
import { buildPeer } from '../test/peers/build.js';
import { childTracker, rssMb } from './proc.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
};
const DEVICES = opt('devices', 10);
const TAGS = opt('tags', 1000);
const PERIOD = opt('period', 100);
const CLIENTS = Math.max(2, opt('clients', 500));
const SECONDS = opt('seconds', 8);
const WARMUP = opt('warmup', 2);
const ROUNDS = opt('rounds', 2);
const REDIS = '/usr/bin/redis-server';
if (DEVICES > 247) throw new Error('--devices: at most 247 (unit ids of one load device)');

const root = new URL('..', import.meta.url).pathname;

// ------------------------------------------------------------ children, killed at exit

const env: NodeJS.ProcessEnv = { ...process.env, PLANTA_LOG_LEVEL: 'warn', PLANTA_LOG_FORMAT: 'json' };
for (const k of ['PLANTA_BUS_URL', 'PLANTA_HISTORIAN_URL', 'PLANTA_LEASE_TTL']) delete env[k];
const spawnTracked = childTracker(env);

if (!existsSync(REDIS)) {
  console.error(`bench:distributed needs ${REDIS} (apt-get install -y redis-server)`);
  process.exit(1);
}
const loadClient = buildPeer('sse-load-client', { libmodbus: false });
if (!loadClient) {
  console.error('bench:distributed needs gcc (apt-get install -y gcc)');
  process.exit(1);
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// ------------------------------------------------------------ the plant and the bundle

mkdirSync(`${root}build`, { recursive: true });
const work = mkdtempSync(`${root}build/bench-distributed-`);
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
await bundle(`${root}src/cli/main.ts`, join(work, 'planta.mjs'));
writeFileSync(join(work, 'planta.mjs.launch.mjs'), "import { main } from './planta.mjs';\nawait main(process.argv);\n");
const planta = [join(work, 'planta.mjs.launch.mjs')];

function configYaml(simPort: number): string {
  // Every benchmark client comes from 127.0.0.1: the per-client and total caps (security.limits) are lifted.
  const limits = 'connections: 100000, connectionsPerIp: 100000, streams: 100000, streamsPerIp: 100000';
  let y = `plant:\n  name: bench-distributed\nsecurity:\n  anonymous: local\n  limits: { ${limits} }\nhistorian:\n  enabled: false\ndevices:\n`;
  for (let u = 1; u <= DEVICES; u++) y += `  d${u}: { host: 127.0.0.1, port: ${simPort}, unitId: ${u}, timeout: 1s, scanGroups: { fast: ${PERIOD}ms } }\n`;
  y += 'tags:\n';
  for (let u = 1; u <= DEVICES; u++) for (let a = 0; a < TAGS; a++) y += `  d${u}.r${a}: { device: d${u}, area: holding, address: ${a} }\n`;
  return y;
}

// ------------------------------------------------------------ measuring processes

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function allowedCpus(pid: number): string {
  return /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

interface Watched {
  name: string;
  pid: number;
}

interface ProcFigures {
  name: string;
  cores: number;
  rssMb: number;
  cpus: string;
}

interface ClientResult {
  clients: number;
  events: number;
  events_per_s: number;
  missed: number;
  resyncs: number;
  closed: number;
  short_clients: number;
  bytes: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  client_cpu: number;
}

interface ModeResult {
  mode: string;
  p50: number;
  p99: number;
  max: number;
  deltasPerS: number;
  valuesPerS: number;
  /** Snapshots instead of deltas (a slow client) and closed streams. */
  drops: number;
  /** Gaps in the event ids: deltas skipped, but also the hub's device-status events (about one a second), which the load client does not count. */
  gaps: number;
  late: number;
  clients: number;
  clientCpu: number;
  procs: ProcFigures[];
}

/** Opens the streams (two load clients), waits for "measuring" on both, measures the watched processes over the window. */
async function loadAndMeasure(mode: string, ports: [number, number], watched: Watched[]): Promise<ModeResult> {
  const half = Math.floor(CLIENTS / 2);
  const clients = await Promise.all(
    ports.map((port, i) => spawnTracked(loadClient!, ['127.0.0.1', String(port), String(i === 0 ? half : CLIENTS - half), String(SECONDS), String(WARMUP), String(PERIOD)], /^measuring$/m, 120_000)),
  );
  const cpu0 = watched.map((w) => cpuSeconds(w.pid));
  const rss = watched.map((w) => rssMb(w.pid));
  const t0 = performance.now();
  const sampler = setInterval(() => watched.forEach((w, i) => (rss[i] = Math.max(rss[i]!, rssMb(w.pid)))), 200);
  try {
    for (const c of clients) if (c.child.exitCode === null && c.child.signalCode === null) await once(c.child, 'exit');
  } finally {
    clearInterval(sampler);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const procs = watched.map((w, i) => ({ name: w.name, cores: (cpuSeconds(w.pid) - cpu0[i]!) / elapsed, rssMb: Math.max(rss[i]!, rssMb(w.pid)), cpus: allowedCpus(w.pid) }));
  const rs = clients.map((c) => {
    const line = c.output().trim().split('\n').pop() ?? '';
    if (c.child.exitCode !== 0 || !line.startsWith('{')) throw new Error(`sse-load-client failed (${c.child.exitCode ?? c.child.signalCode}): ${c.output()}`);
    return JSON.parse(line) as ClientResult;
  });
  const events = rs.reduce((n, r) => n + r.events, 0);
  // Percentiles of the two clients merged by their events (each client holds half the streams): close to, not exactly, the pooled percentile.
  const weighted = (f: (r: ClientResult) => number): number => rs.reduce((n, r) => n + f(r) * r.events, 0) / Math.max(1, events);
  const valuesPerDelta = TAGS; // one delta per device scan, every register changed
  const deltasPerS = rs.reduce((n, r) => n + r.events_per_s, 0);
  return {
    mode,
    p50: weighted((r) => r.p50_ms),
    p99: weighted((r) => r.p99_ms),
    max: Math.max(...rs.map((r) => r.max_ms)),
    deltasPerS,
    valuesPerS: deltasPerS * valuesPerDelta,
    drops: rs.reduce((n, r) => n + r.resyncs + r.closed, 0),
    gaps: rs.reduce((n, r) => n + r.missed, 0),
    late: rs.reduce((n, r) => n + r.short_clients, 0),
    clients: rs.reduce((n, r) => n + r.clients, 0),
    clientCpu: rs.reduce((n, r) => n + r.client_cpu, 0),
    procs,
  };
}

async function stopAll(ps: Started[]): Promise<void> {
  for (const p of ps.reverse()) await p.stop();
}

/** Waits until the first web node shows every tag with good quality (the poller runs, its values arrive). */
async function waitLive(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const tags = (await (await fetch(`http://127.0.0.1:${port}/api/tags`)).json()) as { quality: string }[];
      if (tags.length === DEVICES * TAGS && tags.every((t) => t.quality === 'Good')) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`the web on port ${port} did not show ${DEVICES * TAGS} good tags within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function simulator(): Promise<Started & { match: RegExpExecArray }> {
  return spawnTracked(process.execPath, [...planta, 'sim', '--port', '0', '--no-control', '--load', `${DEVICES}x${TAGS}`, '--change', `${PERIOD}ms`], /Modbus\/TCP\s+\S+:(\d+)/);
}

async function distributed(): Promise<ModeResult> {
  const started: Started[] = [];
  try {
    const sim = await simulator();
    started.push(sim);
    const dir = mkdtempSync(join(work, 'd-'));
    const config = join(dir, 'plant.yaml');
    writeFileSync(config, configYaml(Number(sim.match[1])));
    const redisPort = await freePort();
    const redis = await spawnTracked(REDIS, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/);
    started.push(redis);
    const bus = `redis://127.0.0.1:${redisPort}`;
    const poller = await spawnTracked(process.execPath, [...planta, 'poll', '--config', config, '--bus', bus], /planta poll: polling/);
    started.push(poller);
    const webs: (Started & { match: RegExpExecArray })[] = [];
    for (let i = 0; i < 2; i++) {
      const w = await spawnTracked(process.execPath, [...planta, 'web', '--config', config, '--bus', bus, '--port', '0', '--db', join(dir, `web${i}.db`)], /planta web: http:\/\/localhost:(\d+)/);
      started.push(w);
      webs.push(w);
    }
    const ports = webs.map((w) => Number(w.match[1])) as [number, number];
    await waitLive(ports[0]);
    await waitLive(ports[1]);
    return await loadAndMeasure('distributed', ports, [
      { name: 'simulator', pid: sim.child.pid! },
      { name: 'planta poll', pid: poller.child.pid! },
      { name: 'planta web A', pid: webs[0]!.child.pid! },
      { name: 'planta web B', pid: webs[1]!.child.pid! },
      { name: 'redis-server', pid: redis.child.pid! },
    ]);
  } finally {
    await stopAll(started);
  }
}

async function allInOne(): Promise<ModeResult> {
  const started: Started[] = [];
  try {
    const sim = await simulator();
    started.push(sim);
    const dir = mkdtempSync(join(work, 'a-'));
    const config = join(dir, 'plant.yaml');
    writeFileSync(config, configYaml(Number(sim.match[1])));
    const one = await spawnTracked(
      process.execPath,
      [...planta, 'start', '--no-sim', '--bus', 'memory', '--config', config, '--port', '0', '--db', join(dir, 'planta.db'), '--history', join(dir, 'history.db')],
      /Planta is running: https?:\/\/\S+:(\d+)/,
    );
    started.push(one);
    const port = Number(one.match[1]);
    await waitLive(port);
    return await loadAndMeasure('all-in-one', [port, port], [
      { name: 'simulator', pid: sim.child.pid! },
      { name: 'planta start', pid: one.child.pid! },
    ]);
  } finally {
    await stopAll(started);
  }
}

// ------------------------------------------------------------ the run

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function summarize(rs: ModeResult[]): ModeResult {
  const med = (f: (r: ModeResult) => number): number => median(rs.map(f));
  return {
    ...rs[0]!,
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    max: med((r) => r.max),
    deltasPerS: med((r) => r.deltasPerS),
    valuesPerS: med((r) => r.valuesPerS),
    drops: rs.reduce((n, r) => n + r.drops, 0),
    gaps: med((r) => r.gaps),
    late: rs.reduce((n, r) => n + r.late, 0),
    clientCpu: med((r) => r.clientCpu),
    procs: rs[0]!.procs.map((p, i) => ({ ...p, cores: median(rs.map((r) => r.procs[i]!.cores)), rssMb: Math.max(...rs.map((r) => r.procs[i]!.rssMb)) })),
  };
}

const expectedDeltas = (CLIENTS * DEVICES * 1000) / PERIOD;
console.log(
  `bench:distributed — ${DEVICES} device(s) × ${TAGS} tags changing every ${PERIOD} ms (${((DEVICES * TAGS * 1000) / PERIOD / 1000).toFixed(0)}k values/s), ` +
    `${CLIENTS} SSE clients (${expectedDeltas.toFixed(0)} deltas/s expected in all); ${SECONDS} s measured after ${WARMUP} s warm-up; ` +
    `${ROUNDS} round(s) per mode; ${availableParallelism()} CPUs; node ${process.version}`,
);
console.log('placement: every process left to the scheduler (allowed CPUs per process below); everything on 127.0.0.1; Redis private (no persistence)');
const began = performance.now();
const runs: Record<'distributed' | 'all-in-one', ModeResult[]> = { distributed: [], 'all-in-one': [] };
for (let round = 0; round < ROUNDS; round++) {
  // Take turns, so neither mode always runs first on a fresh machine.
  const order = round % 2 === 0 ? (['distributed', 'all-in-one'] as const) : (['all-in-one', 'distributed'] as const);
  for (const m of order) {
    const r = m === 'distributed' ? await distributed() : await allInOne();
    runs[m].push(r);
    console.log(`  round ${round + 1} ${m.padEnd(11)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ${r.deltasPerS.toFixed(0)} deltas/s  drops ${r.drops}  id gaps ${r.gaps}`);
  }
}

const d = summarize(runs.distributed);
const a = summarize(runs['all-in-one']);
console.log(`\nmedian of ${ROUNDS} round(s); latency from the poller's sourceTs to receipt by the client; values/s: to all clients together;`);
console.log(`id gaps: deltas skipped plus the hub's device-status events (~1/s per client, ~${(CLIENTS * SECONDS).toFixed(0)} expected with none skipped)`);
console.log('  mode          p50 ms  p99 ms  max ms   deltas/s  delivered  values/s  drops  id gaps  late  planta CPU  load clients CPU');
const plantaCores = (r: ModeResult): number => r.procs.filter((p) => p.name.startsWith('planta')).reduce((n, p) => n + p.cores, 0);
for (const r of [d, a]) {
  console.log(
    `  ${r.mode.padEnd(12)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} ${r.max.toFixed(0).padStart(7)} ${r.deltasPerS.toFixed(0).padStart(10)} ` +
      `${((r.deltasPerS / expectedDeltas) * 100).toFixed(1).padStart(9)}% ${(r.valuesPerS / 1e6).toFixed(2).padStart(8)}M ${String(r.drops).padStart(6)} ${String(r.gaps).padStart(8)} ${String(r.late).padStart(5)} ` +
      `${plantaCores(r).toFixed(2).padStart(7)} core ${r.clientCpu.toFixed(2).padStart(9)} core`,
  );
}
console.log(`  ratio d/a    ${(d.p50 / a.p50).toFixed(2).padStart(7)} ${(d.p99 / a.p99).toFixed(2).padStart(7)} ${(d.max / a.max).toFixed(2).padStart(7)} ${(d.deltasPerS / a.deltasPerS).toFixed(2).padStart(10)}                         ${(plantaCores(d) / plantaCores(a)).toFixed(2).padStart(7)}`);
console.log('\nper process (CPU in cores over the measured window, peak RSS)');
for (const r of [d, a]) {
  console.log(`  ${r.mode}`);
  for (const p of r.procs) console.log(`    ${p.name.padEnd(14)} ${p.cores.toFixed(2).padStart(5)} core  ${p.rssMb.toFixed(0).padStart(5)} MB  CPUs ${p.cpus}`);
}
const sec = ((performance.now() - began) / 1000).toFixed(0);
console.log(`\nsummary (${sec} s)`);
console.log(`  distributed  p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, ${((d.deltasPerS / expectedDeltas) * 100).toFixed(1)}% of the deltas, ${d.drops} drops, planta ${plantaCores(d).toFixed(2)} core + redis ${d.procs.find((p) => p.name === 'redis-server')!.cores.toFixed(2)} core`);
console.log(`  all-in-one   p50 ${a.p50.toFixed(1)} ms, p99 ${a.p99.toFixed(1)} ms, ${((a.deltasPerS / expectedDeltas) * 100).toFixed(1)}% of the deltas, ${a.drops} drops, planta ${plantaCores(a).toFixed(2)} core`);
console.log(`  p99 distributed / all-in-one ${(d.p99 / a.p99).toFixed(2)}; planta CPU distributed / all-in-one ${(plantaCores(d) / plantaCores(a)).toFixed(2)}`);
if (d.drops + a.drops > 0 || d.late + a.late > 0) console.log('  warning: some clients got snapshots instead of deltas, lost their stream or got < 90% of the expected events: the machine is saturated at this load');
