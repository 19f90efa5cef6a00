/**
 * Modbus RTU framing (Modbus over Serial Line v1.02). Knows bytes and the
 * line's timing only, nothing of ports or sockets.
 *
 *   | address (unit id):u8 | PDU ... | CRC-16:u16, low byte first |
 *
 * An RTU frame carries no length: a frame ends with 3.5 characters of
 * silence. Silence is what the operating system blurs most (a USB adapter
 * delivers bytes in bursts, a TCP converter in segments), so the decoder
 * takes a frame's length from its function code and byte count — which also
 * splits frames glued into one read — and uses the silence only to end a
 * frame whose length the bytes cannot tell (an unknown function code) and to
 * drop what is left of a broken one.
 */
import { crcMatches, writeCrc } from './crc.js';
import { MAX_PDU_LENGTH } from './pdu.js';

/** Address + the largest PDU + CRC. */
export const RTU_MAX_FRAME = 1 + MAX_PDU_LENGTH + 2;
/** Address + function code + CRC. */
const RTU_MIN_FRAME = 4;

export type Parity = 'none' | 'even' | 'odd';

/** How characters go on a serial line. */
export interface SerialFormat {
  baud: number;
  parity: Parity;
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export interface LineTiming {
  /** One character on the wire: start bit, data bits, parity bit, stop bits. */
  charMs: number;
  /** t1.5: the longest silence allowed inside a frame. */
  interCharMs: number;
  /** t3.5: the silence that ends a frame, and that must pass before the next one. */
  interFrameMs: number;
}

export function bitsPerChar(f: Pick<SerialFormat, 'parity' | 'dataBits' | 'stopBits'>): number {
  return 1 + f.dataBits + (f.parity === 'none' ? 0 : 1) + f.stopBits;
}

/**
 * The line's timing at a baud rate. Above 19200 baud the spec fixes t1.5 at
 * 0.75 ms and t3.5 at 1.75 ms, so that fast lines do not need timers finer
 * than a UART's interrupt latency.
 */
export function lineTiming(f: SerialFormat): LineTiming {
  const charMs = (bitsPerChar(f) * 1000) / f.baud;
  if (f.baud > 19200) return { charMs, interCharMs: 0.75, interFrameMs: 1.75 };
  return { charMs, interCharMs: 1.5 * charMs, interFrameMs: 3.5 * charMs };
}

/**
 * A TCP stream has no character timing, and an RTU-over-TCP converter sends
 * a frame in one segment: a frame whose length its bytes cannot tell (an
 * unknown function, garbage) ends after this much silence.
 */
export const RTU_OVER_TCP_GAP_MS = 20;

/** A frame of `pduLength` bytes of PDU; the PDU goes at offset 1. */
export function rtuFrameLength(pduLength: number): number {
  return pduLength + 3;
}

/** Writes the address and the CRC around a PDU already at offset 1; returns the frame. */
export function sealRtuFrame(frame: Buffer, unitId: number, pduLength: number): Buffer {
  frame[0] = unitId;
  writeCrc(frame, 0, 1 + pduLength);
  return frame;
}

export function encodeRtuFrame(unitId: number, pdu: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(rtuFrameLength(pdu.length));
  pdu.copy(frame, 1);
  return sealRtuFrame(frame, unitId, pdu.length);
}

/** Which frames a decoder reads: a server reads requests, a client reads responses. */
export type RtuRole = 'request' | 'response';

/** Need more bytes to tell. */
const MORE = 0;
/** The bytes cannot tell (an unknown function code): the frame ends at the next silence. */
const UNKNOWN = -1;

/**
 * The length of the frame at buf[off..end), from its function code and byte
 * count: MORE, UNKNOWN, or a length (possibly over RTU_MAX_FRAME: no frame).
 */
function frameLengthAt(role: RtuRole, buf: Buffer, off: number, end: number): number {
  if (end - off < 2) return MORE;
  const fc = buf[off + 1]!;
  const byteCountAt = (i: number, fixed: number): number => (end - off > i ? fixed + buf[off + i]! : MORE);
  if (role === 'response') {
    if (fc & 0x80) return 5; // | unit | fc|0x80 | code | crc |
    switch (fc) {
      case 1:
      case 2:
      case 3:
      case 4:
      case 23:
        return byteCountAt(2, 5); // | unit | fc | n | n bytes | crc |
      case 5:
      case 6:
      case 15:
      case 16:
        return 8; // | unit | fc | address | value or quantity | crc |
      default:
        return UNKNOWN;
    }
  }
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return 8;
    case 15:
    case 16:
      return byteCountAt(6, 9); // | unit | fc | address | quantity | n | n bytes | crc |
    case 23:
      return byteCountAt(10, 13); // | unit | fc | read addr, qty | write addr, qty | n | n bytes | crc |
    default:
      return UNKNOWN;
  }
}

export type RtuFrameHandler = (unitId: number, pdu: Buffer) => void;

