/**
 * bench:historian-trend — a year trend of one tag at 1,000 pixels while the
 * historian ingests 100,000 samples/s, on SQLite and on PostgreSQL (issue 25,
 * goal 2: p95 ≤ 20 ms on both).
 *
 * Placement, as Planta deploys it: the writer is a process of its own (this
 * file with --writer: `planta historian`'s path — Historian.ingest, a commit
 * every 250 ms, rollups every 10 s, retention — into SqliteStore, or
 * StoreAndForward(PostgresStore)); the trend is queried from this process
 * through a read-only store, as `planta web` answers GET /api/history.
 * Both processes are left to the scheduler on the machine's CPUs (printed).
 *
 * Per store: one tag (`level`) gets a year of history ending now (a sample a
 * minute) and its rollups; then the year trend (1,000 points) is timed
 *   1. on the idle store (the reference of the same run), then
 *   2. while the writer ingests RATE samples/s over TAGS tags (level among them, so the
 *      trend's last minutes are fresh raw data) — the goal's figure;
 * and, once, the raw-data path (a year of samples read and reduced by M4) for scale.
 * The rollup watermark's lag behind the clock is sampled during 2: if the
 * rollups fell behind, the query would read raw data instead of the tiers.
 *
 * usage: npm run bench:historian-trend [-- --rate 100000 --tags 1000 --seconds 20 --store sqlite|pg|both]
 */
import { reportGoal } from './goal.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { Historian } from '../src/historian/historian.js';
import { PostgresStore } from '../src/historian/postgres.js';
import { SqliteStore } from '../src/historian/sqlite.js';
import { StoreAndForward } from '../src/historian/store-and-forward.js';
import type { HistoryStore } from '../src/historian/types.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const RATE = Number(arg('rate', '100000'));
const TAGS = Number(arg('tags', '1000'));
const SECONDS = Number(arg('seconds', '20'));
const WHICH = arg('store', 'both');
const GOAL_MS = 20;
const POINTS = 1000;
const YEAR = 365 * 86_400_000;
const PG_URL = process.env.PLANTA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TAG = 'level';

const cpusOf = (pid: number | 'self'): string => {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
};
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the writer process

interface WriterReport {
  at: number;
  recorded: number;
  committed: number;
  minuteLagMs: number;
  /** How far the hour tier lags behind the minute tier's last whole hour. */
  hourLagMs: number;
  flushErrors: number;
}

function writerStore(kind: string, where: string, buffer: string): HistoryStore {
  return kind === 'sqlite' ? new SqliteStore(where) : new StoreAndForward(new PostgresStore({ url: PG_URL, schema: where }), { path: buffer });
}

/** Ingests RATE samples/s over TAGS tags (one batch of every tag each TAGS/RATE s), as the bus would deliver them, until SIGTERM. */
async function writer(kind: string, where: string, buffer: string): Promise<void> {
  const store = writerStore(kind, where, buffer);
  const h = new Historian({ store });
  const names = [TAG, ...Array.from({ length: TAGS - 1 }, (_, i) => `w${i + 1}`)];
  const walk = new Float64Array(TAGS).fill(50);
  const step = (TAGS / RATE) * 1000;
  const start = Date.now();
  let batches = 0;
  let k = 0;
  h.start();
  const tick = setInterval(() => {
    const owed = Math.floor((Date.now() - start) / step);
    for (; batches < owed; batches++) {
      const ts = start + Math.round(batches * step);
      const batch = new Array(TAGS);
      for (let i = 0; i < TAGS; i++) {
        walk[i] = walk[i]! + (((k++ * 2654435761) >>> 0) / 2 ** 32 - 0.5);
        batch[i] = { tag: names[i]!, value: walk[i]!, quality: 'Good', sourceTs: ts, serverTs: ts };
      }
      h.ingest(batch);
    }
  }, 5);
  const report = setInterval(() => {
    void (async () => {
      const now = Date.now();
      const m = Number((await store.getMeta('rollup.minute')) ?? NaN);
      const hr = Number((await store.getMeta('rollup.hour')) ?? NaN);
      // The hour tier can only reach the minute tier's last whole hour: its lag is counted from there.
      const hourLagMs = Math.floor(m / 3_600_000) * 3_600_000 - hr;
      const r: WriterReport = { at: now, recorded: h.stats.recorded, committed: h.stats.committed, minuteLagMs: now - m, hourLagMs, flushErrors: h.stats.flushErrors };
      process.stdout.write(`${JSON.stringify(r)}\n`);
    })();
  }, 1000);
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    clearInterval(tick);
    clearInterval(report);
    void h.close().then(() => process.exit(0));
  });
}

