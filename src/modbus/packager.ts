/**
 * Packagers, as goburrow/modbus calls them: how a PDU is framed on a byte
 * stream (MBAP for Modbus/TCP, RTU for serial lines and RTU-over-TCP
 * converters). The client and the servers talk to a packager and a
 * transport, and know nothing of the bytes of either.
 */
import { MBAP_HEADER_LENGTH, MbapDecoder, writeHeader } from './mbap.js';
import { RtuDecoder, type RtuRole, rtuFrameLength, sealRtuFrame } from './rtu.js';

/** A decoded frame; the transaction id is 0 in framings without one (RTU). */
export type PackagedFrameHandler = (transactionId: number, unitId: number, pdu: Buffer) => void;

/**
 * Why a framing dropped bytes. `fatal`: the frame boundary is lost for good
 * (an MBAP length field out of range): nothing later on the stream can be
 * trusted, and the connection should be closed.
 */
export type FramingErrorHandler = (kind: string, detail: string, fatal: boolean) => void;

export interface FrameDecoder {
  push(chunk: Buffer, length?: number): void;
  reset(): void;
  readonly buffered: number;
}

export interface Packager {
  readonly name: 'mbap' | 'rtu';
  /** Frames carry a transaction id, so replies may come for several requests in flight. */
  readonly transactionIds: boolean;
  /** Where the PDU starts in a frame. */
  readonly pduOffset: number;
  frameLength(pduLength: number): number;
  /** Writes the header and trailer around the PDU already at pduOffset; returns the frame. */
  seal(frame: Buffer, transactionId: number, unitId: number, pduLength: number): Buffer;
  /** Whether a request to this unit gets an answer (RTU: not a broadcast to unit 0). */
  answers(unitId: number): boolean;
  /** A decoder of requests (a server's) or responses (a client's); `gapMs`: the silence that ends a frame, if the line has one. */
  decoder(role: RtuRole, onFrame: PackagedFrameHandler, onError: FramingErrorHandler, gapMs?: number): FrameDecoder;
}

export const MBAP: Packager = {
  name: 'mbap',
  transactionIds: true,
  pduOffset: MBAP_HEADER_LENGTH,
  frameLength: (pduLength) => MBAP_HEADER_LENGTH + pduLength,
  seal: writeHeader,
  answers: () => true,
  decoder: (_role, onFrame, onError) => new MbapDecoder(onFrame, (kind, detail) => onError(kind, detail, kind === 'length')),
};

export const RTU: Packager = {
  name: 'rtu',
  transactionIds: false,
  pduOffset: 1,
  frameLength: rtuFrameLength,
  seal: (frame, _tid, unitId, pduLength) => sealRtuFrame(frame, unitId, pduLength),
  answers: (unitId) => unitId !== 0,
  decoder: (role, onFrame, onError, gapMs) =>
    new RtuDecoder(
      role,
      (unitId, pdu) => onFrame(0, unitId, pdu),
      (kind, detail) => onError(kind, detail, false),
      gapMs === undefined ? {} : { gapMs },
    ),
};

/** Allocates a frame for a PDU of `pduLength` bytes (PDU unwritten, frame unsealed). */
export function allocPackagedFrame(packager: Packager, pduLength: number): Buffer {
  return Buffer.allocUnsafe(packager.frameLength(pduLength));
}

/** A whole frame around a PDU. */
export function packageFrame(packager: Packager, transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const frame = allocPackagedFrame(packager, pdu.length);
  pdu.copy(frame, packager.pduOffset);
  return packager.seal(frame, transactionId, unitId, pdu.length);
}
