/**
 * Misbehaviour modes, as in libmodbus's test server: a simulated device that
 * answers late, goes silent with the TCP connection open (half-open), closes
 * connections, answers with an exception, or sends garbage instead of an answer.
 */
import { randomBytes } from 'node:crypto';
import { PlantaError } from '../errors.js';
import {
  NO_RESPONSE,
  type HandlerResult,
  type ModbusRequest,
  type RequestContext,
  type RequestHandler,
  exceptionError,
} from '../modbus/index.js';

export type Misbehaviour =
  | { mode: 'normal' }
  /** Answer every request `delayMs` late. */
  | { mode: 'slow'; delayMs: number }
  /** Never answer; keep connections open (a half-open link or a hung device). */
  | { mode: 'silent' }
  /** Close the connection on every request, without answering. */
  | { mode: 'close' }
  /**
   * Accept each TCP connection and close it at once, before any request (a device that hangs up right after the
   * connect). A connection carries every unit, so one unit alone in this mode closes the connection on its requests.
   */
  | { mode: 'hangup' }
  /** Answer every request with this exception (04 device failure, 06 busy, ...). */
  | { mode: 'exception'; code: number }
  /** Answer with a well-framed reply whose PDU is nonsense (a bad byte count). */
  | { mode: 'garbage' }
  /** Answer with random bytes instead of a frame. */
  | { mode: 'noise' };

export type MisbehaviourMode = Misbehaviour['mode'];
export const MISBEHAVIOUR_MODES: readonly MisbehaviourMode[] = ['normal', 'slow', 'silent', 'close', 'hangup', 'exception', 'garbage', 'noise'];

export class MisbehaviourError extends PlantaError<'PLANTA_SIM_BAD_MODE'> {
  constructor(message: string) {
    super('PLANTA_SIM_BAD_MODE', message);
  }
}

/** Parses `normal`, `slow:1500`, `silent`, `close`, `hangup`, `exception:6`, `garbage`, `noise`. */
export function parseMisbehaviour(text: string): Misbehaviour {
  const [mode, arg] = text.split(':', 2) as [string, string | undefined];
  const num = (what: string, min: number, max: number): number => {
    const n = Number(arg);
    if (arg === undefined || !Number.isInteger(n) || n < min || n > max) {
      throw new MisbehaviourError(`${mode} needs ${what} in ${min}..${max}, as in ${mode}:${min === 0 ? 1000 : min}`);
    }
    return n;
  };
  switch (mode) {
    case 'normal':
    case 'silent':
    case 'close':
    case 'hangup':
    case 'garbage':
    case 'noise':
      return { mode };
    case 'slow':
      return { mode, delayMs: num('a delay in ms', 0, 600_000) };
    case 'exception':
      return { mode, code: num('an exception code', 1, 255) };
    default:
      throw new MisbehaviourError(`"${mode}" is not a mode (${MISBEHAVIOUR_MODES.join(', ')})`);
  }
}

export function formatMisbehaviour(m: Misbehaviour): string {
  if (m.mode === 'slow') return `slow:${m.delayMs}`;
  if (m.mode === 'exception') return `exception:${m.code}`;
  return m.mode;
}

/** Wraps a handler so that it misbehaves as `current(unitId)` says, decided per request. */
export function misbehaving(handler: RequestHandler, current: (unitId: number) => Misbehaviour): RequestHandler {
  return (req: ModbusRequest, ctx: RequestContext): HandlerResult | Promise<HandlerResult> => {
    const m = current(ctx.unitId);
    switch (m.mode) {
      case 'normal':
        return handler(req, ctx);
      case 'slow':
        return new Promise((resolve, reject) =>
          setTimeout(() => {
            try {
              resolve(handler(req, ctx));
            } catch (err) {
              reject(err);
            }
          }, m.delayMs),
        );
      case 'silent':
        return NO_RESPONSE;
      case 'close':
      case 'hangup':
        ctx.destroy();
        return NO_RESPONSE;
      case 'exception':
        throw exceptionError(m.code, req.fc);
      case 'garbage': {
        // | fc | byteCount=0xFF | 0x00 |, framed as the connection frames answers: a byte count that cannot be true
        ctx.writePdu(Buffer.from([req.fc, 0xff, 0]));
        return NO_RESPONSE;
      }
      case 'noise':
        ctx.writeRaw(randomBytes(5 + Math.floor(Math.random() * 20)));
        return NO_RESPONSE;
    }
  };
}
