/**
 * Sessions and login lockouts in Redis, shared by web nodes: a session made
 * through one connection is found through another, ended everywhere at once,
 * and login failures counted on all nodes lock the key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisSessions } from '../../src/auth/sessions.js';
import { REDIS_URL, needRedis, testPrefix } from './redis-helpers.js';

describe('sessions in Redis', { timeout: 30_000 }, () => {
  it('shared by two web nodes: found, touched, ended for all; lockouts counted across nodes', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'sessions');
    const a = await RedisSessions.connect({ url: REDIS_URL, prefix, absoluteMs: 60_000, name: 'a' });
    const b = await RedisSessions.connect({ url: REDIS_URL, prefix, absoluteMs: 60_000, name: 'b' });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const s = await a.create('olga', 1000);
    assert.deepEqual(await b.get(s.id), { user: 'olga', csrf: s.csrf, createdAt: 1000, lastSeen: 1000 });
    await b.touch(s.id, 2000);
    assert.equal((await a.get(s.id))?.lastSeen, 2000);
    const other = await b.create('olga', 3000);
    await a.endAllOf('olga');
    assert.equal(await b.get(s.id), undefined);
    assert.equal(await b.get(other.id), undefined);
    await a.touch(s.id, 4000);
    assert.equal(await b.get(s.id), undefined, 'a touch does not bring an ended session back');
    const third = await a.create('ivan', 5000);
    await b.end(third.id);
    assert.equal(await a.get(third.id), undefined);

    assert.equal(await a.recordFailure('user:olga', 10_000, 60_000, 3, 120_000), undefined);
    assert.equal(await b.recordFailure('user:olga', 10_001, 60_000, 3, 120_000), undefined);
    assert.equal(await a.recordFailure('user:olga', 10_002, 60_000, 3, 120_000), 130_002, 'the third failure, on either node, locks');
    assert.equal(await b.lockedUntil('user:olga'), 130_002);
    await b.clearFailures('user:olga');
    assert.equal(await a.lockedUntil('user:olga'), undefined);
    // Failures outside the window start the count again.
    await a.recordFailure('ip:1', 0, 1000, 2, 5000);
    assert.equal(await b.recordFailure('ip:1', 2000, 1000, 2, 5000), undefined);
  });
});
