/**
 * Interop with libmodbus (Debian's libmodbus-dev), both directions:
 *   - test/peers/c/lm-client.c against Planta's ModbusTcpServer + createAreaHandler;
 *   - Planta's ModbusTcpClient against test/peers/c/lm-server.c.
 */
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import {
  IllegalDataAddressError,
  ModbusExceptionError,
  ModbusTcpClient,
} from '../../src/modbus/index.js';
import { needPeer } from '../helpers/peers.js';
import { run, startProcess } from '../helpers/process.js';
import { buildPeer } from './build.js';
import { pattern, range, startPlantaServer } from './fixtures.js';
import { type Result, type Step, checkResults, checkWrites, commonSteps, parseResults, servedBy } from './script.js';

const TIMEOUT = 30_000;
const LIBMODBUS = 'libmodbus-dev and gcc (to build test/peers/c)';

/** The data pattern of test/peers/c/lm-server.c (see its header). */
const LM_SIZE = 10_000;
const lm = {
  coil: (i: number): boolean => i % 3 === 0,
  discrete: (i: number): boolean => i % 2 === 1,
  holding: (i: number): number => i & 0xffff,
  input: (i: number): number => (i * 7) & 0xffff,
};

/** Raw PDUs that libmodbus's own API would refuse to build, with Planta's exact reply PDU. */
function rawSteps(): { op: string; reply: number[] }[] {
  return [
    { op: 'raw:03000000007E', reply: [0x83, 0x03] }, // read 126 holding registers: quantity, 03
    { op: 'raw:03FDE8007E', reply: [0x83, 0x03] }, // quantity 126 at 65000: 03 comes before 02
    { op: 'raw:0100000000', reply: [0x81, 0x03] }, // read 0 coils
    { op: 'raw:02000007D1', reply: [0x82, 0x03] }, // read 2001 discrete inputs
    { op: 'raw:05000A1234', reply: [0x85, 0x03] }, // FC5 with a value other than FF00/0000
    { op: 'raw:0F0000000A01FF', reply: [0x8f, 0x03] }, // 10 coils need 2 bytes, byte count says 1
    { op: 'raw:10000000010400010002', reply: [0x90, 0x03] }, // 1 register, byte count 4
    { op: 'raw:2B0E0100', reply: [0xab, 0x01] }, // read device identification: not served
    { op: 'raw:41', reply: [0xc1, 0x01] }, // an undefined function code
    { op: 'raw:03', reply: [0x83, 0x03] }, // a function code without its fields
    { op: 'raw:0300000001FF', reply: [0x83, 0x03] }, // one byte too many
    { op: 'raw:0300000002', reply: [0x03, 0x04, ...be(pattern.holding(0)), ...be(pattern.holding(1))] },
    { op: 'raw:05000AFF00', reply: [0x05, 0x00, 0x0a, 0xff, 0x00] }, // FC5 echo
    { op: 'raw:0F00640013039B6A06', reply: [0x0f, 0x00, 0x64, 0x00, 0x13] }, // FC15 reply: address, quantity
    { op: 'raw:03FFFF0001', reply: [0x83, 0x02] }, // address 65535: 02
  ];
}

function be(v: number): number[] {
  return [v >> 8, v & 0xff];
}

function lmClientPath(t: TestContext): string | undefined {
  const bin = buildPeer('lm-client');
  return needPeer(t, bin !== undefined, LIBMODBUS) ? bin : undefined;
}

test('libmodbus client → Planta server: FC1-6, 15, 16, 23 exact at the limits, exceptions 01/02', { timeout: TIMEOUT }, async (t) => {
  const bin = lmClientPath(t);
  if (!bin) return;
  const server = await startPlantaServer();
  t.after(() => server.close());
  const UNIT = 17;
  const steps: Step[] = [
    ...commonSteps(),
    // libmodbus checks limits itself and sends nothing ("Too many data"); the server never sees these.
    { op: '3:0:126', expect: { ok: false } },
    { op: '1:0:2001', expect: { ok: false } },
  ];
  const out = await run(bin, ['127.0.0.1', String(server.port), String(UNIT), ...steps.map((s) => s.op)]);
  assert.equal(out.code, 0, `lm-client failed:\n${out.stdout}\n${out.stderr}`);
  const results = parseResults(out.stdout);
  checkResults(results, steps);
  for (const r of results.slice(-2)) assert.equal(r.error, 'Too many data');
  const expected = steps.map((s) => servedBy(s, UNIT)).filter((s) => s !== undefined);
  assert.deepEqual(server.served, expected, 'the server saw exactly these requests, from libmodbus unit 17');
  checkWrites(server);
  assert.equal(server.stats.accepted, 1);
  assert.equal(server.stats.badFrames, 0);
});