// ------------------------------------------------------------------ the reader (this process)

/** A year of `level` ending at `end`, a sample a minute, and its rollups, written as the historian would. */
async function history(store: HistoryStore, end: number): Promise<void> {
  const clock = { now: end - YEAR };
  const h = new Historian({ store, now: () => clock.now, maxQueue: Infinity });
  let v = 50;
  let k = 0;
  for (let t = end - YEAR; t < end; t += 60_000, k++) {
    v += ((k * 2654435761) >>> 0) / 2 ** 32 - 0.5;
    // A spike a week: a trend from the tiers must still show it.
    h.ingest([{ tag: TAG, value: k % 10_080 === 5000 ? v + 1000 : v, quality: 'Good', sourceTs: t, serverTs: t }]);
    if (k % 100_000 === 99_999) await h.flush();
  }
  await h.flush();
  clock.now = end;
  await h.rollup();
  await h.close();
}

interface Timing {
  ms: number[];
  resolutions: Set<string>;
  maxPoints: number;
}

async function timeQueries(h: Historian, until: () => boolean, minCount: number): Promise<Timing> {
  const out: Timing = { ms: [], resolutions: new Set(), maxPoints: 0 };
  while (out.ms.length < minCount || !until()) {
    const to = Date.now();
    const t = performance.now();
    const [s] = await h.query([TAG], to - YEAR, to, POINTS);
    out.ms.push(performance.now() - t);
    out.resolutions.add(s!.resolution);
    out.maxPoints = Math.max(out.maxPoints, s!.t.length);
    await sleep(20);
  }
  return out;
}

/** The raw-data path for scale: the same query on the same store with the rollups hidden (a year of samples read and reduced by M4). */
async function rawQuery(store: HistoryStore): Promise<number> {
  const noRollups = new Proxy(store, {
    get: (o, k) => (k === 'getMeta' ? async () => undefined : typeof o[k as keyof HistoryStore] === 'function' ? (o[k as keyof HistoryStore] as (...a: unknown[]) => unknown).bind(o) : o[k as keyof HistoryStore]),
  });
  const h = new Historian({ store: noRollups, reader: true });
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) {
    const to = Date.now();
    const t = performance.now();
    const [s] = await h.query([TAG], to - YEAR, to, POINTS);
    ms.push(performance.now() - t);
    if (s!.resolution !== 'raw') throw new Error(`raw path answered from ${s!.resolution}`);
  }
  return pct(ms, 50);
}

function startWriter(kind: string, where: string, buffer: string): { child: ChildProcess; reports: WriterReport[]; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--writer', kind, where, buffer, '--rate', String(RATE), '--tags', String(TAGS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const reports: WriterReport[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`writer exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('{')) reports.push(JSON.parse(line) as WriterReport);
    });
  });
  return { child, reports, ready };
}

interface Result {
  store: string;
  idle: Timing;
  loaded: Timing;
  rawMs: number;
  ingest: number;
  minuteLagMaxS: number;
  hourLagMaxS: number;
  loadBefore: string;
  loadAfter: string;
  writerCpus: string;
  rowsRead: number;
}

