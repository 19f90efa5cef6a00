/**
 * Typed values over registers: round trips for every type and byte order,
 * known vectors written out by hand, range checks, strings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BYTE_ORDERS,
  ModbusRequestError,
  NUMERIC_TYPES,
  decodeString,
  decodeValue,
  encodeString,
  encodeValue,
  registerCount,
  type ByteOrder,
  type NumericType,
} from '../../src/modbus/index.js';

const T = { timeout: 30_000 };

const refused = (fn: () => unknown, why: string): void => {
  assert.throws(fn, (e: unknown) => e instanceof ModbusRequestError && e.code === 'PLANTA_MODBUS_INVALID_REQUEST', why);
};

const valueArb: Record<NumericType, fc.Arbitrary<number>> = {
  int16: fc.integer({ min: -0x8000, max: 0x7fff }),
  uint16: fc.integer({ min: 0, max: 0xffff }),
  int32: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  uint32: fc.integer({ min: 0, max: 0xffffffff }),
  float32: fc.float(), // 32-bit floats, including NaN, ±0, ±Infinity and subnormals
  float64: fc.double(),
};

describe('values: round trips (property)', () => {
  for (const type of NUMERIC_TYPES) {
    for (const order of BYTE_ORDERS) {
      it(`${type} ${order}`, T, () => {
        fc.assert(
          fc.property(valueArb[type], fc.nat({ max: 5 }), (v, pad) => {
            const regs = encodeValue(v, type, order);
            assert.equal(regs.length, registerCount(type));
            for (const r of regs) assert.ok(Number.isInteger(r) && r >= 0 && r <= 0xffff);
            assert.ok(Object.is(decodeValue(regs, 0, type, order), v), `${v} → ${regs} → ${decodeValue(regs, 0, type, order)}`);
            // At an offset inside a larger block.
            const block = [...new Array<number>(pad).fill(0xdead), ...regs, 0xbeef];
            assert.ok(Object.is(decodeValue(block, pad, type, order), v));
          }),
          { numRuns: 500 },
        );
      });
    }
  }

  it('the four orders of one value are the byte/word permutations of ABCD', T, () => {
    const swapBytes = (w: number): number => ((w & 0xff) << 8) | (w >> 8);
    fc.assert(
      fc.property(fc.constantFrom<NumericType>('int32', 'uint32', 'float32', 'float64'), fc.integer({ min: 0, max: 0x7fffffff }), (type, v) => {
        const abcd = encodeValue(v, type, 'ABCD');
        assert.deepEqual(encodeValue(v, type, 'CDAB'), [...abcd].reverse());
        assert.deepEqual(encodeValue(v, type, 'BADC'), abcd.map(swapBytes));
        assert.deepEqual(encodeValue(v, type, 'DCBA'), [...abcd].reverse().map(swapBytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe('values: known vectors', () => {
  const vectors: [NumericType, number, Record<ByteOrder, number[]>][] = [
    ['float32', Math.fround(123.456), { ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] }],
    ['float32', 1, { ABCD: [0x3f80, 0x0000], CDAB: [0x0000, 0x3f80], BADC: [0x803f, 0x0000], DCBA: [0x0000, 0x803f] }],
    ['float32', -2.5, { ABCD: [0xc020, 0x0000], CDAB: [0x0000, 0xc020], BADC: [0x20c0, 0x0000], DCBA: [0x0000, 0x20c0] }],
    ['uint32', 0x12345678, { ABCD: [0x1234, 0x5678], CDAB: [0x5678, 0x1234], BADC: [0x3412, 0x7856], DCBA: [0x7856, 0x3412] }],
    ['int32', -2, { ABCD: [0xffff, 0xfffe], CDAB: [0xfffe, 0xffff], BADC: [0xffff, 0xfeff], DCBA: [0xfeff, 0xffff] }],
    ['int32', -0x80000000, { ABCD: [0x8000, 0x0000], CDAB: [0x0000, 0x8000], BADC: [0x0080, 0x0000], DCBA: [0x0000, 0x0080] }],
    ['uint32', 0xffffffff, { ABCD: [0xffff, 0xffff], CDAB: [0xffff, 0xffff], BADC: [0xffff, 0xffff], DCBA: [0xffff, 0xffff] }],
    ['int16', -1, { ABCD: [0xffff], CDAB: [0xffff], BADC: [0xffff], DCBA: [0xffff] }],
    ['int16', 0x1234, { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] }],
    ['int16', -0x8000, { ABCD: [0x8000], CDAB: [0x8000], BADC: [0x0080], DCBA: [0x0080] }],
    ['uint16', 0xabcd, { ABCD: [0xabcd], CDAB: [0xabcd], BADC: [0xcdab], DCBA: [0xcdab] }],
    ['float64', 1, { ABCD: [0x3ff0, 0, 0, 0], CDAB: [0, 0, 0, 0x3ff0], BADC: [0xf03f, 0, 0, 0], DCBA: [0, 0, 0, 0xf03f] }],
    [
      'float64',
      123.456, // 0x405EDD2F1A9FBE77
      {
        ABCD: [0x405e, 0xdd2f, 0x1a9f, 0xbe77],
        CDAB: [0xbe77, 0x1a9f, 0xdd2f, 0x405e],
        BADC: [0x5e40, 0x2fdd, 0x9f1a, 0x77be],
        DCBA: [0x77be, 0x9f1a, 0x2fdd, 0x5e40],
      },
    ],
  ];
  for (const [type, value, byOrder] of vectors) {
    for (const order of BYTE_ORDERS) {
      it(`${type} ${value} ${order} = ${byOrder[order].map((w) => w.toString(16).padStart(4, '0')).join(' ')}`, T, () => {
        assert.deepEqual(encodeValue(value, type, order), byOrder[order]);
        assert.equal(decodeValue(byOrder[order], 0, type, order), value);
      });
    }
  }

  it('ABCD is the default order', T, () => {
    assert.deepEqual(encodeValue(Math.fround(123.456), 'float32'), [0x42f6, 0xe979]);
    assert.equal(decodeValue([0x42f6, 0xe979], 0, 'float32'), Math.fround(123.456));
    assert.ok(Math.abs(decodeValue([0x42f6, 0xe979], 0, 'float32') - 123.456) < 1e-4);
  });

  it('decodes from a Uint16Array at an offset', T, () => {
    const regs = Uint16Array.from([0, 0x1234, 0x5678, 0]);
    assert.equal(decodeValue(regs, 1, 'uint32'), 0x12345678);
    assert.equal(decodeValue(regs, 1, 'int16'), 0x1234);
    assert.equal(decodeValue(regs, 2, 'uint32', 'CDAB'), 0x00005678);
  });

  it('register counts', T, () => {
    assert.deepEqual(
      NUMERIC_TYPES.map((t) => registerCount(t)),
      [1, 1, 2, 2, 2, 4],
    );
  });
});

describe('values: refusals', () => {
  it('integers out of range or not integers are refused, never wrapped', T, () => {
    const cases: [NumericType, number][] = [
      ['int16', 32768],
      ['int16', -32769],
      ['int16', 1.5],
      ['int16', NaN],
      ['int16', Infinity],
      ['uint16', -1],
      ['uint16', 65536],
      ['uint16', 0.5],
      ['int32', 0x80000000],
      ['int32', -0x80000001],
      ['uint32', -1],
      ['uint32', 0x100000000],
      ['uint32', 2 ** 53],
    ];
    for (const [type, v] of cases) for (const order of BYTE_ORDERS) refused(() => encodeValue(v, type, order), `${type} ${v}`);
  });

  it('property: any integer outside the type range is refused', T, () => {
    fc.assert(
      fc.property(fc.constantFrom<NumericType>('int16', 'uint16', 'int32', 'uint32'), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (type, v) => {
        const [lo, hi] = { int16: [-0x8000, 0x7fff], uint16: [0, 0xffff], int32: [-0x80000000, 0x7fffffff], uint32: [0, 0xffffffff] }[
          type as 'int16'
        ] as [number, number];
        if (v >= lo && v <= hi) assert.equal(decodeValue(encodeValue(v, type), 0, type), v);
        else refused(() => encodeValue(v, type), `${type} ${v}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('decoding past the registers read is refused', T, () => {
    refused(() => decodeValue([1], 0, 'float32'), 'float32 from one register');
    refused(() => decodeValue([1, 2, 3], 0, 'float64'), 'float64 from three registers');
    refused(() => decodeValue([1, 2], 1, 'uint32'), 'uint32 at offset 1 of 2');
    refused(() => decodeValue([1, 2], -1, 'uint16'), 'negative offset');
    refused(() => decodeValue([], 0, 'uint16'), 'empty');
  });

  // Regression (found by these tests): the offset check
  // `offset < 0 || offset + n > registers.length` lets a non-integer or NaN
  // offset through; registers[0.5] is undefined, which DataView.setUint16
  // turns into 0, so a wrong offset silently decodes as 0 instead of being refused.
  it('a non-integer or NaN offset is refused, not decoded as 0', T, () => {
    refused(() => decodeValue([0x1234, 0x5678, 0x9abc], 0.5, 'uint16'), 'offset 0.5');
    refused(() => decodeValue([0x1234, 0x5678, 0x9abc], NaN, 'uint16'), 'offset NaN');
  });
});

describe('values: strings', () => {
  it('packs two characters per register, high byte first', T, () => {
    assert.deepEqual(encodeString('ABC', 2), [0x4142, 0x4300]);
    assert.deepEqual(encodeString('ABC', 3), [0x4142, 0x4300, 0]);
    assert.deepEqual(encodeString('', 2), [0, 0]);
    assert.equal(decodeString([0x4142, 0x4300], 0, 2), 'ABC');
    assert.equal(decodeString([0x4142, 0x4344], 0, 2), 'ABCD');
  });

  it('with swapBytes, low byte first', T, () => {
    assert.deepEqual(encodeString('ABC', 2, true), [0x4241, 0x0043]);
    assert.equal(decodeString([0x4241, 0x0043], 0, 2, true), 'ABC');
  });

  it('stops at the first NUL and at the end of the registers', T, () => {
    assert.equal(decodeString([0x4142, 0x0043, 0x4445], 0, 3), 'AB');
    assert.equal(decodeString([0x4100, 0x4243], 0, 2), 'A');
    assert.equal(decodeString([0x4142], 0, 5), 'AB');
    assert.equal(decodeString([0x5858, 0x4142], 1, 1), 'AB');
  });

  it('Latin-1 characters survive', T, () => {
    assert.deepEqual(encodeString('é°', 1), [0xe9b0]);
    assert.equal(decodeString([0xe9b0], 0, 1), 'é°');
  });

  it('refuses text that does not fit or is not Latin-1', T, () => {
    refused(() => encodeString('ABCDE', 2), 'too long');
    refused(() => encodeString('€', 1), 'not Latin-1');
    refused(() => encodeString('A\u0100', 1), 'not Latin-1');
  });

  it('property: round trip of NUL-free Latin-1 text in either byte order', T, () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    fc.assert(
      fc.property(latin1, fc.nat({ max: 4 }), fc.boolean(), (text, extra, swap) => {
        const count = Math.ceil(text.length / 2) + extra;
        const regs = encodeString(text, count, swap);
        assert.equal(regs.length, count);
        assert.equal(decodeString(regs, 0, count, swap), text);
      }),
      { numRuns: 500 },
    );
  });
});
