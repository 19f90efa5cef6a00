/**
 * bench:failover — what losing the primary of each engine costs
 * (docs/high-availability.md), goal: fresh values within 10 s, nothing lost.
 *
 *   Redis       a primary, a replica and three sentinels (down-after 1 s) on
 *               free ports; a poller's bus publishing a scan every 10 ms
 *               (with its outbox), a historian's bus reading the samples
 *               streams, a web node's bus reading live values, all on
 *               redis-sentinel://; the primary killed with SIGKILL. Time:
 *               from the kill to the first value read after the kill at the
 *               web bus. Lost: batches published and never at the historian.
 *   PostgreSQL  a primary and a streaming standby (initdb, pg_basebackup -R);
 *               the historian (PostgresStore behind store-and-forward) given
 *               both hosts, a sample every 20 ms; the primary stopped (fast
 *               shutdown) and the standby promoted at once (pg_ctl promote,
 *               as an orchestrator would). Time: from the stop to the first
 *               sample written after it readable in PostgreSQL. Lost: samples
 *               written and not stored once.
 *
 * Reference, measured in the same run: how long the engine itself took —
 * the sentinels naming the new master, `pg_ctl promote` returning —
 * which Planta cannot beat; the ratio is Planta's time over it.
 * Placement: everything on this machine, left to the scheduler.
 *
 * usage: npm run bench:failover [-- --rounds 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Outbox } from '../src/bus/outbox.js';
import { RedisBus } from '../src/bus/redis.js';
import { PostgresStore } from '../src/historian/postgres.js';
import { StoreAndForward } from '../src/historian/store-and-forward.js';
import { pgPair } from '../test/ha/pg-pair.js';
import { redisSentinels } from '../test/ha/redis-sentinels.js';
import { sleep, waitFor } from '../test/helpers/wait.js';
import { reportGoal } from './goal.js';

const GOAL_MS = 10_000;
const args = process.argv.slice(2);
const ri = args.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Math.max(1, Number(args[ri + 1])) : 1;

/** The test helpers' hooks, for a bench: cleanups run at the end of each round. */
function context(): { t: TestContext; end: () => Promise<void> } {
  const hooks: (() => unknown)[] = [];
  const t = {
    after: (f: () => unknown) => hooks.push(f),
    skip: (why: string) => {
      throw new Error(`missing: ${why}`);
    },
  } as unknown as TestContext;
  return {
    t,
    end: async () => {
      for (const f of hooks.reverse()) await f();
    },
  };
}

interface Result {
  engine: string;
  freshMs: number;
  referenceMs: number;
  lost: number;
  of: number;
}

async function redisRound(): Promise<Result> {
  const { t, end } = context();
  try {
    const set = await redisSentinels(t);
    if (!set) throw new Error('redis-server missing');
    const dir = mkdtempSync(join(tmpdir(), 'planta-bench-failover-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tagDevices = new Map([['n', 'plc']]);
    const prefix = 'planta:bench:';
    const outbox = new Outbox(join(dir, 'outbox.db'), 64 << 20);
    const poller = await RedisBus.connect({ url: set.url, prefix, consumer: 'poller', devices: ['plc'], tagDevices, outbox, blockMs: 200 });
    const historian = await RedisBus.connect({ url: set.url, prefix, consumer: 'historian', tagDevices, blockMs: 200 });
    const web = await RedisBus.connect({ url: set.url, prefix, consumer: 'web', tagDevices, blockMs: 200 });
    t.after(async () => {
      await web.close();
      await historian.close();
      await poller.close();
    });
    const seen = new Set<number>();
    const sub = await historian.subscribeSamples((b) => {
      for (const v of b.values) seen.add(v.value as number);
    }, { durable: 'historian' });
    await poller.samples.check();
    let freshAt = 0;
    let killedAt = Infinity;
    await web.subscribeValues((values) => {
      if (!freshAt && values.some((v) => (v.sourceTs ?? 0) > killedAt)) freshAt = Date.now();
    });
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await poller.publishValues([{ tag: 'n', value: n++, quality: 'Good', sourceTs: Date.now(), serverTs: Date.now() }], { device: 'plc', upTo: Date.now() });
        await sleep(10);
      }
    })();
    const acker = setInterval(() => void sub.acknowledge(sub.position()).catch(() => undefined), 100);
    t.after(() => clearInterval(acker));
    await waitFor('batches before the kill', () => seen.size >= 100, 10_000);
    killedAt = await set.killPrimary();
    await waitFor('the sentinels name the replica', async () => (await set.masterPort()) === set.replicaPort, 20_000, 20);
    const referenceMs = Date.now() - killedAt;
    await waitFor('fresh values', () => freshAt > 0, 30_000, 10);
    await sleep(1000);
    publishing = false;
    await publisher;
    await waitFor('the historian caught up', () => seen.size >= n, 15_000, 50).catch(() => undefined);
    return { engine: 'Redis (Sentinel)', freshMs: freshAt - killedAt, referenceMs, lost: n - seen.size, of: n };
  } finally {
    await end();
  }
}

