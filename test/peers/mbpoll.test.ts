/**
 * Interop with mbpoll (Debian's mbpoll, itself built on libmodbus) as a client
 * of Planta's ModbusTcpServer + createAreaHandler: it reads every table, in
 * every display type it has, and writes coils and registers; the test checks
 * mbpoll's printed output, the function code it used, and the server's memory.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import test, { type TestContext } from 'node:test';
import { decodeValue, encodeValue } from '../../src/modbus/index.js';
import { needPeer } from '../helpers/peers.js';
import { run } from '../helpers/process.js';
import { commandExists } from './build.js';
import { type PlantaPeerServer, SIZE, pattern, range, startPlantaServer } from './fixtures.js';

const TIMEOUT = 30_000;
const MBPOLL = existsSync('/usr/bin/mbpoll') ? '/usr/bin/mbpoll' : 'mbpoll';

function hasMbpoll(): boolean {
  return existsSync('/usr/bin/mbpoll') || commandExists('mbpoll');
}

/** Runs mbpoll once (-1) against the server; `args` go before the host, `values` (writes) after it. */
async function mbpoll(
  s: PlantaPeerServer,
  args: string[],
  values: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(MBPOLL, ['-1', '-o', '2', '-p', String(s.port), ...args, '127.0.0.1', ...values], { timeoutMs: 10_000 });
}

/** The "[ref]: value" lines mbpoll prints after a poll, as [ref, value-text] pairs. */
function polled(stdout: string): [number, string][] {
  return [...stdout.matchAll(/^\[(\d+)\]:\s+(.*?)\s*$/gm)].map((m) => [Number(m[1]), m[2]!]);
}

/** Reads with mbpoll and returns its printed lines; fails with mbpoll's output if it failed. */
async function read(s: PlantaPeerServer, args: string[]): Promise<[number, string][]> {
  const out = await mbpoll(s, args);
  assert.equal(out.code, 0, `mbpoll ${args.join(' ')} failed:\n${out.stdout}\n${out.stderr}`);
  return polled(out.stdout);
}

/** Writes with mbpoll and checks it reported every value written. */
async function write(s: PlantaPeerServer, args: string[], values: string[]): Promise<void> {
  const out = await mbpoll(s, args, values);
  assert.equal(out.code, 0, `mbpoll ${args.join(' ')} ${values.join(' ')} failed:\n${out.stdout}\n${out.stderr}`);
  const n = values.filter((v) => v !== '--').length; // mbpoll counts values, not registers
  assert.match(out.stdout, new RegExp(`^Written ${n} references\\.$`, 'm'));
}

/** How mbpoll prints a 16-bit register in decimal: unsigned, then the signed value when the top bit is set. */
function dec(v: number): string {
  return v >= 0x8000 ? `${v} (${v - 0x10000})` : `${v}`;
}

function hex4(v: number): string {
  return `0x${v.toString(16).toUpperCase().padStart(4, '0')}`;
}

const b01 = (x: boolean): string => (x ? '1' : '0');

async function plantaServer(t: TestContext): Promise<PlantaPeerServer | undefined> {
  if (!needPeer(t, hasMbpoll(), 'mbpoll')) return undefined;
  const s = await startPlantaServer();
  t.after(() => s.close());
  return s;
}

test('mbpoll → Planta server: reads coils, discrete inputs, input and holding registers exactly', { timeout: TIMEOUT }, async (t) => {
  const s = await plantaServer(t);
  if (!s) return;
  const pairs = <T>(start: number, n: number, f: (i: number) => T, show: (v: T) => string): [number, string][] =>
    range(start, n, (i) => [i, show(f(i))]);

  // -0: PDU (zero-based) references.
  assert.deepEqual(await read(s, ['-0', '-t', '0', '-r', '0', '-c', '37']), pairs(0, 37, pattern.coil, b01));
  assert.deepEqual(await read(s, ['-0', '-t', '0', '-r', String(SIZE - 125), '-c', '125']), pairs(SIZE - 125, 125, pattern.coil, b01));
  assert.deepEqual(await read(s, ['-0', '-t', '1', '-r', '100', '-c', '125']), pairs(100, 125, pattern.discrete, b01));
  assert.deepEqual(await read(s, ['-0', '-t', '3', '-r', '0', '-c', '125']), pairs(0, 125, pattern.input, dec));
  assert.deepEqual(await read(s, ['-0', '-t', '3:hex', '-r', String(SIZE - 3), '-c', '3']), pairs(SIZE - 3, 3, pattern.input, hex4));
  assert.deepEqual(await read(s, ['-0', '-t', '4', '-r', '3800', '-c', '125']), pairs(3800, 125, pattern.holding, dec));
  assert.deepEqual(await read(s, ['-0', '-t', '4:hex', '-r', '0', '-c', '10']), pairs(0, 10, pattern.holding, hex4));
  // Without -0, references are 1-based: reference 1 is PDU address 0.
  assert.deepEqual(await read(s, ['-t', '4', '-r', '1', '-c', '3']), [
    [1, dec(pattern.holding(0))],
    [2, dec(pattern.holding(1))],
    [3, dec(pattern.holding(2))],
  ]);
  assert.deepEqual(await read(s, ['-t', '0', '-r', '1', '-c', '4']), pairs(0, 4, pattern.coil, b01).map(([i, v]) => [i + 1, v]));

  assert.deepEqual(s.served, [
    { fc: 1, unitId: 1, address: 0, quantity: 37 },
    { fc: 1, unitId: 1, address: SIZE - 125, quantity: 125 },
    { fc: 2, unitId: 1, address: 100, quantity: 125 },
    { fc: 4, unitId: 1, address: 0, quantity: 125 },
    { fc: 4, unitId: 1, address: SIZE - 3, quantity: 3 },
    { fc: 3, unitId: 1, address: 3800, quantity: 125 },
    { fc: 3, unitId: 1, address: 0, quantity: 10 },
    { fc: 3, unitId: 1, address: 0, quantity: 3 },
    { fc: 1, unitId: 1, address: 0, quantity: 4 },
  ]);
});

