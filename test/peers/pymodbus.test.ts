/**
 * Interop with pymodbus 3.0 (Debian's python3-pymodbus, for /usr/bin/python3
 * only), both directions:
 *   - Planta's ModbusTcpClient against test/peers/py/server.py;
 *   - test/peers/py/client.py against Planta's ModbusTcpServer + createAreaHandler.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import {
  IllegalDataAddressError,
  ModbusExceptionError,
  ModbusTcpClient,
} from '../../src/modbus/index.js';
import { needPeer } from '../helpers/peers.js';
import { run, startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { PEERS_DIR, PYTHON, hasPymodbus, pattern, range, startPlantaServer } from './fixtures.js';
import { type Step, checkResults, checkWrites, commonSteps, parseResults, servedBy } from './script.js';

const TIMEOUT = 30_000;
const SERVER_PY = join(PEERS_DIR, 'py', 'server.py');
const CLIENT_PY = join(PEERS_DIR, 'py', 'client.py');

/** The data pattern of test/peers/py/server.py (see its header). */
const PY_SIZE = 300;
const py = {
  coil: (i: number): boolean => i % 3 === 0,
  discrete: (i: number): boolean => i % 2 === 1,
  holding: (i: number): number => (i * 257) & 0xffff,
  input: (i: number): number => (0xffff - 7 * i) & 0xffff,
};

interface PyWrite {
  write: 'coils' | 'holding';
  fc: number;
  address: number;
  values: (boolean | number)[];
}

/** Starts server.py and a Planta client connected to it; both are stopped when the test ends. */
async function pymodbusServer(t: TestContext, clientOptions: { window?: number } = {}) {
  const server = await startProcess(PYTHON, [SERVER_PY, '0'], /^listening (\d+)$/m);
  const port = Number(server.match[1]);
  const client = new ModbusTcpClient({ host: '127.0.0.1', port, timeout: 2000, reconnect: false, ...clientOptions });
  t.after(async () => {
    await client.close();
    await server.stop();
  });
  await client.connect();
  /** The writes server.py's datastore applied, as it printed them. */
  const writes = (): PyWrite[] =>
    server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{"write"'))
      .map((l) => JSON.parse(l) as PyWrite);
  /** server.py prints a write before it answers, but its stdout may arrive after the reply: wait for it. */
  const writesAfter = async (count: number): Promise<PyWrite[]> => {
    // Past the deadline, what arrived: the caller's assertion shows what is missing.
    await waitFor(`${count} writes printed by server.py`, () => writes().length >= count, 5000, 10).catch(() => undefined);
    return writes();
  };
  return { client, writes, writesAfter, output: server.output };
}

test('Planta client → pymodbus server: reads FC1-4 match the data pattern exactly', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const { client } = await pymodbusServer(t);

  assert.deepEqual(await client.readCoils(0, 37), range(0, 37, py.coil));
  assert.deepEqual(await client.readCoils(0, PY_SIZE), range(0, PY_SIZE, py.coil));
  assert.deepEqual(await client.readCoils(PY_SIZE - 1, 1), [py.coil(PY_SIZE - 1)]);
  assert.deepEqual(await client.readDiscreteInputs(3, 29), range(3, 29, py.discrete));
  assert.deepEqual(await client.readDiscreteInputs(0, PY_SIZE), range(0, PY_SIZE, py.discrete));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 125)), range(0, 125, py.holding));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(PY_SIZE - 125, 125)), range(PY_SIZE - 125, 125, py.holding));
  assert.deepEqual(Array.from(await client.readInputRegisters(0, 125)), range(0, 125, py.input));
  assert.deepEqual(Array.from(await client.readInputRegisters(PY_SIZE - 1, 1)), [py.input(PY_SIZE - 1)]);
  // Values above 0x7FFF come back unsigned.
  assert.deepEqual(Array.from(await client.readHoldingRegisters(254, 3)), [0xfefe, 0xffff, 0x0100]);
  assert.equal(client.stats.responses, 10);
});