test('libmodbus client → Planta server: malformed and unsupported PDUs get the exact exception reply', { timeout: TIMEOUT }, async (t) => {
  const bin = lmClientPath(t);
  if (!bin) return;
  const server = await startPlantaServer();
  t.after(() => server.close());
  const steps = rawSteps();
  const out = await run(bin, ['127.0.0.1', String(server.port), '3', ...steps.map((s) => s.op)]);
  assert.equal(out.code, 0, `lm-client failed:\n${out.stdout}\n${out.stderr}`);
  const results = parseResults(out.stdout);
  assert.deepEqual(
    results.map((r: Result) => ({ op: r.op, ok: r.ok, unit: r.unit, pdu: r.pdu })),
    steps.map((s) => ({ op: s.op, ok: true, unit: 3, pdu: s.reply })),
  );
  // Only the well-formed requests reached the handler (the last one to refuse its address).
  assert.deepEqual(server.served, [
    { fc: 3, unitId: 3, address: 0, quantity: 2 },
    { fc: 5, unitId: 3, address: 10, quantity: 1 },
    { fc: 15, unitId: 3, address: 100, quantity: 19 },
    { fc: 3, unitId: 3, address: 0xffff, quantity: 1 },
  ]);
  assert.equal(server.coils.get(10), true);
  // 0x9B 0x6A 0x06 LSB-first = the 19 coils 1101 1001 0101 0110 011.
  const coils = range(100, 19, (i) => server.coils.get(i));
  assert.deepEqual(
    coils.map((c) => (c ? 1 : 0)),
    [1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1],
  );
});

async function lmServer(t: TestContext, clientOptions: { window?: number } = {}) {
  const bin = buildPeer('lm-server');
  if (!needPeer(t, bin !== undefined, LIBMODBUS)) return undefined;
  const server = await startProcess(bin!, ['0'], /^listening (\d+)$/m);
  const port = Number(server.match[1]);
  const client = new ModbusTcpClient({ host: '127.0.0.1', port, timeout: 2000, reconnect: false, ...clientOptions });
  t.after(async () => {
    await client.close();
    await server.stop();
  });
  await client.connect();
  return client;
}

test('Planta client → libmodbus server: reads FC1-4 exact, at the maxima and at the end', { timeout: TIMEOUT }, async (t) => {
  const client = await lmServer(t);
  if (!client) return;
  assert.deepEqual(await client.readCoils(0, 37), range(0, 37, lm.coil));
  assert.deepEqual(await client.readCoils(0, 2000), range(0, 2000, lm.coil));
  assert.deepEqual(await client.readCoils(LM_SIZE - 10, 10), range(LM_SIZE - 10, 10, lm.coil));
  assert.deepEqual(await client.readDiscreteInputs(1, 2000), range(1, 2000, lm.discrete));
  assert.deepEqual(await client.readDiscreteInputs(LM_SIZE - 3, 3), range(LM_SIZE - 3, 3, lm.discrete));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 125)), range(0, 125, lm.holding));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(LM_SIZE - 125, 125)), range(LM_SIZE - 125, 125, lm.holding));
  assert.deepEqual(Array.from(await client.readInputRegisters(9000, 125)), range(9000, 125, lm.input));
  assert.deepEqual(Array.from(await client.readInputRegisters(LM_SIZE - 1, 1)), [lm.input(LM_SIZE - 1)]);
  assert.equal(client.stats.responses, 9);
});

test('Planta client → libmodbus server: writes FC5, 6, 15, 16, 23 at the maxima, read back exactly', { timeout: TIMEOUT }, async (t) => {
  const client = await lmServer(t);
  if (!client) return;
  await client.writeSingleCoil(0, false);
  await client.writeSingleCoil(1, true);
  assert.deepEqual(await client.readCoils(0, 4), [false, true, false, true]);

  await client.writeSingleRegister(7, 0xbeef);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(6, 3)), [6, 0xbeef, 8]);

  const coils = range(0, 1968, (i) => (i * 13) % 7 < 3);
  await client.writeMultipleCoils(1000, coils);
  assert.deepEqual(await client.readCoils(999, 1970), [lm.coil(999), ...coils, lm.coil(2968)]);

  const regs = range(0, 123, (i) => (0xffff - i * 301) & 0xffff);
  await client.writeMultipleRegisters(2000, regs);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(1999, 125)), [1999, ...regs, 2123]);

  // FC23 writes before it reads: the read (125, the maximum) returns the 121 registers written.
  const rw = range(0, 121, (i) => (0x8000 + i * 3) & 0xffff);
  assert.deepEqual(Array.from(await client.readWriteMultipleRegisters(3000, 125, 3002, rw)), [3000, 3001, ...rw, 3123, 3124]);
  assert.deepEqual(Array.from(await client.readWriteMultipleRegisters(4000, 2, 4000, [5])), [5, 4001]);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(3001, 3)), [3001, rw[0], rw[1]]);
});

