/** The alarm engine on the bus, with SQLite, a fake clock and the SBR configuration. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AlarmActionError, AlarmEngine } from '../../src/alarms/engine.js';
import { alarmRates } from '../../src/alarms/rates.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { AlarmState, DeviceStatus, JournalEntry } from '../../src/bus/types.js';
import { loadConfig } from '../../src/config/load.js';
import type { TagValue } from '../../src/tags/types.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const flush = () => new Promise((r) => setImmediate(r));

async function setup(t: TestContext, dbPath = ':memory:', bus = new MemoryBus()) {
  let now = 1_000_000;
  const store = new AlarmStore(dbPath);
  const engine = new AlarmEngine({ bus, config, store, now: () => now, tickMs: 3_600_000 });
  const journal: JournalEntry[] = [];
  const states = new Map<string, AlarmState>();
  await bus.subscribeJournal((e) => journal.push(...e));
  await bus.subscribeAlarmStates((s) => s.forEach((x) => states.set(x.id, x)));
  await engine.start();
  t.after(async () => {
    await engine.stop();
    store.close();
  });
  const publish = async (values: Record<string, number | boolean | null>, quality: TagValue['quality'] = 'Good') => {
    await bus.publishValues(Object.entries(values).map(([tag, value]) => ({ tag, value, quality, sourceTs: now, serverTs: now })));
    await flush();
  };
  const advance = (ms: number) => {
    now += ms;
    engine.tick();
  };
  return { bus, engine, store, journal, states, publish, advance, now: () => now };
}

const device = (state: DeviceStatus['state']): DeviceStatus => ({
  device: 'plc', state, connectedSince: null, lastError: state === 'down' ? { code: 'PLANTA_MODBUS_CONNECTION', message: 'refused', at: 0 } : null,
  requests: 0, responses: 0, errors: { timeout: 0, connection: 0, protocol: 0, exception: {} }, latencyMs: { p50: null, p99: null },
  reconnects: 0, scans: 0, overruns: 0, jitterMs: { p50: null, p99: null }, qualities: {}, updatedAt: 0,
});

describe('alarm engine', { timeout: 20_000 }, () => {
  it('configures the 22 PLC alarms, 3 limit alarms and one communication alarm', async (t) => {
    const { engine } = await setup(t);
    const ids = engine.states().map((s) => s.id);
    assert.equal(ids.length, 26);
    assert.ok(ids.includes('estop') && ids.includes('oxygen_low') && ids.includes('comm.plc'));
    assert.equal(engine.states().find((s) => s.id === 'estop')!.priority, 'critical');
  });

  it('a pump failure: active unacknowledged, acknowledged by an operator (no PLC write), cleared, journaled in order', async (t) => {
    const { engine, publish, journal, states, bus } = await setup(t);
    const written: unknown[] = [];
    await bus.subscribeCommands((c) => written.push(c));
    await publish({ 'alarm.inlet_pump_1': false });
    await publish({ 'alarm.inlet_pump_1': true });
    assert.equal(states.get('inlet_pump_1')!.state, 'unack');
    assert.throws(() => engine.acknowledge({ user: 'vic', role: 'viewer' }, ['inlet_pump_1']), (e: unknown) => e instanceof AlarmActionError && e.code === 'PLANTA_ALARM_FORBIDDEN');
    engine.acknowledge({ user: 'ana', role: 'operator' }, ['inlet_pump_1'], 'seen, electrician called');
    await flush();
    assert.equal(states.get('inlet_pump_1')!.state, 'acked');
    assert.deepEqual(states.get('inlet_pump_1')!.ack?.user, 'ana');
    await publish({ 'alarm.inlet_pump_1': false });
    assert.equal(states.get('inlet_pump_1')!.state, 'normal');
    assert.deepEqual(journal.filter((e) => e.source === 'inlet_pump_1').map((e) => [e.kind, e.user ?? '']), [
      ['alarm', ''],
      ['ack', 'ana'],
      ['return', ''],
    ]);
    assert.deepEqual(written, [], 'acknowledging writes nothing');
    assert.ok(journal.every((e, i) => i === 0 || e.seq > journal[i - 1]!.seq));
  });

  it('phase changes, command outcomes and connection changes go to the journal', async (t) => {
    const { publish, journal, bus } = await setup(t);
    await publish({ 'phase.fill': true, 'phase.aeration': false, 'reactor.oxygen': 5, 'limits.oxygen_min': 2, 'limits.oxygen_max': 8 });
    await publish({ 'phase.fill': false, 'phase.aeration': true });
    await bus.publishCommandOutcome({ id: 'x1234567', command: 'stop_cycle', device: 'plc', user: 'ana', params: {}, status: 'confirmed', createdAt: 1, at: 2 });
    await bus.publishDeviceStatus(device('connected'));
    await bus.publishDeviceStatus(device('down'));
    await flush();
    assert.deepEqual(journal.map((e) => [e.kind, e.text]), [
      ['event', 'Reactor in aeration'],
      ['command', 'command stop_cycle: confirmed'],
      ['device', 'plc: connection lost — refused'],
      // At once: a device is down only after its link-loss time without a valid reply, which is the alarm's delay.
      ['alarm', `No communication with plc (${config.devices[0]!.description})`],
    ]);
  });

  it('analog limit against a limit tag, with its delay and suppression by design', async (t) => {
    const { publish, advance, states } = await setup(t);
    await publish({ 'phase.aeration': true, 'limits.oxygen_min': 2, 'limits.oxygen_max': 8, 'reactor.oxygen': 5 });
    assert.equal(states.get('oxygen_low')?.state ?? 'normal', 'normal');
    await publish({ 'reactor.oxygen': 1.5 });
    advance(60_000);
    assert.notEqual(states.get('oxygen_low')?.state, 'unack', 'the 2 minute on-delay holds');
    advance(60_000);
    await flush();
    assert.equal(states.get('oxygen_low')!.state, 'unack');
    await publish({ 'phase.aeration': false });
    assert.equal(states.get('oxygen_low')!.state, 'suppressed');
    await publish({ 'reactor.turbidity': 25, 'limits.turbidity_max': 10, 'phase.discharge': false });
    advance(60_000);
    await flush();
    assert.equal(states.get('turbidity_high')!.state, 'suppressed', 'turbid mixed liquor outside discharge is no alarm');
  });

  it('bad quality: unknown, and a communication-loss alarm per device', async (t) => {
    const { publish, advance, bus, states } = await setup(t);
    await publish({ 'alarm.estop': false });
    await publish({ 'alarm.estop': null }, 'Bad_NoCommunication');
    assert.equal(states.get('estop')!.state, 'unknown');
    await bus.publishDeviceStatus(device('down'));
    await flush();
    advance(3000);
    await flush();
    assert.equal(states.get('comm.plc')!.state, 'unack');
    await bus.publishDeviceStatus(device('connected'));
    await flush();
    assert.equal(states.get('comm.plc')!.state, 'rtn-unack');
  });

  it('the communication alarm follows the link at once; a poller restarting (connecting) ends nothing, valid replies (connected) do', async (t) => {
    const { bus, states, journal } = await setup(t);
    await bus.publishDeviceStatus(device('connected'));
    await flush();
    await bus.publishDeviceStatus(device('down'));
    await flush();
    // No delay of its own: the device is down only after its link-loss time without a valid reply.
    assert.equal(states.get('comm.plc')!.state, 'unack');
    await bus.publishDeviceStatus(device('connecting'));
    await flush();
    assert.equal(states.get('comm.plc')!.state, 'unack', 'a poller waiting for its first reply says nothing of the link yet');
    await bus.publishDeviceStatus(device('down'));
    await bus.publishDeviceStatus(device('connected'));
    await flush();
    assert.equal(states.get('comm.plc')!.state, 'rtn-unack');
    assert.deepEqual(journal.filter((e) => e.source === 'comm.plc').map((e) => e.kind), ['alarm', 'return'], 'raised once, returned once');
  });

  it('"waiting for initial data" from a poller that (re)started leaves the alarms as they are until its first read', async (t) => {
    const { publish, states, journal } = await setup(t);
    await publish({ 'alarm.estop': false });
    await publish({ 'alarm.estop': true });
    assert.equal(states.get('estop')!.state, 'unack');
    await publish({ 'alarm.estop': null }, 'Bad_WaitingForInitialData');
    assert.equal(states.get('estop')!.state, 'unack', 'no flash to unknown');
    await publish({ 'alarm.estop': null }, 'Bad_NoCommunication');
    assert.equal(states.get('estop')!.state, 'unknown', 'a read that failed is news');
    assert.deepEqual(journal.filter((e) => e.source === 'estop').map((e) => e.kind), ['alarm', 'unknown']);
  });

  it('shelving expires by itself; out of service needs an engineer', async (t) => {
    const { engine, publish, advance, states } = await setup(t);
    await publish({ 'alarm.foam_valve': true });
    assert.throws(() => engine.shelve({ user: 'ana', role: 'operator' }, 'foam_valve', '', 600_000), /reason/);
    assert.throws(() => engine.shelve({ user: 'ana', role: 'operator' }, 'foam_valve', 'x', 48 * 3_600_000), /between 1 minute and 24 hours/);
    engine.shelve({ user: 'ana', role: 'operator' }, 'foam_valve', 'valve replaced tomorrow', 600_000);
    await flush();
    assert.equal(states.get('foam_valve')!.state, 'shelved');
    advance(600_000);
    await flush();
    assert.equal(states.get('foam_valve')!.state, 'unack');
    assert.throws(() => engine.removeFromService({ user: 'ana', role: 'operator' }, 'foam_valve', 'removed'), /needs engineer/);
    engine.removeFromService({ user: 'eve', role: 'engineer' }, 'foam_valve', 'valve removed');
    await flush();
    assert.equal(states.get('foam_valve')!.state, 'out-of-service');
  });

  it('alarm states and unacknowledged alarms survive a restart; the journal too', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-alarms-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'planta.db');
    const first = await setup(t, db);
    await first.publish({ 'alarm.chlorine_doser': true, 'alarm.estop': true });
    first.engine.acknowledge({ user: 'ana', role: 'operator' }, ['estop']);
    await first.engine.stop();
    first.store.close();
    const second = await setup(t, db);
    const s = new Map(second.engine.states().map((x) => [x.id, x]));
    assert.equal(s.get('chlorine_doser')!.state, 'unack');
    assert.equal(s.get('estop')!.state, 'acked');
    await second.publish({ 'alarm.chlorine_doser': true });
    assert.equal(second.journal.filter((e) => e.kind === 'alarm').length, 0, 'the same condition after a restart is not a new alarm');
    assert.equal(second.engine.journal({ search: 'chlorine' }).length, 1, 'the journal kept the first run');
  });

  it('journal queries: time range, search, paging', async (t) => {
    const { publish, engine, advance } = await setup(t);
    for (let i = 0; i < 5; i++) {
      await publish({ 'alarm.outlet_pump_1': true });
      advance(1000);
      await publish({ 'alarm.outlet_pump_1': false });
      advance(1000);
    }
    const all = engine.journal({ search: 'outlet well pump 1' });
    assert.equal(all.length, 10);
    assert.ok(all[0]!.seq > all[9]!.seq, 'newest first');
    assert.equal(engine.journal({ search: 'pump outlet', limit: 3 }).length, 3, 'words in any order; the limit holds');
    assert.equal(engine.journal({ search: 'outlet compressor' }).length, 0, 'every word must appear');
    const page = engine.journal({ search: 'outlet', before: all[4]!.seq });
    assert.deepEqual(page.map((e) => e.seq), all.slice(5).map((e) => e.seq));
    assert.equal(engine.journal({ search: '100%_' }).length, 0, 'LIKE wildcards are searched literally');
  });
});

describe('alarm-rate figures', () => {
  it('a flood, chattering, the top ten, priorities', () => {
    const from = 0;
    const to = 3_600_000;
    const acts = [
      // 200 in one minute: a flood.
      ...Array.from({ length: 200 }, (_, i) => ({ ts: 600_000 + i * 300, source: `a${i % 20}`, priority: i % 20 === 0 ? 'critical' : 'low' })),
      { ts: 3_000_000, source: 'lonely', priority: 'high' },
    ];
    const r = alarmRates(acts, [], from, to);
    assert.equal(r.activations, 201);
    assert.ok(Math.abs(r.averagePer10Min - 201 / 6) < 1e-9);
    assert.equal(r.peakPer10Min, 200);
    // In flood from the 11th activation (t = 603 s) until the 190th leaves the 10-minute window (t = 1256.7 s).
    assert.ok(Math.abs(r.floodTimeShare - (1256.7 - 603) / 3600) < 1e-6, String(r.floodTimeShare));
    assert.equal(r.chattering.length, 20);
    assert.equal(r.chattering[0]!.maxPerMinute, 10);
    assert.equal(r.top10.length, 10);
    assert.ok(Math.abs(r.top10Share - 100 / 201) < 1e-9);
    assert.deepEqual(r.priorities, { critical: 10, high: 1, medium: 0, low: 190 });
    assert.equal(r.rating, 'overloaded');
    assert.equal(r.buckets.length, 60);
    assert.equal(r.buckets[10], 200);
    const quiet = alarmRates([{ ts: 10, source: 'x', priority: 'low' }], [], 0, 3_600_000);
    assert.equal(quiet.rating, 'acceptable');
    assert.equal(quiet.floodTimeShare, 0);
  });
});