test('Planta client → pymodbus server: writes FC5, 6, 15, 16, 23 land exactly and read back', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const { client, writesAfter } = await pymodbusServer(t);

  // FC5: coil 0 is on in the pattern, coil 1 off; flip both.
  await client.writeSingleCoil(0, false);
  await client.writeSingleCoil(1, true);
  assert.deepEqual(await client.readCoils(0, 4), [false, true, false, true]);

  // FC6, with a value above 0x7FFF.
  await client.writeSingleRegister(10, 0xbeef);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(9, 3)), [py.holding(9), 0xbeef, py.holding(11)]);

  // FC15: 19 coils (a partial last byte), then 200.
  const coils19 = [true, true, false, true, false, false, false, true, true, true, true, false, false, true, false, true, false, true, true];
  await client.writeMultipleCoils(50, coils19);
  assert.deepEqual(await client.readCoils(49, 21), [py.coil(49), ...coils19, py.coil(69)]);
  const coils200 = range(0, 200, (i) => (i * 13) % 7 < 3);
  await client.writeMultipleCoils(100, coils200);
  assert.deepEqual(await client.readCoils(99, 201), [py.coil(99), ...coils200]);

  // FC16: across the sign bit, then the maximum 123.
  const regs5 = [0, 1, 0x7fff, 0x8000, 0xffff];
  await client.writeMultipleRegisters(100, regs5);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(99, 7)), [py.holding(99), ...regs5, py.holding(105)]);
  const regs123 = range(0, 123, (i) => (i * 1000 + 7) & 0xffff);
  await client.writeMultipleRegisters(150, regs123);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(150, 123)), regs123);

  // FC23: the write happens before the read, so the read returns it; then both maxima (125 read, 121 write).
  assert.deepEqual(Array.from(await client.readWriteMultipleRegisters(20, 6, 22, [0xaaaa, 0x5555])), [
    py.holding(20),
    py.holding(21),
    0xaaaa,
    0x5555,
    py.holding(24),
    py.holding(25),
  ]);
  const rw121 = range(0, 121, (i) => (0xfedc - i * 17) & 0xffff);
  assert.deepEqual(Array.from(await client.readWriteMultipleRegisters(0, 125, 0, rw121)), [
    ...rw121,
    ...range(121, 4, py.holding),
  ]);

  // What pymodbus's datastore received, as it decoded it: exactly these writes, in order.
  assert.deepEqual(await writesAfter(9), [
    { write: 'coils', fc: 5, address: 0, values: [false] },
    { write: 'coils', fc: 5, address: 1, values: [true] },
    { write: 'holding', fc: 6, address: 10, values: [0xbeef] },
    { write: 'coils', fc: 15, address: 50, values: coils19 },
    { write: 'coils', fc: 15, address: 100, values: coils200 },
    { write: 'holding', fc: 16, address: 100, values: regs5 },
    { write: 'holding', fc: 16, address: 150, values: regs123 },
    { write: 'holding', fc: 23, address: 22, values: [0xaaaa, 0x5555] },
    { write: 'holding', fc: 23, address: 0, values: rw121 },
  ]);
});

test('Planta client → pymodbus server: exception 02 for every function code, nothing written', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const { client, writesAfter } = await pymodbusServer(t);
  const end = PY_SIZE;
  const attempts: [fc: number, call: () => Promise<unknown>][] = [
    [1, () => client.readCoils(end - 1, 2)],
    [2, () => client.readDiscreteInputs(end, 1)],
    [3, () => client.readHoldingRegisters(end - 1, 2)],
    [4, () => client.readInputRegisters(end - 10, 11)],
    [5, () => client.writeSingleCoil(end, true)],
    [6, () => client.writeSingleRegister(end, 1)],
    [15, () => client.writeMultipleCoils(end - 1, [false, false])],
    [16, () => client.writeMultipleRegisters(end - 2, [1, 2, 3])],
    [23, () => client.readWriteMultipleRegisters(end - 1, 2, 0, [1])],
    [23, () => client.readWriteMultipleRegisters(0, 1, end - 1, [1, 2])],
  ];
  for (const [fc, call] of attempts) {
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof IllegalDataAddressError, `FC${fc}: ${String(err)}`);
      assert.equal(err.exceptionCode, 2);
      assert.equal(err.functionCode, fc);
      assert.equal(err.code, 'PLANTA_MODBUS_ILLEGAL_DATA_ADDRESS');
      return true;
    });
  }
  assert.deepEqual(client.stats.exceptions, { 2: attempts.length });
  // The connection survives exceptions, and none of the refused writes touched memory.
  assert.deepEqual(await client.readCoils(end - 2, 2), [py.coil(end - 2), py.coil(end - 1)]);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(end - 3, 3)), range(end - 3, 3, py.holding));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 1)), [py.holding(0)]);
  await client.writeSingleRegister(5, 0x1234); // a marker: once it shows, any earlier write would have too
  assert.deepEqual(await writesAfter(1), [{ write: 'holding', fc: 6, address: 5, values: [0x1234] }]);
  assert.equal(client.stats.connects, 1);
});

test('Planta client → pymodbus server: 200 pipelined requests (window 16) each get their own reply', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const { client } = await pymodbusServer(t, { window: 16 });
  const jobs = range(0, 200, (k) => {
    const a = k % (PY_SIZE - 4);
    switch (k % 4) {
      case 0:
        return client.readHoldingRegisters(a, 3).then((r) => assert.deepEqual(Array.from(r), range(a, 3, py.holding)));
      case 1:
        return client.readInputRegisters(a, 2).then((r) => assert.deepEqual(Array.from(r), range(a, 2, py.input)));
      case 2:
        return client.readCoils(a, 4).then((r) => assert.deepEqual(r, range(a, 4, py.coil)));
      default:
        return client
          .readHoldingRegisters(PY_SIZE, 1)
          .then(
            () => assert.fail('expected exception 02'),
            (e: unknown) => assert.ok(e instanceof ModbusExceptionError && e.exceptionCode === 2),
          );
    }
  });
  await Promise.all(jobs);
  assert.equal(client.stats.responses, 150);
  assert.deepEqual(client.stats.exceptions, { 2: 50 });
  assert.equal(client.stats.unexpectedReplies, 0);
  assert.equal(client.stats.timeouts, 0);
});

