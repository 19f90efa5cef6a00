/**
 * The poller against the SBR simulator: every tag of the default
 * configuration read with its quality, values matching an independent
 * pymodbus client, phase changes on the bus, and the qualities a failing
 * device gives (misbehaviour modes), with recovery.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeviceStatus } from '../../src/bus/types.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { Poller } from '../../src/poller/poller.js';
import { parseMisbehaviour } from '../../src/sim/misbehaviour.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { TagValue } from '../../src/tags/types.js';
import { PEERS_DIR, PYTHON, hasPymodbus } from '../peers/fixtures.js';
import { needPeer } from '../helpers/peers.js';
import { run } from '../helpers/process.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

const TIMEOUT = 300;
const FAST = 100;

function sbrConfig(port: number): PlantConfig {
  const c = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
  const d = c.devices[0]!;
  Object.assign(d, { port, timeoutMs: TIMEOUT, connectTimeoutMs: 500, scanGroups: { fast: FAST, settings: 400 } });
  return c;
}

class Recorder {
  readonly batches: TagValue[][] = [];
  readonly statuses: DeviceStatus[] = [];
  constructor(readonly bus: MemoryBus) {}
  async start(): Promise<void> {
    await this.bus.subscribeValues((b) => this.batches.push(b));
    await this.bus.subscribeDeviceStatus((s) => this.statuses.push(s));
  }
  async values(): Promise<Map<string, TagValue>> {
    return new Map((await this.bus.snapshot()).map((v) => [v.tag, v]));
  }
  history(tag: string): TagValue[] {
    return this.batches.flat().filter((v) => v.tag === tag);
  }
}

describe('poller against the SBR simulator', { timeout: 60_000 }, () => {
  let sim: Simulator;
  let port: number;
  let bus: MemoryBus;
  let rec: Recorder;
  let poller: Poller;
  let config: PlantConfig;

  before(async () => {
    sim = new Simulator({ port: 0 });
    port = (await sim.start()).port;
    config = sbrConfig(port);
    bus = new MemoryBus();
    rec = new Recorder(bus);
    await rec.start();
    poller = new Poller(config, { bus, statusIntervalMs: 200 });
    await poller.start();
  });
  after(async () => {
    await poller.stop();
    await sim.stop();
  });

  const allGood = async (): Promise<boolean> => [...(await rec.values()).values()].every((v) => v.quality === 'Good');

  it('publishes every tag, first waiting for data, then good', async () => {
    const first = rec.batches[0]!;
    assert.equal(first.length, 57);
    assert.ok(first.every((v) => v.quality === 'Bad_WaitingForInitialData' && v.value === null));
    await waitFor('all 57 tags good', allGood, 3000);
    assert.equal((await rec.values()).size, 57);
  });

  it('reads the same values as an independent pymodbus client', async (t) => {
    if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
    await waitFor('all good', allGood, 3000);
    const r = await run(PYTHON, [`${PEERS_DIR}py/client.py`, '127.0.0.1', String(port), '1', '1:0:33', '4:0:25', '3:5:16']);
    assert.equal(r.code, 0, r.stderr);
    const [coils, inputs, holding] = r.stdout.trim().split('\n').slice(0, 3).map((l) => (JSON.parse(l) as { values: number[] }).values);
    const v = await rec.values();
    const byAddress = (area: string, a: number) => config.tags.filter((t) => t.area === area && t.address === a).map((t) => v.get(t.name)!.value);
    // Settings do not move: exact.
    for (let a = 5; a <= 20; a++) {
      const tag = config.tags.find((t) => t.area === 'holding' && t.address === a)!;
      assert.equal(v.get(tag.name)!.value, Math.round(holding![a - 5]! * tag.scale * 100) / 100, tag.name);
    }
    // Bits: equal unless a phase changed between the two reads (not at 60×, within a second).
    for (let a = 0; a <= 32; a++) {
      if (a === 24) continue;
      assert.deepEqual(byAddress('coil', a), [coils![a] === 1], `coil ${a}`);
    }
    // Measurements move: within the process's rate of change over a poll period, plus the noise.
    assert.ok(Math.abs((v.get('reactor.level')!.value as number) - inputs![0]! / 100) < 1.5, 'level');
    assert.ok(Math.abs((v.get('reactor.oxygen')!.value as number) - inputs![1]! / 100) < 0.5, 'oxygen');
    assert.ok(Math.abs((v.get('reactor.turbidity')!.value as number) - inputs![2]!) <= 3, 'turbidity');
    assert.equal(v.get('volume.total')!.value, inputs![3]);
  });

  it('reports by exception: constants once, analog values beyond their deadband', async () => {
    await waitFor('all good', allGood, 3000);
    assert.equal(rec.history('program1.fill').length, 2, 'waiting, then one good value');
    const level = rec.history('reactor.level').filter((x) => x.quality === 'Good');
    for (let i = 1; i < level.length; i++) {
      assert.ok(Math.abs((level[i]!.value as number) - (level[i - 1]!.value as number)) > 0.1, 'level deadband 0.1 %');
    }
  });

  it('publishes the device\'s communication figures', async () => {
    const s = await waitFor('a status with latency figures', () => rec.statuses.findLast((x) => x.state === 'connected' && x.latencyMs.p50 !== null), 3000);
    assert.equal(s.device, 'plc');
    assert.ok(s.requests > 0 && s.responses > 0);
    assert.ok(s.connectedSince !== null && s.connectedSince <= Date.now());
    // Figures only: how small jitter and overruns stay is bench:poller's business, not a timed unit test's.
    assert.ok(s.scans > 0 && Number.isInteger(s.overruns) && s.overruns >= 0);
    assert.ok(s.jitterMs.p50 !== null && s.jitterMs.p99 !== null && s.jitterMs.p99 >= s.jitterMs.p50);
    assert.equal(s.qualities.Good, 57);
  });

  /** Sets a misbehaviour and returns how long until every tag is bad, and the qualities then. */
  async function misbehave(mode: string): Promise<{ ms: number; qualities: Set<string>; values: Map<string, TagValue> }> {
    await waitFor('all good before', allGood, 5000);
    const t0 = Date.now();
    sim.misbehaviour = parseMisbehaviour(mode);
    const values = await waitFor(`every tag bad under ${mode}`, async () => {
      const v = await rec.values();
      return [...v.values()].every((x) => x.quality.startsWith('Bad_')) ? v : undefined;
    }, 5000, 5);
    return { ms: Date.now() - t0, qualities: new Set([...values.values()].map((x) => x.quality)), values };
  }

  async function recover(): Promise<number> {
    const t0 = Date.now();
    sim.misbehaviour = { mode: 'normal' };
    await waitFor('all good again', allGood, 8000);
    return Date.now() - t0;
  }

  it('half-open device: every tag bad within 2× the timeout (+ one scan period), then good again', async () => {
    const { ms, qualities, values } = await misbehave('silent');
    assert.ok(ms <= 2 * TIMEOUT + FAST + 250, `all bad after ${ms} ms`);
    assert.ok([...qualities].every((q) => q === 'Bad_Timeout' || q === 'Bad_NoCommunication'), [...qualities].join());
    assert.ok(values.get('program1.fill')!.value !== null, 'the last value is kept beside its bad quality');
    assert.ok((await recover()) < 5000);
  });

  it('answers later than the timeout: bad; a little late but within it: still good', async () => {
    const { ms } = await misbehave(`slow:${TIMEOUT + 200}`);
    assert.ok(ms <= 2 * TIMEOUT + FAST + 250, `all bad after ${ms} ms`);
    await recover();
    sim.misbehaviour = parseMisbehaviour(`slow:${Math.round(TIMEOUT / 6)}`);
    // Something that must NOT happen: a tag going bad. The window is about the time a timeout would take to show
    // (2× the timeout + a scan, as in misbehave()): ten fast scans, every one answered late.
    await assertThroughout(1000, async () => assert.ok(await allGood(), 'a slow but timely device stays good'));
    await recover();
  });

  it('exception answers: Bad_DeviceFailure with the exception code', async () => {
    const { qualities, values } = await misbehave('exception:4');
    assert.deepEqual([...qualities], ['Bad_DeviceFailure']);
    assert.equal(values.get('reactor.level')!.exceptionCode, 4);
    sim.misbehaviour = parseMisbehaviour('exception:6');
    await waitFor('exception 6 shown', async () => (await rec.values()).get('reactor.level')!.exceptionCode === 6, 2000);
    await recover();
  });

  it('closed connections: Bad_NoCommunication; garbage replies: Bad_CommunicationError', async () => {
    const closed = await misbehave('close');
    assert.deepEqual([...closed.qualities], ['Bad_NoCommunication']);
    await recover();
    const garbage = await misbehave('garbage');
    assert.deepEqual([...garbage.qualities], ['Bad_CommunicationError']);
    await recover();
  });

  it('the PLC gone and back on the same port: no communication, then good without a restart of the poller', async () => {
    await waitFor('all good before', allGood, 5000);
    await sim.stop();
    const t0 = Date.now();
    await waitFor('all no-communication', async () => [...(await rec.values()).values()].every((v) => v.quality === 'Bad_NoCommunication'), 3000, 5);
    assert.ok(Date.now() - t0 < 1000);
    const status = await waitFor('device down in the status', () => rec.statuses.findLast((s) => s.state !== 'connected' && s.updatedAt > t0), 3000);
    assert.equal(status.qualities.Bad_NoCommunication, 57);
    sim = new Simulator({ port });
    await sim.start();
    await waitFor('all good after the PLC is back', allGood, 10_000);
  });
});

