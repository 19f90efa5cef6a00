/**
 * Store-and-forward around any sample store (src/historian/store-and-forward.ts),
 * here SQLite, so it runs without PostgreSQL: the store contract passes
 * through it; a store that does not take commits has them acknowledged on
 * disk, later commits queued behind, everything forwarded in order once it is
 * back; a commit the store took but whose answer was lost is not written
 * twice; and a buffer file written by the previous version (PostgreSQL
 * store's own schema) is forwarded after the upgrade.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { encodeChunk } from '../../src/historian/codec.js';
import { Historian } from '../../src/historian/historian.js';
import { registerHistorianMetrics } from '../../src/historian/metrics.js';
import { SqliteStore } from '../../src/historian/sqlite.js';
import { StoreAndForward } from '../../src/historian/store-and-forward.js';
import type { HistoryStore, Samples } from '../../src/historian/types.js';
import { storeContract } from './contract.js';
import { drain } from './drain.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'planta-saf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

storeContract('SQLite behind store-and-forward', async (t, o) => {
  const store = new StoreAndForward(new SqliteStore(':memory:', o), { path: join(tempDir(t), 'buffer.db') });
  t.after(() => store.close());
  return store;
});

/**
 * A remote store as the wrapper meets one: appends wait for the commit; while
 * `down` a commit fails and what it held is given up (as PostgreSQL's does);
 * with `loseAnswer` it is committed and fails anyway (the answer was lost).
 */
class Remote implements HistoryStore {
  down = false;
  loseAnswer = false;
  commits = 0;
  private held: [number, number, number, number][] = [];
  constructor(readonly db: SqliteStore) {}
  tagId = (name: string): number => this.db.tagId(name);
  tagNames = (): string[] => this.db.tagNames();
  append(id: number, ts: number, v: number, q: number): void {
    this.held.push([id, ts, v, q]);
  }
  async flush(): Promise<number> {
    const held = this.held;
    this.held = [];
    if (this.down) throw new Error('connection refused');
    for (const s of held) this.db.append(...s);
    const n = await this.db.flush();
    this.commits++;
    if (this.loseAnswer) throw new Error('no answer');
    return n;
  }
  queueDepth = (): number => this.held.length;
  readRaw = (tag: string, from: number, to: number): Promise<Samples> => this.db.readRaw(tag, from, to);
  countRaw = (tag: string, from: number, to: number): Promise<number> => this.db.countRaw(tag, from, to);
  lastTimes = (): Promise<Map<string, number>> => (this.down ? Promise.resolve(new Map()) : this.db.lastTimes());
  lastBefore = (tag: string, t: number): ReturnType<HistoryStore['lastBefore']> => this.db.lastBefore(tag, t);
  writeRollups: HistoryStore['writeRollups'] = (r, tag, rows) => this.db.writeRollups(r, tag, rows);
  readRollups: HistoryStore['readRollups'] = (r, tag, from, to) => this.db.readRollups(r, tag, from, to);
  getMeta = (key: string): Promise<string | undefined> => this.db.getMeta(key);
  setMeta = (key: string, value: string): Promise<void> => this.db.setMeta(key, value);
  prune: HistoryStore['prune'] = (what, before, max) => this.db.prune(what, before, max);
  status: HistoryStore['status'] = () => this.db.status();
  close = (): Promise<void> => this.db.close();
}

/** Ingests samples n of tags a (value n) and b (value -n), one a second, flushing every `every`. */
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

async function assertSequence(store: HistoryStore, tag: string, first: number, last: number, sign = 1): Promise<void> {
  const s = await store.readRaw(tag, T0, T0 + 1e12);
  assert.equal(s.n, last - first + 1, `${tag}: ${s.n} samples, expected ${last - first + 1}`);
  for (let i = 0; i < s.n; i++) {
    if (s.ts[i] !== T0 + (first + i) * 1000 || s.v[i] !== sign * (first + i)) assert.fail(`${tag} #${i}: ${s.ts[i]} ${s.v[i]}: order or value wrong`);
  }
}

