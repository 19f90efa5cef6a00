/**
 * bench:distributed — the distributed mode under load, against the
 * all-in-one mode in the same run: DEVICES (10) simulated devices × TAGS
 * (1,000) holding registers, every one changing every PERIOD (100) ms (the
 * simulator's `--load` device, one unit id per device, scanned every PERIOD),
 * to CLIENTS (500) SSE clients; then the same at each further scale of
 * devices (`--scales 1,3`: 10 and 30 devices).
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
 * Redis (distributed) and the web's SSE fan-out. Where it goes, per stage
 * (the processes' own histograms over the window, scraped from /metrics):
 * sourceTs → Redis confirmed the batch (poller, `planta_bus_value_lag_seconds
 * {stage="sent"}`) → the batch received at the web node (`{stage="received"}`)
 * → the delta written to every socket (`planta_sse_fanout_lag_seconds`) → the
 * client's read.
 *
 * Delivered: of the events the web node emitted while a client was
 * connected, the share it received (the load client follows every event id:
 * `missed` is events never sent to it), and nothing replaced by a snapshot
 * (a slow client's) or lost with a closed stream; on the way there, the
 * batches the web nodes received against those the poller sent (counters
 * over the window). CPU: cores over the window (/proc utime+stime) of every
 * process; the goal compares Planta's processes plus redis-server with the
 * all-in-one process, per delta delivered (a mode whose poller fell behind
 * its period did less work). The simulator and the load clients are the same in
 * both modes and not counted.
 *
 * Goals (issue 25), printed with MET or MISSED at each scale: p99 ≤ 2× the
 * all-in-one's, 100 % of the deltas delivered, CPU ≤ 1.2× the all-in-one's.
 *
 * The load client is test/peers/c/sse-load-client.c (epoll, one thread), as
 * in bench:stream. Planta runs as an esbuild bundle on plain Node, as
 * `planta` does. Redis: a private `redis-server --save '' --appendonly no` on
 * a free port of 127.0.0.1 (never the machine's shared Redis), stopped at the
 * end. Everything binds 127.0.0.1; every child is killed at exit.
 *
 * Placement: left to the scheduler (this bench runs ~8 processes; pinning
 * them on a small machine would measure the pinning), printed with each
 * process's allowed CPUs. Each mode runs ROUNDS (2) times per scale, taking
 * turns; the load average is printed at each scale's start and end.
 *
 * usage: npm run bench:distributed [-- --devices 10] [--tags 1000] [--period 100]
 *        [--clients 500] [--seconds 8] [--warmup 2] [--rounds 2] [--scales 1,3]
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error -- a plain .mjs script without types
import { bundle } from '../scripts/build-server.mjs';
import { freePort } from '../test/helpers/ports.js';
import type { Started } from '../test/helpers/process.js';
import { buildPeer } from '../test/peers/build.js';
import { reportGoal } from './goal.js';
import { childTracker, numberOption, rssMb } from './proc.js';
import { type Samples, type Stage, pick, scrape, stage, sum } from './scrape.js';

const args = process.argv.slice(2);
const opt = numberOption;
const DEVICES = opt('devices', 10);
/** The devices of the scale being measured (DEVICES × a scale). */
let devices = DEVICES;
const TAGS = opt('tags', 1000);
const PERIOD = opt('period', 100);
const CLIENTS = Math.max(2, opt('clients', 500));
const SECONDS = opt('seconds', 8);
const WARMUP = opt('warmup', 2);
const ROUNDS = opt('rounds', 2);
const scalesArg = args.includes('--scales') ? args[args.indexOf('--scales') + 1] ?? '' : '1,3';
const SCALES = scalesArg.split(',').map(Number);
if (SCALES.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error('--scales: positive integers, e.g. 1,3');
const REDIS = '/usr/bin/redis-server';
/** How long a planta process may take to start (30,000 tags on a busy machine take a while). */
const START_MS = 240_000;
if (DEVICES * Math.max(...SCALES) > 247) throw new Error('--devices × the largest scale: at most 247 (unit ids of one load device)');

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
const planta = [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), join(work, 'planta.mjs.launch.mjs')];

