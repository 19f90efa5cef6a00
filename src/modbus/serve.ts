/**
 * Serving one request, whatever carries it (a Modbus/TCP connection, an RTU
 * line): decode the PDU with the spec's checks, run the handler, and frame
 * its answer — a response, or the exception code its failure maps to.
 */
import { ExceptionCode, ModbusExceptionError } from './errors.js';
import type { Packager } from './packager.js';
import { packageFrame } from './packager.js';
import { type ModbusRequest, type ModbusResponse, decodeRequest } from './pdu.js';
import { encodeException, responseFits, responsePduLength, writeResponsePdu } from './response.js';

export interface RequestContext {
  readonly unitId: number;
  /** The MBAP transaction id; 0 on RTU. */
  readonly transactionId: number;
  readonly connectionId: number;
  /** The client's address (TCP), or the serial port's path. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Closes this connection without answering (for simulators that misbehave on purpose); on RTU the device just stays silent. */
  destroy(): void;
  /** Writes raw bytes to this connection (for simulators that send garbage on purpose). */
  writeRaw(bytes: Buffer): void;
  /** Writes a PDU framed as this connection frames answers, unchecked (for simulators that answer nonsense on purpose). */
  writePdu(pdu: Buffer): void;
}

/** Returned by a handler that must not answer at all (a device that went silent). */
export const NO_RESPONSE: unique symbol = Symbol('modbus.noResponse');
export type HandlerResult = ModbusResponse | typeof NO_RESPONSE;

/**
 * Serves one decoded, spec-checked request. Throw a ModbusExceptionError to
 * answer with its exception code; any other error is answered with 04.
 */
export type RequestHandler = (req: ModbusRequest, ctx: RequestContext) => HandlerResult | Promise<HandlerResult>;

/** What a server counts while serving. */
export interface ServeStats {
  requests: number;
  exceptions: number;
  handlerFailures: number;
}

/** What to do with a request PDU: answer an exception at once, or the handler's result (maybe later). */
export type Started =
  | { kind: 'refused'; fc: number; exception: number }
  | { kind: 'run'; req: ModbusRequest; result: HandlerResult | Promise<HandlerResult> }
  | { kind: 'failed'; req: ModbusRequest; error: unknown };

/** Decodes a request PDU (function 01 and quantity/byte count 03 checked first, as the spec orders) and runs the handler. */
export function startRequest(pdu: Buffer, handler: RequestHandler, ctx: RequestContext, stats: ServeStats): Started {
  stats.requests++;
  const decoded = decodeRequest(pdu);
  if (!decoded.ok) {
    stats.exceptions++;
    return { kind: 'refused', fc: decoded.fc, exception: decoded.exception };
  }
  try {
    return { kind: 'run', req: decoded.request, result: handler(decoded.request, ctx) };
  } catch (error) {
    return { kind: 'failed', req: decoded.request, error };
  }
}

/**
 * The frame answering `req` with the handler's result or error, or
 * undefined (no answer). An error that is not a Modbus exception, or a
 * response that does not fit the request, is answered with 04 and reported
 * to `onHandlerError`. A response of exactly `spare`'s length is written
 * into `spare` (a buffer the caller may overwrite) instead of a new one.
 */
export function answerFrame(
  packager: Packager,
  tid: number,
  unitId: number,
  req: ModbusRequest,
  res: HandlerResult | undefined,
  err: unknown,
  stats: ServeStats,
  onHandlerError: (err: unknown, req: ModbusRequest) => void,
  spare?: Buffer,
): Buffer | undefined {
  if (res === NO_RESPONSE) return undefined;
  if (err === undefined && res !== undefined && !responseFits(req, res)) {
    err = new Error(`the handler's answer to function ${req.fc} does not fit the request`);
  }
  if (err !== undefined || res === undefined) {
    stats.exceptions++;
    let code: number = ExceptionCode.ServerDeviceFailure;
    if (err instanceof ModbusExceptionError) {
      code = err.exceptionCode;
    } else {
      stats.handlerFailures++;
      onHandlerError(err, req);
    }
    return packageFrame(packager, tid, unitId, encodeException(req.fc, code));
  }
  const pduLength = responsePduLength(res);
  const length = packager.frameLength(pduLength);
  const frame = spare !== undefined && spare.length === length ? spare : Buffer.allocUnsafe(length);
  writeResponsePdu(res, frame, packager.pduOffset);
  return packager.seal(frame, tid, unitId, pduLength);
}

/** The frame of an exception answer to a request refused by decoding. */
export function refusalFrame(packager: Packager, tid: number, unitId: number, fc: number, exception: number): Buffer {
  return packageFrame(packager, tid, unitId, encodeException(fc, exception));
}
