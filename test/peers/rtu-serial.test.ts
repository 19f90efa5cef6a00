/**
 * Modbus RTU on virtual serial lines (a socat pty pair), against independent
 * peers in both directions:
 *   - Planta's RTU client ↔ pymodbus's RTU serial server (test/peers/py/rtu_server.py);
 *   - mbpoll -m rtu ↔ `planta sim --serial --units 1,2,3`;
 * and Planta's own commands on the line (`planta modbus read/scan --serial`).
 * Linux ptys carry bytes, not characters: no parity bit to check, so the
 * lines are 8N1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { IllegalDataAddressError, ModbusRtuClient, ModbusTimeoutError } from '../../src/modbus/index.js';
import { needPeer } from '../helpers/peers.js';
import { run, startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { commandExists } from './build.js';
import { PEERS_DIR, PYTHON, hasPymodbus } from './fixtures.js';

const TIMEOUT = 60_000;
const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const MBPOLL = existsSync('/usr/bin/mbpoll') ? '/usr/bin/mbpoll' : 'mbpoll';

/** pymodbus's serial server needs pyserial-asyncio (Debian: python3-serial-asyncio, a recommendation of python3-pymodbus). */
function hasPymodbusSerial(): boolean {
  if (!hasPymodbus()) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import serial_asyncio'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A virtual serial line: two ptys joined by socat, stopped when the test ends. */
async function serialLine(t: TestContext): Promise<[string, string] | undefined> {
  if (!needPeer(t, hasSocat(), 'socat (virtual serial lines)')) return undefined;
  const socat = await startProcess('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], /PTY is (\S+)[\s\S]*PTY is (\S+)[\s\S]*starting data transfer loop/);
  t.after(() => socat.stop());
  return [socat.match[1]!, socat.match[2]!];
}

const line8N1 = (path: string) => ({ path, baud: 19200, parity: 'none' as const, dataBits: 8 as const, stopBits: 1 as const });

/** The data pattern of test/peers/py/server.py (see its header). */
const py = {
  coil: (i: number): boolean => i % 3 === 0,
  discrete: (i: number): boolean => i % 2 === 1,
  holding: (i: number): number => (i * 257) & 0xffff,
  input: (i: number): number => (0xffff - 7 * i) & 0xffff,
};
const range = <T>(start: number, count: number, f: (i: number) => T): T[] => Array.from({ length: count }, (_, k) => f(start + k));

test('Planta RTU client → pymodbus RTU serial server: reads FC1-4, writes FC5/6/15/16, exceptions', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbusSerial(), 'pymodbus with pyserial-asyncio for /usr/bin/python3 (python3-pymodbus, python3-serial-asyncio)')) return;
  const ends = await serialLine(t);
  if (!ends) return;
  const server = await startProcess(PYTHON, [join(PEERS_DIR, 'py', 'rtu_server.py'), ends[0], '19200'], /^serving /m);
  const client = new ModbusRtuClient({ serial: line8N1(ends[1]), unitId: 1, timeout: 1000 });
  t.after(async () => {
    await client.close();
    await server.stop();
  });
  await client.connect();
  assert.deepEqual(await client.readCoils(0, 37), range(0, 37, py.coil));
  assert.deepEqual(await client.readDiscreteInputs(3, 29), range(3, 29, py.discrete));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 125)), range(0, 125, py.holding));
  assert.deepEqual(Array.from(await client.readInputRegisters(175, 125)), range(175, 125, py.input));
  await assert.rejects(client.readHoldingRegisters(299, 2), IllegalDataAddressError);

  await client.writeSingleCoil(1, true);
  await client.writeSingleRegister(10, 0xbeef);
  await client.writeMultipleCoils(20, [true, false, true, true]);
  await client.writeMultipleRegisters(40, [1, 2, 3]);
  assert.deepEqual(await client.readCoils(20, 4), [true, false, true, true]);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(40, 3)), [1, 2, 3]);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(10, 1)), [0xbeef]);
  // What pymodbus applied, as it printed it: the writes arrived as sent.
  const writes = await waitFor('pymodbus printed the writes', () => {
    const w = server.output().split('\n').filter((l) => l.startsWith('{"write"'));
    return w.length >= 4 ? w.map((l) => JSON.parse(l) as { fc: number; address: number; values: unknown[] }) : undefined;
  });
  assert.deepEqual(
    writes.map((w) => [w.fc, w.address, w.values]),
    [
      [5, 1, [true]],
      [6, 10, [0xbeef]],
      [15, 20, [true, false, true, true]],
      [16, 40, [1, 2, 3]],
    ],
  );
  assert.equal(client.stats.crcErrors, 0);
  assert.equal(client.stats.badFrames, 0);
});

