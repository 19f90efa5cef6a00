/**
 * CRC-16/Modbus (polynomial 0xA001 reflected, initial 0xFFFF), the check of
 * every RTU frame. Transmitted low byte first, as the spec says.
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** The CRC of buf[start..end). */
export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ buf[i]!) & 0xff]!;
  return crc;
}

/** Writes the CRC of buf[start..end) at `end` (low byte first). */
export function writeCrc(buf: Uint8Array, start: number, end: number): void {
  const crc = crc16(buf, start, end);
  buf[end] = crc & 0xff;
  buf[end + 1] = crc >>> 8;
}

/** Whether buf[start..end) ends with the CRC of the bytes before it. */
export function crcMatches(buf: Uint8Array, start: number, end: number): boolean {
  const crc = crc16(buf, start, end - 2);
  return buf[end - 2] === (crc & 0xff) && buf[end - 1] === crc >>> 8;
}
