/**
 * Alarms against the simulated PLC: a pump failure from injection to normal,
 * the horn silenced through the command path (coil 23 pulsed, the alarm
 * still active), phase changes journaled in order, and a flood of 200.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { AlarmState, CommandOutcome, JournalEntry } from '../../src/bus/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { Poller } from '../../src/poller/poller.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { RateFigures } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { waitFor } from '../helpers/wait.js';

describe('alarms against the simulator', { timeout: 90_000 }, () => {
  let sim: Simulator;
  let config: PlantConfig;
  let bus: MemoryBus;
  let poller: Poller;
  let store: AlarmStore;
  let engine: AlarmEngine;
  let app: FastifyInstance;

  before(async () => {
    // 6000×: the default program's phases last 0.3–0.9 s.
    sim = new Simulator({ port: 0, speed: 6000, scanMs: 10 });
    const { port } = await sim.start();
    config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 300, scanGroups: { fast: 20, settings: 200 } });
    bus = new MemoryBus();
    store = new AlarmStore(':memory:');
    engine = new AlarmEngine({ bus, config, store, tickMs: 50 });
    await engine.start();
    poller = new Poller(config, { bus });
    await poller.start();
    ({ app } = await createWebServer({ bus, config, alarms: engine, identify: () => ({ user: 'ana', role: 'operator' }) }));
    await waitFor('the first reads', async () => (await bus.alarmStates()).find((a) => a.id === 'estop')?.state === 'normal', 5000);
  });
  after(async () => {
    await app.close();
    await poller.stop();
    await engine.stop();
    store.close();
    await sim.stop();
  });

  const state = async (id: string): Promise<AlarmState> => (await bus.alarmStates()).find((a) => a.id === id)!;
  const post = async (url: string, payload: object) => (await app.inject({ method: 'POST', url, payload })).json() as unknown;

  it('a pump failure: unack → silenced (coil 23 pulsed, still active) → acked → normal', async () => {
    sim.plant!.setFault(FAULTS['inlet-pump-1']!, true);
    await waitFor('unacknowledged', async () => (await state('inlet_pump_1')).state === 'unack', 3000);
    assert.equal(sim.plant!.state().hornSounding, true);
    const mark = sim.writes.list().at(-1)?.seq ?? 0;
    const id = `silence-${Date.now()}`;
    await post('/api/commands', { id, command: 'silence_horn' });
    const outcome = await waitFor('silenced', async () => {
      const o = (await app.inject(`/api/commands/${id}`)).json() as CommandOutcome;
      return o.status === 'confirmed' ? o : undefined;
    }, 5000);
    assert.equal(outcome.user, 'ana');
    assert.deepEqual(sim.writes.list(mark).map((w) => [w.fc, w.address, w.values]), [[5, 23, [true]]]);
    assert.equal(sim.plant!.state().hornSounding, false);
    assert.equal((await state('inlet_pump_1')).state, 'unack', 'silencing is not acknowledging');
    const acked = (await post('/api/alarms/ack', { ids: ['inlet_pump_1'] })) as AlarmState[];
    assert.equal(acked[0]!.state, 'acked');
    assert.equal(sim.writes.list(mark).length, 1, 'acknowledging wrote nothing to the PLC');
    sim.plant!.setFault(FAULTS['inlet-pump-1']!, false);
    await waitFor('normal', async () => (await state('inlet_pump_1')).state === 'normal', 3000);
    const trail = engine.journal({ search: 'inlet well pump 1' }).reverse().map((e) => e.kind);
    assert.deepEqual(trail, ['alarm', 'ack', 'return']);
    assert.ok(engine.journal({ kinds: ['command'], search: 'silence_horn confirmed' }).length === 1);
  });

  it('phase changes appear in the journal in order', async () => {
    const seen = await waitFor('a whole cycle of phase events', () => {
      const texts = engine.journal({ kinds: ['event'], limit: 50 }).reverse().map((e) => e.text);
      const i = texts.indexOf('Reactor in aeration');
      const cycle = ['Reactor in aeration', 'Reactor in settling', 'Reactor in discharge', 'Reactor in aerated fill'];
      return i >= 0 && texts.slice(i, i + 4).join() === cycle.join() ? texts : undefined;
    }, 20_000, 100);
    assert.ok(seen.length >= 4);
  });

  it('a flood of 200 alarms: the journal keeps every one, the figures show the flood', async () => {
    const journal: JournalEntry[] = [];
    await bus.subscribeJournal((e) => journal.push(...e.filter((x) => x.kind === 'alarm')));
    // Faults without side effects on the process (no aerator, valve, level or emergency stop).
    const names = ['generator', 'high-level-inlet', 'high-level-equalisation', 'high-level-outlet', 'inlet-pump-2', 'transfer-pump-1', 'equalisation-aerator', 'foam-valve', 'chlorine-doser', 'recirculation-valve'];
    const bits = names.map((n) => FAULTS[n]!);
    const t0 = Date.now();
    // 10 equipment alarms raised and cleared 20 times: 200 activations within seconds.
    for (let round = 0; round < 20; round++) {
      for (const b of bits) sim.plant!.setFault(b, true);
      await waitFor('all up', async () => (await bus.alarmStates()).filter((a) => a.active === true).length === bits.length, 3000, 5);
      for (const b of bits) sim.plant!.setFault(b, false);
      await waitFor('all down', async () => (await bus.alarmStates()).filter((a) => a.active === true).length === 0, 3000, 5);
    }
    const raised = bits.length * 20;
    await waitFor(`${raised} activations journaled`, () => journal.length >= raised, 5000);
    assert.equal(journal.length, raised);
    assert.equal(engine.journal({ kinds: ['alarm'], from: t0, limit: 5000 }).length, raised, 'all of them persisted');
    const rates = (await app.inject(`/api/alarms/rates?from=${t0 - 1}&to=${Date.now()}`)).json() as RateFigures;
    assert.equal(rates.activations, raised);
    assert.ok(rates.peakPer10Min >= raised);
    assert.ok(rates.floodTimeShare > 0.5, `in flood ${rates.floodTimeShare}`);
    assert.equal(rates.rating, 'overloaded');
    assert.equal(rates.chattering.length, bits.length);
  });
});
