/**
 * What every Bus does, whatever it runs on: the same tests against the
 * in-memory bus and the Redis bus. `make` gives two handles on one bus (the
 * same object in memory; two connections on Redis): one publishes, the other
 * subscribes, as two processes would.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { AlarmState, Bus, CommandOutcome, CommandRequest, DeviceStatus, JournalEntry, ValueBatchInfo } from '../../src/bus/types.js';
import type { TagValue } from '../../src/tags/types.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

export type MakeBus = (t: TestContext, o: { devices: string[] }) => Promise<{ publisher: Bus; subscriber: Bus } | undefined>;

export const value = (tag: string, v: TagValue['value'], quality: TagValue['quality'] = 'Good', ts = Date.now()): TagValue => ({ tag, value: v, quality, sourceTs: ts - 5, serverTs: ts });

export function status(device: string, state: DeviceStatus['state'], updatedAt = Date.now()): DeviceStatus {
  return {
    device,
    state,
    connectedSince: state === 'connected' ? updatedAt - 1000 : null,
    lastError: null,
    requests: 10,
    responses: 10,
    errors: { timeout: 0, connection: 0, protocol: 0, exception: { '2': 1 } },
    latencyMs: { p50: 1, p99: 2 },
    reconnects: 0,
    scans: 5,
    overruns: 0,
    jitterMs: { p50: 0, p99: 1 },
    qualities: { Good: 3 },
    updatedAt,
  };
}

export function alarm(id: string, state: AlarmState['state'], changedAt = Date.now()): AlarmState {
  return { id, message: `${id} high`, priority: 'high', source: 'reactor.level', state, active: state === 'unack' || state === 'acked', acked: state === 'acked', activeSince: null, changedAt, value: 1 };
}

let counter = 0;
export function command(device: string, expiresInMs = 5000, id = `cmd-${process.pid}-${Date.now()}-${counter++}`): CommandRequest {
  const now = Date.now();
  return { id, command: 'stop', device, user: 'ana', role: 'operator', params: {}, steps: [{ kind: 'pulse', tag: 'cmd.stop' }], confirmation: 'Stop?', createdAt: now, expiresAt: now + expiresInMs };
}

export function outcome(request: CommandRequest, status: CommandOutcome['status']): CommandOutcome {
  return { id: request.id, command: request.command, device: request.device, user: request.user, params: request.params, status, createdAt: request.createdAt, at: Date.now() };
}

const byTag = (values: TagValue[]): Map<string, TagValue> => new Map(values.map((v) => [v.tag, v]));

export function busContract(name: string, make: MakeBus): void {
  describe(`Bus contract: ${name}`, { timeout: 30_000 }, () => {
    it('keeps the last value of every tag, with quality, timestamps and exception code', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const ts = Date.now();
      await b.publisher.publishValues([value('a', 1.5, 'Good', ts), value('b', true, 'Good', ts), value('c', 'text', 'Good', ts)]);
      await b.publisher.publishValues([value('a', 2.25, 'Good', ts + 1), { ...value('d', null, 'Bad_DeviceFailure', ts + 1), exceptionCode: 2 }]);
      await b.publisher.publishValues([]);
      const snap = byTag(await b.subscriber.snapshot());
      assert.equal(snap.size, 4);
      assert.deepEqual(snap.get('a'), value('a', 2.25, 'Good', ts + 1));
      assert.deepEqual(snap.get('b'), value('b', true, 'Good', ts));
      assert.deepEqual(snap.get('c'), value('c', 'text', 'Good', ts));
      assert.deepEqual(snap.get('d'), { ...value('d', null, 'Bad_DeviceFailure', ts + 1), exceptionCode: 2 });
    });

    it('hands subscribers each batch published after they subscribed, as live deltas, until they unsubscribe', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      await b.publisher.publishValues([value('before', 1)]);
      const got: [TagValue[], ValueBatchInfo][] = [];
      const off = await b.subscriber.subscribeValues((batch, info) => got.push([batch, info]));
      await b.publisher.publishValues([value('x', 1), value('y', 2)]);
      await b.publisher.publishValues([value('x', 3)]);
      await waitFor('two batches', () => got.length === 2);
      assert.deepEqual(got.map(([batch]) => batch.map((v) => `${v.tag}=${String(v.value)}`)), [['x=1', 'y=2'], ['x=3']]);
      assert.ok(got.every(([, info]) => info.resync === false));
      await off();
      await b.publisher.publishValues([value('x', 4)]);
      // Nothing more for 100 ms, many times what the two batches above took to arrive.
      await assertThroughout(100, () => assert.equal(got.length, 2));
    });

    it('a subscriber that throws never reaches the publisher nor the other subscribers', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const seen: string[] = [];
      await b.subscriber.subscribeValues(() => {
        throw new Error('broken subscriber');
      });
      await b.subscriber.subscribeValues((batch) => seen.push(...batch.map((v) => v.tag)));
      await b.publisher.publishValues([value('z', 1)]);
      await waitFor('the healthy subscriber', () => seen.includes('z'));
    });

    it('keeps and announces device statuses', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const got: DeviceStatus[] = [];
      await b.subscriber.subscribeDeviceStatus((s) => got.push(s));
      await b.publisher.publishDeviceStatus(status('plc', 'connecting'));
      await b.publisher.publishDeviceStatus(status('plc', 'connected'));
      await b.publisher.publishDeviceStatus(status('other', 'down'));
      await waitFor('three statuses', () => got.length === 3);
      assert.deepEqual(got.map((s) => `${s.device}:${s.state}`), ['plc:connecting', 'plc:connected', 'other:down']);
      const all = (await b.subscriber.deviceStatuses()).sort((x, y) => x.device.localeCompare(y.device));
      assert.deepEqual(all.map((s) => `${s.device}:${s.state}`), ['other:down', 'plc:connected']);
      assert.deepEqual(all[1], got[1]);
    });

    it('keeps the last state of every alarm and announces changes', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const got: AlarmState[][] = [];
      await b.subscriber.subscribeAlarmStates((s) => got.push(s));
      await b.publisher.publishAlarmStates([alarm('hi', 'unack'), alarm('lo', 'normal')]);
      await b.publisher.publishAlarmStates([alarm('hi', 'acked')]);
      await b.publisher.publishAlarmStates([]);
      await waitFor('two changes', () => got.length === 2);
      assert.deepEqual(got[1]!.map((a) => a.state), ['acked']);
      const states = new Map((await b.subscriber.alarmStates()).map((a) => [a.id, a.state]));
      assert.deepEqual(Object.fromEntries(states), { hi: 'acked', lo: 'normal' });
    });

    it('carries journal entries in order', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const got: JournalEntry[] = [];
      await b.subscriber.subscribeJournal((entries) => got.push(...entries));
      const entry = (seq: number): JournalEntry => ({ seq, ts: Date.now(), kind: 'alarm', source: 'hi', text: `entry ${seq}`, priority: 'high' });
      await b.publisher.publishJournal([entry(1), entry(2)]);
      await b.publisher.publishJournal([]);
      await b.publisher.publishJournal([entry(3)]);
      await waitFor('three entries', () => got.length === 3);
      assert.deepEqual(got.map((e) => e.seq), [1, 2, 3]);
      assert.equal(got[0]!.text, 'entry 1');
    });

    it('delivers commands to the executor and outcomes to every outcome subscriber, in order', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const commands: CommandRequest[] = [];
      await b.subscriber.subscribeCommands((c) => commands.push(c));
      const outcomesA: string[] = [];
      const outcomesB: string[] = [];
      await b.publisher.subscribeCommandOutcomes((o) => outcomesA.push(`${o.id}:${o.status}`));
      await b.subscriber.subscribeCommandOutcomes((o) => outcomesB.push(`${o.id}:${o.status}`));
      const c1 = command('plc');
      const c2 = command('plc');
      await b.publisher.publishCommandOutcome(outcome(c1, 'queued'));
      await b.publisher.submitCommand(c1);
      await b.publisher.submitCommand(c2);
      await waitFor('two commands', () => commands.length === 2);
      assert.deepEqual(commands, [c1, c2]);
      await b.subscriber.publishCommandOutcome(outcome(c1, 'confirmed'));
      await b.subscriber.publishCommandOutcome(outcome(c2, 'expired'));
      const expected = [`${c1.id}:queued`, `${c1.id}:confirmed`, `${c2.id}:expired`];
      await waitFor('three outcomes on both', () => outcomesA.length === 3 && outcomesB.length === 3);
      assert.deepEqual(outcomesA, expected);
      assert.deepEqual(outcomesB, expected);
    });

    it('claims a command once, refuses a second claim and any claim after its expiry', async (t) => {
      const b = await make(t, { devices: ['plc'] });
      if (!b) return;
      const c = command('plc');
      assert.equal(await b.subscriber.claimCommand(c), 'claimed');
      assert.equal(await b.subscriber.claimCommand(c), 'duplicate');
      assert.equal(await b.publisher.claimCommand(c), 'duplicate');
      assert.equal(await b.subscriber.claimCommand(command('plc', -1)), 'expired');
      const late = command('plc', 50);
      await waitFor('its expiry passed', () => Date.now() > late.expiresAt, 2000);
      assert.equal(await b.subscriber.claimCommand(late), 'expired');
    });
  });
}
