/** What a client sees from each misbehaviour mode of the simulator, switched at run time. */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  ModbusConnectionError,
  ModbusProtocolError,
  ModbusTcpClient,
  ModbusTimeoutError,
  ServerDeviceBusyError,
  ServerDeviceFailureError,
} from '../../src/modbus/index.js';
import { startControlServer } from '../../src/sim/control.js';
import { parseMisbehaviour } from '../../src/sim/misbehaviour.js';
import { Simulator } from '../../src/sim/simulator.js';
import { waitFor } from '../helpers/wait.js';

describe('simulator misbehaviour modes', { timeout: 30_000 }, () => {
  let sim: Simulator;
  let control: Server;
  let controlUrl: string;
  let port: number;

  before(async () => {
    sim = new Simulator({ port: 0, autostart: false });
    port = (await sim.start()).port;
    const c = await startControlServer(sim, '127.0.0.1', 0);
    control = c.server;
    controlUrl = `http://127.0.0.1:${c.port}`;
  });
  after(async () => {
    control.close();
    await sim.stop();
  });

  const setMode = async (body: object): Promise<void> => {
    const res = await fetch(`${controlUrl}/mode`, { method: 'PUT', body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.text());
  };

  const withClient = async (timeout: number, f: (c: ModbusTcpClient) => Promise<void>): Promise<void> => {
    const c = new ModbusTcpClient({ host: '127.0.0.1', port, timeout, backoffInitial: 20 });
    try {
      await f(c);
    } finally {
      await c.close();
      await setMode({ mode: 'normal' });
    }
  };

  it('slow: answers late — a timeout below the delay fails, above it succeeds', async () => {
    await setMode({ mode: 'slow', delayMs: 300 });
    await withClient(100, async (c) => {
      await assert.rejects(c.readHoldingRegisters(8, 1), ModbusTimeoutError);
    });
    await setMode({ mode: 'slow', delayMs: 300 });
    await withClient(2000, async (c) => {
      const t0 = performance.now();
      assert.deepEqual(Array.from(await c.readHoldingRegisters(8, 1)), [1]);
      assert.ok(performance.now() - t0 >= 290);
    });
  });

  it('silent (half-open): no answer on an open connection; the client gives up on it and reconnects', async () => {
    await setMode({ mode: 'silent' });
    await withClient(100, async (c) => {
      await assert.rejects(c.readHoldingRegisters(8, 1), ModbusTimeoutError);
      assert.equal(c.state, 'connected', 'TCP is still up after one timeout');
      await assert.rejects(c.readHoldingRegisters(8, 1), ModbusTimeoutError);
      await waitFor('the client reopening the connection', () => c.stats.connects >= 2, 3000);
      await setMode({ mode: 'normal' });
      await waitFor('a good read after recovery', async () => (await c.readHoldingRegisters(8, 1))[0] === 1, 3000);
    });
  });

  it('close: the connection is closed on every request', async () => {
    await setMode({ mode: 'close' });
    await withClient(1000, async (c) => {
      await assert.rejects(c.readCoils(0, 1), ModbusConnectionError);
    });
  });

  it('hangup: every TCP connection is closed right after the connect, before any request', async () => {
    await setMode({ mode: 'hangup' });
    const closedAfter = await new Promise<{ sent: boolean; bytes: number }>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let bytes = 0;
      socket.on('data', (b) => (bytes += b.length));
      socket.on('error', reject);
      // Nothing is ever written: the device hangs up on its own.
      socket.on('close', () => resolve({ sent: socket.bytesWritten > 0, bytes }));
    });
    assert.deepEqual(closedAfter, { sent: false, bytes: 0 });
    await withClient(500, async (c) => {
      await assert.rejects(c.readCoils(0, 1), ModbusConnectionError);
    });
    // Back to normal: connections are kept and answered again.
    await withClient(1000, async (c) => {
      assert.equal((await c.readHoldingRegisters(8, 1)).length, 1);
    });
  });

  it('exception: every request is answered with the configured exception', async () => {
    await setMode({ mode: 'exception', code: 4 });
    await withClient(1000, async (c) => {
      await assert.rejects(c.readCoils(0, 1), (e: unknown) => e instanceof ServerDeviceFailureError && e.exceptionCode === 4);
      sim.misbehaviour = parseMisbehaviour('exception:6');
      await assert.rejects(c.readHoldingRegisters(0, 1), ServerDeviceBusyError);
      assert.deepEqual(c.stats.exceptions, { 4: 1, 6: 1 });
    });
  });

  it('garbage: a well-framed reply with an impossible byte count is rejected as a bad response', async () => {
    await setMode({ mode: 'garbage' });
    await withClient(1000, async (c) => {
      await assert.rejects(c.readHoldingRegisters(0, 2), (e: unknown) => e instanceof ModbusProtocolError && e.code === 'PLANTA_MODBUS_BAD_RESPONSE');
      assert.equal(c.stats.protocolErrors, 1);
    });
  });

  it('noise: random bytes instead of a reply never resolve a request; the client recovers once the device is sane', async () => {
    await setMode({ mode: 'noise' });
    await withClient(100, async (c) => {
      for (let i = 0; i < 5; i++) await assert.rejects(c.readHoldingRegisters(8, 1));
      await setMode({ mode: 'normal' });
      await waitFor('a good read after the noise', async () => (await c.readHoldingRegisters(8, 1))[0] === 1, 3000);
    });
  });

  it('refuses an unknown mode with a stable code', async () => {
    const res = await fetch(`${controlUrl}/mode`, { method: 'PUT', body: JSON.stringify({ mode: 'sulky' }) });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PLANTA_SIM_BAD_MODE');
    const bad = await fetch(`${controlUrl}/mode`, { method: 'PUT', body: '{not json' });
    assert.equal(bad.status, 400);
  });
});
