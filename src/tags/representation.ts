/**
 * Which values a tag's register can hold: the validation of an operator's
 * command (issue 20.3), by the one rule the codec (codec.ts) also encodes
 * the write and compares its read-back by.
 *
 * A register holds a raw value; the tag's engineering value is
 * raw × scale + offset, as the poller decodes it (codec.ts `scaler`).
 * - Integer registers: a value is accepted only if it is exactly one the
 *   register can hold, i.e. it comes back unchanged from raw and back
 *   (0.01 resolution: 1.5 yes, 1.505 or 1.500000001 no — refused, naming
 *   the nearest values). Planta never writes a value the operator did not
 *   type.
 * - Float registers: every finite value in the float's range is accepted;
 *   what is written is the nearest float (an operator's 0.1 cannot be held
 *   exactly by any float), so floats are compared at their own precision.
 * - The read-back compares raw register values (codec.ts `sameValue`): what
 *   was read against what the value encodes to — never engineering values
 *   with a tolerance.
 */
import { scaler, toRaw } from './codec.js';
import type { TagDefinition } from './types.js';

const INTEGER_RANGE: Partial<Record<TagDefinition['type'], [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};
const FLOAT32_MAX = 3.4028234663852886e38;

export type Representation = { ok: true; raw: number } | { ok: false; reason: 'resolution' | 'range'; message: string };

/** Whether a numeric tag's register can hold `value` (see above), with the raw value to write. */
export function representation(tag: TagDefinition, value: number): Representation {
  const unit = tag.unit ? ` ${tag.unit}` : '';
  const raw = toRaw(tag, value);
  const range = INTEGER_RANGE[tag.type];
  if (range) {
    if (!(raw >= range[0] && raw <= range[1])) return { ok: false, reason: 'range', message: `${value}${unit} does not fit the tag's ${tag.type}` };
    const scale = scaler(tag);
    if (scale(raw) !== value) {
      const near = [raw - 1, raw, raw + 1].filter((r) => r >= range[0] && r <= range[1]).map(scale);
      const below = near.filter((x) => x < value).sort((x, y) => y - x)[0];
      const above = near.filter((x) => x > value).sort((x, y) => x - y)[0];
      const nearest = [below, above].filter((x) => x !== undefined).join(' and ');
      return { ok: false, reason: 'resolution', message: `${value}${unit} is not a value the tag can hold (resolution ${Math.abs(tag.scale)}${unit}); the nearest: ${nearest}` };
    }
    return { ok: true, raw };
  }
  if (!Number.isFinite(raw) || (tag.type === 'float32' && Math.abs(raw) > FLOAT32_MAX)) {
    return { ok: false, reason: 'range', message: `${value}${unit} does not fit the tag's ${tag.type}` };
  }
  return { ok: true, raw };
}
