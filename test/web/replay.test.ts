/**
 * Incident replay over HTTP (issue 27): the snapshot at a moment equals
 * what the live stream showed at that moment (the stream recorded here,
 * against the simulated SBR plant running through an e-stop and its
 * acknowledgement, compared at random moments); bad and missing values are
 * said as such; who sees command entries; the replay stream in the live
 * stream's format; and bad moments or speeds refused with stable codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlarmState } from '../../src/bus/alarm-messages.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import type { TagValueType } from '../../src/tags/types.js';
import type { ReplayClock, StreamDelta, StreamSnapshot, StreamValue } from '../../src/web/protocol.js';
import type { ReplayState } from '../../src/web/replay-state.js';
import type { ReplayEvents } from '../../src/web/replay.js';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import { openHistorian } from '../../src/historian/index.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { wiredServer } from './wired.js';

interface Seen {
  ts: number;
  value: TagValueType | null;
  quality: string;
}

/** What the live stream said of each tag, in arrival order, with each value's own time. */
function decode(v: StreamValue, t: number): Seen {
  return v.length === 2 ? { ts: t, value: v[1], quality: 'Good' } : { ts: v[3], value: v[1], quality: v[2] };
}

/** The value a tag showed at `t`: the last one received whose time is at or before t. */
function shownAt(list: readonly Seen[], t: number): Seen | undefined {
  let out: Seen | undefined;
  for (const s of list) if (s.ts <= t && (!out || s.ts >= out.ts)) out = s;
  return out;
}

