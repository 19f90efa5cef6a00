/**
 * One rule for what a value is (issue 20.3): a value the command validation
 * accepts is always read back as equal after a round trip through the
 * register encoding the poller uses — driven by random values, scales,
 * offsets, types and byte orders through the real validation
 * (checkTagValue) and the real executor (write, read-back) over an in-memory
 * PLC; and every value the poller can show is one an operator can send back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandRequest } from '../../src/bus/types.js';
import { CommandRejection, checkTagValue } from '../../src/commands/prepare.js';
import { BYTE_ORDERS, BitArea, type ByteOrder, type ModbusRequest, RegisterArea, createAreaHandler, encodeValue, type NumericType } from '../../src/modbus/index.js';
import type { DeviceChannel } from '../../src/poller/channel.js';
import { CommandExecutor } from '../../src/poller/command-executor.js';
import { compileRegisterDecoder, rawValue, sameValue, toRaw } from '../../src/tags/codec.js';
import { representation } from '../../src/tags/representation.js';
import type { TagDefinition } from '../../src/tags/types.js';

const RANGES: Record<NumericType, [number, number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  float32: [-1e6, 1e6],
  float64: [-1e9, 1e9],
};
const SCALES = [1, 0.1, 0.01, 0.001, 0.5, 0.25, 0.05, 2, 10, 1e-7, 1 / 3, -1, -0.01];
const OFFSETS = [0, 0.5, -40, 273.15, 100, 0.01, -0.001];

function tag(type: NumericType, scale: number, offset: number, order: ByteOrder): TagDefinition {
  return { name: 't', description: '', device: 'plc', area: 'holding', address: 0, type, order, scale, offset, unit: '', decimals: 2, deadband: 0, scanGroup: 'g', writable: { roles: ['operator'] } };
}

const tags = fc
  .record({
    type: fc.constantFrom<NumericType>('int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'),
    scale: fc.constantFrom(...SCALES),
    offset: fc.constantFrom(...OFFSETS),
    order: fc.constantFrom(...BYTE_ORDERS),
  })
  .map(({ type, scale, offset, order }) => tag(type, scale, offset, order));

/** Values near what the tag can hold (exactly on it, or off by float noise, half a step, a little) and arbitrary ones. */
const valuesFor = (t: TagDefinition): fc.Arbitrary<number> => {
  const [lo, hi] = RANGES[t.type as NumericType];
  const onGrid = fc.integer({ min: Math.max(lo, -1e9), max: Math.min(hi, 1e9) }).map((raw) => compileRegisterDecoder(t)(encodeValue(raw, t.type as NumericType, t.order), 0) as number);
  return fc.oneof(
    onGrid,
    fc.tuple(onGrid, fc.constantFrom(1e-9, -1e-9, 1e-6, 0.5 * t.scale, 0.3 * t.scale, 1e-3)).map(([v, d]) => v + d),
    fc.double({ min: -1e7, max: 1e7, noNaN: true }),
    fc.constantFrom(1.500000001, 1.5, 12.34, 0.1, 2.005),
  );
};

/** An in-memory PLC behind the executor: the real write and read-back path, no socket. */
function executorOn(t: TagDefinition): { executor: CommandExecutor; memory: RegisterArea } {
  const memory = new RegisterArea(8);
  const handler = createAreaHandler({ coils: new BitArea(8), discreteInputs: new BitArea(8), holdingRegisters: memory, inputRegisters: memory });
  const client = {
    connected: true,
    request: async (req: ModbusRequest) => handler(req, {} as never),
  } as unknown as DeviceChannel;
  const executor = new CommandExecutor(client, new Map([[t.name, t]]), new MemoryBus(), (f) => f(), undefined);
  return { executor, memory };
}

let seq = 0;
function setCommand(t: TagDefinition, value: number): CommandRequest {
  const now = Date.now();
  return { id: `prop-${seq++}`, command: 'set', device: 'plc', user: 'u', role: 'operator', params: {}, steps: [{ kind: 'set', tag: t.name, value }], confirmation: '', createdAt: now, expiresAt: now + 10_000 };
}

