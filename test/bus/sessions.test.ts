/**
 * What web nodes sharing users on PostgreSQL share besides: sessions, kept
 * in PostgreSQL with the users (made on one node, found on the other, ended
 * everywhere, pruned when expired, the last known one serving through an
 * outage), and sign-in attempts, counted in Redis across nodes (reserved
 * one by one however many arrive at once, forgotten after their window).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type BudgetKey, RedisAttempts } from '../../src/auth/attempts.js';
import { PostgresDirectory } from '../../src/auth/postgres.js';
import { PG_URL, needPostgres, pgProxy, testSchema } from '../historian/pg-helpers.js';
import { REDIS_URL, needRedis, testPrefix } from './redis-helpers.js';

function directory(t: TestContext, url: string, schema: string, keyDir: string): PostgresDirectory {
  const d = new PostgresDirectory({ url: `${url}?schema=${schema}`, connectTimeoutMs: 1000, auditKeyFile: join(keyDir, 'audit.key') });
  t.after(() => d.close());
  return d;
}

/**
 * A node's answer is fresh for 2 s (FRESH_MS in src/auth/postgres.ts). Instead of waiting them out,
 * the test runs on a clock of its own (Date only; timers and sockets run as ever), started by
 * `ownClock` and moved on past those 2 s by `pastFresh`.
 */
function ownClock(t: TestContext): () => void {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  return () => t.mock.timers.tick(2100);
}

function keyDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'planta-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('sessions and sign-in attempts shared by web nodes', { timeout: 60_000 }, () => {
  it('sessions in PostgreSQL: made on one node, found on the other; touched; ended for all; all of a user\'s ended; expired ones pruned', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const dir = keyDir(t);
    const a = directory(t, PG_URL, schema, dir);
    const b = directory(t, PG_URL, schema, dir);
    const pastFresh = ownClock(t);
    await a.addUser('olga', 'operator', 'hash', 1000);
    const s = await a.sessions.create('olga', 1000);
    assert.deepEqual(await b.sessions.get(s.id), { user: 'olga', csrf: s.csrf, createdAt: 1000, lastSeen: 1000 });
    await b.sessions.touch(s.id, 2000);
    pastFresh();
    assert.equal((await a.sessions.get(s.id))?.lastSeen, 2000, 'a touch on one node, seen on the other (at most 2 s later)');
    const other = await b.sessions.create('olga', 3000);
    await a.sessions.endAllOf('olga');
    assert.equal(await a.sessions.get(other.id), undefined);
    pastFresh();
    assert.equal(await b.sessions.get(s.id), undefined, 'ended on every node');
    const third = await a.sessions.create('olga', 5000);
    await b.sessions.end(third.id);
    pastFresh();
    assert.equal(await a.sessions.get(third.id), undefined);
    const fresh = await a.sessions.create('olga', 100_000);
    await a.sessions.create('olga', 10_000);
    assert.equal(await b.sessions.prune(50_000, 0), 1, 'the idle one');
    assert.equal(await b.sessions.prune(0, 100_000), 0);
    assert.equal((await b.sessions.get(fresh.id))?.createdAt, 100_000);
    // A password change on any node ends the user's sessions there too (not only refused by changed_at).
    await b.setPassword('olga', 'hash-2', 200_000);
    pastFresh();
    assert.equal(await a.sessions.get(fresh.id), undefined);
  });

  it('PostgreSQL unreachable: a session seen before keeps serving and can be touched and ended; the end reaches PostgreSQL once it answers', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const proxy = await pgProxy(t);
    const d = directory(t, proxy.url.replace(/\?.*$/, ''), schema, keyDir(t));
    const direct = directory(t, PG_URL, schema, keyDir(t));
    const pastFresh = ownClock(t);
    await d.addUser('olga', 'operator', 'hash', 1000);
    const s = await d.sessions.create('olga', 1000);
    await proxy.stop();
    pastFresh();
    assert.equal((await d.sessions.get(s.id))?.user, 'olga', 'the last known session');
    await d.sessions.touch(s.id, 5000);
    assert.equal((await d.sessions.get(s.id))?.lastSeen, 5000);
    await d.sessions.end(s.id);
    assert.equal(await d.sessions.get(s.id), undefined, 'signed out here at once');
    assert.equal((await direct.sessions.get(s.id))?.user, 'olga', 'still in PostgreSQL');
    await proxy.start();
    await d.sessions.prune(0, 0);
    pastFresh();
    assert.equal(await direct.sessions.get(s.id), undefined, 'deleted there once it answered');
  });

  it('attempts in Redis: counted across nodes, 40 reservations at once let exactly `max` through, a success forgets the account and hands back the address, forgotten after the window', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'attempts');
    const a = await RedisAttempts.connect({ url: REDIS_URL, prefix, name: 'a' });
    const b = await RedisAttempts.connect({ url: REDIS_URL, prefix, name: 'b' });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const rule = { max: 3, lockMs: 1000, maxLockMs: 8000, windowMs: 60_000 };
    const account: BudgetKey = { key: 'account:olga', rule };
    const address: BudgetKey = { key: 'address:10.0.0.1', rule: { ...rule, max: 100 } };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).reserve([address, account], 10_000)));
    assert.equal(answers.filter((r) => r.ok).length, 3, 'the first three, whichever node');
    assert.deepEqual(answers.find((r) => !r.ok), { ok: false, key: 'account:olga', until: 11_000 });
    // Each failure past max doubles the wait, up to maxLockMs.
    const waits: number[] = [];
    for (let at = 11_000, i = 0; i < 5; i++) {
      const r = await a.reserve([account], at);
      assert.ok(r.ok);
      const refused = await b.reserve([account], at);
      assert.equal(refused.ok, false);
      if (!refused.ok) waits.push(refused.until - at);
      at += waits.at(-1)!;
    }
    assert.deepEqual(waits, [2000, 4000, 8000, 8000, 8000]);
    await a.forget(account);
    assert.deepEqual(await b.reserve([address, account], 60_000), { ok: true }, 'forgotten after a right password');
    await b.release([address]);
    // Forgotten after the window: the count starts again.
    const stale: BudgetKey = { key: 'account:ivan', rule };
    for (let i = 0; i < 3; i++) await a.reserve([stale], 0);
    assert.equal((await b.reserve([stale], 500)).ok, false);
    assert.equal((await b.reserve([stale], 1000 + 60_001)).ok, true);
    assert.equal((await b.reserve([stale], 1000 + 60_001)).ok, true, 'a fresh count: the second attempt is free');
  });
});
