/**
 * The bus on Redis Sentinel (redis-sentinel://…/MASTER_NAME): a primary,
 * a replica and three sentinels of this test; the primary killed with
 * SIGKILL while a poller publishes every 10 ms. Every connection of every
 * bus moves to the promoted replica by itself: the live view comes back
 * with fresh values, the historian gets every batch once the poller's
 * outbox (and what the dead master took but may not have replicated) is
 * forwarded, in order, and where each bus is — and when it moved — is said.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Outbox } from '../../src/bus/outbox.js';
import { RedisBus } from '../../src/bus/redis.js';
import { parseRedisUrl } from '../../src/bus/redis/link.js';
import type { SampleBatch } from '../../src/bus/types.js';
import { command, value } from '../bus/contract.js';
import { needRedis, redisBus, testPrefix } from '../bus/redis-helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { redisSentinels } from './redis-sentinels.js';

const tagDevices = new Map([['n', 'plc']]);
const seqOf = (b: SampleBatch): number[] => b.values.map((v) => v.value as number);

describe('the bus on Redis Sentinel', { timeout: 60_000 }, () => {
  it('reads redis-sentinel:// URLs, and refuses what it cannot read', () => {
    assert.deepEqual(parseRedisUrl('redis-sentinel://u:p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster?sentinelPassword=s'), {
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      master: 'mymaster',
      tls: false,
      username: 'u',
      password: 'p@ss',
      sentinelPassword: 's',
    });
    assert.equal((parseRedisUrl('rediss-sentinel://h:1/m') as { tls: boolean }).tls, true);
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379'), { kind: 'redis', url: 'redis://127.0.0.1:6379' });
    for (const bad of ['redis-sentinel://h1:1,h2:2', 'redis-sentinel://h1:x/m', 'redis-sentinel://h:1/m?db=2', 'http://h/m']) {
      assert.throws(() => parseRedisUrl(bad), { code: 'PLANTA_BUS_BAD_URL' }, bad);
    }
  });

  it('a claim sent again by the execution whose answer was lost finds its own; any other second claim is a duplicate', async (t) => {
    if (!(await needRedis(t))) return;
    const bus = await redisBus(t, { prefix: testPrefix(t, 'claim-again'), consumer: 'p1', devices: ['plc'] });
    const cmd = command('plc');
    assert.equal(await bus.claimCommand(cmd), 'claimed');
    assert.equal(await bus.claimCommand(cmd), 'duplicate');
    assert.equal(await bus.claimCommand(cmd, { again: true }), 'claimed', 'its own claim, made before the connection dropped');
    const other = await redisBus(t, { prefix: bus.prefix, consumer: 'p2', devices: ['plc'] });
    assert.equal(await other.claimCommand(cmd, { again: true }), 'duplicate', "never another poller's claim");
  });

  it('a killed primary: every connection follows the promoted replica; live values back, no batch lost, in order', async (t) => {
    const set = await redisSentinels(t);
    if (!set) return;
    const dir = mkdtempSync(join(tmpdir(), 'planta-ha-samples-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const prefix = 'planta:ha:';
    const outbox = new Outbox(join(dir, 'outbox.db'), 64 << 20);
    const registry = new Registry();
    const poller = await RedisBus.connect({ url: set.url, prefix, consumer: 'poller', devices: ['plc'], tagDevices, outbox, blockMs: 200, registry });
    const historian = await RedisBus.connect({ url: set.url, prefix, consumer: 'historian', tagDevices, blockMs: 200 });
    const web = await RedisBus.connect({ url: set.url, prefix, consumer: 'web', tagDevices, blockMs: 200 });
    t.after(async () => {
      await web.close();
      await historian.close();
      await poller.close();
    });
    assert.equal(poller.place.node, `127.0.0.1:${set.primaryPort}`);
    assert.equal(poller.place.sentinel, true);

    const seen = new Set<number>();
    let last = -1;
    let outOfOrder = 0;
    let twice = 0;
    const sub = await historian.subscribeSamples((b) => {
      for (const k of seqOf(b)) {
        if (seen.has(k)) twice++;
        else if (k < last) outOfOrder++;
        seen.add(k);
        last = Math.max(last, k);
      }
    }, { durable: 'historian' });
    await poller.samples.check();
    // The web node's live view: the time each value was read, as it arrives.
    const live: { at: number; sourceTs: number }[] = [];
    await web.subscribeValues((values) => {
      for (const v of values) live.push({ at: Date.now(), sourceTs: v.sourceTs ?? 0 });
    });

    let n = 0;
    let publishing = true;
    t.after(() => (publishing = false));
    const publisher = (async () => {
      while (publishing) {
        await poller.publishValues([value('n', n++)], { device: 'plc', upTo: Date.now() });
        // A pace, not a wait: a scan every 10 ms.
        await sleep(10);
      }
    })();
    const acker = setInterval(() => void sub.acknowledge(sub.position()).catch(() => undefined), 100);
    t.after(() => clearInterval(acker));
    await waitFor('batches at the historian before the kill', () => seen.size >= 50, 10_000, 10);

    const killedAt = await set.killPrimary();
    await waitFor('the sentinels promote the replica', async () => (await set.masterPort()) === set.replicaPort, 15_000, 50);
    const promotedMs = Date.now() - killedAt;
    await waitFor('a fresh value at the web node', () => live.some((l) => l.at > killedAt && l.sourceTs > killedAt), 10_000, 10);
    const freshMs = live.find((l) => l.at > killedAt && l.sourceTs > killedAt)!.at - killedAt;
    assert.ok(freshMs < 10_000, `fresh values ${freshMs} ms after the kill`);

    const publishedAtBack = n;
    await waitFor('new batches at the historian', () => seen.has(publishedAtBack + 20), 10_000, 10);
    publishing = false;
    await publisher;
    await waitFor(`every batch up to ${n - 1} at the historian`, () => seen.size === n, 10_000, 50);
    assert.equal(outOfOrder, 0, 'no new batch older than one before it');
    assert.equal(poller.samples.stats.lost, 0);
    assert.equal(outbox.pending(), 0);

    for (const bus of [poller, historian, web]) {
      assert.equal(bus.place.node, `127.0.0.1:${set.replicaPort}`, 'every bus on the new master');
      assert.ok(bus.place.switches >= 1 && (bus.place.switchedAt ?? 0) >= killedAt);
    }
    const failovers = await registry.getSingleMetric('planta_bus_failovers_total')!.get();
    assert.ok(failovers.values.reduce((s, v) => s + v.value, 0) >= 2, `counted: ${JSON.stringify(failovers.values)}`);
    t.diagnostic(
      `${n} batches, ${poller.samples.stats.forwarded} forwarded from the outbox, none missing, ${twice} delivered twice; replica promoted ${promotedMs} ms and fresh values at the web node ${freshMs} ms after the kill`,
    );
  });
});