function configYaml(simPort: number): string {
  // Every benchmark client comes from 127.0.0.1: the per-client and total caps (security.limits) are lifted.
  const limits = 'connections: 100000, connectionsPerIp: 100000, streams: 100000, streamsPerIp: 100000';
  let y = `plant:\n  name: bench-distributed\nsecurity:\n  anonymous: local\n  limits: { ${limits} }\nhistorian:\n  enabled: false\ndevices:\n`;
  for (let u = 1; u <= devices; u++) y += `  d${u}: { host: 127.0.0.1, port: ${simPort}, unitId: ${u}, timeout: 1s, scanGroups: { fast: ${PERIOD}ms } }\n`;
  y += 'tags:\n';
  for (let u = 1; u <= devices; u++) for (let a = 0; a < TAGS; a++) y += `  d${u}.r${a}: { device: d${u}, area: holding, address: ${a} }\n`;
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
  /** Its Prometheus /metrics, and the token it wants (a web node's). */
  metrics?: { url: string; token?: string };
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
  events: number;
  /** Events the web emitted that a client never got (gaps in the ids it follows). */
  missed: number;
  /** Snapshots instead of deltas (a slow client) and closed streams. */
  drops: number;
  late: number;
  clients: number;
  clientCpu: number;
  procs: ProcFigures[];
  /** Per stage, from sourceTs: Redis confirmed (poller), received at the web, written to every socket. */
  stages: Partial<Record<'sent' | 'received' | 'fanout', Stage>>;
  /** Value batches over the window: sent by the poller, received by each web node. */
  batchesSent: number;
  batchesReceived: number[];
  /** Deltas each web node wrote, and of those the frames it passed on as they came (planta_sse_deltas_forwarded_total). */
  deltas: number[];
  forwarded: number[];
  resyncs: number;
}