describe('store-and-forward around any store', () => {
  it('a store that does not take commits: acknowledged on disk, later commits behind them, forwarded in order once it is back', async (t) => {
    const remote = new Remote(new SqliteStore(':memory:'));
    const store = new StoreAndForward(remote, { path: join(tempDir(t), 'buffer.db'), retryMs: 10 });
    const h = new Historian({ store, maxIntervalMs: DAY });
    t.after(() => h.close());
    const registry = new Registry();
    registerHistorianMetrics(registry, h);
    const metric = async (name: string): Promise<number> => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await registry.metrics())?.[1]);

    await feed(h, 0, 500);
    assert.deepEqual([store.buffer().online, store.buffer().samples], [true, 0]);
    remote.down = true;
    await feed(h, 500, 1000); // every flush resolves: acknowledged by the buffer
    assert.equal(store.buffer().online, false);
    assert.equal(store.buffer().samples, 2000);
    assert.equal(await metric('planta_historian_store_up'), 0);
    assert.equal(await metric('planta_historian_buffer_samples'), 2000);
    assert.equal(await h.rollupStep(), false, 'rollups wait while samples are buffered');
    // Reads show what the store holds, not yet what waits in the buffer.
    await assertSequence(store, 'a', 0, 499);

    remote.down = false;
    const commits = remote.commits;
    await feed(h, 1500, 100); // behind the buffer: forwarded first, then these
    await drain(h);
    assert.ok(remote.commits > commits);
    assert.deepEqual([store.buffer().online, store.buffer().forwarded, store.buffer().dropped, store.buffer().skipped], [true, 2200, 0, 0]);
    assert.equal(await metric('planta_historian_buffer_forwarded_total'), 2200);
    await feed(h, 1600, 100);
    await assertSequence(store, 'a', 0, 1699);
    await assertSequence(store, 'b', 0, 1699, -1);
  });

  it('a commit the store took but whose answer was lost is forwarded again, and written once', async (t) => {
    const remote = new Remote(new SqliteStore(':memory:'));
    const store = new StoreAndForward(remote, { path: join(tempDir(t), 'buffer.db'), retryMs: 10 });
    const h = new Historian({ store, maxIntervalMs: DAY });
    t.after(() => h.close());
    await feed(h, 0, 100);
    remote.loseAnswer = true;
    await feed(h, 100, 100, 1000);
    assert.equal(store.buffer().samples, 200, 'the commit went to the buffer');
    remote.loseAnswer = false;
    await feed(h, 200, 100, 1000);
    await drain(h);
    assert.equal(store.buffer().skipped, 200, 'what the store had is skipped');
    await assertSequence(store, 'a', 0, 299);
    await assertSequence(store, 'b', 0, 299, -1);
  });

  it('a buffer file of the previous version (its own schema) is forwarded after the upgrade, tag names and all', async (t) => {
    const path = join(tempDir(t), 'history-buffer.db');
    // As the PostgreSQL store's buffer (src/historian/buffer.ts) made it: journal chunks and the names of their tag ids.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.pragma('auto_vacuum = INCREMENTAL');
    old.exec('VACUUM');
    old.exec('CREATE TABLE IF NOT EXISTS chunks (seq INTEGER PRIMARY KEY, data BLOB NOT NULL); CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);');
    old.prepare('INSERT INTO tags (id, name) VALUES (?, ?)').run(1, 'reactor.level');
    old.prepare('INSERT INTO tags (id, name) VALUES (?, ?)').run(2, 'reactor.oxygen');
    const chunk = (from: number, n: number): Buffer => {
      const tag = new Uint32Array(2 * n);
      const ts = new Float64Array(2 * n);
      const v = new Float64Array(2 * n);
      const q = new Uint8Array(2 * n);
      for (let i = 0; i < n; i++) {
        [tag[2 * i], ts[2 * i], v[2 * i]] = [1, T0 + (from + i) * 1000, from + i];
        [tag[2 * i + 1], ts[2 * i + 1], v[2 * i + 1]] = [2, T0 + (from + i) * 1000, -(from + i)];
      }
      return encodeChunk(tag, ts, v, q, 2 * n);
    };
    for (let k = 0; k < 5; k++) old.prepare('INSERT INTO chunks (data) VALUES (?)').run(chunk(k * 100, 100));
    old.close();

    const store = new StoreAndForward(new SqliteStore(':memory:'), { path });
    t.after(() => store.close());
    assert.deepEqual([store.buffer().online, store.buffer().samples], [false, 1000]);
    const h = new Historian({ store, maxIntervalMs: DAY });
    h.ingest([{ tag: 'reactor.level', value: 500, quality: 'Good', sourceTs: T0 + 500_000, serverTs: 0 }]);
    await h.flush();
    // The new sample queued behind the old ones: all forwarded, in order.
    assert.deepEqual([store.buffer().online, store.buffer().samples, store.buffer().forwarded], [true, 0, 1001]);
    await assertSequence(store, 'reactor.level', 0, 500);
    await assertSequence(store, 'reactor.oxygen', 0, 499, -1);
    assert.deepEqual(store.tagNames().sort(), ['reactor.level', 'reactor.oxygen']);
  });
});
