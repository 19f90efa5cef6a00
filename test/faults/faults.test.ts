/**
 * Fault injection on loopback, everything in one process as `planta start`
 * runs it (simulated PLC, poller, alarm engine, web). For each fault: the
 * qualities the tags take, the alarms raised, what happens to a command
 * sent meanwhile, and that nothing is lost or written late once it clears.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandOutcome } from '../../src/bus/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { Poller } from '../../src/poller/poller.js';
import { type Misbehaviour, parseMisbehaviour } from '../../src/sim/misbehaviour.js';
import { Simulator } from '../../src/sim/simulator.js';
import { createWebServer } from '../../src/web/server.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

const TIMEOUT = 250;

describe('fault injection', { timeout: 120_000 }, () => {
  let sim: Simulator;
  let port: number;
  let config: PlantConfig;
  let bus: MemoryBus;
  let poller: Poller;
  let store: AlarmStore;
  let engine: AlarmEngine;
  let app: FastifyInstance;

  before(async () => {
    sim = new Simulator({ port: 0, autostart: false });
    port = (await sim.start()).port;
    config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: TIMEOUT, connectTimeoutMs: 300, scanGroups: { fast: 50, settings: 200 } });
    bus = new MemoryBus();
    store = new AlarmStore(':memory:');
    engine = new AlarmEngine({ bus, config, store, commDelayMs: 500, tickMs: 50 });
    await engine.start();
    poller = new Poller(config, { bus });
    await poller.start();
    ({ app } = await createWebServer({ bus, config, alarms: engine, identify: () => ({ user: 'ana', role: 'engineer' }) }));
  });
  after(async () => {
    await app.close();
    await poller.stop();
    await engine.stop();
    store.close();
    await sim.stop();
  });

  const qualities = async (): Promise<Set<string>> => new Set((await bus.snapshot()).map((v) => v.quality));
  const allGood = async (): Promise<boolean> => {
    const q = await qualities();
    return q.size === 1 && q.has('Good');
  };
  const alarm = async (id: string) => (await bus.alarmStates()).find((a) => a.id === id)!;
  const command = async (command: string, params: object = {}): Promise<CommandOutcome> => {
    const id = `fault-${Math.random().toString(36).slice(2, 12)}`;
    const res = await app.inject({ method: 'POST', url: '/api/commands', payload: { id, command, params } });
    assert.equal(res.statusCode, 202, res.body);
    return waitFor(`the outcome of ${command}`, async () => {
      const o = (await app.inject(`/api/commands/${id}`)).json() as CommandOutcome;
      return o.status !== 'queued' ? o : undefined;
    }, 10_000, 20);
  };
  const lastWrite = () => sim.writes.list().at(-1)?.seq ?? 0;

  /** Applies a misbehaviour until every tag has the expected quality, then checks recovery. */
  async function fault(mode: Misbehaviour, expect: string[], commandOutcomes: string[]): Promise<void> {
    await waitFor('good before', allGood, 10_000);
    sim.misbehaviour = mode;
    const q = await waitFor(`every tag bad under ${mode.mode}`, async () => {
      const set = await qualities();
      return [...set].every((x) => x.startsWith('Bad_')) ? set : undefined;
    }, 5000, 10);
    assert.ok([...q].every((x) => expect.includes(x)), `${mode.mode}: ${[...q].join(', ')}`);
    const mark = lastWrite();
    const o = await command('reset_partial_volume');
    assert.ok(commandOutcomes.includes(o.status), `${mode.mode}: command ${o.status} (${o.reason})`);
    sim.misbehaviour = { mode: 'normal' };
    await waitFor('good again', allGood, 10_000);
    // Something that must NOT happen: a late second write once the link is good, within longer than a command takes.
    await assertThroughout(300, () => assert.ok(sim.writes.list(mark).length <= 1, 'at most the one write of that command, never a late second'));
  }

  it('link cut (the PLC is gone): no communication, the communication alarm, commands expire; recovery', async () => {
    await waitFor('good before', allGood, 10_000);
    await sim.stop();
    await waitFor('no communication', async () => (await qualities()).has('Bad_NoCommunication') && (await qualities()).size === 1, 3000, 10);
    await waitFor('communication alarm', async () => (await alarm('comm.plc')).state === 'unack', 3000);
    assert.equal((await alarm('estop')).state, 'unknown', 'an alarm whose source is bad is unknown, not normal');
    const o = await command('silence_horn');
    assert.equal(o.status, 'expired');
    sim = new Simulator({ port, autostart: false });
    await sim.start();
    await waitFor('good again', allGood, 10_000);
    assert.equal((await alarm('comm.plc')).state, 'rtn-unack', 'returned, waiting for an acknowledgement');
    // Something that must NOT happen: the expired command written once the PLC is back, within longer than a command takes.
    await assertThroughout(300, () => assert.deepEqual(sim.writes.list(), [], 'the expired command never reached the PLC after it came back'));
  });

  it('half-open TCP (silent device)', () => fault(parseMisbehaviour('silent'), ['Bad_Timeout', 'Bad_NoCommunication'], ['expired', 'failed']));
  it('answers slower than the timeout', () => fault(parseMisbehaviour(`slow:${TIMEOUT * 3}`), ['Bad_Timeout', 'Bad_NoCommunication'], ['expired', 'failed']));
  it('exception 04 (device failure)', () => fault(parseMisbehaviour('exception:4'), ['Bad_DeviceFailure'], ['failed']));
  it('exception 06 (busy)', () => fault(parseMisbehaviour('exception:6'), ['Bad_DeviceFailure'], ['failed']));
  it('garbage replies', () => fault(parseMisbehaviour('garbage'), ['Bad_CommunicationError'], ['failed']));
  it('random bytes', () => fault(parseMisbehaviour('noise'), ['Bad_Timeout', 'Bad_NoCommunication', 'Bad_CommunicationError'], ['failed', 'expired']));

  it('PLC restart that resets its registers: the new values are read, nothing is restored behind the PLC\'s back', async () => {
    await waitFor('good before', allGood, 10_000);
    const edited = await app.inject({ method: 'POST', url: '/api/commands/select', payload: { command: 'edit_limits', params: { oxygen_min: 3, oxygen_max: 7, turbidity_max: 12 } } });
    const token = edited.json().token as string;
    await app.inject({ method: 'POST', url: '/api/commands/operate', payload: { id: 'restart-limits-1', token, command: 'edit_limits', params: { oxygen_min: 3, oxygen_max: 7, turbidity_max: 12 } } });
    await waitFor('limits edited', async () => (await bus.snapshot()).find((v) => v.tag === 'limits.oxygen_min')?.value === 3, 5000);
    const mark = lastWrite();
    sim.restart();
    await waitFor('power-on limits read back', async () => (await bus.snapshot()).find((v) => v.tag === 'limits.oxygen_min')?.value === 2, 10_000);
    await waitFor('good', allGood, 10_000);
    assert.deepEqual(sim.writes.list(mark), [], 'Planta never writes on its own, not even to restore');
  });

});