/** Opens the streams (two load clients), waits for "measuring" on both, measures the watched processes over the window. */
async function loadAndMeasure(mode: string, ports: [number, number], watched: Watched[]): Promise<ModeResult> {
  const half = Math.floor(CLIENTS / 2);
  const clients = await Promise.all(
    ports.map((port, i) => spawnTracked(loadClient!, ['127.0.0.1', String(port), String(i === 0 ? half : CLIENTS - half), String(SECONDS), String(WARMUP), String(PERIOD)], /^measuring$/m, 120_000)),
  );
  const scrapeAll = (): Promise<(Samples | undefined)[]> => Promise.all(watched.map((w) => (w.metrics ? scrape(w.metrics) : undefined)));
  const cpu0 = watched.map((w) => cpuSeconds(w.pid));
  const t0 = performance.now();
  const before = await scrapeAll();
  const rss = watched.map((w) => rssMb(w.pid));
  const sampler = setInterval(() => watched.forEach((w, i) => (rss[i] = Math.max(rss[i]!, rssMb(w.pid)))), 200);
  try {
    for (const c of clients) if (c.child.exitCode === null && c.child.signalCode === null) await once(c.child, 'exit');
  } finally {
    clearInterval(sampler);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const procs = watched.map((w, i) => ({ name: w.name, cores: (cpuSeconds(w.pid) - cpu0[i]!) / elapsed, rssMb: Math.max(rss[i]!, rssMb(w.pid)), cpus: allowedCpus(w.pid) }));
  const after = await scrapeAll();
  const rs = clients.map((c) => {
    const line = c.output().trim().split('\n').pop() ?? '';
    if (c.child.exitCode !== 0 || !line.startsWith('{')) throw new Error(`sse-load-client failed (${c.child.exitCode ?? c.child.signalCode}): ${c.output()}`);
    return JSON.parse(line) as ClientResult;
  });
  const events = rs.reduce((n, r) => n + r.events, 0);
  // Percentiles of the two clients merged by their events (each client holds half the streams): close to, not exactly, the pooled percentile.
  const weighted = (f: (r: ClientResult) => number): number => rs.reduce((n, r) => n + f(r) * r.events, 0) / Math.max(1, events);
  const between = (i: number, name: string, labels: Record<string, string> = {}): number => sum(pick(after[i]!, name, labels)) - sum(pick(before[i]!, name, labels));
  const poller = watched.findIndex((w) => w.name === 'planta poll');
  const webs = watched.flatMap((w, i) => (w.name.startsWith('planta web') || w.name === 'planta start' ? [i] : []));
  const stages: ModeResult['stages'] = {};
  if (poller >= 0) {
    const sent = stage(before[poller]!, after[poller]!, 'planta_bus_value_lag_seconds', { stage: 'sent' });
    if (sent) stages.sent = sent;
  }
  // The web nodes' figures, weighted by their counts.
  const merged = (name: string, labels: Record<string, string> = {}): Stage | undefined => {
    const all = webs.map((i) => stage(before[i]!, after[i]!, name, labels)).filter((x): x is Stage => x !== undefined);
    if (all.length === 0) return undefined;
    const count = all.reduce((n, x) => n + x.count, 0);
    return { count, p50: all.reduce((n, x) => n + x.p50 * x.count, 0) / count, p99: all.reduce((n, x) => n + x.p99 * x.count, 0) / count };
  };
  const received = merged('planta_bus_value_lag_seconds', { stage: 'received' });
  if (received) stages.received = received;
  const fanout = merged('planta_sse_fanout_lag_seconds');
  if (fanout) stages.fanout = fanout;
  return {
    mode,
    p50: weighted((r) => r.p50_ms),
    p99: weighted((r) => r.p99_ms),
    max: Math.max(...rs.map((r) => r.max_ms)),
    deltasPerS: rs.reduce((n, r) => n + r.events_per_s, 0),
    events,
    missed: rs.reduce((n, r) => n + r.missed, 0),
    drops: rs.reduce((n, r) => n + r.resyncs + r.closed, 0),
    late: rs.reduce((n, r) => n + r.short_clients, 0),
    clients: rs.reduce((n, r) => n + r.clients, 0),
    clientCpu: rs.reduce((n, r) => n + r.client_cpu, 0),
    procs,
    stages,
    batchesSent: poller >= 0 ? between(poller, 'planta_bus_value_batches_total', { direction: 'sent' }) : 0,
    batchesReceived: poller >= 0 ? webs.map((i) => between(i, 'planta_bus_value_batches_total', { direction: 'received' })) : [],
    deltas: webs.map((i) => between(i, 'planta_sse_deltas_total')),
    forwarded: webs.map((i) => between(i, 'planta_sse_deltas_forwarded_total')),
    resyncs: webs.reduce((n, i) => n + between(i, 'planta_bus_resyncs_total'), 0),
  };
}

/** A read-only API token in a web node's database, for its /metrics. */
function token(db: string): string {
  return execFileSync(process.execPath, [...planta, 'token', '--db', db, 'add', 'bench'], { env }).toString().trim().split('\n')[0]!;
}

async function stopAll(ps: Started[]): Promise<void> {
  for (const p of ps.reverse()) await p.stop();
}

/** Waits until the first web node shows every tag with good quality (the poller runs, its values arrive). */
async function waitLive(port: number): Promise<void> {
  const deadline = Date.now() + START_MS;
  for (;;) {
    try {
      const tags = (await (await fetch(`http://127.0.0.1:${port}/api/tags`)).json()) as { quality: string }[];
      if (tags.length === devices * TAGS && tags.every((t) => t.quality === 'Good')) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`the web on port ${port} did not show ${devices * TAGS} good tags within ${START_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function simulator(): Promise<Started & { match: RegExpExecArray }> {
  return spawnTracked(process.execPath, [...planta, 'sim', '--port', '0', '--no-control', '--load', `${devices}x${TAGS}`, '--change', `${PERIOD}ms`], /Modbus\/TCP\s+\S+:(\d+)/);
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
    const pollerMetrics = await freePort();
    const poller = await spawnTracked(process.execPath, [...planta, 'poll', '--config', config, '--bus', bus, '--metrics', `127.0.0.1:${pollerMetrics}`], /planta poll: polling/, START_MS);
    started.push(poller);
    const webs: (Started & { match: RegExpExecArray })[] = [];
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      tokens.push(token(join(dir, `web${i}.db`)));
      const w = await spawnTracked(process.execPath, [...planta, 'web', '--config', config, '--bus', bus, '--port', '0', '--db', join(dir, `web${i}.db`)], /planta web: http:\/\/localhost:(\d+)/, START_MS);
      started.push(w);
      webs.push(w);
    }
    const ports = webs.map((w) => Number(w.match[1])) as [number, number];
    await waitLive(ports[0]);
    await waitLive(ports[1]);
    return await loadAndMeasure('distributed', ports, [
      { name: 'simulator', pid: sim.child.pid! },
      { name: 'planta poll', pid: poller.child.pid!, metrics: { url: `http://127.0.0.1:${pollerMetrics}/metrics` } },
      { name: 'planta web A', pid: webs[0]!.child.pid!, metrics: { url: `http://127.0.0.1:${ports[0]}/metrics`, token: tokens[0]! } },
      { name: 'planta web B', pid: webs[1]!.child.pid!, metrics: { url: `http://127.0.0.1:${ports[1]}/metrics`, token: tokens[1]! } },
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
    const secret = token(join(dir, 'planta.db'));
    const one = await spawnTracked(
      process.execPath,
      [...planta, 'start', '--no-sim', '--bus', 'memory', '--config', config, '--port', '0', '--db', join(dir, 'planta.db'), '--history', join(dir, 'history.db')],
      /Planta is running: https?:\/\/\S+:(\d+)/,
      START_MS,
    );
    started.push(one);
    const port = Number(one.match[1]);
    await waitLive(port);
    return await loadAndMeasure('all-in-one', [port, port], [
      { name: 'simulator', pid: sim.child.pid! },
      { name: 'planta start', pid: one.child.pid!, metrics: { url: `http://127.0.0.1:${port}/metrics`, token: secret } },
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
  const medStage = (k: 'sent' | 'received' | 'fanout'): Stage | undefined => {
    const xs = rs.map((r) => r.stages[k]).filter((x): x is Stage => x !== undefined);
    return xs.length === 0 ? undefined : { count: median(xs.map((x) => x.count)), p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)) };
  };
  const stages: ModeResult['stages'] = {};
  for (const k of ['sent', 'received', 'fanout'] as const) {
    const st = medStage(k);
    if (st) stages[k] = st;
  }
  const total = (f: (r: ModeResult) => number): number => rs.reduce((n, r) => n + f(r), 0);
  return {
    ...rs[0]!,
    p50: med((r) => r.p50),
    p99: med((r) => r.p99),
    max: med((r) => r.max),
    deltasPerS: med((r) => r.deltasPerS),
    events: total((r) => r.events),
    missed: total((r) => r.missed),
    drops: total((r) => r.drops),
    late: total((r) => r.late),
    clientCpu: med((r) => r.clientCpu),
    procs: rs[0]!.procs.map((p, i) => ({ ...p, cores: median(rs.map((r) => r.procs[i]!.cores)), rssMb: Math.max(...rs.map((r) => r.procs[i]!.rssMb)) })),
    stages,
    batchesSent: total((r) => r.batchesSent),
    batchesReceived: rs[0]!.batchesReceived.map((_, i) => total((r) => r.batchesReceived[i]!)),
    deltas: rs[0]!.deltas.map((_, i) => total((r) => r.deltas[i]!)),
    forwarded: rs[0]!.forwarded.map((_, i) => total((r) => r.forwarded[i]!)),
    resyncs: total((r) => r.resyncs),
  };
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
/** Planta's processes, and redis-server with them (the distributed mode's cost): not the simulator, not the load clients. */
const cost = (r: ModeResult): number => r.procs.filter((p) => p.name.startsWith('planta') || p.name === 'redis-server').reduce((n, p) => n + p.cores, 0);
const delivered = (r: ModeResult): number => r.events / Math.max(1, r.events + r.missed);
const fmt = (x: number | undefined, d = 1): string => (x === undefined ? '—' : x.toFixed(d));

console.log(
  `bench:distributed — ${TAGS} tags a device changing every ${PERIOD} ms, ${CLIENTS} SSE clients; ${DEVICES} device(s) × scales ${SCALES.join(', ')}; ` +
    `${SECONDS} s measured after ${WARMUP} s warm-up; ${ROUNDS} round(s) per mode; ${availableParallelism()} CPUs (${cpuModel()}); node ${process.version}`,
);
console.log('placement: unpinned — every process left to the scheduler (allowed CPUs per process below); everything on 127.0.0.1; Redis private (no persistence)');
const began = performance.now();
type Verdict = {
  scale: number;
  devices: number;
  loadBefore: string;
  loadAfter: string;
} & ({ d: ModeResult; a: ModeResult; failed?: undefined } | { failed: string });
const verdicts: Verdict[] = [];
for (const scale of SCALES) {
  devices = DEVICES * scale;
  const expectedDeltas = (CLIENTS * devices * 1000) / PERIOD;
  const loadBefore = load();
  console.log(`\n× ${scale}: ${devices} devices × ${TAGS} tags (${((devices * TAGS * 1000) / PERIOD / 1000).toFixed(0)}k values/s), ${expectedDeltas.toFixed(0)} deltas/s expected in all; load average ${loadBefore}`);
  const runs: Record<'distributed' | 'all-in-one', ModeResult[]> = { distributed: [], 'all-in-one': [] };
  let failed: string | undefined;
  rounds: for (let round = 0; round < ROUNDS; round++) {
    // Take turns, so neither mode always runs first on a fresh machine.
    const order = round % 2 === 0 ? (['distributed', 'all-in-one'] as const) : (['all-in-one', 'distributed'] as const);
    for (const m of order) {
      let r: ModeResult;
      try {
        r = m === 'distributed' ? await distributed() : await allInOne();
      } catch (err) {
        // A mode that cannot serve its clients at this scale (no snapshot within the load client's 60 s) misses every goal here.
        failed = `${m}: ${(err as Error).message.split('\n').filter((l) => l.trim() !== '').slice(0, 2).join(' ')}`;
        console.log(`  round ${round + 1} ${m.padEnd(11)} did not complete — ${failed}`);
        break rounds;
      }
      runs[m].push(r);
      console.log(`  round ${round + 1} ${m.padEnd(11)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ${r.deltasPerS.toFixed(0)} deltas/s  missed ${r.missed}  drops ${r.drops}  cost ${cost(r).toFixed(2)} core  load ${load()}`);
    }
  }
  if (failed !== undefined) {
    verdicts.push({ scale, devices, loadBefore, loadAfter: load(), failed });
    continue;
  }
  const d = summarize(runs.distributed);
  const a = summarize(runs['all-in-one']);
  console.log(`  median of ${ROUNDS} round(s); latency from the poller's sourceTs to receipt by the client`);
  console.log('  mode          p50 ms  p99 ms  max ms   deltas/s  scan rate  delivered  missed  drops  late   cost (planta+redis)  load clients');
  for (const r of [d, a]) {
    console.log(
      `  ${r.mode.padEnd(12)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} ${r.max.toFixed(0).padStart(7)} ${r.deltasPerS.toFixed(0).padStart(10)} ` +
        `${((r.deltasPerS / expectedDeltas) * 100).toFixed(1).padStart(9)}% ${(delivered(r) * 100).toFixed(2).padStart(9)}% ${String(r.missed).padStart(7)} ${String(r.drops).padStart(6)} ${String(r.late).padStart(5)} ` +
        `${cost(r).toFixed(2).padStart(14)} core ${r.clientCpu.toFixed(2).padStart(9)} core`,
    );
  }
  console.log(`  ratio d/a    ${(d.p50 / a.p50).toFixed(2).padStart(7)} ${(d.p99 / a.p99).toFixed(2).padStart(7)} ${(d.max / a.max).toFixed(2).padStart(7)} ${(d.deltasPerS / a.deltasPerS).toFixed(2).padStart(10)}${' '.repeat(52)}${(cost(d) / cost(a)).toFixed(2).padStart(8)} (per delta ${((cost(d) / Math.max(1, d.deltasPerS)) / (cost(a) / Math.max(1, a.deltasPerS))).toFixed(2)})`);
  console.log("  where the time goes (the processes' histograms over the window, p50 / p99 ms from sourceTs):");
  console.log(`    distributed  Redis confirmed (poll) ${fmt(d.stages.sent?.p50)} / ${fmt(d.stages.sent?.p99)}  → at the web nodes ${fmt(d.stages.received?.p50)} / ${fmt(d.stages.received?.p99)}  → written to every socket ${fmt(d.stages.fanout?.p50)} / ${fmt(d.stages.fanout?.p99)}  → read by the client ${fmt(d.p50)} / ${fmt(d.p99)}`);
  console.log(`    all-in-one   written to every socket ${fmt(a.stages.fanout?.p50)} / ${fmt(a.stages.fanout?.p99)}  → read by the client ${fmt(a.p50)} / ${fmt(a.p99)}`);
  console.log(`    batches over the windows: poller sent ${d.batchesSent}, web nodes received ${d.batchesReceived.join(' and ')}; Pub/Sub resyncs ${d.resyncs}`);
  console.log(`    deltas the web nodes wrote: ${d.deltas.join(' and ')}, of them passed on as the poller encoded them (frames): ${d.forwarded.join(' and ')}`);
  console.log('  per process (CPU in cores over the measured window, peak RSS)');
  for (const r of [d, a]) {
    console.log(`    ${r.mode}`);
    for (const p of r.procs) console.log(`      ${p.name.padEnd(14)} ${p.cores.toFixed(2).padStart(5)} core  ${p.rssMb.toFixed(0).padStart(5)} MB  CPUs ${p.cpus}`);
  }
  const loadAfter = load();
  console.log(`  load average at the end ${loadAfter}`);
  verdicts.push({ scale, devices, d, a, loadBefore, loadAfter });
}

const sec = ((performance.now() - began) / 1000).toFixed(0);
console.log(`\nsummary (${sec} s; goals of issue 25; placement unpinned)`);
let missedGoals = 0;
const goal = (name: string, target: string, measured: string, ok: boolean): void => {
  if (!reportGoal(name, target, measured, ok)) missedGoals++;
};
for (const v of verdicts) {
  const at = `distributed ${v.scale} (${v.devices} devices)`;
  if (v.failed !== undefined) {
    console.log(`  × ${v.scale} (${v.devices} devices; load average ${v.loadBefore} → ${v.loadAfter}): did not complete — ${v.failed}`);
    for (const [name, target] of [['p99', 'p99 distributed / all-in-one ≤ 2'], ['delivered', 'deltas delivered 100 %'], ['cpu', 'CPU per delta ≤ 1.2×']]) goal(`${at} ${name}`, target!, 'did not complete', false);
    continue;
  }
  const { d, a } = v;
  const p99 = d.p99 / a.p99;
  // CPU for the same work: a mode that scanned less (its poller behind) did less, so its cores are compared per delta delivered.
  const cpu = cost(d) / Math.max(1, d.deltasPerS) / (cost(a) / Math.max(1, a.deltasPerS));
  const lost = d.missed + d.drops;
  console.log(`  × ${v.scale} (${v.devices} devices; load average ${v.loadBefore} → ${v.loadAfter})`);
  goal(`${at} p99`, 'p99 distributed / all-in-one ≤ 2', `${p99.toFixed(2)}× (${d.p99.toFixed(1)} vs ${a.p99.toFixed(1)} ms)`, p99 <= 2);
  goal(
    `${at} delivered`,
    'deltas delivered 100 %',
    `${(delivered(d) * 100).toFixed(2)} % (${d.missed} missed, ${d.drops} replaced by a snapshot or lost with a stream; all-in-one ${(delivered(a) * 100).toFixed(2)} %)`,
    lost === 0,
  );
  goal(
    `${at} cpu`,
    'CPU per delta distributed / all-in-one ≤ 1.2',
    `${cpu.toFixed(2)}× (${cost(d).toFixed(2)} core with redis-server for ${d.deltasPerS.toFixed(0)} deltas/s vs ${cost(a).toFixed(2)} for ${a.deltasPerS.toFixed(0)}; per core ${(cost(d) / cost(a)).toFixed(2)})`,
    cpu <= 1.2,
  );
}
if (verdicts.some((v) => v.failed === undefined && v.d.late + v.a.late > 0)) console.log('  note: some clients got < 90% of the scan rate\'s events (the poller did not keep its period: a saturated machine)');
process.exitCode = missedGoals > 0 ? 1 : 0;

function cpuModel(): string {
  return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
}
