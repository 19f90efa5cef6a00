/**
 * A link is owned by one poller: with two pollers on Redis, the devices of a
 * link are leased as one (all or none), so neither takes some of a line's
 * units while the other takes the rest — even when one of them still holds
 * the lease of one unit from before a restart. When the holder stops, the
 * standby takes the whole link over. A poller asked for some of a link's
 * devices (planta poll --devices) is refused at startup.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { DeviceStatus } from '../../src/bus/types.js';
import { Poller, SplitLinkError } from '../../src/poller/poller.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { Simulator } from '../../src/sim/simulator.js';
import { needRedis, redisBus, testPrefix } from '../bus/redis-helpers.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

const UNITS = [1, 2, 3];
const LINK = UNITS.map((u) => `u${u}`);

function config(linkYaml: string, plcPort: number): string {
  const devices = UNITS.map((u) => `  u${u}: { link: line, unitId: ${u}, timeout: 200ms, scanGroups: { fast: 200ms } }`).join('\n');
  const tags = UNITS.map((u) => `  u${u}.level: { device: u${u}, area: input, address: 0, scale: 0.01 }`).join('\n');
  return `links:\n  line: ${linkYaml}\ndevices:\n${devices}\n  plc: { host: 127.0.0.1, port: ${plcPort}, scanGroups: { fast: 200ms } }\ntags:\n${tags}\n  plc.level: { device: plc, area: input, address: 0, scale: 0.01 }\n`;
}

const polled = (p: Poller): string[] => p.devices.map((d) => d.device.name).sort();

describe('pollers and links', { timeout: 30_000 }, () => {
  it('two pollers on Redis: the link\'s devices go to one of them together, the standby takes them over together', async (t) => {
    if (!(await needRedis(t))) return;
    const sim = new Simulator({ port: 0, units: UNITS, rtuOverTcp: { port: 0 } });
    const { port, rtuOverTcp } = await sim.start();
    t.after(() => sim.stop());
    const plant = parseConfig(config(`{ rtuOverTcp: 127.0.0.1:${rtuOverTcp!.port} }`, port), 'link-lease.yaml');
    const prefix = testPrefix(t, 'link-lease');
    const busA = await redisBus(t, { prefix, consumer: 'a' });
    const busB = await redisBus(t, { prefix, consumer: 'b' });
    const statuses = new Map<string, DeviceStatus>();
    await busA.subscribeDeviceStatus((s) => void statuses.set(s.device, s));
    // poller-b held unit 2's lease before it restarted: the key is still there, its own.
    assert.equal(await busB.acquireDeviceLease('u2', 'poller-b', 5000), true);
    const a = new Poller(plant, { bus: busA, statusIntervalMs: 100, lease: { owner: 'poller-a', ttlMs: 400 } });
    const b = new Poller(plant, { bus: busB, statusIntervalMs: 100, lease: { owner: 'poller-b', ttlMs: 400 } });
    t.after(async () => {
      await a.stop();
      await b.stop();
    });
    await a.start();
    // a cannot have the line while one of its units is b's: it polls only the device of its own.
    await waitFor('a polling plc', () => polled(a).includes('plc'));
    assert.deepEqual(polled(a), ['plc']);
    await b.start();
    await waitFor('b polling the whole line', () => LINK.every((d) => polled(b).includes(d)), 3000);
    // What must NOT happen while b renews its lease: a polling any unit of the line. Longer than a lease (400 ms).
    await assertThroughout(600, () => {
      assert.deepEqual(polled(a), ['plc']);
      assert.deepEqual(polled(b), LINK);
      assert.deepEqual(a.leases().filter((l) => LINK.includes(l.device)).map((l) => l.state), ['standby', 'standby', 'standby']);
    });
    for (const d of LINK) assert.equal(await busA.deviceLeaseHolder(d), 'poller-b');
    // Every unit's status names its poller and the standby waiting for the line.
    await waitFor('the standby named for each unit', () => LINK.every((d) => statuses.get(d)?.poller?.id === 'poller-b' && statuses.get(d)?.poller?.standby?.includes('poller-a')));

    await b.stop();
    await waitFor('a polling the whole line', () => LINK.every((d) => polled(a).includes(d)), 3000);
    assert.deepEqual(polled(a), ['plc', ...LINK]);
    for (const d of LINK) assert.equal(await busA.deviceLeaseHolder(d), 'poller-a');
    await waitFor('the line Good again under a', () => LINK.every((d) => statuses.get(d)?.poller?.id === 'poller-a' && statuses.get(d)?.state === 'connected'));
  });

  it('the in-memory bus leases a link\'s devices the same way: all or none, the loser a standby of each', async () => {
    const bus = new MemoryBus();
    assert.equal(await bus.acquireDeviceLease('u2', 'b', 5000), true);
    assert.equal(await bus.acquireDeviceLeases(LINK, 'a', 5000), false);
    assert.equal(await bus.deviceLeaseHolder('u1'), null, 'none taken');
    assert.deepEqual(await bus.deviceLeaseStandbys('u3'), ['a']);
    assert.equal(await bus.acquireDeviceLeases(LINK, 'b', 5000), true, 'free, or b\'s own');
    assert.equal(await bus.renewDeviceLeases(LINK, 'a', 5000), false);
    await bus.releaseDeviceLease('u3', 'b');
    assert.equal(await bus.renewDeviceLeases(LINK, 'b', 5000), false, 'u3 is not held any more');
    assert.equal(await bus.acquireDeviceLeases(LINK, 'b', 5000), true);
    assert.equal(await bus.renewDeviceLeases(LINK, 'b', 5000), true);
  });

  it('a poller asked for some devices of a link is refused, whatever the link: serial, RTU over TCP, gateway', () => {
    for (const link of ['{ serial: /dev/ttyUSB0 }', '{ rtuOverTcp: 127.0.0.1:4001 }', '{ tcp: 127.0.0.1:502 }']) {
      const plant = parseConfig(config(link, 502), 'x.yaml');
      assert.throws(
        () => new Poller(plant, { bus: new MemoryBus(), devices: ['u1', 'u3', 'plc'] }),
        (e: unknown) => e instanceof SplitLinkError && e.code === 'PLANTA_POLLER_SPLIT_LINK' && /poll all its devices \(u1, u2, u3\) or none — asked for u1, u3/.test(e.message),
        link,
      );
      // All of it, or none of it, is fine.
      new Poller(plant, { bus: new MemoryBus(), devices: ['plc'] });
      new Poller(plant, { bus: new MemoryBus(), devices: LINK });
    }
  });
});
