/**
 * Three SBR units on one RTU line (the simulator behind RTU over TCP): one
 * request at a time, each unit with its own quality and figures. When one
 * unit falls silent, its tags go Bad while its siblings stay Good and keep
 * their scan rate within 10 % (the silent unit is backed off: one timeout per
 * pause, not per request); an operator command to another unit goes through
 * the same lifecycle meanwhile, and the silent unit is polled again once it
 * answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandRequest } from '../../src/bus/types.js';
import { parseConfig } from '../../src/config/load.js';
import type { DevicePoller } from '../../src/poller/device-poller.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { TagValue } from '../../src/tags/types.js';
import { waitFor } from '../helpers/wait.js';

const PERIOD = 200;
const TIMEOUT = 100;
const UNITS = [1, 2, 3];

function config(port: number): string {
  const devices = UNITS.map((u) => `  u${u}: { link: line, unitId: ${u}, timeout: ${TIMEOUT}ms, scanGroups: { fast: ${PERIOD}ms, settings: 1s } }`).join('\n');
  const tags = UNITS.map(
    (u) => `  u${u}.level: { device: u${u}, area: input, address: 0, scale: 0.01 }
  u${u}.running: { device: u${u}, area: coil, address: 25 }
  u${u}.program: { device: u${u}, area: holding, address: 8, scan: settings, writable: { min: 1, max: 3 } }`,
  );
  return `links:\n  line: { rtuOverTcp: 127.0.0.1:${port} }\ndevices:\n${devices}\ntags:\n${tags.join('\n')}\n`;
}

describe('a link with three units, one of which falls silent', { timeout: 60_000 }, () => {
  const bus = new MemoryBus();
  let sim: Simulator;
  let poller: Poller;
  const latest = new Map<string, TagValue>();

  before(async () => {
    sim = new Simulator({ port: 0, units: UNITS, rtuOverTcp: { port: 0 } });
    const { rtuOverTcp } = await sim.start();
    await bus.subscribeValues((vs) => {
      for (const v of vs) latest.set(v.tag, v);
    });
    poller = new Poller(parseConfig(config(rtuOverTcp!.port), 'link.yaml'), { bus, statusIntervalMs: 200 });
    await poller.start();
  });
  after(async () => {
    await poller.stop();
    await sim.stop();
  });

  const device = (n: number): DevicePoller => poller.devices.find((d) => d.device.name === `u${n}`)!;
  const quality = (tag: string): string | undefined => latest.get(tag)?.quality;

  /** Scans per second of units 1 and 3 over their next `scans` scans (a condition, not a fixed wait). */
  async function scanRates(scans: number): Promise<number[]> {
    const t0 = performance.now();
    const start = [1, 3].map((u) => device(u).status().scans);
    await waitFor(`${scans} scans of units 1 and 3`, () => [1, 3].every((u, i) => device(u).status().scans - start[i]! >= scans), 30_000, 5);
    const s = (performance.now() - t0) / 1000;
    return [1, 3].map((u, i) => (device(u).status().scans - start[i]!) / s);
  }

  it('polls every unit on the one line, each Good with its own values', async () => {
    await waitFor('every unit polled', () => UNITS.every((u) => quality(`u${u}.level`) === 'Good' && quality(`u${u}.program`) === 'Good'), 10_000);
    for (const u of UNITS) {
      const s = device(u).status();
      assert.equal(s.state, 'connected');
      assert.ok(s.responses > 0 && s.latencyMs.p50 !== null, `unit ${u}: its own round trips`);
    }
    // One connection for the three.
    assert.equal(device(1).status().reconnects, 0);
  });

  it('a silent unit goes Bad, its siblings stay Good and keep their scan rate within 10 %', async () => {
    const before = await scanRates(25);
    for (const r of before) assert.ok(r >= (0.9 * 1000) / PERIOD, `healthy rate ${r.toFixed(2)}/s`);
    const timeoutsBefore = device(2).status().errors.timeout;
    sim.setMode({ mode: 'silent' }, 2);
    const after = await scanRates(30);
    for (const [i, r] of after.entries()) assert.ok(r >= 0.9 * before[i]!, `unit ${i === 0 ? 1 : 3}: ${r.toFixed(2)} scans/s with unit 2 silent, ${before[i]!.toFixed(2)} before`);
    assert.match(quality('u2.level') ?? '', /^Bad_/);
    assert.match(quality('u2.running') ?? '', /^Bad_/);
    for (const u of [1, 3]) {
      assert.equal(quality(`u${u}.level`), 'Good');
      assert.equal(quality(`u${u}.running`), 'Good');
    }
    // Backed off: about 6 s of silence cost a handful of timeouts (2, then one probe per doubling pause), not 2 per scan.
    const timeouts = device(2).status().errors.timeout - timeoutsBefore;
    assert.ok(timeouts >= 2 && timeouts <= 6, `${timeouts} timeouts of the silent unit`);
    await waitFor('unit 2 down', () => device(2).status().state === 'down', 5000);
    for (const u of [1, 3]) assert.equal(device(u).status().state, 'connected');
  });

  it('a command to another unit goes through its lifecycle meanwhile; the silent unit comes back when it answers', async () => {
    const now = Date.now();
    const cmd: CommandRequest = {
      id: `link-${process.pid}-${now}`,
      command: 'set_program',
      device: 'u3',
      user: 'ana',
      role: 'operator',
      params: {},
      steps: [{ kind: 'set', tag: 'u3.program', value: 2 }],
      confirmation: '',
      createdAt: now,
      expiresAt: now + 10_000,
    };
    const outcome = await device(3).execute(cmd);
    assert.equal(outcome.status, 'confirmed', JSON.stringify(outcome));
    assert.equal(sim.plants.get(3)!.words.get(8), 2);
    assert.notEqual(sim.plants.get(1)!.words.get(8), 2, 'only unit 3 was written');
    assert.deepEqual(
      sim.writes.list().map((w) => [w.unitId, w.fc, w.address, w.values]),
      [[3, 6, 8, [2]]],
    );

    sim.setMode({ mode: 'normal' }, 2);
    // The probe comes within the longest pause (10 s).
    await waitFor('unit 2 Good again', () => quality('u2.level') === 'Good', 15_000);
    await waitFor('unit 2 connected', () => device(2).status().state === 'connected', 5000);
  });
});

