/**
 * Modbus/TCP framing (MBAP). Knows bytes only, nothing of sockets.
 *
 *   | transaction id:u16 | protocol id:u16 = 0 | length:u16 = 1 + PDU | unit id:u8 | PDU ... |
 */
import { MAX_PDU_LENGTH } from './pdu.js';

export const MBAP_HEADER_LENGTH = 7;
/** Smallest legal length field: unit id + function code. */
const MIN_LENGTH_FIELD = 2;
/** Largest legal length field: unit id + the largest PDU. */
const MAX_LENGTH_FIELD = 1 + MAX_PDU_LENGTH;

/** Allocates a frame with its MBAP header written; the caller writes the PDU at offset 7. */
export function allocFrame(transactionId: number, unitId: number, pduLength: number): Buffer {
  return writeHeader(Buffer.allocUnsafe(MBAP_HEADER_LENGTH + pduLength), transactionId, unitId, pduLength);
}

/** Writes the MBAP header of a frame whose PDU is `pduLength` bytes; returns the frame. */
export function writeHeader(frame: Buffer, transactionId: number, unitId: number, pduLength: number): Buffer {
  const length = pduLength + 1;
  frame[0] = transactionId >> 8;
  frame[1] = transactionId;
  frame[2] = 0;
  frame[3] = 0;
  frame[4] = length >> 8;
  frame[5] = length;
  frame[6] = unitId;
  return frame;
}

export function encodeFrame(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const frame = allocFrame(transactionId, unitId, pdu.length);
  pdu.copy(frame, MBAP_HEADER_LENGTH);
  return frame;
}

export type FrameHandler = (transactionId: number, unitId: number, pdu: Buffer) => void;

/**
 * Why a stretch of bytes was discarded:
 * - `protocol`: a complete frame whose protocol id is not 0 (skipped; framing is intact);
 * - `length`: a length field outside 2..254, after which the frame boundary is lost
 *   and every buffered byte is dropped.
 */
export type FrameErrorKind = 'protocol' | 'length';
export type FrameErrorHandler = (kind: FrameErrorKind, detail: string) => void;

/**
 * Incremental MBAP decoder: any split of a byte stream yields the same frames.
 * It buffers at most one incomplete frame (260 bytes), so memory is bounded
 * whatever the peer sends.
 */
export class MbapDecoder {
  private rest: Buffer | undefined;

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly onError: FrameErrorHandler,
  ) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.rest?.length ?? 0;
  }

  reset(): void {
    this.rest = undefined;
  }

  /**
   * Decodes the first `length` bytes of `chunk` (all of it by default). The
   * chunk may be a read buffer reused after this call: a partial frame is
   * copied, and PDUs are views of `chunk` valid until it is reused.
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
    while (end - off >= MBAP_HEADER_LENGTH - 1) {
      const length = (buf[off + 4]! << 8) | buf[off + 5]!;
      if (length < MIN_LENGTH_FIELD || length > MAX_LENGTH_FIELD) {
        this.onError('length', `length field ${length} outside ${MIN_LENGTH_FIELD}..${MAX_LENGTH_FIELD}`);
        return;
      }
      const frameEnd = off + 6 + length;
      if (frameEnd > end) break;
      const protocol = (buf[off + 2]! << 8) | buf[off + 3]!;
      if (protocol !== 0) {
        this.onError('protocol', `protocol id ${protocol}`);
      } else {
        this.onFrame((buf[off]! << 8) | buf[off + 1]!, buf[off + 6]!, buf.subarray(off + MBAP_HEADER_LENGTH, frameEnd));
      }
      off = frameEnd;
    }
    // Copy the tail so a small remainder does not pin a large chunk in memory.
    if (off < end) this.rest = Buffer.from(buf.subarray(off, end));
  }
}
