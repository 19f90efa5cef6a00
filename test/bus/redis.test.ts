/**
 * What only the Redis bus has to prove: a subscriber that reconnects resyncs,
 * a command is delivered once and never run again after a restart, an
 * expired command is refused, two plants' prefixes do not mix; and the
 * `bus:` section of the configuration.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandRequest, ValueBatchInfo } from '../../src/bus/types.js';
import { busChoice, defaultPrefix } from '../../src/cli/wiring.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { TagValue } from '../../src/tags/types.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { command, outcome, value } from './contract.js';
import { deleteKeys, killConnections, needRedis, redisBus, testPrefix } from './redis-helpers.js';

describe('Redis bus', { timeout: 60_000 }, () => {
  it('a subscriber whose connection dropped gets the whole state with {resync: true}, including what it missed', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'resync');
    const poller = await redisBus(t, { prefix, consumer: 'poller', tagDevices: new Map([['a', 'plc'], ['b', 'plc'], ['c', 'other']]) });
    const web = await redisBus(t, { prefix, consumer: 'web' });
    await poller.publishValues([value('a', 1), value('b', 1), value('c', 1)]);
    const got: [TagValue[], ValueBatchInfo][] = [];
    await web.subscribeValues((batch, info) => got.push([batch, info]));
    assert.equal(await killConnections(`${prefix}web`, 'pubsub'), 1);
    // Published while the subscriber is away: lost on Pub/Sub, kept in the hashes.
    await poller.publishValues([value('a', 2)]);
    const resync = await waitFor('a resync', () => got.find(([, info]) => info.resync), 5000);
    const state = new Map(resync[0].map((v) => [v.tag, v.value]));
    assert.deepEqual(Object.fromEntries(state), { a: 2, b: 1, c: 1 });
    await poller.publishValues([value('b', 3)]);
    await waitFor('live deltas again', () => got.some(([batch, info]) => !info.resync && batch[0]?.tag === 'b' && batch[0].value === 3));
  });

  it('two pollers in the group: each command executes once; after a restart none runs again, a taken one is reported interrupted', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'once');
    const web = await redisBus(t, { prefix, consumer: 'web' });
    const executed = new Map<string, number>();
    const pollerWith = async (consumer: string, crash = false) => {
      const bus = await redisBus(t, { prefix, consumer, devices: ['plc'] });
      const seen: string[] = [];
      await bus.subscribeCommands((c) => {
        seen.push(c.id);
        void (async () => {
          if ((await bus.claimCommand(c)) !== 'claimed') return;
          executed.set(c.id, (executed.get(c.id) ?? 0) + 1);
          if (!crash) await bus.publishCommandOutcome(outcome(c, 'confirmed'));
        })();
      });
      return { bus, seen };
    };
    const finals = new Map<string, string>();
    await web.subscribeCommandOutcomes((o) => {
      if (o.status !== 'queued') finals.set(o.id, o.status);
    });
    const p1 = await pollerWith('p1');
    const p2 = await pollerWith('p2');
    const sent: CommandRequest[] = [];
    for (let i = 0; i < 40; i++) {
      const c = command('plc');
      sent.push(c);
      await web.submitCommand(c);
      // A retry of the same entry (the web's XADD repeated after a dropped connection) must not run twice either.
      if (i % 10 === 0) await web.submitCommand(c);
    }
    await waitFor('40 outcomes', () => finals.size === 40, 10_000);
    assert.ok([...executed.values()].every((n) => n === 1));
    assert.equal(executed.size, 40);
    assert.ok(p1.seen.length > 0 && p2.seen.length > 0, `both consumers took commands (${p1.seen.length}, ${p2.seen.length})`);
    await p1.bus.close();
    await p2.bus.close();

    // A poller that takes a command and dies before reporting; another that dies before taking one.
    const crashing = await pollerWith('p3', true);
    const taken = command('plc');
    await web.submitCommand(taken);
    await waitFor('taken', () => executed.get(taken.id) === 1);
    await crashing.bus.close();
    const untaken = command('plc');
    // In the stream when submitCommand resolves (its XADD answered): nothing to wait for before the restart.
    await web.submitCommand(untaken);
    const restarted = await pollerWith('p3');
    await waitFor('both reported', () => finals.has(taken.id) && finals.has(untaken.id), 5000);
    assert.equal(finals.get(taken.id), 'failed');
    assert.equal(executed.get(taken.id), 1, 'the interrupted command was not run again');
    assert.equal(finals.get(untaken.id), 'confirmed');
    assert.equal(executed.get(untaken.id), 1);
    assert.ok(!restarted.seen.includes(taken.id), 'the interrupted command was not handed to the executor again');
    // Nothing left pending: another restart delivers nothing.
    await restarted.bus.close();
    const again = await pollerWith('p4');
    // Nothing delivered for 300 ms: longer than a read's block (200 ms), so its read of its pending
    // entries and its first read of new ones have both come back within the window, empty.
    await assertThroughout(300, () => assert.deepEqual(again.seen, []));
  });

  it('a command whose expiry passed while no poller ran is delivered, then refused by its claim', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'expired');
    const web = await redisBus(t, { prefix, consumer: 'web' });
    const c = command('plc', 100);
    await web.submitCommand(c);
    await waitFor('the command expired', () => Date.now() > c.expiresAt, 2000);
    const poller = await redisBus(t, { prefix, consumer: 'poller', devices: ['plc'] });
    const claims: string[] = [];
    await poller.subscribeCommands((r) => void poller.claimCommand(r).then((claim) => claims.push(`${r.id}:${claim}`)));
    await waitFor('the claim', () => claims.length === 1, 5000);
    assert.deepEqual(claims, [`${c.id}:expired`]);
  });

  it("two plants on one Redis never see each other's values, statuses, commands or outcomes", async (t) => {
    if (!(await needRedis(t))) return;
    const a = testPrefix(t, 'plant-a');
    const b = testPrefix(t, 'plant-b');
    const busA = await redisBus(t, { prefix: a, devices: ['plc'] });
    const busB = await redisBus(t, { prefix: b, devices: ['plc'] });
    const seenB: string[] = [];
    await busB.subscribeValues((batch) => seenB.push(...batch.map((v) => v.tag)));
    await busB.subscribeCommands((c) => seenB.push(c.id));
    await busB.subscribeCommandOutcomes((o) => seenB.push(o.id));
    const seenA: string[] = [];
    await busA.subscribeValues((batch) => seenA.push(...batch.map((v) => v.tag)));
    await busA.subscribeCommands((c) => seenA.push(c.id));
    const c = command('plc');
    await busA.publishValues([value('level', 1)]);
    await busA.submitCommand(c);
    await busA.publishCommandOutcome(outcome(c, 'queued'));
    await waitFor('plant A got its own', () => seenA.includes('level') && seenA.includes(c.id));
    // Plant A's own came through, so B's would have by now; 200 ms more for a slower delivery to B's subscriber.
    await assertThroughout(200, async () => {
      assert.deepEqual(seenB, []);
      assert.deepEqual(await busB.snapshot(), []);
    });
    assert.equal(await busB.claimCommand(c), 'claimed', "plant B's claims are its own");
    await busA.close();
    assert.ok((await deleteKeys(a)) > 0);
    assert.equal((await busB.snapshot()).length, 0);
  });
});

describe('bus: in the configuration', () => {
  const base = 'plant: { name: SBR Plant }\ndevices:\n  plc: { host: 127.0.0.1, port: 5020 }\ntags:\n  level: { device: plc, area: holding, address: 0, type: uint16 }\n';

  it('defaults to the in-memory bus; PLANTA_BUS_URL and --bus override it', () => {
    const config = parseConfig(base, 'plant.yaml');
    assert.deepEqual(config.bus, { kind: 'memory', url: 'redis://127.0.0.1:6379', lease: 5000, outboxSize: 256 * 1024 * 1024, historyBacklog: 600_000 });
    assert.equal(defaultPrefix(config.plant.name), 'planta:sbr-plant:');
    assert.equal(busChoice(config, undefined, {}).kind, 'memory');
    assert.deepEqual(busChoice(config, undefined, { PLANTA_BUS_URL: 'redis://10.0.0.5:6380' }), { kind: 'redis', url: 'redis://10.0.0.5:6380', prefix: 'planta:sbr-plant:' });
    assert.equal(busChoice(config, 'memory', { PLANTA_BUS_URL: 'redis://10.0.0.5:6380' }).kind, 'memory');
    assert.throws(() => busChoice(config, 'http://x', {}), /expected redis:\/\/HOST:PORT/);
  });

  it('reads kind, url and prefix, and locates mistakes by file, line and column', () => {
    const config = parseConfig(`${base}bus: { kind: redis, url: 'redis://127.0.0.1:6390', prefix: 'planta:north:' }\n`, 'plant.yaml');
    assert.deepEqual(config.bus, { kind: 'redis', url: 'redis://127.0.0.1:6390', prefix: 'planta:north:', lease: 5000, outboxSize: 256 * 1024 * 1024, historyBacklog: 600_000 });
    const full = parseConfig(`${base}bus: { kind: redis, outbox: /var/lib/planta/outbox.db, outboxSize: 1GiB, historyBacklog: 1h }\n`, 'plant.yaml');
    assert.deepEqual([full.bus.outbox, full.bus.outboxSize, full.bus.historyBacklog], ['/var/lib/planta/outbox.db', 1024 ** 3, 3_600_000]);
    assert.equal(busChoice(config, undefined, {}).prefix, 'planta:north:');
    try {
      parseConfig(`${base}bus:\n  kind: kafka\n  url: http://x\n  historyBacklog: 1s\n  outboxSize: lots\n`, 'plant.yaml');
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const lines = err.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}`);
      assert.deepEqual(lines, ['plant.yaml:7:9 bus.kind', 'plant.yaml:8:8 bus.url', 'plant.yaml:9:19 bus.historyBacklog', 'plant.yaml:10:15 bus.outboxSize']);
    }
  });
});
