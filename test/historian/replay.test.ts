/**
 * Replay snapshots from the historian (issue 27): each tag's last sample at
 * or before T — from sealed blocks, from what is not sealed yet, across
 * months (PostgreSQL partitions), for a reader in another "process" — on
 * SQLite and on PostgreSQL, checked against the samples written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Historian } from '../../src/historian/historian.js';
import { PostgresStore } from '../../src/historian/postgres.js';
import { samplesAt } from '../../src/historian/replay.js';
import { SqliteStore } from '../../src/historian/sqlite.js';
import type { HistoryStore } from '../../src/historian/types.js';
import { QUALITIES } from '../../src/tags/quality.js';
import { PG_URL, needPostgres, pgStore, testSchema } from './pg-helpers.js';

const T0 = Date.UTC(2026, 0, 20);
const DAY = 86_400_000;
const BAD = QUALITIES.indexOf('Bad_NoCommunication');

/** Writes three tags: a (every 10 min for 40 days: blocks sealed over two months), b (bad from day 20 on), c (nothing). */
async function write(store: HistoryStore): Promise<{ a: number[]; b: number[] }> {
  const a = store.tagId('a');
  const b = store.tagId('b');
  const times: number[] = [];
  for (let ts = T0; ts < T0 + 40 * DAY; ts += 600_000) {
    store.append(a, ts, ts / 1000, 0);
    store.append(b, ts + 1, ts < T0 + 20 * DAY ? 1 : NaN, ts < T0 + 20 * DAY ? 0 : BAD);
    times.push(ts);
    if (times.length % 2000 === 0) await store.flush();
  }
  await store.flush();
  return { a: times, b: times.map((x) => x + 1) };
}

/** The expected last sample at or before t from the times written. */
function expected(times: number[], t: number): number | undefined {
  let last: number | undefined;
  for (const x of times) if (x <= t) last = x;
  return last;
}

async function check(store: HistoryStore, times: { a: number[]; b: number[] }): Promise<void> {
  const source = { store, staleAfterMs: () => 60 * 60_000 };
  const moments = [T0 - 1, T0, T0 + 1, T0 + 5 * DAY + 123_456, T0 + 20 * DAY + 1, T0 + 31 * DAY, T0 + 40 * DAY + 10 * DAY];
  for (let i = 0; i < 20; i++) moments.push(T0 + Math.floor(Math.random() * 42 * DAY));
  for (const t of moments) {
    const [a, b, c] = await samplesAt(source, ['a', 'b', 'c'], t);
    const ea = expected(times.a, t);
    assert.equal(a?.ts, ea, `a at ${new Date(t).toISOString()}`);
    if (ea !== undefined) assert.equal(a!.v, ea / 1000);
    assert.equal(b?.ts, expected(times.b, t), `b at ${new Date(t).toISOString()}`);
    if (b && b.ts >= T0 + 20 * DAY) assert.equal(b.q, BAD, 'b is bad from day 20, and said so');
    assert.equal(c, undefined, 'a tag never recorded has no sample');
    // Ten days after the last sample, a stays at its last value, marked stale (the recorder stopped repeating it).
    if (t > T0 + 41 * DAY) assert.equal(a!.stale, true);
    else if (a) assert.equal(a.stale, t - a.ts > 3_600_000);
  }
}

const tempFile = (t: TestContext): string => {
  const dir = mkdtempSync(join(tmpdir(), 'planta-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'history.db');
};

describe('replay snapshots from the historian', { timeout: 120_000 }, () => {
  it('SQLite: the last sample at or before T of each tag, from blocks and the journal; a reader sees the same', async (t) => {
    const path = tempFile(t);
    const store = new SqliteStore(path, { blockSize: 256 });
    t.after(() => store.close());
    const times = await write(store);
    // A few samples not sealed yet (in the journal only).
    const a = store.tagId('a');
    const last = times.a.at(-1)!;
    for (let k = 1; k <= 5; k++) {
      store.append(a, last + k * 600_000, (last + k * 600_000) / 1000, 0);
      times.a.push(last + k * 600_000);
    }
    await store.flush();
    await check(store, times);
    const reader = new SqliteStore(path, { readOnly: true });
    t.after(() => reader.close());
    await check(reader, times);
  });

  it('PostgreSQL: the same, in one round trip, behind store-and-forward and for a read-only reader', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const store = pgStore(t, { schema, blockSize: 256 });
    const times = await write(store);
    await check(store, times);
    const reader = new PostgresStore({ url: PG_URL, schema, readOnly: true });
    t.after(() => reader.close());
    await check(reader, times);
  });

  it("the historian's staleness bound is the tag's repeat interval, twice, plus the settling time", () => {
    const h = new Historian({ store: new SqliteStore(':memory:'), maxIntervalMs: 60_000, intervals: { slow: 600_000 }, settleMs: 5000 });
    assert.equal(h.staleAfterMs('fast'), 125_000);
    assert.equal(h.staleAfterMs('slow'), 1_205_000);
  });
});
