/**
 * The tag codec both ways (src/tags/codec.ts): for every numeric type, byte
 * order, scale and offset, a value encoded for a write and decoded as the
 * poller decodes it is the value the register can represent — exactly the
 * value typed when validation accepts it — and what cannot be held is
 * refused, never wrapped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BYTE_ORDERS, NUMERIC_TYPES, type NumericType, registerCount } from '../../src/modbus/index.js';
import { compileRegisterDecoder, encodeBit, encodeRegisters, isNumericTag, rawValue, sameValue, scaler, toRaw } from '../../src/tags/codec.js';
import { representation } from '../../src/tags/representation.js';
import type { TagDefinition } from '../../src/tags/types.js';

const INTEGER: Partial<Record<NumericType, [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};
const SCALES = [1, 0.1, 0.01, 0.001, 0.5, 0.25, 0.05, 2, 10, 1e-7, 1 / 3, -1, -0.01];
const OFFSETS = [0, 0.5, -40, 273.15, 100, 0.01, -0.001];

const tags = fc
  .record({ type: fc.constantFrom(...NUMERIC_TYPES), order: fc.constantFrom(...BYTE_ORDERS), scale: fc.constantFrom(...SCALES), offset: fc.constantFrom(...OFFSETS) })
  .map(({ type, order, scale, offset }): TagDefinition => ({ name: 't', description: '', device: 'plc', area: 'holding', address: 0, type, order, scale, offset, unit: '', decimals: 2, deadband: 0, scanGroup: 'g' }));

/** Values on the tag's grid (a raw value scaled), near it, and anywhere. */
const valuesFor = (t: TagDefinition): fc.Arbitrary<number> => {
  const [lo, hi] = INTEGER[t.type as NumericType] ?? [-1e9, 1e9];
  const onGrid = fc.integer({ min: lo, max: hi }).map(scaler(t));
  return fc.oneof(onGrid, fc.tuple(onGrid, fc.constantFrom(1e-9, -1e-9, 0.3 * t.scale, 0.5 * t.scale)).map(([v, d]) => v + d), fc.double({ min: -1e12, max: 1e12, noNaN: true }));
};

const describeTag = (t: TagDefinition): string => `${t.type} ${t.order} scale ${t.scale} offset ${t.offset}`;

describe('tag codec', () => {
  it('property: encoded then decoded, a value is the value its registers represent; exactly the value typed when validation accepts it', () => {
    fc.assert(
      fc.property(
        tags.chain((t) => fc.tuple(fc.constant(t), valuesFor(t))),
        ([t, value]) => {
          const raw = toRaw(t, value);
          const range = INTEGER[t.type as NumericType];
          if (range && !(raw >= range[0] && raw <= range[1])) {
            assert.throws(() => encodeRegisters(t, value), /is not a/, `${describeTag(t)}: ${value} (raw ${raw}) wrapped instead of refused`);
            return;
          }
          const registers = encodeRegisters(t, value);
          assert.equal(registers.length, registerCount(t.type as NumericType));
          assert.ok(registers.every((r) => Number.isInteger(r) && r >= 0 && r <= 0xffff), `${describeTag(t)}: registers ${registers.join(' ')}`);
          const decoded = compileRegisterDecoder(t)(registers, 0) as number;
          const representable = scaler(t)(raw);
          // === rather than Object.is: -0 typed is 0 held, the same value.
          assert.ok(decoded === representable, `${describeTag(t)}: ${value} decodes as ${decoded}, the register represents ${representable}`);
          assert.ok(rawValue(t, registers, 0) === raw, `${describeTag(t)}: raw ${String(rawValue(t, registers, 0))} read, ${raw} written`);
          assert.ok(sameValue(t, rawValue(t, registers, 0), value), `${describeTag(t)}: the read-back of ${value} does not compare equal`);
          if (representation(t, value).ok && range) assert.ok(decoded === value, `${describeTag(t)}: ${value} accepted, ${decoded} held`);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('property: every register content decodes to a value that encodes back to the same registers (integer types)', () => {
    fc.assert(
      fc.property(
        tags.filter((t) => INTEGER[t.type as NumericType] !== undefined),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 2 }),
        (t, registers) => {
          const held = registers.slice(0, registerCount(t.type as NumericType));
          const shown = compileRegisterDecoder(t)(held, 0) as number;
          assert.deepEqual(encodeRegisters(t, shown), held, `${describeTag(t)}: ${held.join(' ')} shown as ${shown}`);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('bits: a coil is written on for any non-zero value; a bit of a register and a bool decode as booleans', () => {
    assert.deepEqual([true, false, 1, 0, -2, 0.5].map(encodeBit), [true, false, true, false, true, true]);
    const bit: TagDefinition = { name: 'b', description: '', device: 'plc', area: 'holding', address: 0, type: 'bit', bit: 3, order: 'ABCD', scale: 1, offset: 0, unit: '', decimals: 0, deadband: 0, scanGroup: 'g' };
    assert.equal(rawValue(bit, [0b1000], 0), true);
    assert.equal(compileRegisterDecoder(bit)([0b0111], 0), false);
    assert.ok(sameValue(bit, rawValue(bit, [0b1000], 0), true));
    assert.equal(isNumericTag(bit), false);
    assert.ok(NUMERIC_TYPES.every((type) => isNumericTag({ type })));
  });
});
