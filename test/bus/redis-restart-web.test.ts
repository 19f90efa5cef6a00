/**
 * A web node while Redis is down, then restarted empty (a private
 * redis-server without persistence, killed with SIGKILL): the simulator, a
 * poller holding its device's lease and a web node with its liveness watch,
 * all on that Redis, in this process. During the outage every read answers
 * within 1 s from the node's last known state, each value marked as no longer
 * live with the time the bus was lost; /readyz says 503 at once, and the
 * stream tells the browser. Across the restart — and across a restart of the
 * poller — no tag is ever served as waiting for initial data or null (REST
 * sampled every 50 ms, every stream event), and the values republished carry
 * the times the poller read them, not the time of the republish.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { remoteAlarms } from '../../src/alarms/remote.js';
import type { AlarmState } from '../../src/bus/alarm-messages.js';
import { LivenessWatch } from '../../src/bus/liveness.js';
import { RedisBus } from '../../src/bus/redis.js';
import { loadConfig } from '../../src/config/load.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { BusLink, DeviceInfo, StreamDelta, StreamSnapshot, StreamValue, TagWithState } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { settleWithin, sleep, waitFor } from '../helpers/wait.js';
import { privateRedis } from './redis-helpers.js';

const LEASE_MS = 1000;
/** How fast a read must answer during the outage (the bound). */
const READ_BOUND_MS = 1000;
/** Each step of the cleanup, with Redis stopped (the product's own bounds are a few seconds). */
const CLEANUP_MS = 10_000;

