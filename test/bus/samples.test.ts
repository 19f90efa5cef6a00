/**
 * The historian's samples on the Redis bus: a stream per device, only while a
 * historian reads it; every scan report delivered in order with its upTo;
 * what was not acknowledged delivered again after a restart; the streams
 * trimmed of what was acknowledged. A poller cut off from Redis (a private
 * redis-server stopped, then started again with or without its data) keeps
 * its samples in its outbox and forwards them in order: the historian gets
 * every batch.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from 'redis';
import { Outbox } from '../../src/bus/outbox.js';
import { RedisBus } from '../../src/bus/redis.js';
import type { SampleBatch } from '../../src/bus/types.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { value } from './contract.js';
import { REDIS_URL, needRedis, privateRedis, redisBus, testPrefix } from './redis-helpers.js';

const tagDevices = new Map([['n', 'plc']]);
const seqOf = (b: SampleBatch): number[] => b.values.map((v) => v.value as number);

async function redis(t: TestContext, url = REDIS_URL) {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  t.after(() => c.close());
  return c;
}

describe('samples streams on Redis', { timeout: 60_000 }, () => {
  it('a stream only while a historian reads it; every scan in order with its upTo; unacknowledged ones again after a restart; trimmed once acknowledged', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'samples');
    const c = await redis(t);
    const poller = await redisBus(t, { prefix, consumer: 'poller', devices: ['plc'], tagDevices });
    await poller.publishValues([value('n', -1)], { device: 'plc', upTo: 1 });
    assert.equal(await c.exists(`${prefix}samples:plc`), 0, 'no historian: no stream');

    const historian = await redisBus(t, { prefix, consumer: 'historian', tagDevices });
    const got: SampleBatch[] = [];
    const sub = await historian.subscribeSamples((b) => got.push(b), { durable: 'historian' });
    await poller.samples.check();
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) await poller.publishValues(i % 10 === 9 ? [] : [value('n', i)], { device: 'plc', upTo: t0 + i });
    await waitFor('300 batches', () => got.length === 300);
    assert.ok(got.every((b, i) => b.device === 'plc' && b.upTo === t0 + i), 'every batch in order, with its device and upTo');
    assert.deepEqual(got.flatMap(seqOf), [...Array(300).keys()].filter((i) => i % 10 !== 9));

    // 200 committed (acknowledged), then the historian stops: the other 100 come again.
    await sub.acknowledge(200);
    await sub.stop();
    assert.ok((await c.xLen(`${prefix}samples:plc`)) < 300, 'acknowledged entries trimmed');
    const again: SampleBatch[] = [];
    const sub2 = await historian.subscribeSamples((b) => again.push(b), { durable: 'historian' });
    await poller.publishValues([value('n', 300)], { device: 'plc', upTo: t0 + 300 });
    await waitFor('the unacknowledged batches and the new one', () => again.length === 101);
    assert.deepEqual(again.map((b) => b.upTo), [...Array(101).keys()].map((i) => t0 + 200 + i));
    await sub2.acknowledge(sub2.position());
    await sub2.stop();
  });

  for (const persist of [true, false]) {
    it(`a poller cut off from Redis keeps its samples in its outbox and forwards them in order (Redis restarted ${persist ? 'with' : 'without'} its data)`, async (t) => {
      const server = await privateRedis(t, { persist });
      if (!server) return;
      const dir = mkdtempSync(join(tmpdir(), 'planta-samples-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const prefix = 'planta:outage:';
      const outbox = new Outbox(join(dir, 'outbox.db'), 64 << 20);
      const poller = await RedisBus.connect({ url: server.url, prefix, consumer: 'poller', devices: ['plc'], tagDevices, outbox, blockMs: 200 });
      const historian = await RedisBus.connect({ url: server.url, prefix, consumer: 'historian', tagDevices, blockMs: 200 });
      t.after(async () => {
        await historian.close();
        await poller.close();
      });
      const seen = new Set<number>();
      let last = -1;
      let outOfOrder = 0;
      let twice = 0;
      const sub = await historian.subscribeSamples((b) => {
        for (const k of seqOf(b)) {
          // A batch Redis took as the connection dropped is forwarded again: harmless, the historian skips it.
          if (seen.has(k)) twice++;
          else if (k < last) outOfOrder++;
          seen.add(k);
          last = Math.max(last, k);
        }
      }, { durable: 'historian' });
      await poller.samples.check();
      const liveAt: number[] = [];
      await historian.subscribeValues(() => liveAt.push(Date.now()));

      let n = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing) {
          await poller.publishValues([value('n', n++)], { device: 'plc', upTo: Date.now() });
          // A pace, not a wait: a scan every 10 ms.
          await sleep(10);
        }
      })();
      const acker = setInterval(() => void sub.acknowledge(sub.position()).catch(() => undefined), 100);
      t.after(() => clearInterval(acker));
      await waitFor('batches at the historian before the outage', () => seen.size >= 30, 10_000, 10);
      await server.stop();
      await waitFor('batches kept in the outbox during the outage', () => outbox.pending() >= 50, 10_000, 10);
      const duringOutage = n;
      await server.start();
      const backAt = Date.now();
      await waitFor('the live view back', () => liveAt.some((at) => at >= backAt), 5000, 10);
      const liveMs = liveAt.find((at) => at >= backAt)! - backAt;
      // Publishing goes on while the outbox is forwarded: until batches published after the restart arrived.
      const publishedAtBack = n;
      await waitFor('new batches at the historian', () => seen.has(publishedAtBack + 20), 10_000, 10);
      publishing = false;
      await publisher;
      await waitFor(`every batch up to ${n - 1} at the historian`, () => seen.size === n, 10_000, 50);
      assert.equal(outOfOrder, 0, 'no new batch older than one before it');
      assert.ok(poller.samples.stats.forwarded > 0 && poller.samples.stats.lost === 0, JSON.stringify(poller.samples.stats));
      assert.equal(outbox.pending(), 0);
      assert.ok(liveMs < 2000, `live view back after ${liveMs} ms`);
      t.diagnostic(`${n} batches (${duringOutage} published before Redis came back), ${poller.samples.stats.forwarded} forwarded from the outbox, none missing, ${twice} delivered twice; live view back ${liveMs} ms after Redis`);
    });
  }
});
