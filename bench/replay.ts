/**
 * bench:replay — incident replay (issue 27) on a one-year synthetic history
 * of the SBR plant's 57 tags, on SQLite and (when it answers) PostgreSQL:
 *
 *   1. Snapshot latency at the end of the year and at random moments in it:
 *      every tag's last sample at or before T as GET /api/replay/state reads
 *      it (src/historian/replay.ts: the stores' lastBeforeMany, one SQLite
 *      snapshot or one PostgreSQL round trip over the (tag_id, t_start) block
 *      key). References in the same run, same data: R1 the per-tag path the
 *      historian had (lastBefore, one call per tag, two statements each on
 *      PostgreSQL); R2 the naive design, a row per sample with an index on
 *      (tag_id, ts) and `SELECT … WHERE tag_id = ? AND ts <= T ORDER BY ts DESC
 *      LIMIT 1` per tag (SQLite, a sample of the year's rows). Goal: ≤ 100 ms.
 *   2. Stream throughput: the replay stream (src/web/replay-stream.ts) unpaced
 *      over the last hour, where every tag changes every second, alarms and
 *      events in the journal; plant seconds played per wall second. Goal: ≥ 60
 *      (it keeps up at 60×).
 *
 * The year: one sample every `--every` seconds per tag (default 300: 6 M
 * samples; the key probe does not depend on the density, the build time
 * does), then the last two hours at one sample a second per tag.
 *
 * usage: npm run bench:replay [-- --every 300 --moments 50]
 *        taskset -c 0 npm run bench:replay      (one CPU)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AlarmStore } from '../src/alarms/store.js';
import { loadConfig } from '../src/config/load.js';
import { PostgresStore } from '../src/historian/postgres.js';
import { samplesAt } from '../src/historian/replay.js';
import { SqliteStore } from '../src/historian/sqlite.js';
import type { HistoryStore } from '../src/historian/types.js';
import type { ReplayDeps } from '../src/web/replay-state.js';
import { playReplay } from '../src/web/replay-stream.js';
import { reportGoal } from './goal.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const EVERY_S = arg('every', 300);
const MOMENTS = arg('moments', 50);
const GOAL_MS = 100;
const GOAL_SPEED = 60;
const YEAR = 365 * 86_400_000;
const END = Date.UTC(2026, 11, 1);
const START = END - YEAR;
const DENSE_FROM = END - 2 * 3_600_000;
const PG_URL = process.env.PLANTA_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_SCHEMA = `planta_bench_replay_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'planta-bench-replay-'));
const cpus = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '?';

const config = loadConfig(new URL('../config/sbr-plant.yaml', import.meta.url).pathname);
const names = config.tags.map((t) => t.name);

const value = (k: number, ts: number): number => Math.round(50 + 40 * Math.sin(ts / 3_600_000 + k)) / 10;

/** Every sample of the year, in time order, through `sink` (per tag: id index, ts, v, q). */
function* year(): Generator<[number, number, number]> {
  for (let ts = START; ts < DENSE_FROM; ts += EVERY_S * 1000) for (let k = 0; k < names.length; k++) yield [k, ts + k, value(k, ts)];
  for (let ts = DENSE_FROM; ts < END; ts += 1000) for (let k = 0; k < names.length; k++) yield [k, ts + k, value(k, ts)];
}