/**
 * Why bytes were discarded:
 * - `crc`: a frame whose CRC does not match (noise, a collision, a wrong baud rate or parity);
 * - `length`: a length no frame can have (over 256 bytes, or under 4 at a silence);
 * - `incomplete`: the line fell silent in the middle of a frame.
 * One report per broken stretch: bytes skipped while looking for the next good frame are not counted again.
 */
export type RtuErrorKind = 'crc' | 'length' | 'incomplete';
export type RtuErrorHandler = (kind: RtuErrorKind, detail: string) => void;

export interface RtuDecoderOptions {
  /**
   * The silence that ends a frame (t3.5 on a serial line). When given, the
   * decoder watches for it itself; otherwise call endOfFrame() when the line
   * falls silent, or never (a stream where only lengths delimit frames).
   */
  gapMs?: number;
}

/**
 * Incremental RTU decoder: any split of a byte stream into reads yields the
 * same frames, and frames glued into one read come apart. After a bad frame
 * it looks for the next good one at every following byte (a false match
 * needs a right function code, length and CRC: about one in 65,536 per
 * position, and the client still checks unit, function and byte count).
 * It holds at most one frame (256 bytes), whatever the line carries.
 */
export class RtuDecoder {
  private rest: Buffer | undefined;
  /** Skipping bytes after a bad frame (already reported). */
  private resyncing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly role: RtuRole,
    private readonly onFrame: RtuFrameHandler,
    private readonly onError: RtuErrorHandler,
    private readonly options: RtuDecoderOptions = {},
  ) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.rest?.length ?? 0;
  }

  /** Forgets what is buffered (e.g. before a new request: nothing before it can be its reply). */
  reset(): void {
    this.rest = undefined;
    this.resyncing = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Decodes the first `length` bytes of `chunk`. PDUs handed out are views of
   * `chunk` (or of a copy), valid until the next call.
   */
  push(chunk: Buffer, length: number = chunk.length): void {
    let buf = chunk;
    let end = length;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk.subarray(0, length)]);
      end = buf.length;
      this.rest = undefined;
    }
    let off = 0;
    while (end - off >= RTU_MIN_FRAME - 2) {
      const n = frameLengthAt(this.role, buf, off, end);
      if (n === MORE || n === UNKNOWN) {
        if (n === UNKNOWN && end - off > RTU_MAX_FRAME) {
          this.broken('length', `no frame end within ${RTU_MAX_FRAME} bytes (function ${buf[off + 1]})`);
          off++;
          continue;
        }
        break;
      }
      if (n > RTU_MAX_FRAME) {
        this.broken('length', `function ${buf[off + 1]} with a byte count that makes ${n} bytes`);
        off++;
        continue;
      }
      if (end - off < n) break;
      if (!crcMatches(buf, off, off + n)) {
        this.broken('crc', `CRC mismatch in a ${n}-byte frame from unit ${buf[off]}`);
        off++;
        continue;
      }
      this.resyncing = false;
      this.onFrame(buf[off]!, buf.subarray(off + 1, off + n - 2));
      off += n;
    }
    // Copied: a small remainder must not pin a large read buffer, which the caller may reuse.
    if (off < end) this.rest = Buffer.from(buf.subarray(off, end));
    this.watchSilence();
  }

  /**
   * The line fell silent for 3.5 characters: a frame whose length its bytes
   * could not tell ends here, and what is left of a broken one is dropped —
   * but a good frame after the broken bytes, held back by a length they seemed
   * to announce, is still taken.
   */
  endOfFrame(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const buf = this.rest;
    let reported = this.resyncing;
    this.rest = undefined;
    this.resyncing = false;
    if (buf === undefined) return;
    const end = buf.length;
    for (let off = 0; off < end; off++) {
      const n = frameLengthAt(this.role, buf, off, end);
      const last = n === UNKNOWN ? end : off + n;
      if (n !== MORE && last <= end && last - off >= RTU_MIN_FRAME && crcMatches(buf, off, last)) {
        this.onFrame(buf[off]!, buf.subarray(off + 1, last - 2));
        off = last - 1;
        reported = false;
        continue;
      }
      if (reported) continue;
      reported = true;
      if (n === UNKNOWN) this.onError(end - off < RTU_MIN_FRAME ? 'length' : 'crc', `${end - off} bytes between two silences (function ${buf[off + 1] ?? 'none'}) without a valid CRC`);
      else this.onError('incomplete', `the line fell silent after ${end - off} bytes of a frame`);
    }
  }

  private broken(kind: RtuErrorKind, detail: string): void {
    if (!this.resyncing) this.onError(kind, detail);
    this.resyncing = true;
  }

  private watchSilence(): void {
    const gap = this.options.gapMs;
    if (gap === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rest === undefined) return;
    // Node's timers cannot wait less than 1 ms; the next read restarts the wait.
    this.timer = setTimeout(() => this.endOfFrame(), Math.max(1, gap));
    this.timer.unref();
  }
}
