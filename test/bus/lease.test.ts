/**
 * Device leases and requests between processes on the Redis bus: one holder
 * at a time, compare-and-renew, release; the command claim granted only to
 * the holder; a poller frozen past its lease (a long GC pause) distrusts it
 * the moment it runs again, before any timer; requests answered by the one
 * serving process, errors carried with their code, no answer → timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { ServiceError, unwrap } from '../../src/bus/service.js';
import { DeviceLease } from '../../src/poller/lease.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { RedisBus } from '../../src/bus/redis.js';
import { command, value } from './contract.js';
import { needRedis, privateRedis, redisBus, redisProxy, testPrefix } from './redis-helpers.js';

describe('device leases on Redis', { timeout: 30_000 }, () => {
  it('one holder at a time; renewal only by the holder; the claim of a command only for the holder of its device', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'lease');
    const a = await redisBus(t, { prefix, consumer: 'a' });
    const b = await redisBus(t, { prefix, consumer: 'b' });
    assert.equal(await a.acquireDeviceLease('plc', 'a', 300), true);
    assert.equal(await b.acquireDeviceLease('plc', 'b', 300), false);
    assert.equal(await b.renewDeviceLease('plc', 'b', 300), false, 'no renewal of a lease held by another');
    assert.equal(await a.renewDeviceLease('plc', 'a', 300), true);
    assert.equal(await b.deviceLeaseHolder('plc'), 'a');
    // a stops renewing: the lease expires, b takes it, a's renewal fails and its claims are refused.
    await waitFor("a's lease expired in Redis", async () => (await b.deviceLeaseHolder('plc')) === null, 2000);
    assert.equal(await b.acquireDeviceLease('plc', 'b', 5000), true);
    assert.equal(await a.renewDeviceLease('plc', 'a', 300), false);
    const cmd = command('plc');
    assert.equal(await a.claimCommand(cmd), 'not-owner');
    assert.equal(await b.claimCommand(cmd), 'claimed');
    assert.equal(await b.claimCommand(cmd), 'duplicate');
    // Release: only by the holder, and then free at once.
    await a.releaseDeviceLease('plc', 'a');
    assert.equal(await a.deviceLeaseHolder('plc'), 'b');
    await b.releaseDeviceLease('plc', 'b');
    assert.equal(await a.deviceLeaseHolder('plc'), null);
    assert.equal(await a.acquireDeviceLease('plc', 'a', 300), true);
  });

  it('the leases of a link\'s devices: all or none, renewed all or none, the loser a standby of each', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'lease-all');
    const a = await redisBus(t, { prefix, consumer: 'a' });
    const b = await redisBus(t, { prefix, consumer: 'b' });
    assert.equal(await b.acquireDeviceLease('u2', 'b', 5000), true);
    assert.equal(await a.acquireDeviceLeases(['u1', 'u2', 'u3'], 'a', 5000), false, 'one of them is b\'s');
    assert.equal(await a.deviceLeaseHolder('u1'), null, 'none taken');
    assert.deepEqual(await b.deviceLeaseStandbys('u3'), ['a']);
    assert.equal(await b.acquireDeviceLeases(['u1', 'u2', 'u3'], 'b', 5000), true, 'free, or b\'s own');
    for (const d of ['u1', 'u2', 'u3']) assert.equal(await a.deviceLeaseHolder(d), 'b');
    assert.equal(await a.renewDeviceLeases(['u1', 'u2', 'u3'], 'a', 5000), false);
    await b.releaseDeviceLease('u3', 'b');
    assert.equal(await b.renewDeviceLeases(['u1', 'u2', 'u3'], 'b', 5000), false, 'u3 is not held any more');
    assert.equal(await b.acquireDeviceLeases(['u1', 'u2', 'u3'], 'b', 5000), true, 'taken again whole');
    assert.equal(await b.renewDeviceLeases(['u1', 'u2', 'u3'], 'b', 5000), true);
  });

  it('a poller frozen longer than its lease distrusts it before any timer runs; the standby takes over; the frozen one stops', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'freeze');
    const busA = await redisBus(t, { prefix, consumer: 'a' });
    const busB = await redisBus(t, { prefix, consumer: 'b' });
    const events: string[] = [];
    const lease = (bus: typeof busA, owner: string): DeviceLease =>
      new DeviceLease({
        bus,
        device: 'plc',
        owner,
        ttlMs: 400,
        onAcquired: async () => void events.push(`${owner} acquired`),
        onLost: async (why) => void events.push(`${owner} lost: ${why}`),
      });
    const la = lease(busA, 'a');
    await la.start();
    await waitFor('a holding the lease', () => la.valid());
    const lb = lease(busB, 'b');
    await lb.start();
    t.after(async () => {
      await la.stop();
      await lb.stop();
    });
    // b stays standby while a renews: checked for 500 ms, longer than the 400 ms lease, so a lease
    // a failed to renew would have expired and been taken by b within the window.
    await assertThroughout(500, () => {
      assert.equal(lb.state, 'standby');
      assert.ok(la.valid());
    });
    // A long GC pause: nothing in this process runs for longer than the lease.
    const until = Date.now() + 600;
    while (Date.now() < until) {
      /* frozen */
    }
    assert.equal(la.valid(), false, 'the first check after the pause already says no');
    await waitFor('b holding the lease', () => lb.valid(), 2000);
    await waitFor('a stopped', () => events.some((e) => e.startsWith('a lost')), 2000);
    assert.equal(la.state, 'standby');
    assert.equal(await busA.deviceLeaseHolder('plc'), 'b');
    assert.deepEqual(events.filter((e) => e.endsWith('acquired')), ['a acquired', 'b acquired']);
    // A clean stop hands over at once.
    await lb.stop();
    await waitFor('a holding the lease again', () => la.valid(), 1000);
  });
});

