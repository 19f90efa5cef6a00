/**
 * Typed values over 16-bit registers with the four byte/word orders found in
 * PLCs. For a value whose big-endian bytes are A B C D (A most significant):
 *
 *   ABCD: reg0 = AB, reg1 = CD   (big-endian words and bytes; the Modbus default)
 *   CDAB: reg0 = CD, reg1 = AB   (word swap: low word first, common on PLCs)
 *   BADC: reg0 = BA, reg1 = DC   (byte swap inside each word)
 *   DCBA: reg0 = DC, reg1 = BA   (fully little-endian)
 *
 * 64-bit values follow the same rule over four words; 16-bit values only
 * honour the byte swap (BADC and DCBA swap their two bytes).
 */
import { ModbusRequestError } from './errors.js';

export type NumericType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';
export type ByteOrder = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export const NUMERIC_TYPES: readonly NumericType[] = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'];
export const BYTE_ORDERS: readonly ByteOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];

const WORDS: Record<NumericType, number> = { int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 };

export function registerCount(type: NumericType): number {
  return WORDS[type];
}

const scratch = new DataView(new ArrayBuffer(8));

function swapsWords(order: ByteOrder): boolean {
  return order === 'CDAB' || order === 'DCBA';
}

function swapsBytes(order: ByteOrder): boolean {
  return order === 'BADC' || order === 'DCBA';
}

/** Reads a value of `type` from `registers` at `offset`. */
export function decodeValue(registers: ArrayLike<number>, offset: number, type: NumericType, order: ByteOrder = 'ABCD'): number {
  const n = WORDS[type];
  if (!Number.isInteger(offset) || offset < 0 || offset + n > registers.length) {
    throw new ModbusRequestError(`${type} at offset ${offset} needs ${n} registers, only ${registers.length} read`);
  }
  const wswap = swapsWords(order);
  const bswap = swapsBytes(order);
  for (let i = 0; i < n; i++) {
    let word = registers[offset + (wswap ? n - 1 - i : i)]!;
    if (bswap) word = ((word & 0xff) << 8) | (word >> 8);
    scratch.setUint16(2 * i, word);
  }
  switch (type) {
    case 'int16':
      return scratch.getInt16(0);
    case 'uint16':
      return scratch.getUint16(0);
    case 'int32':
      return scratch.getInt32(0);
    case 'uint32':
      return scratch.getUint32(0);
    case 'float32':
      return scratch.getFloat32(0);
    case 'float64':
      return scratch.getFloat64(0);
  }
}

const RANGES: Partial<Record<NumericType, [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/** Encodes `value` as `type` into registers; integers must be in range, never silently wrapped. */
export function encodeValue(value: number, type: NumericType, order: ByteOrder = 'ABCD'): number[] {
  const range = RANGES[type];
  if (range && (!Number.isInteger(value) || value < range[0] || value > range[1])) {
    throw new ModbusRequestError(`${value} is not a ${type} (${range[0]}..${range[1]})`);
  }
  switch (type) {
    case 'int16':
      scratch.setInt16(0, value);
      break;
    case 'uint16':
      scratch.setUint16(0, value);
      break;
    case 'int32':
      scratch.setInt32(0, value);
      break;
    case 'uint32':
      scratch.setUint32(0, value);
      break;
    case 'float32':
      scratch.setFloat32(0, value);
      break;
    case 'float64':
      scratch.setFloat64(0, value);
      break;
  }
  const n = WORDS[type];
  const out = new Array<number>(n);
  const wswap = swapsWords(order);
  const bswap = swapsBytes(order);
  for (let i = 0; i < n; i++) {
    let word = scratch.getUint16(2 * i);
    if (bswap) word = ((word & 0xff) << 8) | (word >> 8);
    out[wswap ? n - 1 - i : i] = word;
  }
  return out;
}

/**
 * Reads an ASCII/Latin-1 string packed two characters per register (high
 * byte first, or low byte first with `swapBytes`), stopping at the first NUL.
 */
export function decodeString(registers: ArrayLike<number>, offset: number, count: number, swapBytes = false): string {
  let s = '';
  for (let i = 0; i < count; i++) {
    const w = registers[offset + i] ?? 0;
    const hi = swapBytes ? w & 0xff : w >> 8;
    const lo = swapBytes ? w >> 8 : w & 0xff;
    if (hi === 0) return s;
    s += String.fromCharCode(hi);
    if (lo === 0) return s;
    s += String.fromCharCode(lo);
  }
  return s;
}

export function encodeString(text: string, count: number, swapBytes = false): number[] {
  if (!Number.isInteger(count) || count < 0) throw new ModbusRequestError(`a string needs a whole number of registers, not ${count}`);
  if (text.length > 2 * count) throw new ModbusRequestError(`"${text}" does not fit in ${count} registers`);
  const out = new Array<number>(count).fill(0);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new ModbusRequestError(`character ${JSON.stringify(text[i])} is not Latin-1`);
    const high = (i & 1) === 0 ? !swapBytes : swapBytes;
    out[i >> 1]! |= high ? c << 8 : c;
  }
  return out;
}
