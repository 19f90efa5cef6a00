/**
 * A process always shuts down during a bus outage: with its Redis killed (a
 * private redis-server, SIGKILL, never started again), a web node, its
 * liveness watch, a poller holding its device's lease and both buses stop,
 * each within a bound — nothing waits for an answer Redis will never give
 * (a command queued in the client's offline queue, a stream reader taking
 * back its pending entries, a lease being taken as Redis went away).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LivenessWatch } from '../../src/bus/liveness.js';
import { RedisBus } from '../../src/bus/redis.js';
import { loadConfig } from '../../src/config/load.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { TagWithState } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { privateRedis } from './redis-helpers.js';

/** How long each stop may take with Redis gone (the bus's own close grace is 1 s for each of its steps). */
const STOP_BOUND_MS = 4000;

async function timed(what: string, f: () => Promise<unknown>, times: string[]): Promise<void> {
  const at = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), STOP_BOUND_MS)));
  const result = await Promise.race([f().then(() => 'done' as const), hung]);
  clearTimeout(timer);
  const ms = Math.round(performance.now() - at);
  times.push(`${what} ${ms} ms`);
  assert.equal(result, 'done', `${what} still waiting after ${STOP_BOUND_MS} ms with Redis gone`);
}

describe('shutting down during a bus outage', { timeout: 90_000 }, () => {
  for (const when of ['once the outage is known (its readers retrying)', 'while the poller takes its lease']) {
    it(`Redis killed for good ${when}: the web node, the poller and both buses stop within ${STOP_BOUND_MS} ms each`, async (t) => {
      const redis = await privateRedis(t, { persist: false });
      if (!redis) return;
      const sim = new Simulator({ port: 0 });
      t.after(() => sim.stop());
      const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
      Object.assign(config.devices[0]!, { port: (await sim.start()).port, timeoutMs: 300, connectTimeoutMs: 500, scanGroups: { fast: 200, settings: 1000 } });
      const tagDevices = new Map(config.tags.map((x) => [x.name, x.device]));
      const prefix = 'planta:shutdown-outage:';
      const connect = (consumer: string, devices?: string[]) =>
        RedisBus.connect({ url: redis.url, prefix, tagDevices, consumer, blockMs: 200, reclaimMs: 300, ...(devices ? { devices } : {}) });
      const pollerBus = await connect('poller', ['plc']);
      const watch = new LivenessWatch(await connect('web'), { tagDevices });
      await watch.start();
      const { app } = await createWebServer({ bus: watch.bus, config });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as { port: number }).port;
      const stream = await openStream(port);
      t.after(() => stream.close());
      const poller = new Poller(config, { bus: pollerBus, lease: { owner: 'poller-1', ttlMs: 1000 } });
      if (when.startsWith('while')) {
        // The lease is taken and its commands' stream being read when Redis goes.
        const starting = poller.start();
        await waitFor('the lease taken', () => poller.leases().some((l) => l.state === 'active'), 10_000, 1);
        await redis.kill();
        await starting;
      } else {
        await poller.start();
        const tags = async (): Promise<TagWithState[]> => (await (await fetch(`http://127.0.0.1:${port}/api/tags`)).json()) as TagWithState[];
        await waitFor('every tag good', async () => (await tags()).every((x) => x.quality === 'Good'), 20_000, 100);
        await redis.kill();
        await waitFor('the web node seeing the outage', async () => (await tags()).every((x) => x.quality !== 'Good'), 5000, 20);
        // Past a reclaim of the commands' stream: its pending entries are asked for again, of a Redis that is gone.
        await waitFor('the poller isolated', () => poller.leases().every((l) => l.state === 'isolated'), 5000, 20);
      }
      const times: string[] = [];
      await timed('app.close()', () => app.close(), times);
      await timed('poller.stop()', () => poller.stop(), times);
      await timed('web bus close()', () => watch.bus.close(), times);
      await timed('poller bus close()', () => pollerBus.close(), times);
      t.diagnostic(times.join(', '));
    });
  }
});