describe('incident replay over HTTP', { timeout: 180_000 }, () => {
  it('the snapshot at T equals what the live stream showed at T, for random T through an e-stop and its acknowledgement', async (t) => {
    // The simulated SBR PLC, the poller, the alarm engine, the historian and the web server, as `planta start` wires them.
    const sim = new Simulator({ port: 0, speed: 600, autostart: true });
    const simPort = (await sim.start()).port;
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port: simPort, timeoutMs: 300, connectTimeoutMs: 500, linkLossMs: 3000, scanGroups: { fast: 200, settings: 1000 } });
    const bus = new MemoryBus();
    const alarmStore = new AlarmStore(':memory:');
    const engine = new AlarmEngine({ bus, config, store: alarmStore, tickMs: 100 });
    await engine.start();
    const { historian } = openHistorian(config, { path: ':memory:' });
    await historian.attach(bus);
    const poller = new Poller(config, { bus });
    await poller.start();
    const web = await createWebServer({ bus, config, historian, alarms: engine });
    await web.app.listen({ host: '127.0.0.1', port: 0 });
    const plant = { webPort: (web.app.server.address() as { port: number }).port, bus, config, historian, alarms: engine, sim };
    t.after(async () => {
      await web.app.close();
      await poller.stop();
      await engine.stop();
      await historian.close();
      alarmStore.close();
      await sim.stop();
      await bus.close();
    });
    const base = `http://127.0.0.1:${plant.webPort}`;
    // Every alarm known (the first reads taken) before the recording starts: before that the engine itself does not know.
    await waitFor('every alarm known', async () => (await plant.bus.alarmStates()).every((a) => a.state !== 'unknown'), 20_000);
    const live = await openStream(plant.webPort);
    t.after(() => live.close());
    await live.waitEvents(1);
    const snap = JSON.parse(live.events[0]!.data) as StreamSnapshot;
    const names = snap.tags;
    const seen: Seen[][] = names.map(() => []);
    const alarmsSeen = new Map<string, AlarmState[]>();
    const note = (list: AlarmState[]): void => {
      for (const a of list) alarmsSeen.set(a.id, [...(alarmsSeen.get(a.id) ?? []), a]);
    };
    const read = (from: number): number => {
      for (let i = from; i < live.events.length; i++) {
        const e = live.events[i]!;
        if (e.event === 'snapshot') {
          const s = JSON.parse(e.data) as StreamSnapshot;
          for (const v of s.values) seen[v[0]]!.push(decode(v, s.t));
          note(s.alarms);
        } else if (e.event === 'delta') {
          const d = JSON.parse(e.data) as StreamDelta;
          for (const v of d.values) seen[v[0]]!.push(decode(v, d.t));
        } else if (e.event === 'alarms') note(JSON.parse(e.data) as AlarmState[]);
      }
      return live.events.length;
    };
    const started = Date.now();
    await waitFor('2 s of the running plant', () => Date.now() - started > 2000 && live.events.length > 20, 20_000);
    const estopAt = Date.now();
    plant.sim.plant!.setFault(FAULTS.estop!, true);
    await waitFor('the e-stop alarm', async () => (await plant.bus.alarmStates()).find((a) => a.id === 'estop')?.state === 'unack', 10_000);
    // The operator acknowledges 2 s after the press (a pace: the moment T + 1 s must still show it unacknowledged).
    await waitFor('2 s after the press', () => Date.now() - estopAt > 2000, 10_000);
    await plant.alarms.acknowledge({ user: 'ana', role: 'operator' }, ['estop']);
    await waitFor('1 s more', () => Date.now() - estopAt > 3500, 10_000);
    const end = Date.now() - 200;
    await plant.historian.flush();
    await waitFor('the live stream caught up', () => live.events.length > 0);
    read(0);

    const moments = [estopAt - 1000, estopAt + 1000];
    for (let i = 0; i < 12; i++) moments.push(started + Math.floor(Math.random() * (end - started)));
    for (const at of moments) {
      const res = await fetch(`${base}/api/replay/state?at=${at}`);
      assert.equal(res.status, 200, await res.clone().text());
      const state = (await res.json()) as ReplayState;
      assert.deepEqual(state.tags, names);
      assert.equal(state.at, at);
      for (const v of state.values) {
        const tag = plant.config.tags[v[0]]!;
        if (tag.type === 'string') continue; // not recorded
        const replayed = decode(v, state.t);
        const shown = shownAt(seen[v[0]]!, at);
        assert.ok(shown, `${tag.name}: the live stream had a value at ${at}`);
        assert.deepEqual({ value: replayed.value, quality: replayed.quality }, { value: shown.value, quality: shown.quality }, `${tag.name} at ${new Date(at).toISOString()}`);
        assert.ok(replayed.ts <= at, `${tag.name}: never a value from after the moment`);
      }
      for (const a of state.alarms) {
        const list = alarmsSeen.get(a.id) ?? [];
        let shown: AlarmState | undefined;
        for (const x of list) if (x.changedAt <= at) shown = x;
        assert.equal(a.state, shown?.state ?? 'normal', `alarm ${a.id} at ${new Date(at).toISOString()}`);
      }
    }
    const before = (await (await fetch(`${base}/api/replay/state?at=${estopAt - 1000}`)).json()) as ReplayState;
    const after = (await (await fetch(`${base}/api/replay/state?at=${estopAt + 1000}`)).json()) as ReplayState;
    assert.equal(before.alarms.find((a) => a.id === 'estop')!.state, 'normal');
    assert.equal(after.alarms.find((a) => a.id === 'estop')!.state, 'unack');

    // The next event after the e-stop's second is the operator's acknowledgement (with who did it).
    const next = (await (await fetch(`${base}/api/replay/events?from=${estopAt + 1000}&limit=50`)).json()) as ReplayEvents;
    const ack = next.entries.find((e) => e.kind === 'ack');
    assert.ok(ack && ack.source === 'estop' && ack.user === 'ana', JSON.stringify(next.entries));

    // The replay stream: the same snapshot first, then deltas and alarm changes, and it ends when it reaches the present.
    const stream = await openStream(plant.webPort, { path: `/api/replay/stream?from=${estopAt - 1000}&speed=10` });
    t.after(() => stream.close());
    const done = await waitFor('the replay reaching the present', () => stream.events.find((e) => e.event === 'replay' && (JSON.parse(e.data) as ReplayClock).end), 30_000);
    assert.ok(done);
    assert.equal(stream.events[0]!.event, 'snapshot');
    assert.deepEqual((JSON.parse(stream.events[0]!.data) as StreamSnapshot).values, before.values);
    assert.ok(stream.events.some((e) => e.event === 'delta'));
    const changes = stream.events.filter((e) => e.event === 'alarms').flatMap((e) => JSON.parse(e.data) as AlarmState[]);
    assert.deepEqual(changes.filter((a) => a.id === 'estop').map((a) => a.state), ['unack', 'acked']);
    const clocks = stream.events.filter((e) => e.event === 'replay').map((e) => (JSON.parse(e.data) as ReplayClock).t);
    for (let i = 1; i < clocks.length; i++) assert.ok(clocks[i]! >= clocks[i - 1]!, 'the replay moves forward');
  });

  it('a bad value is shown bad, a tag never recorded as waiting, a value the recorder stopped repeating as stale; nothing from after T', async (t) => {
    const w = await wiredServer(t, { anonymous: 'any' });
    const { historian } = openHistorian(w.config, { path: ':memory:' });
    t.after(() => historian.close());
    const store = new AlarmStore(':memory:');
    const alarms = new AlarmEngine({ bus: w.bus, config: w.config, store });
    await alarms.start();
    const web = await createWebServer({ bus: w.bus, config: w.config, historian, alarms });
    t.after(async () => {
      await web.app.close();
      await alarms.stop();
      store.close();
    });
    const now = Date.now();
    const T = now - 3_600_000;
    historian.ingest([
      { tag: 'reactor.level', value: 2.5, quality: 'Good', sourceTs: T - 10_000, serverTs: 0 },
      { tag: 'reactor.oxygen', value: 1.8, quality: 'Good', sourceTs: T - 10_000, serverTs: 0 },
      { tag: 'reactor.turbidity', value: 3, quality: 'Good', sourceTs: T - 600_000, serverTs: 0 },
    ]);
    historian.ingest([
      { tag: 'reactor.oxygen', value: null, quality: 'Bad_NoCommunication', sourceTs: T - 5000, serverTs: 0 },
      { tag: 'reactor.level', value: 9.9, quality: 'Good', sourceTs: T + 1, serverTs: 0 },
    ]);
    await historian.flush();
    const res = await web.app.inject({ url: `/api/replay/state?at=${new Date(T).toISOString()}` });
    assert.equal(res.statusCode, 200, res.body);
    const s = res.json<ReplayState>();
    const of = (name: string): StreamValue => s.values[s.tags.indexOf(name)]!;
    assert.deepEqual(of('reactor.level'), [s.tags.indexOf('reactor.level'), 2.5, 'Good', T - 10_000], 'the value at T, not the one 1 ms later');
    assert.deepEqual(of('reactor.oxygen'), [s.tags.indexOf('reactor.oxygen'), null, 'Bad_NoCommunication', T - 5000]);
    assert.deepEqual(of('reactor.turbidity'), [s.tags.indexOf('reactor.turbidity'), 3, 'Uncertain_LastUsableValue', T - 600_000], 'not repeated for 10 min: stale');
    assert.deepEqual(of('volume.total'), [s.tags.indexOf('volume.total'), null, 'Bad_WaitingForInitialData', 0], 'never recorded');
    assert.deepEqual(s.devices, [], 'device statuses are not recorded: none rather than today’s');
  });

  it('viewers and up; command entries only for those who may read the audit trail; bad moments and speeds refused with stable codes', async (t) => {
    const w = await wiredServer(t);
    const port = await w.listen();
    const at = Date.now() - 1000;
    await w.bus.publishCommandOutcome({ id: 'c1', command: 'start_program', device: 'plc', user: 'ana', params: { program: 2 }, status: 'confirmed', createdAt: at - 10, at });
    await waitFor('the command journalled', async () => {
      const e = await w.app.inject({ url: `/api/replay/events?from=${at - 5000}`, headers: await w.as('engineer') });
      return e.json<ReplayEvents>().entries.some((x) => x.kind === 'command');
    });
    const url = `/api/replay/events?from=${at - 5000}`;
    assert.equal((await w.app.inject({ url })).statusCode, 401, 'not without signing in');
    for (const role of ['viewer', 'operator'] as const) {
      const res = await w.app.inject({ url, headers: await w.as(role) });
      assert.equal(res.statusCode, 200);
      assert.ok(!res.json<ReplayEvents>().entries.some((x) => x.kind === 'command'), `${role}: no command entries`);
      assert.equal(res.json<ReplayEvents>().audit, undefined, `${role}: no audit trail`);
    }
    for (const role of ['engineer', 'admin'] as const) {
      const res = await w.app.inject({ url, headers: await w.as(role) });
      assert.ok(res.json<ReplayEvents>().entries.some((x) => x.kind === 'command' && x.user === 'ana'), `${role}: the command entry`);
      // The audit trail of the window: the sign-ins of this test, oldest first.
      const audit = res.json<ReplayEvents>().audit ?? [];
      assert.ok(audit.some((a) => a.actor === role), `${role}: the audit trail's entries, with this sign-in: ${JSON.stringify(audit.map((a) => [a.actor, a.action]))}`);
      for (let i = 1; i < audit.length; i++) assert.ok(audit[i]!.ts >= audit[i - 1]!.ts, 'oldest first');
    }
    const viewer = await w.as('viewer');
    assert.equal((await w.app.inject({ url: `/api/replay/state?at=${at}`, headers: viewer })).statusCode, 200);
    const refused: [string, number, string][] = [
      ['/api/replay/state', 400, 'PLANTA_REPLAY_BAD_TIME'],
      ['/api/replay/state?at=yesterday', 400, 'PLANTA_REPLAY_BAD_TIME'],
      [`/api/replay/state?at=${Date.now() + 3_600_000}`, 400, 'PLANTA_REPLAY_BAD_TIME'],
      ['/api/replay/state?at=1&at=2', 400, 'PLANTA_REPLAY_BAD_TIME'],
      [`/api/replay/stream?from=${at}&speed=5`, 400, 'PLANTA_REPLAY_BAD_SPEED'],
      [`/api/replay/stream?from=${at}&speed=1e1`, 400, 'PLANTA_REPLAY_BAD_SPEED'],
      ['/api/replay/stream?speed=10', 400, 'PLANTA_REPLAY_BAD_TIME'],
      [`/api/replay/events?from=${at}&to=${at - 1}`, 400, 'PLANTA_REPLAY_BAD_TIME'],
      [`/api/replay/events?limit=0`, 400, 'PLANTA_REPLAY_BAD_QUERY'],
    ];
    for (const [u, status, code] of refused) {
      const res = await w.app.inject({ url: u, headers: viewer });
      assert.equal(res.statusCode, status, `${u}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, code, u);
    }
    // Over a real socket: the stream of a viewer carries no command entry either.
    const stream = await openStream(port, { path: `/api/replay/stream?from=${at - 2000}&speed=60`, headers: { cookie: viewer.cookie! } });
    t.after(() => stream.close());
    await waitFor('the replay reaching the present', () => stream.events.some((e) => e.event === 'replay' && (JSON.parse(e.data) as ReplayClock).end), 20_000);
    assert.ok(!stream.events.some((e) => e.event === 'journal' && e.data.includes('"command"')));
    assert.ok(!stream.events.some((e) => e.event === 'audit'), 'no audit trail for a viewer');
    // An engineer's stream carries the command entry and the audit trail (the sign-ins since).
    const engineer = await w.as('engineer');
    const full = await openStream(port, { path: `/api/replay/stream?from=${at - 2000}&speed=60`, headers: { cookie: engineer.cookie! } });
    t.after(() => full.close());
    await waitFor('the engineer\'s replay reaching the present', () => full.events.some((e) => e.event === 'replay' && (JSON.parse(e.data) as ReplayClock).end), 20_000);
    assert.ok(full.events.some((e) => e.event === 'journal' && e.data.includes('"command"')), 'the command entry');
    assert.ok(full.events.some((e) => e.event === 'audit'), 'the audit trail');
    // Without a historian here (a web node without one), replay says so.
    const bare = await createWebServer({ bus: w.bus, config: w.config });
    t.after(() => bare.app.close());
    const res = await bare.app.inject({ url: `/api/replay/state?at=${at}` });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'PLANTA_HISTORIAN_UNAVAILABLE');
  });
});
