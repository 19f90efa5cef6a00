import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planReads } from '../../src/poller/plan.js';
import { type Area, type DataType, type TagDefinition, tagSize } from '../../src/tags/types.js';

let n = 0;
function tag(area: Area, address: number, type: DataType = area === 'coil' || area === 'discrete' ? 'bool' : 'uint16', extra: Partial<TagDefinition> = {}): TagDefinition {
  return {
    name: `t${n++}`, description: '', device: 'd', area, address, type, order: 'ABCD', scale: 1, offset: 0,
    unit: '', decimals: 0, deadband: 0, scanGroup: 'g', ...extra,
  };
}
const limits = { maxRegisters: 125, maxBits: 2000, maxGap: 8 };
const shape = (blocks: ReturnType<typeof planReads>) => blocks.map((b) => `${b.area} ${b.address}+${b.quantity}`);

describe('read planner', () => {
  it('merges contiguous tags and bridges gaps up to maxGap', () => {
    assert.deepEqual(shape(planReads([tag('input', 0), tag('input', 1), tag('input', 2)], limits)), ['input 0+3']);
    assert.deepEqual(shape(planReads([tag('input', 0), tag('input', 9)], limits)), ['input 0+10'], 'gap of 8 bridged');
    assert.deepEqual(shape(planReads([tag('input', 0), tag('input', 10)], limits)), ['input 0+1', 'input 10+1'], 'gap of 9 not');
    assert.deepEqual(shape(planReads([tag('input', 0), tag('input', 1)], { ...limits, maxGap: 0 })), ['input 0+2'], 'adjacent with no gap allowed');
  });

  it('splits at the request size and never splits a tag', () => {
    const regs = Array.from({ length: 200 }, (_, i) => tag('holding', i));
    assert.deepEqual(shape(planReads(regs, limits)), ['holding 0+125', 'holding 125+75']);
    const edge = [...Array.from({ length: 124 }, (_, i) => tag('holding', i)), tag('holding', 124, 'float32')];
    assert.deepEqual(shape(planReads(edge, limits)), ['holding 0+124', 'holding 124+2'], 'a float32 at 124 does not straddle two requests');
    assert.deepEqual(shape(planReads(regs.slice(0, 40), { ...limits, maxRegisters: 16 })), ['holding 0+16', 'holding 16+16', 'holding 32+8']);
  });

  it('keeps areas apart, and bits up to 2000 per request', () => {
    const bits = Array.from({ length: 2500 }, (_, i) => tag('coil', i));
    const p = planReads([...bits, tag('discrete', 0), tag('input', 0), tag('holding', 0)], limits);
    assert.deepEqual(shape(p), ['coil 0+2000', 'coil 2000+500', 'discrete 0+1', 'holding 0+1', 'input 0+1']);
  });

  it('handles overlapping tags: bits of one register, a uint32 over a uint16, a string, unsorted input', () => {
    const a = tag('input', 10, 'bit', { bit: 0 });
    const b = tag('input', 10, 'bit', { bit: 15 });
    const c = tag('input', 11, 'uint32');
    const d = tag('input', 12);
    const s = tag('input', 20, 'string', { length: 10 });
    const p = planReads([s, d, c, b, a], limits);
    assert.deepEqual(shape(p), ['input 10+20']);
    const offsets = new Map(p[0]!.tags.map((t) => [t.tag.name, t.offset]));
    assert.deepEqual([a, b, c, d, s].map((t) => offsets.get(t.name)), [0, 0, 1, 2, 10]);
  });

  it('the SBR map is polled with the original HMI\'s two requests', () => {
    const tags = [...Array.from({ length: 33 }, (_, i) => tag('coil', i)).filter((t) => t.address !== 24), ...[0, 1, 2, 3, 4, 21, 22, 23, 24].map((a) => tag('input', a))];
    assert.deepEqual(shape(planReads(tags, { ...limits, maxGap: 16 })), ['coil 0+33', 'input 0+25']);
  });

  it('property: every tag is read whole, inside one request within limits, with no hole over maxGap', () => {
    const arb = fc.record({
      tags: fc.array(fc.record({ address: fc.integer({ min: 0, max: 600 }), type: fc.constantFrom<DataType>('uint16', 'int32', 'float64', 'bit') }), { maxLength: 80 }),
      maxRegisters: fc.integer({ min: 4, max: 125 }),
      maxGap: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(arb, ({ tags: specs, maxRegisters, maxGap }) => {
        const tags = specs.map((s) => tag('holding', s.address, s.type, s.type === 'bit' ? { bit: 3 } : {}));
        const blocks = planReads(tags, { maxRegisters, maxBits: 2000, maxGap });
        const covered = blocks.flatMap((b) => b.tags.map((t) => t.tag.name));
        assert.deepEqual([...covered].sort(), tags.map((t) => t.name).sort(), 'each tag planned exactly once');
        for (const b of blocks) {
          assert.ok(b.quantity >= 1 && b.quantity <= maxRegisters);
          const used = new Set<number>();
          for (const { tag: t, offset } of b.tags) {
            assert.equal(b.address + offset, t.address);
            assert.ok(offset + tagSize(t) <= b.quantity);
            for (let k = 0; k < tagSize(t); k++) used.add(offset + k);
          }
          let hole = 0;
          for (let k = 0; k < b.quantity; k++) {
            hole = used.has(k) ? 0 : hole + 1;
            assert.ok(hole <= maxGap, `hole of ${hole} > ${maxGap}`);
          }
        }
        // Greedy is minimal: no two consecutive blocks could have been one.
        for (let i = 1; i < blocks.length; i++) {
          const prev = blocks[i - 1]!;
          const cur = blocks[i]!;
          const firstEnd = cur.address + Math.max(...cur.tags.filter((t) => t.offset === 0).map((t) => tagSize(t.tag)));
          const mergeable = cur.address - (prev.address + prev.quantity) <= maxGap && firstEnd - prev.address <= maxRegisters;
          assert.ok(!mergeable, 'the next block\'s first tag would have fitted in the previous block');
        }
      }),
      { numRuns: 300 },
    );
  });
});