describe('a lease holder cut off from Redis', { timeout: 60_000 }, () => {
  it('keeps polling without writing while Redis is down, and is active again when Redis comes back empty', async (t) => {
    const server = await privateRedis(t, { persist: false });
    if (!server) return;
    const bus = await RedisBus.connect({ url: server.url, prefix: 'planta:iso:', consumer: 'a', devices: ['plc'], blockMs: 200 });
    t.after(() => bus.close());
    const events: string[] = [];
    const lease = new DeviceLease({
      bus,
      device: 'plc',
      owner: 'a',
      ttlMs: 600,
      onAcquired: async () => void events.push('acquired'),
      onLost: async (why) => void events.push(`lost: ${why}`),
      onRegained: async () => void events.push('regained'),
    });
    await lease.start();
    t.after(() => lease.stop());
    await waitFor('the lease held', () => lease.valid());
    await server.stop();
    await waitFor('isolated', () => lease.state === 'isolated', 5000);
    assert.equal(lease.valid(), false, 'nothing is written while the lease cannot be renewed');
    assert.equal(lease.polling, true, 'the device is still polled');
    // Isolated, and only that, for 1500 ms: 2.5 leases of 600 ms, so several renewals (every third of
    // the lease, retried faster while isolated) fail within it and none may count it lost or active.
    await assertThroughout(1500, () => {
      assert.equal(lease.state, 'isolated');
      assert.equal(lease.valid(), false);
    });
    await server.start();
    await waitFor('active again', () => lease.valid(), 5000);
    assert.deepEqual(events, ['acquired', 'regained'], 'never lost: no other poller took the device');
    assert.equal(await bus.deviceLeaseHolder('plc'), 'a');
  });

  it('cut off while Redis is up for the others: the standby takes over; once back, the cut-off one stops and what it kept is dropped, not published over the new holder', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'partition');
    const proxy = await redisProxy(t);
    const tagDevices = new Map([['x', 'plc']]);
    const busA = await RedisBus.connect({ url: `redis://127.0.0.1:${proxy.port}`, prefix, consumer: 'a', devices: ['plc'], tagDevices, blockMs: 200 });
    const busB = await redisBus(t, { prefix, consumer: 'b', devices: ['plc'], tagDevices });
    t.after(() => busA.close());
    const events: string[] = [];
    const make = (bus: RedisBus, owner: string): DeviceLease =>
      new DeviceLease({
        bus,
        device: 'plc',
        owner,
        ttlMs: 600,
        onAcquired: async () => void events.push(`${owner} acquired`),
        onLost: async (why) => void events.push(`${owner} lost: ${why}`),
        onRegained: async () => void events.push(`${owner} regained`),
      });
    const la = make(busA, 'a');
    await la.start();
    await waitFor('a holding the lease', () => la.valid());
    const lb = make(busB, 'b');
    await lb.start();
    t.after(async () => {
      await la.stop();
      await lb.stop();
    });
    await waitFor('b waiting as standby', async () => (await busB.deviceLeaseStandbys('plc')).includes('b'));
    await busA.publishValues([value('x', 'from a before')]);

    await proxy.stop();
    await waitFor('a isolated', () => la.state === 'isolated', 2000);
    await busA.publishValues([value('x', 'from a while cut off')]);
    await waitFor('b holding the lease', () => lb.valid(), 3000);
    await busB.publishValues([value('x', 'from b')]);
    await proxy.start();
    await waitFor('a stopped', () => events.includes('a lost: another poller holds the lease'), 5000);
    assert.equal(la.state, 'standby');
    // What a kept would be flushed as soon as its connection is back, before or just after it saw
    // itself lost: b's value must stand for 300 ms past that (as long as this test always looked).
    await assertThroughout(300, async () => {
      const x = (await busB.snapshot()).find((v) => v.tag === 'x');
      assert.equal(x?.value, 'from b', 'what a kept while cut off was not published over b');
    });
    assert.deepEqual(await busB.deviceLeaseStandbys('plc'), ['a'], 'a waits as standby now');
    assert.ok(!events.includes('a regained'));
  });
});