test('mbpoll → Planta server: 32-bit integers and floats in both word orders', { timeout: TIMEOUT }, async (t) => {
  const s = await plantaServer(t);
  if (!s) return;
  const put = (area: 'holdingRegisters' | 'inputRegisters', at: number, words: number[]): void => s[area].registers.set(words, at);
  // mbpoll's default 32-bit layout is the low word first (CDAB); -B is big-endian (ABCD).
  put('holdingRegisters', 100, [...encodeValue(12.5, 'float32', 'CDAB'), ...encodeValue(-0.15625, 'float32', 'CDAB')]);
  put('holdingRegisters', 104, encodeValue(-2.75, 'float32', 'ABCD'));
  put('holdingRegisters', 106, [...encodeValue(-123456, 'int32', 'CDAB'), ...encodeValue(2147483647, 'int32', 'CDAB')]);
  put('holdingRegisters', 110, encodeValue(-2, 'int32', 'ABCD'));
  put('inputRegisters', 200, encodeValue(1013.25, 'float32', 'CDAB'));
  put('inputRegisters', 202, encodeValue(65536, 'int32', 'ABCD'));

  assert.deepEqual(await read(s, ['-0', '-t', '4:float', '-r', '100', '-c', '2']), [
    [100, '12.5'],
    [102, '-0.15625'],
  ]);
  assert.deepEqual(await read(s, ['-0', '-B', '-t', '4:float', '-r', '104', '-c', '1']), [[104, '-2.75']]);
  assert.deepEqual(await read(s, ['-0', '-t', '4:int', '-r', '106', '-c', '2']), [
    [106, '-123456'],
    [108, '2147483647'],
  ]);
  assert.deepEqual(await read(s, ['-0', '-B', '-t', '4:int', '-r', '110', '-c', '1']), [[110, '-2']]);
  assert.deepEqual(await read(s, ['-0', '-t', '3:float', '-r', '200', '-c', '1']), [[200, '1013.25']]);
  assert.deepEqual(await read(s, ['-0', '-B', '-t', '3:int', '-r', '202', '-c', '1']), [[202, '65536']]);
  // The same registers in the other order decode to something else (the order is really tested).
  assert.notDeepEqual(await read(s, ['-0', '-B', '-t', '4:float', '-r', '100', '-c', '1']), [[100, '12.5']]);

  // Writes: mbpoll encodes, Planta's decodeValue must agree.
  await write(s, ['-0', '-t', '4:float', '-r', '300'], ['--', '3.25', '-1.5']);
  await write(s, ['-0', '-B', '-t', '4:float', '-r', '310'], ['0.1']);
  await write(s, ['-0', '-t', '4:int', '-r', '320'], ['--', '-2', '100000']);
  await write(s, ['-0', '-B', '-t', '4:int', '-r', '330'], ['--', '-123456789']);
  const h = s.holdingRegisters.registers;
  assert.equal(decodeValue(h, 300, 'float32', 'CDAB'), 3.25);
  assert.equal(decodeValue(h, 302, 'float32', 'CDAB'), -1.5);
  assert.equal(decodeValue(h, 310, 'float32', 'ABCD'), Math.fround(0.1));
  assert.deepEqual(Array.from(h.slice(310, 312)), [0x3dcc, 0xcccd]);
  assert.equal(decodeValue(h, 320, 'int32', 'CDAB'), -2);
  assert.deepEqual(Array.from(h.slice(320, 322)), [0xfffe, 0xffff]);
  assert.equal(decodeValue(h, 322, 'int32', 'CDAB'), 100000);
  assert.deepEqual(Array.from(h.slice(322, 324)), [0x86a0, 0x0001]);
  assert.equal(decodeValue(h, 330, 'int32', 'ABCD'), -123456789);
  assert.equal(h[329], pattern.holding(329));
  assert.equal(h[332], pattern.holding(332));
});

