/** From raw registers or bits to engineering values, as a tag's definition says. */
import { decodeString, decodeValue } from '../modbus/index.js';
import type { TagDefinition, TagValueType } from './types.js';

export type RegisterDecoder = (registers: ArrayLike<number>, offset: number) => TagValueType;

/** Decimals of a number as written (0.25 → 2, 1e-7 → 7, 1.5e-7 → 8); undefined when it has more than 20. */
function decimalPlaces(x: number): number | undefined {
  const m = /^-?\d+(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) return undefined;
  const d = (m[1]?.length ?? 0) - Number(m[2] ?? 0);
  return d > 20 ? undefined : Math.max(0, d);
}

/**
 * An integer scaled by a decimal (1234 × 0.01) has as many decimals as its
 * scale and offset; rounding to them removes binary noise (12.340000000000002
 * → 12.34) and loses nothing. Floats and exotic scales are not rounded (0).
 */
function roundFactor(tag: TagDefinition): number {
  const integer = tag.type === 'int16' || tag.type === 'uint16' || tag.type === 'int32' || tag.type === 'uint32';
  const ds = decimalPlaces(tag.scale);
  const dof = decimalPlaces(tag.offset);
  if (!integer || ds === undefined || dof === undefined) return 0;
  const d = Math.max(ds, dof);
  return d <= 9 ? 10 ** d : 0;
}

/** A decoder for a register tag whose first register is at `offset`; built once, called every scan. */
export function compileRegisterDecoder(tag: TagDefinition): RegisterDecoder {
  switch (tag.type) {
    case 'bit': {
      const bit = tag.bit ?? 0;
      return (registers, offset) => ((registers[offset]! >> bit) & 1) === 1;
    }
    case 'string': {
      const length = tag.length ?? 1;
      const swap = tag.order === 'BADC' || tag.order === 'DCBA';
      return (registers, offset) => decodeString(registers, offset, length, swap);
    }
    case 'bool':
      return (registers, offset) => registers[offset] !== 0;
    case 'uint16':
    case 'int16': {
      if (tag.order === 'ABCD' || tag.order === 'CDAB') {
        // The common case, without the general decoder: a 16-bit word read as is.
        const signed = tag.type === 'int16';
        const { scale, offset: add } = tag;
        const f = roundFactor(tag);
        if (scale === 1 && add === 0) return signed ? (r, o) => (r[o]! << 16) >> 16 : (r, o) => r[o]!;
        return (r, o) => {
          const raw = signed ? (r[o]! << 16) >> 16 : r[o]!;
          const v = raw * scale + add;
          return f === 0 ? v : Math.round(v * f) / f;
        };
      }
      return general(tag);
    }
    default:
      return general(tag);
  }
}

/** Raw register value → engineering value, as every decoder here computes it (the rule validation checks against: src/tags/representation.ts). */
export function scaler(tag: TagDefinition): (raw: number) => number {
  const { scale, offset: add } = tag;
  const f = roundFactor(tag);
  if (scale === 1 && add === 0) return (raw) => raw;
  return (raw) => {
    const v = raw * scale + add;
    return f === 0 ? v : Math.round(v * f) / f;
  };
}

function general(tag: TagDefinition): RegisterDecoder {
  const type = tag.type as Exclude<TagDefinition['type'], 'bit' | 'string' | 'bool'>;
  const order = tag.order;
  const scale = scaler(tag);
  return (registers, offset) => scale(decodeValue(registers, offset, type, order));
}