test('Planta client → libmodbus server: exception 02 for every function code, connection kept', { timeout: TIMEOUT }, async (t) => {
  const client = await lmServer(t);
  if (!client) return;
  const end = LM_SIZE;
  const attempts: [fc: number, call: () => Promise<unknown>][] = [
    [1, () => client.readCoils(end - 1, 2)],
    [2, () => client.readDiscreteInputs(end, 1)],
    [3, () => client.readHoldingRegisters(end - 1, 2)],
    [4, () => client.readInputRegisters(0xffff, 1)],
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
      return true;
    });
  }
  assert.deepEqual(client.stats.exceptions, { 2: attempts.length });
  assert.deepEqual(await client.readCoils(end - 1, 1), [lm.coil(end - 1)]);
  assert.deepEqual(Array.from(await client.readHoldingRegisters(end - 3, 3)), range(end - 3, 3, lm.holding));
  assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 1)), [0]);
  assert.equal(client.stats.connects, 1);
});

test('Planta client → libmodbus server: 1000 pipelined requests (window 32) each get their own reply', { timeout: TIMEOUT }, async (t) => {
  const client = await lmServer(t, { window: 32 });
  if (!client) return;
  const jobs = range(0, 1000, (k) => {
    const a = (k * 37) % (LM_SIZE - 10);
    switch (k % 4) {
      case 0:
        return client.readHoldingRegisters(a, 10).then((r) => assert.deepEqual(Array.from(r), range(a, 10, lm.holding)));
      case 1:
        return client.readInputRegisters(a, 3).then((r) => assert.deepEqual(Array.from(r), range(a, 3, lm.input)));
      case 2:
        return client.readDiscreteInputs(a, 9).then((r) => assert.deepEqual(r, range(a, 9, lm.discrete)));
      default:
        return client.readCoils(LM_SIZE, 1).then(
          () => assert.fail('expected exception 02'),
          (e: unknown) => assert.ok(e instanceof ModbusExceptionError && e.exceptionCode === 2),
        );
    }
  });
  await Promise.all(jobs);
  assert.equal(client.stats.responses, 750);
  assert.deepEqual(client.stats.exceptions, { 2: 250 });
  assert.equal(client.stats.unexpectedReplies, 0);
  assert.equal(client.stats.timeouts, 0);
});

test('Planta client → libmodbus server: transaction ids wrap past 65535 with every reply matched (66000 requests)', { timeout: 60_000 }, async (t) => {
  const client = await lmServer(t, { window: 64 });
  if (!client) return;
  const TOTAL = 66_000;
  let wrong = 0;
  for (let done = 0; done < TOTAL; done += 2000) {
    // Each request reads a different register, whose value is its address: a reply given to the wrong request shows.
    const batch = range(done, 2000, (k) => {
      const a = k % LM_SIZE;
      return client.readHoldingRegisters(a, 1, { timeout: 5000 }).then((r) => {
        if (r.length !== 1 || r[0] !== a) wrong++;
      });
    });
    await Promise.all(batch);
  }
  assert.equal(wrong, 0);
  assert.equal(client.stats.responses, TOTAL);
  assert.equal(client.stats.unexpectedReplies, 0);
  assert.equal(client.stats.timeouts, 0);
  assert.equal(client.stats.connects, 1);
});

test('Planta client → libmodbus server: unit ids 0, 1, 247 and 255 are sent and matched', { timeout: TIMEOUT }, async (t) => {
  const client = await lmServer(t);
  if (!client) return;
  for (const unitId of [0, 1, 247, 255]) {
    assert.deepEqual(Array.from(await client.readHoldingRegisters(unitId, 2, { unitId })), [unitId, unitId + 1]);
  }
  assert.equal(client.stats.protocolErrors, 0);
});