test('Planta client → pymodbus server: unit ids 0, 1, 247 and 255 are sent and matched', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const { client } = await pymodbusServer(t);
  for (const unitId of [0, 1, 247, 255]) {
    assert.deepEqual(Array.from(await client.readInputRegisters(unitId, 2, { unitId })), range(unitId, 2, py.input));
  }
  assert.equal(client.stats.protocolErrors, 0);
});

/** Steps only pymodbus can take: requests Planta's server must refuse with 01 or 03 before the handler. */
function pymodbusOnlySteps(): Step[] {
  return [
    { op: '7', expect: { ok: false, exception: 1 } }, // read exception status: not served
    { op: '3:0:126', expect: { ok: false, exception: 3 } }, // quantity over 125
    { op: '3:65000:126', expect: { ok: false, exception: 3 } }, // 03 is checked before 02
    { op: '1:0:2001', expect: { ok: false, exception: 3 } },
    { op: '4:0:0', expect: { ok: false, exception: 3 } },
    { op: `15:0:${range(0, 1969, () => 1).join(',')}`, expect: { ok: false, exception: 3 } },
    // 124 registers make a 261-byte ADU, over the 260 limit: the connection is closed, nothing answered.
    { op: `16:0:${range(0, 124, (i) => i).join(',')}`, expect: { ok: false } },
    { op: '3:0:2', expect: { ok: true, values: range(0, 2, pattern.holding) } }, // still connected, memory intact
  ];
}

test('pymodbus client → Planta server: FC1-6, 15, 16, 23 exact, exceptions 01/02/03', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const server = await startPlantaServer();
  t.after(() => server.close());
  const UNIT = 7;
  const steps = [...commonSteps(), ...pymodbusOnlySteps()];
  const out = await run(PYTHON, [CLIENT_PY, '127.0.0.1', String(server.port), String(UNIT), ...steps.map((s) => s.op)], {
    timeoutMs: 20_000,
  });
  assert.equal(out.code, 0, `client.py failed:\n${out.stdout}\n${out.stderr}`);
  const results = parseResults(out.stdout);
  checkResults(results, steps);

  // What only pymodbus reports: the echo of writes, the padding of bit replies, the exception function code.
  for (const [i, step] of steps.entries()) {
    const r = results[i]!;
    const f = step.op.split(':');
    const fc = Number(f[0]);
    if (!r.ok && !('exception' in step.expect)) {
      assert.match(String(r.error), /Connection unexpectedly closed/);
    } else if (!r.ok) {
      assert.equal(r.fc, fc | 0x80, `${step.op.slice(0, 40)}: exception function code`);
    } else if (fc === 1 || fc === 2) {
      const n = Number(f[2]);
      assert.deepEqual(r.padding, new Array((8 - (n % 8)) % 8).fill(0), `${step.op}: padding bits are zero`);
    } else if (fc >= 5 && fc <= 16) {
      assert.equal(r.address, Number(f[1]), `${step.op.slice(0, 40)}: echoed address`);
      if (fc === 5) assert.equal(r.value, Number(f[2]));
      if (fc === 6) assert.equal(r.value, Number(f[2]));
    }
  }

  // The server saw exactly the requests that pass its own checks, from pymodbus's unit id.
  const expected = steps.map((s) => servedBy(s, UNIT)).filter((s) => s !== undefined);
  assert.deepEqual(server.served, expected);
  checkWrites(server);
  assert.equal(server.stats.badFrames, 1, 'the over-long FC16 frame');
  assert.equal(server.stats.accepted, 2, 'pymodbus reconnected once, after the over-long frame');
});

test('pymodbus asyncio client → Planta server: 500 requests sent at once, each answered in order with its own data', { timeout: TIMEOUT }, async (t) => {
  if (!needPeer(t, hasPymodbus(), 'pymodbus for /usr/bin/python3 (python3-pymodbus)')) return;
  const server = await startPlantaServer();
  t.after(() => server.close());
  const COUNT = 500;
  const out = await run(PYTHON, [CLIENT_PY, '--pipelined', '127.0.0.1', String(server.port), '9', String(COUNT)], {
    timeoutMs: 20_000,
  });
  assert.equal(out.code, 0, `client.py failed:\n${out.stdout}\n${out.stderr}`);
  const [result] = parseResults(out.stdout);
  assert.deepEqual(
    result?.values,
    range(0, COUNT, (k) => range(k, 2, k % 2 === 0 ? pattern.holding : pattern.input)),
  );
  // Served strictly in arrival order.
  assert.deepEqual(
    server.served,
    range(0, COUNT, (k) => ({ fc: k % 2 === 0 ? 3 : 4, unitId: 9, address: k, quantity: 2 })),
  );
});