async function run(kind: 'sqlite' | 'pg', dir: string): Promise<Result> {
  const schema = `planta_bench_trend_${process.pid}`;
  const path = join(dir, 'history.db');
  const buffer = join(dir, 'buffer.db');
  const end = Date.now();
  const t0 = performance.now();
  await history(writerStore(kind, kind === 'sqlite' ? path : schema, buffer), end);
  console.log(`  ${kind}: a year of ${TAG} (525,600 samples) and its rollups written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const reader = kind === 'sqlite' ? new SqliteStore(path, { readOnly: true }) : new PostgresStore({ url: PG_URL, schema, readOnly: true });
  const h = new Historian({ store: reader, reader: true });
  try {
    await timeQueries(h, () => true, 10);
    const idle = await timeQueries(h, () => true, 200);
    const rawMs = await rawQuery(reader);
    const loadBefore = load();
    const w = startWriter(kind, kind === 'sqlite' ? path : schema, buffer);
    await w.ready;
    await sleep(3000);
    const from = w.reports.at(-1);
    const started = Date.now();
    // The rollup rows the trend read from the store while ingest ran (tier-cache.ts; absent before it existed).
    const tiers = (h as { tiers?: { stats: { read: number } } }).tiers?.stats;
    const readBefore = tiers?.read ?? NaN;
    const loaded = await timeQueries(h, () => Date.now() - started > SECONDS * 1000, 0);
    const rowsRead = (tiers?.read ?? NaN) - readBefore;
    const to = w.reports.at(-1);
    const loadAfter = load();
    const writerCpus = cpusOf(w.child.pid!);
    const exited = new Promise((r) => w.child.once('exit', r));
    w.child.kill('SIGTERM');
    await exited;
    const window = w.reports.filter((r) => r.at >= started);
    const ingest = from && to ? ((to.recorded - from.recorded) / (to.at - from.at)) * 1000 : NaN;
    if (to && to.flushErrors > 0) console.log(`  ${kind}: ${to.flushErrors} failed commits in the writer`);
    return {
      store: kind === 'sqlite' ? 'SQLite' : 'PostgreSQL',
      idle,
      loaded,
      rawMs,
      ingest,
      minuteLagMaxS: Math.max(...window.map((r) => r.minuteLagMs)) / 1000,
      hourLagMaxS: Math.max(...window.map((r) => r.hourLagMs)) / 1000,
      loadBefore,
      loadAfter,
      writerCpus,
      rowsRead,
    };
  } finally {
    await h.close().catch(() => undefined);
    if (kind === 'pg') {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  }
}

function print(r: Result): void {
  const p95 = pct(r.loaded.ms, 95);
  const idle95 = pct(r.idle.ms, 95);
  console.log(`\n${r.store}: year trend of one tag, ${POINTS} points (resolution ${[...r.loaded.resolutions].join('/')}, ≤ ${r.loaded.maxPoints} points returned)`);
  console.log(`  reference, idle store:        p50 ${pct(r.idle.ms, 50).toFixed(1)} ms, p95 ${idle95.toFixed(1)} ms (${r.idle.ms.length} queries)`);
  console.log(`  raw-data path (no tiers):     p50 ${r.rawMs.toFixed(0)} ms (a year of samples read and reduced by M4)`);
  console.log(`  under ingest:                 p50 ${pct(r.loaded.ms, 50).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...r.loaded.ms).toFixed(1)} ms (${r.loaded.ms.length} queries in ${SECONDS} s)`);
  console.log(`  ingest achieved:              ${Math.round(r.ingest).toLocaleString('en-US')} samples/s (target ${RATE.toLocaleString('en-US')}), writer on CPUs ${r.writerCpus}`);
  if (Number.isFinite(r.rowsRead)) console.log(`  rollup rows read per query:   ${(r.rowsRead / r.loaded.ms.length).toFixed(1)} under ingest (the rest from memory)`);
  console.log(`  rollup lag during the run:    minute tier ≤ ${r.minuteLagMaxS.toFixed(0)} s behind the clock (rolled every 10 s, 5 s settle), hour tier ≤ ${r.hourLagMaxS.toFixed(0)} s behind the minute tier's last whole hour`);
  console.log(`  p95 under ingest / idle p95:  ${(p95 / idle95).toFixed(2)}×   load average ${r.loadBefore} → ${r.loadAfter}`);
  reportGoal(`year trend ${r.store}`, `p95 ≤ ${GOAL_MS} ms under ${RATE} samples/s ingest`, `${p95.toFixed(1)} ms (idle store ${idle95.toFixed(1)} ms, ${(p95 / idle95).toFixed(2)}×)`, p95 <= GOAL_MS);
}

async function main(): Promise<void> {
  console.log(`bench:historian-trend — ${RATE.toLocaleString('en-US')} samples/s over ${TAGS} tags in a writer process; this process (CPUs ${cpusOf('self')}) queries a year of ${TAG} at ${POINTS} points through a read-only store`);
  console.log(`load average ${load()}`);
  const dir = mkdtempSync(join(tmpdir(), 'planta-bench-trend-'));
  try {
    if (WHICH !== 'pg') print(await run('sqlite', dir));
    if (WHICH !== 'sqlite') print(await run('pg', dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args[0] === '--writer') await writer(args[1]!, args[2]!, args[3]!);
else await main();