test('mbpoll -m rtu → planta sim --serial --units 1,2,3: every unit answers with its own plant; writes reach one unit; a missing unit times out', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, existsSync('/usr/bin/mbpoll') || commandExists('mbpoll'), 'mbpoll')) return;
  const ends = await serialLine(t);
  if (!ends) return;
  const sim = await startProcess(process.execPath, [planta, 'sim', '--port', '0', '--no-control', '--no-autostart', '--units', '1,2,3', '--serial', ends[0], '--baud', '19200', '--parity', 'none'], /Modbus RTU\s+\S+ 19200 8N1, units 1, 2, 3/);
  t.after(() => sim.stop());
  const mbpoll = (args: string[], values: string[] = []) => run(MBPOLL, ['-m', 'rtu', '-b', '19200', '-P', 'none', '-1', '-0', '-o', '1', ...args, ends[1], ...values], { timeoutMs: 15_000 });
  const polled = (stdout: string): string[] => [...stdout.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)].map((m) => `${m[1]}=${m[2]}`);

  // Holding 5..8: oxygen limits, turbidity limit, program — the power-on values of every plant.
  const all = await mbpoll(['-a', '1:3', '-t', '4', '-r', '5', '-c', '4']);
  assert.equal(all.code, 0, all.stdout + all.stderr);
  const slaves = all.stdout.split(/-- Polling slave \d+\.\.\./).slice(1).map(polled);
  assert.deepEqual(slaves, [1, 2, 3].map(() => ['5=200', '6=800', '7=10', '8=1']));

  const write = await mbpoll(['-a', '2', '-t', '4', '-r', '8'], ['3']);
  assert.equal(write.code, 0, write.stdout + write.stderr);
  assert.match(write.stdout, /Written 1 references/);
  const after = await mbpoll(['-a', '1:3', '-t', '4', '-r', '8']);
  assert.deepEqual(after.stdout.split(/-- Polling slave \d+\.\.\./).slice(1).map(polled), [['8=1'], ['8=3'], ['8=1']]);

  const missing = await mbpoll(['-a', '9', '-t', '4', '-r', '5']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stdout + missing.stderr, /timed out|Connection timed out/i);
});

test('planta modbus read and scan --serial against planta sim --serial', { timeout: TIMEOUT }, async (t) => {
  const ends = await serialLine(t);
  if (!ends) return;
  const sim = await startProcess(process.execPath, [planta, 'sim', '--port', '0', '--no-autostart', '--units', '2,5', '--serial', ends[0], '--parity', 'none'], /control\s+(http:\/\/127\.0\.0\.1:\d+)/);
  t.after(() => sim.stop());
  const serial = ['--serial', ends[1], '--parity', 'none'];
  const read = await run(process.execPath, [planta, 'modbus', 'read', ...serial, '--unit', '5', 'holding', '5', '2']);
  assert.equal(read.code, 0, read.stderr);
  assert.match(read.stdout, new RegExp(`holding 5\\.\\.6 of ${ends[1]} 19200 8N1 unit 5`));
  assert.match(read.stdout, /^\s+6\s+0320\s+800$/m);
  const scan = await run(process.execPath, [planta, 'modbus', 'scan', ...serial, '--units', '1-6', '--timeout', '150ms']);
  assert.equal(scan.code, 0, scan.stderr);
  assert.match(scan.stdout, /2 unit\(s\) answer: 2, 5 \(6 tried/);

  // The same line through Planta's client: a silent unit costs its timeout, the line goes on.
  const client = new ModbusRtuClient({ serial: line8N1(ends[1]), timeout: 200 });
  t.after(() => client.close());
  await assert.rejects(client.readHoldingRegisters(5, 1, { unitId: 3 }), ModbusTimeoutError);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(5, 2, { unitId: 2 })), [200, 800]);
});
