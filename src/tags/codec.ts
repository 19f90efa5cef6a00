/**
 * A tag's engineering value ↔ its registers or bits, as its definition says,
 * both ways: decoding for the poller's scans and the executor's reads,
 * encoding for an operator's writes. A register holds a raw value; the
 * engineering value is raw × scale + offset (`scaler`), and a write encodes
 * `toRaw(value)` in the tag's type and byte order (src/modbus/values.ts).
 */
import { type NumericType, NUMERIC_TYPES, decodeString, decodeValue, encodeValue } from '../modbus/index.js';
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

/** Raw register value → engineering value, as every decoder here computes it (the rule validation checks against: representation.ts). */
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

/** A tag whose registers hold a number (int16 … float64). */
export function isNumericTag<T extends Pick<TagDefinition, 'type'>>(tag: T): tag is T & { type: NumericType } {
  return (NUMERIC_TYPES as readonly string[]).includes(tag.type);
}

/** Engineering value → the raw value its registers hold (before byte order): integers rounded, floats to their own precision. */
export function toRaw(tag: TagDefinition, value: number): number {
  const x = (value - tag.offset) / tag.scale;
  if (tag.type === 'float64') return x;
  if (tag.type === 'float32') return Math.fround(x);
  return Math.round(x);
}

/**
 * Engineering value → the registers a write puts in a holding tag:
 * encode(toRaw(value)) in the tag's type and byte order. The configuration
 * lets operators write numeric register tags only, and validation
 * (representation.ts) has made sure the registers hold exactly the value.
 */
export function encodeRegisters(tag: TagDefinition, value: number): number[] {
  return encodeValue(toRaw(tag, value), tag.type as NumericType, tag.order);
}

/** The bit a write puts in a coil: any non-zero value is on. */
export function encodeBit(value: number | boolean): boolean {
  return Boolean(value);
}

/** A tag's raw value from registers read at `offset`: unscaled numbers, bits as booleans, strings decoded as the poller does. */
export function rawValue(tag: TagDefinition, registers: ArrayLike<number>, offset: number): number | boolean | undefined {
  if (tag.type === 'bit') return ((registers[offset]! >> (tag.bit ?? 0)) & 1) === 1;
  if (tag.type === 'bool') return registers[offset] !== 0;
  if (!isNumericTag(tag)) return undefined;
  return decodeValue(registers, offset, tag.type, tag.order);
}

/**
 * Whether a tag read as `raw` (rawValue, or a coil's bit) holds `wanted`:
 * raw register values compared, exactly — never engineering values with a
 * tolerance. For read-back and `expect`.
 */
export function sameValue(tag: TagDefinition, raw: TagValueType | undefined, wanted: number | boolean): boolean {
  if (typeof raw === 'number' && typeof wanted === 'number') return raw === toRaw(tag, wanted);
  return raw === wanted;
}
