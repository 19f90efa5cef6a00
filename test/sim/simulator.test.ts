/**
 * The simulated SBR PLC on the wire, driven through Planta's client and
 * through an independent peer (mbpoll), with faults injected through the
 * control interface.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { IllegalDataAddressError, IllegalDataValueError, ModbusTcpClient } from '../../src/modbus/index.js';
import { startControlServer } from '../../src/sim/control.js';
import { Simulator } from '../../src/sim/simulator.js';
import { commandExists } from '../peers/build.js';
import { needPeer } from '../helpers/peers.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const hasMbpoll = commandExists('mbpoll');

describe('SBR simulator over Modbus/TCP', { timeout: 60_000 }, () => {
  let sim: Simulator;
  let control: Server;
  let controlUrl: string;
  let port: number;
  let client: ModbusTcpClient;

  before(async () => {
    // 6000× : a 90-minute phase lasts 0.9 s.
    sim = new Simulator({ port: 0, speed: 6000, scanMs: 20, autostart: false });
    port = (await sim.start()).port;
    const c = await startControlServer(sim, '127.0.0.1', 0);
    control = c.server;
    controlUrl = `http://127.0.0.1:${c.port}`;
    client = new ModbusTcpClient({ host: '127.0.0.1', port });
  });
  after(async () => {
    await client.close();
    control.close();
    await sim.stop();
  });

  const ctl = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(controlUrl + path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  /** mbpoll OPTIONS 127.0.0.1 [VALUES to write]. */
  const mbpoll = (args: string[], values: string[] = []) =>
    run('mbpoll', ['-m', 'tcp', '-p', String(port), '-0', '-1', ...args, '127.0.0.1', ...values]);
  /** mbpoll's "[ref]: value" lines as a map. */
  const mbpollValues = (out: string): Map<number, number> =>
    new Map([...out.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => [Number(m[1]), Number(m[2])]));

  it('serves the whole map, coils aliased to discrete inputs and holding to input registers', async () => {
    const coils = await client.readCoils(0, 33);
    assert.deepEqual(await client.readDiscreteInputs(0, 33), coils);
    assert.equal(coils[0], true, 'no alarms');
    assert.equal(coils[29], true, 'reactor stopped');
    const holding = await client.readHoldingRegisters(0, 33);
    const input = await client.readInputRegisters(0, 33);
    assert.deepEqual(Array.from(input.slice(5, 25)), Array.from(holding.slice(5, 25)));
    assert.deepEqual(Array.from(holding.slice(5, 21)), [200, 800, 10, 1, 60, 90, 45, 30, 90, 150, 60, 45, 30, 45, 30, 20]);
    await assert.rejects(client.readHoldingRegisters(60, 10), IllegalDataAddressError);
  });

  it('mbpoll reads the same map', async (t) => {
    if (!needPeer(t, hasMbpoll, 'mbpoll')) return;
    const r = await mbpoll(['-t', '4', '-r', '5', '-c', '16']);
    assert.equal(r.code, 0, r.stderr);
    const v = mbpollValues(r.stdout);
    assert.deepEqual([...v.values()], [200, 800, 10, 1, 60, 90, 45, 30, 90, 150, 60, 45, 30, 45, 30, 20]);
  });

  it('starts program 2 (Planta client), phases and timers advance, stop', async () => {
    await client.writeSingleRegister(8, 2);
    await client.writeSingleCoil(31, true);
    await waitFor('the start bit back to 0 and fill running', async () => {
      const b = await client.readCoils(25, 7);
      return b[6] === false && b[0] === true;
    });
    await waitFor('the fill timer counting', async () => (await client.readInputRegisters(21, 1))[0]! >= 10);
    await waitFor('aeration', async () => (await client.readCoils(26, 1))[0]);
    const timers = await client.readInputRegisters(21, 4);
    assert.equal(timers[0], 90, 'program 2 fill lasted 90 min');
    await client.writeSingleCoil(30, true);
    await waitFor('stopped', async () => (await client.readCoils(29, 1))[0]);
    assert.deepEqual(await client.readCoils(25, 4), [false, false, false, false]);
  });

  it('starts program 3 and resets the partial volume through mbpoll', async (t) => {
    if (!needPeer(t, hasMbpoll, 'mbpoll')) return;
    assert.equal((await mbpoll(['-t', '4', '-r', '8'], ['3'])).code, 0);
    assert.equal((await mbpoll(['-t', '0', '-r', '31'], ['1'])).code, 0);
    await waitFor('discharge under program 3', async () => mbpollValues((await mbpoll(['-t', '0', '-r', '28'])).stdout).get(28) === 1, 10_000, 100);
    await waitFor('some treated volume', async () => mbpollValues((await mbpoll(['-t', '3', '-r', '4'])).stdout).get(4)! > 0, 10_000, 100);
    assert.equal((await mbpoll(['-t', '0', '-r', '32'], ['1'])).code, 0);
    await waitFor('partial volume reset', async () => (await client.readInputRegisters(3, 2))[1]! < (await client.readInputRegisters(3, 2))[0]!);
    assert.equal(mbpollValues((await mbpoll(['-t', '3', '-r', '8'])).stdout).get(8), 3);
    await client.writeSingleCoil(30, true);
    await waitFor('stopped', async () => (await client.readCoils(29, 1))[0]);
  });

  it('refuses a start while the emergency stop is active (fault injected through the control interface)', async () => {
    const set = await ctl('PUT', '/faults/estop');
    assert.equal(set.status, 200);
    await waitFor('estop bit', async () => (await client.readCoils(1, 1))[0]);
    assert.equal((await client.readCoils(0, 1))[0], false, '"no alarms" cleared');
    await client.writeSingleCoil(31, true);
    await waitFor('start bit back to 0', async () => !(await client.readCoils(31, 1))[0]);
    assert.deepEqual(await client.readCoils(25, 5), [false, false, false, false, true], 'still stopped');
    const list = await ctl('GET', '/faults');
    assert.deepEqual(list.json.active, [{ bit: 1, name: 'estop' }]);
    assert.equal((await ctl('DELETE', '/faults/1')).status, 200);
    await client.writeSingleCoil(31, true);
    await waitFor('running after release', async () => (await client.readCoils(25, 1))[0]);
    await client.writeSingleCoil(30, true);
    assert.equal((await ctl('PUT', '/faults/no-such-thing')).json.error !== undefined, true);
  });

  it('answers an out-of-range program duration with exception 03 (Planta client and mbpoll)', async (t) => {
    await assert.rejects(client.writeMultipleRegisters(13, [10, 10, 10, 10000]), IllegalDataValueError);
    await assert.rejects(client.writeSingleRegister(8, 4), IllegalDataValueError);
    await assert.rejects(client.writeSingleRegister(0, 10), IllegalDataAddressError, 'the level is read-only');
    await client.writeMultipleRegisters(13, [11, 12, 13, 14]);
    assert.deepEqual(Array.from(await client.readHoldingRegisters(13, 4)), [11, 12, 13, 14]);
    if (!needPeer(t, hasMbpoll, 'mbpoll')) return;
    const r = await mbpoll(['-t', '4', '-r', '9'], ['0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Illegal data value/);
  });

  it('logs every write it received, with its outcome', async () => {
    const { json } = await ctl('GET', '/writes');
    const writes = json.writes as { fc: number; address: number; values: unknown[]; outcome: unknown }[];
    assert.ok(writes.some((w) => w.fc === 6 && w.address === 8 && w.values[0] === 2 && w.outcome === 'ok'));
    assert.ok(writes.some((w) => w.fc === 16 && w.address === 13 && w.outcome === 3));
    assert.ok(writes.some((w) => w.fc === 6 && w.address === 0 && w.outcome === 2));
    await ctl('DELETE', '/writes');
    assert.deepEqual((await ctl('GET', '/writes')).json.writes, []);
  });

  it('a PLC restart resets the memory to power-on values and drops connections', async () => {
    await client.writeSingleRegister(8, 3);
    await ctl('POST', '/restart');
    await waitFor('program back to 1 after reconnecting', async () => (await client.readHoldingRegisters(8, 1))[0] === 1, 5000, 50);
    assert.ok(client.stats.reconnects >= 1);
  });
});