async function postgresRound(): Promise<Result> {
  const { t, end } = context();
  try {
    const pair = await pgPair(t);
    if (!pair) throw new Error('PostgreSQL server binaries missing');
    const dir = mkdtempSync(join(tmpdir(), 'planta-bench-failover-pg-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const store = new PostgresStore({ url: pair.url(), schema: 'planta_bench', connectTimeoutMs: 1000, queryTimeoutMs: 3000 });
    const historian = new StoreAndForward(store, { path: join(dir, 'buffer.db'), retryMs: 50 });
    t.after(() => historian.close());
    const T0 = Date.UTC(2026, 0, 1);
    let n = 0;
    let writing = true;
    let stoppedAt = Infinity;
    let firstAfter = Infinity;
    const writer = (async () => {
      while (writing) {
        if (firstAfter === Infinity && Date.now() > stoppedAt) firstAfter = n;
        historian.append(historian.tagId('level'), T0 + n * 1000, n, 0);
        n++;
        await historian.flush();
        await sleep(20);
      }
    })();
    await waitFor('samples on the primary', () => historian.buffer().online && n > 50, 10_000);
    await pair.stopPrimary('fast');
    stoppedAt = Date.now();
    await pair.promote();
    const referenceMs = Date.now() - stoppedAt;
    const stored = async (k: number): Promise<boolean> =>
      (await pair.sql<{ n: string }>(pair.standbyPort, 'SELECT count(*)::text AS n FROM planta_bench.recent').catch(() => [])).length > 0 &&
      (await historian.readRaw('level', T0 + k * 1000, T0 + k * 1000 + 1)).n === 1;
    await waitFor('a sample written after the stop stored', async () => firstAfter !== Infinity && (await stored(firstAfter)), 30_000, 20);
    const freshMs = Date.now() - stoppedAt;
    writing = false;
    await writer;
    await waitFor('the buffer forwarded', async () => {
      await historian.flush();
      return historian.buffer().samples === 0;
    }, 15_000, 50);
    const s = await historian.readRaw('level', T0, T0 + 1e9);
    const once = new Set(Array.from(s.v.subarray(0, s.n))).size;
    return { engine: 'PostgreSQL (primary + standby)', freshMs, referenceMs, lost: n - once + (s.n - once), of: n };
  } finally {
    await end();
  }
}

const results: Result[] = [];
for (let r = 0; r < ROUNDS; r++) {
  results.push(await redisRound());
  results.push(await postgresRound());
}
console.log(`bench:failover — ${ROUNDS} round(s); goal: fresh values within ${GOAL_MS / 1000} s of losing the primary, nothing lost`);
console.log('engine                          fresh after   reference (engine alone)   ratio   lost');
for (const r of results) {
  const met = r.freshMs < GOAL_MS && r.lost === 0;
  console.log(
    `${r.engine.padEnd(32)}${`${(r.freshMs / 1000).toFixed(2)} s`.padStart(11)}   ${`${(r.referenceMs / 1000).toFixed(2)} s`.padStart(24)}   ${(r.freshMs / r.referenceMs).toFixed(2).padStart(5)}   ${r.lost} of ${r.of}   ${met ? 'MET' : 'MISSED'}`,
  );
}
for (const r of results) {
  reportGoal(
    `failover ${r.engine}`,
    `fresh values < ${GOAL_MS / 1000} s after losing the primary, nothing lost`,
    `${(r.freshMs / 1000).toFixed(2)} s (${(r.freshMs / r.referenceMs).toFixed(2)}× the engine alone), ${r.lost} of ${r.of} lost`,
    r.freshMs < GOAL_MS && r.lost === 0,
  );
}
process.exit(results.every((r) => r.freshMs < GOAL_MS && r.lost === 0) ? 0 : 1);
