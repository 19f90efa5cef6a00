/**
 * A line's errors reach the user per device: a unit answering noise (as a
 * loose wire or a wrong parity makes it) shows CRC errors in its status on
 * the bus and in the Prometheus metrics, its sibling none; the link's own
 * counter names the link as configured.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { MemoryBus } from '../../src/bus/memory.js';
import type { DeviceStatus } from '../../src/bus/types.js';
import { parseConfig } from '../../src/config/load.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { waitFor } from '../helpers/wait.js';

/** The value of one sample in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('errors of a line, per device', { timeout: 30_000 }, () => {
  it('a noisy unit: CRC errors in its status and metrics, its sibling clean; the link counts them under its name', async (t) => {
    const sim = new Simulator({ port: 0, units: [1, 2], rtuOverTcp: { port: 0 } });
    const { rtuOverTcp } = await sim.start();
    t.after(() => sim.stop());
    sim.setMode({ mode: 'noise' }, 2);
    const devices = [1, 2].map((u) => `  u${u}: { link: rs485, unitId: ${u}, timeout: 150ms, scanGroups: { fast: 100ms } }`).join('\n');
    const tags = [1, 2].map((u) => `  u${u}.level: { device: u${u}, area: input, address: 0, scale: 0.01 }`).join('\n');
    const plant = parseConfig(`links:\n  rs485: { rtuOverTcp: 127.0.0.1:${rtuOverTcp!.port} }\ndevices:\n${devices}\ntags:\n${tags}\n`, 'errors.yaml');
    const bus = new MemoryBus();
    const statuses = new Map<string, DeviceStatus>();
    await bus.subscribeDeviceStatus((s) => void statuses.set(s.device, s));
    const registry = new Registry();
    const poller = new Poller(plant, { bus, registry, statusIntervalMs: 100 });
    await poller.start();
    t.after(() => poller.stop());
    await waitFor('CRC errors of u2 in its status', () => (statuses.get('u2')?.errors.crc ?? 0) >= 2, 10_000);
    const u1 = statuses.get('u1')!;
    assert.equal(u1.errors.crc, 0, 'the sibling answers clean frames');
    assert.equal(u1.errors.otherUnit, 0);
    assert.ok(u1.responses > 0);
    const metrics = await registry.metrics();
    assert.ok(sample(metrics, 'planta_modbus_errors_total{device="u2",kind="crc"}')! >= 2, metrics);
    assert.equal(sample(metrics, 'planta_modbus_errors_total{device="u1",kind="crc"}'), 0);
    assert.ok(sample(metrics, 'planta_modbus_errors_total{device="u2",kind="timeout"}')! >= 1, 'noise is no answer: the request times out');
    assert.ok(sample(metrics, 'planta_link_frames_dropped_total{link="rs485",kind="crc"}')! >= 2);
    assert.notEqual(sample(metrics, 'planta_link_frames_dropped_total{link="rs485",kind="other_unit"}'), undefined);
  });
});