test('mbpoll → Planta server: writes coils and registers (FC5, 6, 15, 16), memory changes exactly', { timeout: TIMEOUT }, async (t) => {
  const s = await plantaServer(t);
  if (!s) return;
  const coils = Array.from(s.coils.bits);
  const holding = Array.from(s.holdingRegisters.registers);

  // One value: mbpoll uses FC5 / FC6; several: FC15 / FC16.
  await write(s, ['-0', '-t', '0', '-r', '10'], ['1']); // coil 10 is off in the pattern
  await write(s, ['-0', '-t', '0', '-r', '9'], ['0']); // coil 9 is on
  coils[10] = 1;
  coils[9] = 0;
  const bits = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1];
  await write(s, ['-0', '-t', '0', '-r', '20'], bits.map(String));
  coils.splice(20, bits.length, ...bits);
  await write(s, ['-t', '0', '-r', '1'], ['0']); // 1-based: reference 1 is coil 0 (on in the pattern)
  coils[0] = 0;

  await write(s, ['-0', '-t', '4', '-r', '30'], ['48879']);
  holding[30] = 48879;
  const regs = [0, 1, 32767, 32768, 65535];
  await write(s, ['-0', '-t', '4', '-r', '40'], regs.map(String));
  holding.splice(40, regs.length, ...regs);
  await write(s, ['-t', '4', '-r', String(SIZE)], ['4242']); // 1-based: the last register
  holding[SIZE - 1] = 4242;

  assert.deepEqual(Array.from(s.coils.bits), coils);
  assert.deepEqual(Array.from(s.holdingRegisters.registers), holding);
  assert.deepEqual(
    s.served.map((r) => [r.fc, r.address, r.quantity]),
    [
      [5, 10, 1],
      [5, 9, 1],
      [15, 20, 11],
      [5, 0, 1],
      [6, 30, 1],
      [16, 40, 5],
      [6, SIZE - 1, 1],
    ],
  );

  // mbpoll reads back what it wrote.
  assert.deepEqual(await read(s, ['-0', '-t', '0', '-r', '8', '-c', '3']), [
    [8, b01(pattern.coil(8))],
    [9, '0'],
    [10, '1'],
  ]);
  assert.deepEqual(await read(s, ['-0', '-t', '4', '-r', '40', '-c', '5']), [
    [40, '0'],
    [41, '1'],
    [42, '32767'],
    [43, '32768 (-32768)'],
    [44, '65535 (-1)'],
  ]);
});

test('mbpoll → Planta server: illegal data address (02) is reported, nothing is written', { timeout: TIMEOUT }, async (t) => {
  const s = await plantaServer(t);
  if (!s) return;
  const before = { coils: Array.from(s.coils.bits), holding: Array.from(s.holdingRegisters.registers) };
  const cases: [args: string[], values: string[], message: RegExp][] = [
    [['-0', '-t', '0', '-r', String(SIZE - 1), '-c', '2'], [], /Read discrete output \(coil\) failed: Illegal data address/],
    [['-0', '-t', '1', '-r', String(SIZE), '-c', '1'], [], /Read discrete input failed: Illegal data address/],
    [['-0', '-t', '3', '-r', String(SIZE - 1), '-c', '2'], [], /Read input register failed: Illegal data address/],
    [['-0', '-t', '4', '-r', String(SIZE - 1), '-c', '2'], [], /Read output \(holding\) register failed: Illegal data address/],
    [['-0', '-t', '0', '-r', String(SIZE)], ['1'], /Write discrete output \(coil\) failed: Illegal data address/],
    [['-0', '-t', '0', '-r', String(SIZE - 1)], ['0', '0'], /Write discrete output \(coil\) failed: Illegal data address/],
    [['-0', '-t', '4', '-r', String(SIZE)], ['1'], /Write output \(holding\) register failed: Illegal data address/],
    [['-0', '-t', '4', '-r', String(SIZE - 1)], ['1', '2'], /Write output \(holding\) register failed: Illegal data address/],
  ];
  for (const [args, values, message] of cases) {
    const out = await mbpoll(s, args, values);
    assert.notEqual(out.code, 0, `mbpoll ${args.join(' ')} should fail`);
    assert.match(out.stderr, message);
    assert.deepEqual(polled(out.stdout), [], 'no values printed');
  }
  assert.deepEqual(
    s.served.map((r) => r.fc),
    [1, 2, 4, 3, 5, 15, 6, 16],
  );
  assert.deepEqual(Array.from(s.coils.bits), before.coils);
  assert.deepEqual(Array.from(s.holdingRegisters.registers), before.holding);
  assert.equal(s.stats.exceptions, cases.length);
});