describe('a Modbus/TCP gateway with a unit that is not there', { timeout: 30_000 }, () => {
  it('one connection for both units; the absent one (the gateway answers 0B) is Bad, no communication, down, and backed off', async (t) => {
    // The simulator with --units answers a unit it does not serve as a gateway does: exception 0B.
    const sim = new Simulator({ port: 0, units: [1] });
    const { port } = await sim.start();
    const bus = new MemoryBus();
    const latest = new Map<string, TagValue>();
    await bus.subscribeValues((vs) => {
      for (const v of vs) latest.set(v.tag, v);
    });
    const yaml = `links:\n  gw: { tcp: 127.0.0.1:${port} }\ndevices:\n  here: { link: gw, unitId: 1, timeout: 200ms, scanGroups: { fast: 100ms } }\n  gone: { link: gw, unitId: 9, timeout: 200ms, scanGroups: { fast: 100ms } }\ntags:\n  here.level: { device: here, area: input, address: 0 }\n  gone.level: { device: gone, area: input, address: 0 }\n`;
    const poller = new Poller(parseConfig(yaml, 'gw.yaml'), { bus, statusIntervalMs: 100 });
    await poller.start();
    t.after(async () => {
      await poller.stop();
      await sim.stop();
    });
    const dev = (n: string): DevicePoller => poller.devices.find((d) => d.device.name === n)!;
    await waitFor('here Good', () => latest.get('here.level')?.quality === 'Good', 10_000);
    await waitFor('gone Bad', () => latest.get('gone.level')?.quality === 'Bad_NoCommunication', 10_000);
    assert.equal(latest.get('gone.level')?.exceptionCode, 11);
    await waitFor('gone down', () => dev('gone').status().state === 'down', 5000);
    // Twenty scans of the live unit: the absent one was asked twice, then only at its pauses (1 s, 2 s...).
    const scans = dev('here').status().scans;
    await waitFor('20 more scans', () => dev('here').status().scans >= scans + 20, 10_000);
    assert.equal(dev('here').status().state, 'connected');
    assert.ok(dev('gone').status().requests <= 5, `${dev('gone').status().requests} requests to the absent unit`);
    assert.equal(sim.server.stats.accepted, 1, 'one connection for the two devices');
  });
});