describe('closing a bus cut off from Redis', { timeout: 30_000 }, () => {
  it('does not wait for answers that cannot come: a poller stopped while the network drops everything exits', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'close-cut');
    const proxy = await redisProxy(t);
    const bus = await RedisBus.connect({ url: `redis://127.0.0.1:${proxy.port}`, prefix, consumer: 'a', devices: ['plc'], blockMs: 200 });
    const lease = new DeviceLease({ bus, device: 'plc', owner: 'a', ttlMs: 1500, onAcquired: async () => undefined, onLost: async () => undefined });
    await lease.start();
    await waitFor('the lease held', () => lease.valid());
    // What a poller has running: its command reader and its lease.
    await bus.subscribeCommands(() => undefined, { devices: ['plc'] });
    // The connections stay open and nothing answers: the lease's renewal and the reader's next read wait.
    proxy.silent = true;
    // The moment a renewal is known to hang: the lease stops trusting itself when it goes unanswered past its time.
    await waitFor('the renewal sent into the silence, unanswered', () => lease.state === 'isolated', 5000);
    void bus.publishValues([value('x', 'sent into the void')]).catch(() => undefined);
    const began = performance.now();
    await lease.stop();
    await bus.close();
    const took = performance.now() - began;
    t.diagnostic(`the lease and the bus closed in ${Math.round(took)} ms with Redis silent`);
    assert.ok(took < 4000, `closing took ${Math.round(took)} ms`);
  });
});

describe('requests between processes on Redis', { timeout: 30_000 }, () => {
  it('answered by the serving process, errors with their code and status, nobody serving → PLANTA_BUS_NO_ANSWER', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'rpc');
    const server = await redisBus(t, { prefix, consumer: 'alarms' });
    const webA = await redisBus(t, { prefix, consumer: 'web-a' });
    const webB = await redisBus(t, { prefix, consumer: 'web-b' });
    await assert.rejects(webA.request('echo', { op: 'x', body: 1 }, 300), { code: 'PLANTA_BUS_NO_ANSWER' });
    let handled = 0;
    await server.serve('echo', async ({ op, body }) => {
      handled++;
      if (op === 'fail') throw Object.assign(new Error('no such alarm'), { code: 'PLANTA_ALARM_UNKNOWN', statusCode: 404 });
      return { op, body };
    });
    const [ra, rb] = await Promise.all([webA.request('echo', { op: 'a', body: 1 }, 3000), webB.request('echo', { op: 'b', body: 2 }, 3000)]);
    assert.deepEqual(unwrap(ra), { op: 'a', body: 1 });
    assert.deepEqual(unwrap(rb), { op: 'b', body: 2 }, 'each answer reaches the node that asked');
    const failed = await webB.request('echo', { op: 'fail', body: null }, 3000);
    assert.throws(() => unwrap(failed), (err: unknown) => err instanceof ServiceError && err.code === 'PLANTA_ALARM_UNKNOWN' && err.statusCode === 404);
    assert.equal(handled, 3, 'the request that timed out before anyone served was dropped, not carried out late');
  });
});
