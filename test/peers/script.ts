/**
 * The script that an external client (pymodbus's test/peers/py/client.py,
 * libmodbus's test/peers/c/lm-client.c) runs against a Planta server filled
 * with `pattern`, with the exact result expected for every step. Both clients
 * take the same OP syntax (see either file's header) and print one JSON line
 * per OP. Writes are read back by the client itself, and checkWrites() checks
 * the server's memory afterwards.
 */
import assert from 'node:assert/strict';
import { type PlantaPeerServer, SIZE, type Served, pattern, range } from './fixtures.js';

export type Expected =
  | { ok: true; values: number[] }
  | { ok: true; written: number }
  | { ok: false; exception: number }
  /** Failed without an exception reply (e.g. the server closed the connection). */
  | { ok: false };

export interface Step {
  op: string;
  expect: Expected;
}

/** What a client printed for one OP (the common part; peers add their own fields). */
export interface Result {
  op: string;
  ok: boolean;
  values?: number[];
  written?: number;
  exception?: number;
  error?: string;
  [extra: string]: unknown;
}

const b = (x: boolean): number => (x ? 1 : 0);
const hex = (v: number): string => `0x${v.toString(16)}`;

// Values written by the script (non-trivial patterns, so a shifted or reordered write shows).
export const W = {
  coils19: [1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1],
  /** 1968 coils (the FC15 maximum) at address 2000. */
  coilsMax: range(0, 1968, (i) => b((i * 13) % 7 < 3)),
  regs5: [1, 2, 3, 0xffff, 0x8000],
  /** 123 registers (the FC16 maximum) at address 300. */
  regsMax: range(0, 123, (i) => (i * 1000 + 7) & 0xffff),
  /** 121 registers (the FC23 write maximum) at address 1000. */
  rwMax: range(0, 121, (i) => (0xfedc - i * 17) & 0xffff),
};

/** The steps every function code 1,2,3,4,5,6,15,16,23 takes, in order, with exact results. */
export function commonSteps(): Step[] {
  const c = (a: number, n: number): number[] => range(a, n, (i) => b(pattern.coil(i)));
  const d = (a: number, n: number): number[] => range(a, n, (i) => b(pattern.discrete(i)));
  const h = (a: number, n: number): number[] => range(a, n, pattern.holding);
  const ir = (a: number, n: number): number[] => range(a, n, pattern.input);
  const ok = (values: number[]): Expected => ({ ok: true, values });
  const wrote = (n: number): Expected => ({ ok: true, written: n });
  const exc = (e: number): Expected => ({ ok: false, exception: e });
  return [
    // FC1..4: reads at the start, at the very end, and of the maximum quantity.
    { op: '1:0:37', expect: ok(c(0, 37)) },
    { op: `1:${SIZE - 10}:10`, expect: ok(c(SIZE - 10, 10)) },
    { op: '1:0:2000', expect: ok(c(0, 2000)) },
    { op: '2:5:37', expect: ok(d(5, 37)) },
    { op: `2:${SIZE - 2000}:2000`, expect: ok(d(SIZE - 2000, 2000)) },
    { op: '3:0:125', expect: ok(h(0, 125)) },
    { op: `3:${SIZE - 5}:5`, expect: ok(h(SIZE - 5, 5)) },
    { op: '4:100:125', expect: ok(ir(100, 125)) },
    { op: `4:${SIZE - 1}:1`, expect: ok(ir(SIZE - 1, 1)) },
    // FC5: coil 9 is on in the pattern, 10 is off; flip both, read back.
    { op: '5:9:0', expect: wrote(1) },
    { op: '5:10:1', expect: wrote(1) },
    { op: '1:8:4', expect: ok([b(pattern.coil(8)), 0, 1, b(pattern.coil(11))]) },
    // FC6
    { op: `6:20:${hex(0xbeef)}`, expect: wrote(1) },
    { op: '3:19:3', expect: ok([pattern.holding(19), 0xbeef, pattern.holding(21)]) },
    // FC15: 19 coils (3 bytes, last one partial), then the maximum 1968.
    { op: `15:100:${W.coils19.join(',')}`, expect: wrote(19) },
    { op: '1:99:21', expect: ok([...c(99, 1), ...W.coils19, ...c(119, 1)]) },
    { op: `15:2000:${W.coilsMax.join(',')}`, expect: wrote(1968) },
    { op: '1:1999:2000', expect: ok([...c(1999, 1), ...W.coilsMax, ...c(3968, 31)]) },
    // FC16: values across the sign bit, then the maximum 123.
    { op: `16:200:${W.regs5.join(',')}`, expect: wrote(5) },
    { op: '3:199:7', expect: ok([...h(199, 1), ...W.regs5, ...h(205, 1)]) },
    { op: `16:300:${W.regsMax.join(',')}`, expect: wrote(123) },
    { op: '3:299:125', expect: ok([...h(299, 1), ...W.regsMax, ...h(423, 1)]) },
    // FC23: the write happens before the read, so the read sees it.
    { op: '23:500:6:502:0xaaaa,0x5555', expect: ok([...h(500, 2), 0xaaaa, 0x5555, ...h(504, 2)]) },
    { op: `23:1000:125:1000:${W.rwMax.join(',')}`, expect: ok([...W.rwMax, ...h(1121, 4)]) },
    { op: '3:501:4', expect: ok([pattern.holding(501), 0xaaaa, 0x5555, pattern.holding(504)]) },
    // Exception 02 (illegal data address) for every function code; nothing is written.
    { op: `1:${SIZE - 1}:2`, expect: exc(2) },
    { op: `2:${SIZE}:1`, expect: exc(2) },
    { op: `3:${SIZE - 1}:2`, expect: exc(2) },
    { op: `4:${SIZE - 10}:11`, expect: exc(2) },
    { op: `5:${SIZE}:1`, expect: exc(2) },
    { op: `6:${SIZE}:7`, expect: exc(2) },
    { op: `15:${SIZE - 1}:0,0`, expect: exc(2) },
    { op: `16:${SIZE - 2}:1,2,3`, expect: exc(2) },
    { op: `23:${SIZE - 1}:2:0:1`, expect: exc(2) },
    { op: `23:0:1:${SIZE - 1}:1,2`, expect: exc(2) },
    { op: `3:${SIZE - 3}:3`, expect: ok(h(SIZE - 3, 3)) },
    { op: '3:0:1', expect: ok(h(0, 1)) },
    // Exception 01: mask write register (FC22) is not served.
    { op: '22:0:0xff:0', expect: exc(1) },
  ];
}