async function fill(store: HistoryStore): Promise<number> {
  const ids = names.map((n) => store.tagId(n));
  let n = 0;
  for (const [k, ts, v] of year()) {
    store.append(ids[k]!, ts, v, 0);
    if (++n % 200_000 === 0) await store.flush();
  }
  await store.flush();
  return n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

async function timeIt(f: () => Promise<unknown>, runs: number[]): Promise<void> {
  const t = performance.now();
  await f();
  runs.push(performance.now() - t);
}

function moments(): number[] {
  const out = [END - 1, END - 1000, END - 3_600_000];
  for (let i = 0; i < MOMENTS; i++) out.push(START + Math.floor(Math.random() * YEAR));
  return out;
}

function line(label: string, runs: number[], ref?: number[]): string {
  const ratio = ref ? `  reference/this ${(median(ref) / median(runs)).toFixed(2)}` : '';
  return `${label.padEnd(60)} median ${median(runs).toFixed(2).padStart(8)} ms  p95 ${p95(runs).toFixed(2).padStart(8)} ms${ratio}`;
}

async function snapshotBench(what: string, store: HistoryStore): Promise<{ planta: number[] }> {
  const source = { store, staleAfterMs: () => 125_000 };
  const planta: number[] = [];
  const perTag: number[] = [];
  // Warm once (a web node's first request opens files and caches the tag ids).
  await samplesAt(source, names, END - 1);
  for (const t of moments()) {
    await timeIt(() => samplesAt(source, names, t), planta);
    await timeIt(() => Promise.all(names.map((n) => store.lastBefore(n, t + 1))).then(() => undefined), perTag);
  }
  const end: number[] = [];
  for (let i = 0; i < 20; i++) await timeIt(() => samplesAt(source, names, END - 1), end);
  console.log(line(`${what}: snapshot at the end of the year (57 tags)`, end));
  console.log(line(`${what}: snapshot at ${MOMENTS + 3} moments in the year`, planta, perTag));
  console.log(line(`${what}: R1 per-tag lastBefore (the previous path)`, perTag));
  const worst = Math.max(p95(end), p95(planta));
  reportGoal(`replay ${what} snapshot`, `p95 ≤ ${GOAL_MS} ms`, `${worst.toFixed(2)} ms (R1 per-tag ${(p95(perTag) / worst).toFixed(2)}× slower)`, worst <= GOAL_MS);
  return { planta };
}

/** R2: rows per sample with an index on (tag_id, ts), a query per tag; built from the same generator, every 10th row of the sparse year (it would take minutes in full). */
function naiveSqlite(): number[] {
  const db = new Database(join(dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE samples (tag_id INTEGER NOT NULL, ts INTEGER NOT NULL, v REAL, q INTEGER NOT NULL); CREATE INDEX samples_tag_ts ON samples (tag_id, ts)');
  const insert = db.prepare('INSERT INTO samples VALUES (?, ?, ?, 0)');
  let n = 0;
  const rows: [number, number, number][] = [];
  const commit = db.transaction((rs: [number, number, number][]) => {
    for (const r of rs) insert.run(r[0], r[1], r[2]);
  });
  for (const r of year()) {
    if (r[1] < DENSE_FROM && n++ % 10 !== 0) continue;
    rows.push(r);
    if (rows.length >= 100_000) commit(rows.splice(0));
  }
  commit(rows.splice(0));
  const q = db.prepare('SELECT ts, v, q FROM samples WHERE tag_id = ? AND ts <= ? ORDER BY ts DESC LIMIT 1');
  const runs: number[] = [];
  for (const t of moments()) {
    const s = performance.now();
    for (let k = 0; k < names.length; k++) q.get(k, t);
    runs.push(performance.now() - s);
  }
  db.close();
  return runs;
}

async function streamBench(what: string, store: HistoryStore): Promise<void> {
  const journal = new AlarmStore(':memory:');
  const ids = Object.keys(config.alarms);
  // An alarm, its acknowledgement and its return every minute, an event every 10 s, over the last hour.
  const entries = [];
  for (let ts = END - 3_600_000; ts < END; ts += 10_000) {
    entries.push({ ts, kind: 'event' as const, source: 'phase.aeration', text: 'Aeration' });
    if (ts % 60_000 < 10_000) {
      const id = ids[Math.floor(ts / 60_000) % ids.length]!;
      entries.push({ ts: ts + 1, kind: 'alarm' as const, source: id, text: id, priority: 'high' as const });
      entries.push({ ts: ts + 2000, kind: 'ack' as const, source: id, text: `${id}: acknowledged`, user: 'ana' });
      entries.push({ ts: ts + 5000, kind: 'return' as const, source: id, text: `${id}: returned to normal` });
    }
  }
  journal.append(entries);
  const deps: ReplayDeps = {
    tags: config.tags,
    historian: { store, staleAfterMs: () => 125_000 },
    alarms: {
      journal: (q) => journal.query(q),
      acknowledge: () => [],
      shelve: () => { throw new Error('not here'); },
      unshelve: () => { throw new Error('not here'); },
      removeFromService: () => { throw new Error('not here'); },
      returnToService: () => { throw new Error('not here'); },
      rates: () => { throw new Error('not here'); },
    },
    templates: async () => Object.entries(config.alarms).map(([id, a]) => ({ id, message: a.message, priority: a.priority, source: a.tag })),
    enabledWhen: Object.fromEntries(Object.entries(config.alarms).map(([id, a]) => [id, a.enabledWhen])),
  };
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  let bytes = 0;
  let events = 0;
  client.on('data', (b: Buffer) => {
    bytes += b.length;
    for (let i = b.indexOf('\nevent: '); i >= 0; i = b.indexOf('\nevent: ', i + 1)) events++;
  });
  const received = new Promise<void>((r) => client.once('end', r));
  const socket = await accepted;
  const from = END - 3_600_000;
  const t = performance.now();
  await playReplay(socket, { deps, from, speed: GOAL_SPEED, audit: true, paced: false, now: () => END });
  // Until the client read the last byte: the replay keeps up only if its reader does.
  await received;
  const wall = (performance.now() - t) / 1000;
  client.destroy();
  server.close();
  journal.close();
  const speed = 3600 / wall;
  console.log(`${what}: stream of the last hour (57 tags, a change a second each; ${entries.length} journal entries): ${wall.toFixed(2)} s, ${events} events, ${(bytes / 1e6).toFixed(1)} MB`);
  reportGoal(`replay ${what} stream`, `≥ ${GOAL_SPEED}× real time`, `${speed.toFixed(0)}× real time (ratio ${(speed / GOAL_SPEED).toFixed(1)})`, speed >= GOAL_SPEED);
}

async function main(): Promise<void> {
  console.log(`bench:replay — one year of ${names.length} tags (a sample every ${EVERY_S} s, the last 2 h every second), CPUs ${cpus}, Node ${process.version}`);
  const sqlite = new SqliteStore(join(dir, 'history.db'));
  let t = performance.now();
  const n = await fill(sqlite);
  console.log(`SQLite: ${(n / 1e6).toFixed(1)} M samples written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const { planta } = await snapshotBench('SQLite', sqlite);
  const naive = naiveSqlite();
  console.log(line('SQLite: R2 naive rows + (tag_id, ts) index, a query per tag', naive));
  console.log(`SQLite: R2/Planta ${(median(naive) / median(planta)).toFixed(2)} (median; R2's rows cost a B-tree insert per sample at ingest, see bench:historian)`);
  await streamBench('SQLite', sqlite);
  await sqlite.close();

  const probe = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1000 });
  probe.on('error', () => undefined);
  const pgUp = await probe.connect().then(() => true, () => false);
  if (!pgUp) {
    console.log(`PostgreSQL: not reachable at ${PG_URL}; skipped`);
    return;
  }
  try {
    const store = new PostgresStore({ url: PG_URL, schema: PG_SCHEMA });
    t = performance.now();
    await fill(store);
    console.log(`PostgreSQL: ${(n / 1e6).toFixed(1)} M samples written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const reader = new PostgresStore({ url: PG_URL, schema: PG_SCHEMA, readOnly: true });
    await snapshotBench('PostgreSQL (a web node, read-only)', reader);
    await streamBench('PostgreSQL', reader);
    await reader.close();
    await store.close();
  } finally {
    await probe.query(`DROP SCHEMA IF EXISTS "${PG_SCHEMA}" CASCADE`);
    await probe.end();
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
