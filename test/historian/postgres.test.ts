/**
 * The PostgreSQL store against the machine's PostgreSQL: schema and monthly
 * partitions created as needed, retention that drops whole partitions,
 * store-and-forward through an outage (a TCP proxy on loopback that is
 * stopped and started again), the buffer's limit, a reader in another
 * "process", and the configuration.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { Historian } from '../../src/historian/historian.js';
import { openStore } from '../../src/historian/index.js';
import { registerHistorianMetrics } from '../../src/historian/metrics.js';
import { PostgresStore } from '../../src/historian/postgres.js';
import { SqliteStore } from '../../src/historian/sqlite.js';
import { StoreAndForward } from '../../src/historian/store-and-forward.js';
import { freePort } from '../helpers/ports.js';
import { drain } from './drain.js';
import { PG_URL, pgProxy, needPostgres, pgStore, sql, tempDir, testSchema } from './pg-helpers.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const DAY = 86_400_000;

const partitions = async (schema: string, table: string): Promise<string[]> =>
  (
    await sql<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = $2 ORDER BY 1`,
      [schema, table],
    )
  ).map((r) => r.name);

/** Ingests `count` samples of tags a and b, one a second from `from`, values n; flushes every `every`. */
async function feed(h: Historian, from: number, count: number, every = 100): Promise<void> {
  for (let n = from; n < from + count; n++) {
    h.ingest([
      { tag: 'a', value: n, quality: 'Good', sourceTs: T0 + n * 1000, serverTs: 0 },
      { tag: 'b', value: -n, quality: 'Good', sourceTs: T0 + n * 1000, serverTs: 0 },
    ]);
    if ((n + 1) % every === 0) await h.flush();
  }
  await h.flush();
}

async function assertSequence(store: { readRaw: PostgresStore['readRaw'] }, tag: string, first: number, last: number, sign = 1): Promise<void> {
  const s = await store.readRaw(tag, T0, T0 + 1e12);
  assert.equal(s.n, last - first + 1, `${tag}: ${s.n} samples, expected ${last - first + 1}`);
  for (let i = 0; i < s.n; i++) {
    if (s.ts[i] !== T0 + (first + i) * 1000 || s.v[i] !== sign * (first + i)) assert.fail(`${tag} #${i}: ${s.ts[i]} ${s.v[i]}: order or value wrong`);
  }
}