describe('poller sees the SBR phases change', { timeout: 30_000 }, () => {
  it('publishes each phase change of a running cycle', async () => {
    // 6000×: the default program's phases last 0.3–0.9 s.
    const sim = new Simulator({ port: 0, speed: 6000 });
    const { port } = await sim.start();
    const bus = new MemoryBus();
    const rec = new Recorder(bus);
    await rec.start();
    const poller = new Poller(sbrConfig(port), { bus });
    try {
      await poller.start();
      await waitFor('a whole cycle', () => {
        const on = rec.batches.flat().filter((v) => v.tag.startsWith('phase.') && !v.tag.endsWith('.elapsed') && v.value === true);
        const order = on.map((v) => v.tag);
        const i = order.indexOf('phase.aeration');
        return i >= 0 && order.slice(i).join(' ').includes('phase.aeration phase.settling phase.discharge phase.fill');
      }, 15_000);
      const timers = rec.history('phase.aeration.elapsed').map((v) => v.value as number);
      assert.ok(Math.max(...timers) >= 60, 'the aeration timer counted up through the phase');
    } finally {
      await poller.stop();
      await sim.stop();
    }
  });
});

describe('pollers with device leases', { timeout: 30_000 }, () => {
  it('one polls, the other waits as standby and takes over when the first stops; a poller without the lease writes nothing', async () => {
    const sim = new Simulator({ port: 0 });
    const { port } = await sim.start();
    const config = sbrConfig(port);
    const bus = new MemoryBus();
    const rec = new Recorder(bus);
    await rec.start();
    const a = new Poller(config, { bus, statusIntervalMs: 100, lease: { owner: 'poller-a', ttlMs: 300 } });
    const b = new Poller(config, { bus, statusIntervalMs: 100, lease: { owner: 'poller-b', ttlMs: 300 } });
    try {
      await a.start();
      await waitFor('a polling', () => a.devices.length === 1);
      await b.start();
      await waitFor('b standby', () => b.leases()[0]?.state === 'standby');
      // Something that must NOT happen while a renews its lease: b polling too. Longer than a lease (300 ms).
      await assertThroughout(500, () => {
        assert.deepEqual(b.leases().map((l) => l.state), ['standby']);
        assert.equal(b.devices.length, 0);
      });
      await waitFor('a named in the status', () => rec.statuses.at(-1)?.poller?.id === 'poller-a');
      const stoppedAt = Date.now();
      await a.stop();
      await waitFor('b polling', () => b.devices.length === 1, 1000);
      const takeover = Date.now() - stoppedAt;
      assert.ok(takeover < 300, `a clean stop hands over at once (${takeover} ms)`);
      await waitFor('b named in the status', () => rec.statuses.at(-1)?.poller?.id === 'poller-b');

      // A device poller whose lease may have passed: the command is neither written nor reported (the holder takes it over).
      const { DevicePoller } = await import('../../src/poller/device-poller.js');
      const outcomes: unknown[] = [];
      await bus.subscribeCommandOutcomes((o) => outcomes.push(o));
      const lost = new DevicePoller(config.devices[0]!, config.tags, { bus, allowed: () => false });
      await lost.start();
      try {
        const before = sim.writes.list(0).length;
        const now = Date.now();
        const out = await lost.execute({
          id: 'lease-lost-1', command: 'silence_horn', device: 'plc', user: 'ana', role: 'operator', params: {},
          steps: [{ kind: 'pulse', tag: 'cmd.silence_horn' }], confirmation: '', createdAt: now, expiresAt: now + 2000,
        });
        assert.equal(out.code, 'PLANTA_COMMAND_NOT_OWNER');
        assert.equal(sim.writes.list(0).length, before, 'nothing written');
        // The memory bus delivers in a microtask: after one turn of the event loop, anything published has arrived.
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(outcomes, [], 'nothing reported');
      } finally {
        await lost.stop();
      }
    } finally {
      await a.stop();
      await b.stop();
      await sim.stop();
    }
  });
});
