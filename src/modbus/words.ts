/**
 * The data words of PDUs: bits packed LSB-first and big-endian 16-bit
 * registers, read and written at an offset of a Buffer.
 */

/** Packs bits LSB-first: bit i goes to byte i>>3, bit position i&7. */
export function writeBits(buf: Buffer, offset: number, bits: ArrayLike<boolean>): void {
  const bytes = (bits.length + 7) >> 3;
  buf.fill(0, offset, offset + bytes);
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]) buf[offset + (i >> 3)]! |= 1 << (i & 7);
  }
}

export function readBits(buf: Buffer, offset: number, count: number): boolean[] {
  const bits = new Array<boolean>(count);
  for (let i = 0; i < count; i++) bits[i] = (buf[offset + (i >> 3)]! & (1 << (i & 7))) !== 0;
  return bits;
}

/**
 * Register arrays are cut from shared 8 KiB slabs, the way Buffer.allocUnsafe
 * uses its pool: a Uint16Array with a backing store of its own costs a malloc
 * and garbage-collector bookkeeping, more than decoding a whole reply. So the
 * `.buffer` of an array from here holds other arrays too; read the array, not
 * its buffer. A slab is freed when none of its arrays is referenced any more.
 */
const SLAB_BYTES = 8192;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabOffset = 0;

/** A Uint16Array of `count` registers (at most 125 in any PDU), contents unset. */
export function allocRegisters(count: number): Uint16Array {
  const bytes = 2 * count;
  if (bytes > SLAB_BYTES / 8) return new Uint16Array(count);
  if (slabOffset + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const regs = new Uint16Array(slab, slabOffset, count);
  slabOffset += bytes;
  return regs;
}

export function readRegisters(buf: Buffer, offset: number, count: number): Uint16Array {
  const regs = allocRegisters(count);
  for (let i = 0; i < count; i++) regs[i] = (buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!;
  return regs;
}

/** Big-endian 16-bit stores without writeUInt16BE's checks: values are validated or come from a Uint16Array. */
export function writeRegisters(buf: Buffer, offset: number, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    buf[offset + 2 * i] = v >> 8;
    buf[offset + 2 * i + 1] = v;
  }
}