describe('a web node while Redis is down and after it restarted empty', { timeout: 120_000 }, () => {
  it('answers every read at once from its last known state, marked; never flashes a value to waiting; republished values keep their read times', async (t) => {
    const redis = await privateRedis(t, { persist: false });
    if (!redis) return;
    const sim = new Simulator({ port: 0 });
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port: (await sim.start()).port, timeoutMs: 300, connectTimeoutMs: 500, scanGroups: { fast: 200, settings: 1000 } });
    const tagDevices = new Map(config.tags.map((x) => [x.name, x.device]));
    const prefix = 'planta:web-outage:';
    const connect = (consumer: string, devices?: string[]) =>
      RedisBus.connect({ url: redis.url, prefix, tagDevices, consumer, blockMs: 200, ...(devices ? { devices } : {}) });
    const pollerBus = await connect('poller', ['plc']);
    let poller = new Poller(config, { bus: pollerBus, lease: { owner: 'poller-1', ttlMs: LEASE_MS } });
    await poller.start();
    const watch = new LivenessWatch(await connect('web'), { tagDevices });
    await watch.start();
    // The alarm engine of a `planta alarms` process (asked through the bus), and /metrics, as on a web node.
    const { app } = await createWebServer({
      bus: watch.bus,
      config,
      alarms: remoteAlarms(watch.bus),
      registry: new Registry(),
      identify: (req) => (req.headers['x-test-user'] === 'ana' ? { user: 'ana', role: 'operator' } : undefined),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    // One cleanup, in order, each step bounded: hooks run in the order they were registered, so the private
    // Redis is already stopped when this runs — a stop that waited for it would hang the run.
    let sampling = false;
    let sampler: Promise<void> = Promise.resolve();
    let closeStream = (): void => undefined;
    t.after(async () => {
      sampling = false;
      await settleWithin('the REST sampler', sampler, CLEANUP_MS).catch(() => undefined);
      closeStream();
      const hung: string[] = [];
      const steps: [string, () => Promise<unknown>][] = [
        ['app.close()', () => app.close()],
        ['poller.stop()', () => poller.stop()],
        ['the web bus close()', () => watch.bus.close()],
        ['the poller bus close()', () => pollerBus.close()],
        ['sim.stop()', () => sim.stop()],
      ];
      // Every step runs even when one before it hung: what is left open would keep the run from ending.
      for (const [what, step] of steps) await settleWithin(what, step(), CLEANUP_MS).catch((err: Error) => hung.push(err.message));
      assert.deepEqual(hung, [], 'every stop finished with Redis stopped');
    });
    const base = `http://127.0.0.1:${port}`;
    const get = async <T>(path: string, init: RequestInit = {}): Promise<{ ms: number; status: number; body: T }> => {
      const at = performance.now();
      const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(15_000), headers: { 'x-test-user': 'ana', 'content-type': 'application/json' }, ...init });
      const text = await res.text();
      const body = (res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text) as T;
      return { ms: performance.now() - at, status: res.status, body };
    };
    const tags = async (): Promise<Map<string, TagWithState>> => new Map((await get<TagWithState[]>('/api/tags')).body.map((x) => [x.name, x]));
    await waitFor('every tag good', async () => [...(await tags()).values()].every((x) => x.quality === 'Good'), 20_000, 100);

    // Every stream event, as a browser applies it: a value once known is never waiting or null again.
    const stream = await openStream(port);
    closeStream = () => stream.close();
    const flashes: string[] = [];
    const links: BusLink[] = [];
    let names: string[] = [];
    let applied = 0;
    const known = new Set<number>();
    /** The last Good value of each tag the stream delivered: the node's last known state. */
    const lastGood = new Map<string, unknown>();
    const applyStream = (): void => {
      for (; applied < stream.events.length; applied++) {
        const e = stream.events[applied]!;
        const check = (values: StreamValue[]): void => {
          for (const v of values) {
            const quality = v[2] ?? 'Good';
            if (known.has(v[0]) && (quality === 'Bad_WaitingForInitialData' || v[1] === null)) flashes.push(`stream: ${names[v[0]]} ${quality} ${String(v[1])}`);
            if (quality !== 'Bad_WaitingForInitialData') known.add(v[0]);
            if (quality === 'Good') lastGood.set(names[v[0]]!, v[1]);
          }
        };
        if (e.event === 'snapshot') {
          const s = JSON.parse(e.data) as StreamSnapshot;
          names = s.tags;
          check(s.values);
        } else if (e.event === 'delta') check((JSON.parse(e.data) as StreamDelta).values);
        else if (e.event === 'bus') links.push(JSON.parse(e.data) as BusLink);
      }
    };

    // /api/tags every 50 ms for the whole run: how long each read took, and what it served.
    sampling = true;
    let slowest = 0;
    sampler = (async () => {
      while (sampling) {
        const { ms, body } = await get<TagWithState[]>('/api/tags');
        slowest = Math.max(slowest, ms);
        for (const x of body) if (x.quality === 'Bad_WaitingForInitialData' || x.value === null) flashes.push(`REST: ${x.name} ${x.quality} ${String(x.value)}`);
        applyStream();
        // A pace, not a wait: the REST sample every 50 ms.
        await sleep(50);
      }
    })();

    // An alarm the node knows of (as the alarm process publishes its states).
    const alarm: AlarmState = { id: 'hi.level', message: 'High level', priority: 'high', source: 'reactor.level', state: 'unack', active: true, acked: false, activeSince: Date.now(), changedAt: Date.now(), value: true };
    await pollerBus.publishAlarmStates([alarm]);
    await waitFor('the node knowing the alarm', async () => (await get<AlarmState[]>('/api/alarms')).body.some((a) => a.id === alarm.id), 5000, 20);
    const before = await tags();
    const settings = config.tags.filter((x) => x.scanGroup === 'settings').map((x) => x.name);
    const killedAt = Date.now();
    await redis.kill();

    // During the outage: each read at once, from the last known state, marked (once the node saw the outage).
    await waitFor('the web node seeing the outage', async () => (await get<TagWithState>('/api/tags/reactor.level')).body.quality === 'Uncertain_LastUsableValue', 5000, 20);
    const level = await get<TagWithState>('/api/tags/reactor.level');
    assert.ok(level.ms < READ_BOUND_MS, `GET /api/tags/reactor.level answered in ${Math.round(level.ms)} ms`);
    assert.equal(level.status, 200);
    assert.equal(level.body.quality, 'Uncertain_LastUsableValue');
    // The last value the node had before the outage (the level may have moved between reading `before` and the kill).
    applyStream();
    assert.equal(level.body.value, lastGood.get('reactor.level'));
    assert.ok(level.body.sourceTs <= killedAt, 'the time it was read');
    assert.ok(level.body.liveDataLostAt! >= killedAt - 50 && level.body.liveDataLostAt! <= Date.now(), 'the time the bus was lost');
    const devices = await get<DeviceInfo[]>('/api/devices');
    assert.ok(devices.ms < READ_BOUND_MS, `GET /api/devices answered in ${Math.round(devices.ms)} ms`);
    assert.equal(devices.body[0]!.liveDataLostAt, level.body.liveDataLostAt);
    assert.ok(devices.body[0]!.status !== null, 'its last known status');
    const ready = await get<{ checks: { bus: { ok: boolean; detail: string } } }>('/readyz');
    assert.ok(ready.ms < READ_BOUND_MS, `/readyz answered in ${Math.round(ready.ms)} ms`);
    assert.equal(ready.status, 503);
    assert.match(ready.body.checks.bus.detail, /^live data stopped since \S+: no connection to Redis at redis:\/\/127\.0\.0\.1:\d+ /);
    // The alarms as last known, marked; /metrics from the node's own figures; the journal and the alarm
    // actions (the alarm process is asked through the bus) refused at once, nothing sent.
    const alarms = await get<(AlarmState & { liveDataLostAt?: number })[]>('/api/alarms');
    assert.ok(alarms.ms < READ_BOUND_MS, `GET /api/alarms answered in ${Math.round(alarms.ms)} ms`);
    assert.equal(alarms.status, 200);
    assert.deepEqual(alarms.body.map((a) => [a.id, a.state, a.liveDataLostAt]), [[alarm.id, 'unack', level.body.liveDataLostAt]]);
    const scrape = await get<string>('/metrics');
    assert.ok(scrape.ms < READ_BOUND_MS, `GET /metrics answered in ${Math.round(scrape.ms)} ms`);
    assert.equal(scrape.status, 200);
    assert.match(scrape.body, /planta_alarms\{state="unack",priority="high"\} 1/);
    const journal = await get<{ error: { code: string } }>('/api/journal');
    assert.ok(journal.ms < READ_BOUND_MS, `GET /api/journal answered in ${Math.round(journal.ms)} ms`);
    assert.deepEqual([journal.status, journal.body.error.code], [503, 'PLANTA_ALARMS_UNAVAILABLE']);
    const ack = await get<{ error: { code: string; message: string } }>('/api/alarms/ack', { method: 'POST', body: JSON.stringify({ ids: [alarm.id] }) });
    assert.ok(ack.ms < READ_BOUND_MS, `POST /api/alarms/ack refused in ${Math.round(ack.ms)} ms`);
    assert.deepEqual([ack.status, ack.body.error.code], [503, 'PLANTA_ALARMS_UNAVAILABLE']);
    assert.match(ack.body.error.message, /nothing was sent, and nothing will be done later/);
    await waitFor('the stream says live data stopped', () => (applyStream(), links.find((l) => !l.up)), 2000);
    const marked = await tags();
    assert.ok([...marked.values()].every((x) => x.quality !== 'Good' && x.liveDataLostAt === level.body.liveDataLostAt), 'no value served as live');
    // Until the poller's lease has lapsed: it stops trusting it (and goes on polling, isolated). Its key
    // in Redis needs no waiting for: Redis comes back empty.
    await waitFor('the poller isolated', () => poller.leases().every((l) => l.state === 'isolated'), 5000, 20);

    await redis.start();
    const restartedAt = Date.now();
    await waitFor('every tag good again', async () => [...(await tags()).values()].every((x) => x.quality === 'Good' && x.liveDataLostAt === undefined), 20_000, 50);
    const backMs = Date.now() - restartedAt;
    await waitFor('the stream says live data is back', () => (applyStream(), links.find((l) => l.up)), 2000);
    const after = await tags();
    for (const name of settings) {
      // Settings do not change: Redis lost them, the poller published them again, with the time it read them.
      assert.equal(after.get(name)!.sourceTs, before.get(name)!.sourceTs, `${name}: its read time, not the republish time`);
      assert.equal(after.get(name)!.value, before.get(name)!.value, name);
    }

    // The poller restarted (a new process would be the same): its "waiting for data" replaces no known value.
    await poller.stop();
    poller = new Poller(config, { bus: pollerBus, lease: { owner: 'poller-2', ttlMs: LEASE_MS } });
    await poller.start();
    await waitFor('every tag good after the poller restarted', async () => [...(await tags()).values()].every((x) => x.quality === 'Good'), 20_000, 50);

    sampling = false;
    await sampler;
    applyStream();
    assert.deepEqual(flashes, [], 'no value ever served as waiting or null once known');
    assert.ok(slowest < READ_BOUND_MS, `slowest /api/tags: ${Math.round(slowest)} ms`);
    t.diagnostic(`reads during the outage: /api/tags/reactor.level ${Math.round(level.ms)} ms, /api/devices ${Math.round(devices.ms)} ms, /readyz ${Math.round(ready.ms)} ms, /api/alarms ${Math.round(alarms.ms)} ms, /metrics ${Math.round(scrape.ms)} ms, /api/journal (503) ${Math.round(journal.ms)} ms, POST /api/alarms/ack (503) ${Math.round(ack.ms)} ms; slowest /api/tags of the run ${Math.round(slowest)} ms; every tag Good ${backMs} ms after Redis restarted empty`);
  });
});