/** The request a step makes, as the Planta server records it; undefined if the server refuses it before the handler. */
export function servedBy(step: Step, unitId: number): Served | undefined {
  if (!step.expect.ok && !('exception' in step.expect && step.expect.exception === 2)) return undefined;
  const f = step.op.split(':');
  const fc = Number(f[0]);
  const n = (s: string | undefined): number => Number(s);
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      return { fc, unitId, address: n(f[1]), quantity: n(f[2]) };
    case 5:
    case 6:
      return { fc, unitId, address: n(f[1]), quantity: 1 };
    case 15:
    case 16:
      return { fc, unitId, address: n(f[1]), quantity: f[2]!.split(',').length };
    case 23:
      return { fc, unitId, address: n(f[3]), quantity: f[4]!.split(',').length };
    default:
      return undefined;
  }
}

/** Parses the JSON lines a client printed (ignoring anything else) and checks it finished. */
export function parseResults(stdout: string): Result[] {
  const lines = stdout.split('\n');
  assert.ok(lines.includes('done'), `the client did not finish; output:\n${stdout}`);
  return lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Result);
}

/** Checks every result against its step, exactly, for the fields the step names. */
export function checkResults(results: Result[], steps: Step[]): void {
  assert.deepEqual(
    results.map((r) => r.op),
    steps.map((s) => s.op),
    'one result per op, in order',
  );
  for (const [i, step] of steps.entries()) {
    const r = results[i]!;
    const picked = Object.fromEntries(Object.keys(step.expect).map((k) => [k, r[k]]));
    assert.deepEqual(picked, step.expect, `op ${step.op.slice(0, 60)}: got ${JSON.stringify(r).slice(0, 300)}`);
  }
}

/** After commonSteps(): the server's memory holds exactly the writes, and nothing else changed. */
export function checkWrites(s: PlantaPeerServer): void {
  const coils = range(0, SIZE, (i) => b(pattern.coil(i)));
  coils[9] = 0;
  coils[10] = 1;
  coils.splice(100, W.coils19.length, ...W.coils19);
  coils.splice(2000, W.coilsMax.length, ...W.coilsMax);
  assert.deepEqual(Array.from(s.coils.bits), coils, 'coils after the writes');

  const holding = range(0, SIZE, pattern.holding);
  holding[20] = 0xbeef;
  holding.splice(200, W.regs5.length, ...W.regs5);
  holding.splice(300, W.regsMax.length, ...W.regsMax);
  holding.splice(502, 2, 0xaaaa, 0x5555);
  holding.splice(1000, W.rwMax.length, ...W.rwMax);
  assert.deepEqual(Array.from(s.holdingRegisters.registers), holding, 'holding registers after the writes');

  assert.deepEqual(Array.from(s.discreteInputs.bits), range(0, SIZE, (i) => b(pattern.discrete(i))));
  assert.deepEqual(Array.from(s.inputRegisters.registers), range(0, SIZE, pattern.input));
}
