/**
 * A command posted while Redis is down (a redis-server of the test's own,
 * killed with -9): refused at once with 503 PLANTA_COMMAND_NOT_QUEUED, and
 * true to its word — once Redis is back, the simulated PLC never sees it.
 * A request that reaches Redis after its acceptance deadline (as one from a
 * client's offline queue would) is never executed either.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { RedisBus } from '../../src/bus/redis.js';
import type { BusLink, CommandOutcome } from '../../src/bus/types.js';
import { CommandPreparer } from '../../src/commands/prepare.js';
import { loadConfig } from '../../src/config/load.js';
import type { Role } from '../../src/config/schema.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { createWebServer } from '../../src/web/server.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { privateRedis } from '../bus/redis-helpers.js';

/** Coils of the SBR plant's commands (config/sbr-plant.yaml). */
const HORN = 23;
const RESET_VOLUME = 32;

describe('a command during a bus outage', { timeout: 120_000 }, () => {
  it('is refused within 1 s as not queued, and never reaches the PLC once Redis is back; nor does one that reaches Redis too late', async (t) => {
    const redis = await privateRedis(t, { persist: false });
    if (!redis) return;
    const sim = new Simulator({ port: 0, speed: 60, scanMs: 20, autostart: false });
    const port = (await sim.start()).port;
    t.after(() => sim.stop());
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 300, connectTimeoutMs: 300, scanGroups: { fast: 50, settings: 200 } });
    const prefix = 'planta:outage:';
    const tagDevices = new Map(config.tags.map((x) => [x.name, x.device]));
    const webBus = await RedisBus.connect({ url: redis.url, prefix, consumer: 'web', blockMs: 200, tagDevices });
    let webLink: BusLink | undefined;
    await webBus.subscribeLink((link) => void (webLink = link));
    const pollBus = await RedisBus.connect({ url: redis.url, prefix, consumer: 'poller', devices: ['plc'], blockMs: 200, tagDevices });
    const poller = new Poller(config, { bus: pollBus });
    await poller.start();
    const { app } = await createWebServer({
      bus: webBus,
      config,
      identify: (req) => {
        const h = req.headers['x-test-user'];
        return typeof h === 'string' ? { user: h.split(':')[0]!, role: h.split(':')[1] as Role } : undefined;
      },
    });
    t.after(async () => {
      await app.close();
      await poller.stop();
      await webBus.close();
      await pollBus.close();
    });
    const post = async (id: string, command: string) => {
      const res = await app.inject({ method: 'POST', url: '/api/commands', headers: { 'x-test-user': 'ana:operator' }, payload: { id, command, params: {} } });
      return { status: res.statusCode, json: res.json() as { error?: { code: string; message: string } } };
    };
    const outcome = async (id: string) => (await app.inject({ url: `/api/commands/${id}`, headers: { 'x-test-user': 'ana:operator' } })).json() as CommandOutcome;
    const final = (id: string) =>
      waitFor(`the outcome of ${id}`, async () => {
        const o = await outcome(id);
        return o.status && o.status !== 'queued' ? o : undefined;
      }, 15_000, 50);
    await waitFor('the poller connected', () => poller.devices[0]?.status().state === 'connected', 10_000);

    const before = `before-${Date.now()}`;
    assert.equal((await post(before, 'silence_horn')).status, 202);
    assert.equal((await final(before)).status, 'confirmed');
    const mark = sim.writes.list().at(-1)!.seq;

    await redis.kill();
    await waitFor('the web node without Redis', () => webLink?.up === false, 5000);
    const during = `during-${Date.now()}`;
    const sentAt = Date.now();
    const refused = await post(during, 'reset_partial_volume');
    const answerMs = Date.now() - sentAt;
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.equal(refused.json.error?.code, 'PLANTA_COMMAND_NOT_QUEUED');
    assert.match(refused.json.error!.message, /^not queued, and it will not run later/);
    assert.ok(answerMs < 1000, `answered in ${answerMs} ms`);
    assert.equal((await outcome(during)).code, 'PLANTA_COMMAND_NOT_QUEUED', 'its owner finds out what became of it');

    await redis.start();
    const after = await waitFor('a command accepted again', async () => {
      const id = `after-${Date.now()}`;
      return (await post(id, 'silence_horn')).status === 202 ? id : undefined;
    }, 15_000, 200);
    assert.equal((await final(after)).status, 'confirmed');

    // A request that reaches Redis after its deadline (a send held back by a client during an outage).
    const late = new CommandPreparer(config).prepare({ id: `late-${Date.now()}`, command: 'reset_partial_volume', params: {} }, { user: 'ana', role: 'operator' });
    late.acceptBy = Date.now() - 1000;
    const raw = createClient({ url: redis.url });
    await raw.connect();
    await raw.sendCommand(['XADD', `${prefix}commands:plc`, '*', 'c', JSON.stringify(late)]);
    await raw.close();
    const dropped = await final(late.id);
    assert.equal(dropped.status, 'expired');
    assert.equal(dropped.code, 'PLANTA_COMMAND_NOT_QUEUED');

    // Something that must NOT happen: either command written after all. Both are settled (one refused, one dropped
    // by the poller, above); the window is longer than a command takes to be written here.
    await assertThroughout(1000, () => {
      const writes = sim.writes.list(mark);
      assert.deepEqual(writes.filter((w) => w.address === RESET_VOLUME), [], 'neither the refused nor the late command was written');
      assert.deepEqual(writes.map((w) => [w.fc, w.address]), [[5, HORN]], 'only the command sent once Redis was back');
    });
    t.diagnostic(`refused ${answerMs} ms after posting, during the outage`);
  });
});