describe('historian on PostgreSQL', { timeout: 120_000 }, () => {
  it('creates its schema, tables, BRIN indexes and the monthly partitions it needs, one month ahead', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const clock = { now: T0 };
    const store = pgStore(t, { schema, now: () => clock.now, blockSize: 64 });
    const h = new Historian({ store, now: () => clock.now, maxIntervalMs: DAY });
    // Three months of a sample an hour.
    for (let ts = T0; ts < T0 + 80 * DAY; ts += 3_600_000) h.ingest([{ tag: 'level', value: ts / 3_600_000, quality: 'Good', sourceTs: ts, serverTs: 0 }]);
    clock.now = T0 + 80 * DAY;
    await h.flush();
    await h.flush(); // fragments past their age are sealed
    assert.deepEqual(await partitions(schema, 'blocks'), ['blocks_p202601', 'blocks_p202602', 'blocks_p202603', 'blocks_p202604']);
    const brin = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%USING brin%'`, [schema]);
    assert.ok(brin[0]!.n >= 3 + 4, 'BRIN on t of blocks, minute, hour and on every partition');
    const blocks = await sql<{ n: number; rows: number }>(`SELECT sum(n)::int AS n, count(*)::int AS rows FROM "${schema}".blocks`);
    assert.equal(blocks[0]!.n, 80 * 24);
    assert.ok(blocks[0]!.rows <= Math.ceil((80 * 24) / 6) + 4, `${blocks[0]!.rows} blocks: sealed at 6 h spans`);
    const s = await store.readRaw('level', T0 + 40 * DAY, T0 + 41 * DAY);
    assert.equal(s.n, 24);
    // The per-tag range query is indexed: the plan uses the primary key, and prunes other months' partitions.
    const plan = (await sql<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT data FROM "${schema}".blocks WHERE tag_id = 1 AND t_start >= ${T0 + 40 * DAY} AND t_start < ${T0 + 41 * DAY}`))
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    assert.match(plan, /blocks_p202602/);
    assert.doesNotMatch(plan, /blocks_p202601|blocks_p202603/);
    assert.match(plan, /Index|Bitmap/);
  });

  it('retention drops whole monthly partitions, and deletes in batches within the month at the boundary', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const clock = { now: T0 };
    const store = pgStore(t, { schema, now: () => clock.now });
    const h = new Historian({ store, now: () => clock.now, maxIntervalMs: DAY, retention: { raw: 30 * DAY, minute: 60 * DAY, hour: null } });
    for (let ts = T0; ts < T0 + 120 * DAY; ts += 10 * MIN) h.ingest([{ tag: 'x', value: ts % 7, quality: 'Good', sourceTs: ts, serverTs: 0 }]);
    clock.now = T0 + 120 * DAY;
    await h.rollup();
    // Created as needed, a month ahead: the data reaches May, so June is there.
    assert.deepEqual(await partitions(schema, 'blocks'), ['blocks_p202601', 'blocks_p202602', 'blocks_p202603', 'blocks_p202604', 'blocks_p202605', 'blocks_p202606']);
    const before = (await store.status()).samples;
    const removed = await h.applyRetention();
    assert.ok(removed > 0);
    // Raw: kept from day 90 (March 31): January and February dropped whole, March deleted in batches.
    assert.deepEqual(await partitions(schema, 'blocks'), ['blocks_p202603', 'blocks_p202604', 'blocks_p202605', 'blocks_p202606']);
    const raw = await store.readRaw('x', T0, T0 + 120 * DAY);
    assert.ok(raw.ts[0]! >= T0 + 90 * DAY - 6 * 3_600_000, new Date(raw.ts[0]!).toISOString());
    assert.ok(raw.ts[0]! < T0 + 90 * DAY + DAY);
    assert.ok((await store.status()).samples < before);
    // Minutes: kept from day 60 (March 1): January dropped, February's partition too (every row before the limit).
    assert.deepEqual(await partitions(schema, 'minute'), ['minute_p202603', 'minute_p202604', 'minute_p202605', 'minute_p202606']);
    assert.equal((await store.readRollups('minute', 'x', T0, T0 + 60 * DAY - MIN)).length, 0);
    assert.ok((await store.readRollups('minute', 'x', T0 + 60 * DAY, T0 + 61 * DAY)).length > 0);
    // Hours are kept forever.
    assert.equal((await store.readRollups('hour', 'x', T0, T0 + DAY)).length, 24);
  });

  it('store-and-forward: PostgreSQL unreachable → buffered to disk; back → forwarded in order, nothing lost, nothing twice; also across a restart', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const proxy = await pgProxy(t);
    const dir = tempDir(t);
    const open = (): StoreAndForward => new StoreAndForward(new PostgresStore({ url: proxy.url, schema, connectTimeoutMs: 1000, blockSize: 128 }), { path: join(dir, 'buffer.db'), retryMs: 20 });
    let store = open();
    let h = new Historian({ store, maxIntervalMs: DAY });
    const registry = new Registry();
    registerHistorianMetrics(registry, h);
    const metric = async (name: string): Promise<number> => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await registry.metrics())?.[1]);

    await feed(h, 0, 1000);
    assert.equal(store.buffer().online, true);
    assert.equal(store.buffer().samples, 0);

    await proxy.stop();
    await feed(h, 1000, 2000); // every flush resolves: acknowledged by the disk buffer
    assert.equal(store.buffer().online, false);
    assert.equal(store.buffer().samples, 4000);
    assert.equal(await metric('planta_historian_store_up'), 0);
    assert.ok((await metric('planta_historian_buffer_fill_ratio')) > 0);
    assert.equal(await metric('planta_historian_buffer_samples'), 4000);
    assert.equal(await h.rollupStep(), false, 'rollups wait while samples are buffered');
    await assert.rejects(store.readRaw('a', T0, T0 + 1e12), 'reads need the database');

    // A restart while PostgreSQL is away: what the buffer acknowledged is forwarded by the next process.
    await feed(h, 3000, 500);
    await h.close();
    store = open();
    h = new Historian({ store, maxIntervalMs: DAY });
    assert.equal(store.buffer().samples, 5000);
    await feed(h, 3500, 500); // still away: behind the buffer, in order

    await proxy.start();
    await drain(h, 5000, 20);
    assert.equal(store.buffer().samples, 0);
    assert.equal(store.buffer().online, true);
    assert.equal(store.buffer().forwarded, 6000);
    assert.equal(store.buffer().dropped, 0);
    await feed(h, 4000, 100);
    await assertSequence(store, 'a', 0, 4099);
    await assertSequence(store, 'b', 0, 4099, -1);
    // A reader of its own (another process, e.g. a web node) sees the same, blocks and unsealed fragments alike.
    const reader = pgStore(t, { schema, url: PG_URL });
    await assertSequence(reader, 'a', 0, 4099);
    assert.equal((await reader.status()).samples, 8200);
    await h.close();
  });

  it('a silent link to PostgreSQL (no reset ever comes) is an outage too: buffered once a query gets no answer, forwarded when it answers again', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const proxy = await pgProxy(t);
    const store = pgStore(t, { schema, url: proxy.url, buffer: { path: join(tempDir(t), 'buffer.db') }, retryMs: 20, connectTimeoutMs: 500, queryTimeoutMs: 500, blockSize: 128 });
    const h = new Historian({ store, maxIntervalMs: DAY });
    await feed(h, 0, 500);
    assert.equal(store.buffer().online, true);
    proxy.silenceOpenConnections();
    proxy.silent = true;
    const cut = Date.now();
    await feed(h, 500, 500); // resolves: the commit that got no answer went to the disk buffer
    const bufferedMs = Date.now() - cut;
    assert.equal(store.buffer().online, false);
    assert.equal(store.buffer().samples, 1000);
    proxy.silent = false;
    await drain(h, 10_000, 50);
    assert.equal(store.buffer().samples, 0);
    assert.equal(store.buffer().forwarded, 1000);
    await assertSequence(store, 'a', 0, 999);
    await assertSequence(store, 'b', 0, 999, -1);
    t.diagnostic(`buffered ${bufferedMs} ms after the link fell silent (query timeout 500 ms)`);
    await h.close();
  });

  it('a full buffer drops its oldest samples, counts them, and forwards the newest', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const port = await freePort(); // nothing listens there: PostgreSQL is unreachable from the start
    const store = pgStore(t, { schema, url: PG_URL.replace(/@[^/]+\//, `@127.0.0.1:${port}/`), buffer: { path: join(tempDir(t), 'b.db'), maxBytes: 21 * 1000 }, retryMs: 10 });
    const h = new Historian({ store, maxIntervalMs: DAY });
    const registry = new Registry();
    registerHistorianMetrics(registry, h);
    await feed(h, 0, 2000, 250); // 4,000 samples in chunks of 500 into room for 1,000
    assert.equal(store.buffer().samples, 1000);
    assert.equal(store.buffer().dropped, 3000);
    assert.match(await registry.metrics(), /^planta_historian_buffer_dropped_total 3000$/m);
    // Forward what was kept, through a store that reaches PostgreSQL with the same buffer file.
    await h.close();
    const again = pgStore(t, { schema, buffer: { path: store.bufferPath, maxBytes: 21 * 1000 } });
    await again.flush();
    assert.equal(again.buffer().samples, 0);
    await assertSequence(again, 'a', 1500, 1999);
    await assertSequence(again, 'b', 1500, 1999, -1);
  });
});

describe('historian.store in the configuration', () => {
  const base = 'plant: { name: SBR Plant }\ndevices:\n  plc: { host: 127.0.0.1, port: 5020 }\ntags:\n  level: { device: plc, area: holding, address: 0, type: uint16 }\n';

  it('SQLite by default; historian.store or PLANTA_HISTORIAN_URL chooses PostgreSQL', async () => {
    const plain = parseConfig(base, 'plant.yaml');
    assert.equal(plain.historian.store, undefined);
    const sqlite = openStore(plain, { path: ':memory:', env: {} });
    assert.ok(sqlite instanceof SqliteStore);
    await sqlite.close();
    const env = openStore(plain, { path: ':memory:', env: { PLANTA_HISTORIAN_URL: 'postgres://planta@db.example:5432/plant' } });
    assert.ok(env instanceof StoreAndForward && env.inner instanceof PostgresStore);
    assert.equal(env.inner.schema, 'planta');
    await env.close(); // nothing to flush: never connects
    const config = parseConfig(`${base}historian:\n  store: { kind: postgres, url: 'postgres://h@127.0.0.1/test', schema: north, bufferSize: 64MiB }\n`, 'plant.yaml');
    assert.deepEqual(config.historian.store, { kind: 'postgres', url: 'postgres://h@127.0.0.1/test', schema: 'north', bufferSize: 64 * 1024 * 1024 });
    const back = openStore(config, { path: ':memory:', env: { PLANTA_HISTORIAN_URL: 'sqlite' } });
    assert.ok(back instanceof SqliteStore);
    await back.close();
  });

  it('locates mistakes by file, line and column', () => {
    try {
      parseConfig(`${base}historian:\n  store:\n    kind: mysql\n    url: mysql://x\n    schema: North-1\n    bufferSize: 10kB\n`, 'plant.yaml');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const lines = err.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}`);
      assert.deepEqual(lines, [
        'plant.yaml:8:11 historian.store.kind',
        'plant.yaml:9:10 historian.store.url',
        'plant.yaml:10:13 historian.store.schema',
        'plant.yaml:11:17 historian.store.bufferSize',
      ]);
    }
  });
});