describe('one rule for what a value is', () => {
  it('1.500000001 at a resolution of 0.01 is refused, naming the nearest values; 1.5 is written and confirmed', async () => {
    const t = { ...tag('uint16', 0.01, 0, 'ABCD'), unit: 'mg/L' };
    assert.throws(
      () => checkTagValue(t, 1.500000001, 'params.oxygen_min'),
      (err: CommandRejection) => err.code === 'PLANTA_COMMAND_OUT_OF_RANGE' && err.field === 'params.oxygen_min' && /nearest: 1\.5 and 1\.51/.test(err.message),
    );
    assert.throws(() => checkTagValue(t, 2.005, 'x'), /resolution 0\.01 mg\/L\); the nearest: 2 and 2\.01/);
    assert.equal(checkTagValue(t, 1.5, 'x'), 1.5);
    const { executor, memory } = executorOn(t);
    const out = await executor.execute(setCommand(t, 1.5));
    assert.equal(out.status, 'confirmed', out.reason);
    assert.equal(memory.get(0), 150);
    assert.deepEqual(out.after, { t: 1.5 });
  });

  it('floats: the nearest float is written and confirmed (0.1 into a float32)', async () => {
    const t = tag('float32', 1, 0, 'CDAB');
    assert.equal(checkTagValue(t, 0.1, 'x'), 0.1);
    const out = await executorOn(t).executor.execute(setCommand(t, 0.1));
    assert.equal(out.status, 'confirmed', out.reason);
    assert.equal(out.after!.t, Math.fround(0.1));
    assert.throws(() => checkTagValue(t, 1e39, 'x'), /does not fit the tag's float32/);
  });

  it('property: a value validation accepts is always read back as equal (executor over the poller\'s encoding)', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        tags.chain((t) => fc.tuple(fc.constant(t), valuesFor(t))),
        async ([t, value]) => {
          let accepted: number;
          try {
            accepted = checkTagValue(t, value, 'v') as number;
          } catch (err) {
            if (err instanceof CommandRejection) return; // refused: nothing is written
            throw err;
          }
          const { executor } = executorOn(t);
          const out = await executor.execute(setCommand(t, accepted));
          assert.equal(out.status, 'confirmed', `${t.type} scale ${t.scale} offset ${t.offset} ${t.order}: ${accepted} → ${out.reason}`);
          // The poller's decoder shows exactly what was typed (integers) or its nearest float.
          const shown = out.after!.t as number;
          if (t.type === 'float32' || t.type === 'float64') assert.ok(sameValue(t, toRaw(t, shown), accepted) || Math.abs(shown - accepted) <= Math.abs(accepted) * 1e-6 + 1e-6);
          else assert.ok(shown === accepted, `${t.type} scale ${t.scale} offset ${t.offset}: shown ${shown} for ${accepted}`); // -0 typed is 0 shown: the same value
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('property: every value the poller can show can be sent back, and reads back as itself', () => {
    fc.assert(
      fc.property(tags, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (t, r0, r1, r2, r3) => {
        const registers = [r0, r1, r2, r3];
        const shown = compileRegisterDecoder(t)(registers, 0) as number;
        if (!Number.isFinite(shown)) return;
        const r = representation(t, shown);
        if (t.type === 'float32' || t.type === 'float64') {
          if (!r.ok) return; // a float the scaling pushes out of range
        } else {
          assert.ok(r.ok, `${t.type} scale ${t.scale} offset ${t.offset}: ${shown} refused: ${r.ok ? '' : r.message}`);
        }
        const written = encodeValue(toRaw(t, shown), t.type as NumericType, t.order);
        assert.ok(sameValue(t, rawValue(t, written, 0), shown));
        // Integer registers: exactly the registers it was shown from.
        if (t.type !== 'float32' && t.type !== 'float64') assert.deepEqual(written, registers.slice(0, written.length));
      }),
      { numRuns: 3000 },
    );
  });
});
