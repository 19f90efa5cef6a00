/** A Modbus client's options, figures and events, and the checks of its options. */
import { ModbusRequestError, type ModbusError } from './errors.js';

export interface CommonClientOptions {
  /** Unit id used when a request does not name one. Default 1. */
  unitId?: number;
  /** Default 2000 ms. */
  connectTimeout?: number;
  /** Time allowed for a reply once a request is on the wire. Default 1000 ms. */
  timeout?: number;
  /** Requests in flight at once, 1..64 (1 for RTU: its frames carry no transaction id). Default 1: many PLCs serve one request at a time. */
  window?: number;
  /** Reconnect by itself after a failure or a drop. Default true. */
  reconnect?: boolean;
  /** First reconnection delay; doubles on each failure up to `backoffMax`. Default 100 ms. */
  backoffInitial?: number;
  /** Default 5000 ms. */
  backoffMax?: number;
  /**
   * Consecutive timeouts after which the connection is considered dead (a
   * half-open link, a hung gateway) and is closed and reopened. 0 disables.
   * Default 2, so a dead device is noticed within two request timeouts.
   */
  timeoutsBeforeReconnect?: number;
  /** Requests allowed to wait for a slot in the window. Default 10000. */
  maxQueue?: number;
  /**
   * RTU: after a broadcast (unit 0, no answer) the devices get this long to
   * act on it before the next request; a broadcast resolves after it. Default 100 ms.
   */
  broadcastDelay?: number;
  /**
   * RTU: after a timeout, the next request waits until the line has been
   * silent this long (and at least the line's frame gap) — every byte arriving
   * starts the wait again — and what arrives meanwhile is dropped: frames carry
   * no transaction id, so a late reply must not be taken for the next
   * request's. A reply whose function or length cannot answer the request is
   * dropped as well. 0 disables the wait. Default 20 ms.
   */
  lateReplyGuard?: number;
}

/** A Modbus/TCP client's options. */
export interface ClientOptions extends CommonClientOptions {
  host: string;
  /** Default 502. */
  port?: number;
}

export interface RequestOptions {
  unitId?: number;
  timeout?: number;
}

export type ClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

export interface ClientStats {
  requests: number;
  responses: number;
  timeouts: number;
  /** Exception responses by exception code. */
  exceptions: Record<number, number>;
  protocolErrors: number;
  connectionErrors: number;
  /** Replies to no request waiting (late replies to timed-out requests). */
  unexpectedReplies: number;
  /** Frames dropped by the decoder (MBAP: protocol id ≠ 0, impossible length; RTU: bad CRC, impossible length, cut short). */
  badFrames: number;
  /** RTU frames dropped for a wrong CRC (counted in badFrames too). */
  crcErrors: number;
  /** RTU replies from a unit other than the one asked (another device on the line): dropped. */
  otherUnits: number;
  /** RTU writes broadcast to unit 0 (they get no answer). */
  broadcasts: number;
  connects: number;
  reconnects: number;
  /** Epoch ms of the current connection, or null while down. */
  connectedSince: number | null;
}

export function emptyStats(): ClientStats {
  return {
    requests: 0,
    responses: 0,
    timeouts: 0,
    exceptions: {},
    protocolErrors: 0,
    connectionErrors: 0,
    unexpectedReplies: 0,
    badFrames: 0,
    crcErrors: 0,
    otherUnits: 0,
    broadcasts: 0,
    connects: 0,
    reconnects: 0,
    connectedSince: null,
  };
}

export interface ClientEvents {
  connect: [];
  disconnect: [error: ModbusError];
  state: [state: ClientState];
}

export const CLIENT_DEFAULTS: Required<CommonClientOptions> = {
  unitId: 1,
  connectTimeout: 2000,
  timeout: 1000,
  window: 1,
  reconnect: true,
  backoffInitial: 100,
  backoffMax: 5000,
  timeoutsBeforeReconnect: 2,
  maxQueue: 10000,
  broadcastDelay: 100,
  lateReplyGuard: 20,
};

/** Node's timers hold at most 2^31−1 ms; a longer time would fire at once. */
export const MAX_TIME_MS = 2 ** 31 - 1;

function checkTime(name: string, ms: number, zero = false): void {
  if (!((zero ? ms >= 0 : ms > 0) && ms <= MAX_TIME_MS)) throw new ModbusRequestError(`${name} ${ms} ms is not a duration in ${zero ? '[0' : '(0'}, ${MAX_TIME_MS}]`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The options with their defaults, checked; throws ModbusRequestError. `maxWindow`: 1 for framings without transaction ids. */
export function resolveClientOptions<O extends CommonClientOptions>(options: O, maxWindow: number): Required<CommonClientOptions> & O {
  const o = { ...CLIENT_DEFAULTS, ...stripUndefined(options) } as Required<CommonClientOptions> & O;
  if (!Number.isInteger(o.window) || o.window < 1 || o.window > maxWindow) {
    throw new ModbusRequestError(`window ${o.window} is outside 1..${maxWindow}${maxWindow === 1 ? ' (RTU frames carry no transaction id: one request at a time)' : ''}`);
  }
  if (!Number.isInteger(o.unitId) || o.unitId < 0 || o.unitId > 255) {
    throw new ModbusRequestError(`unit id ${o.unitId} is outside 0..255`);
  }
  checkTime('timeout', o.timeout);
  checkTime('connectTimeout', o.connectTimeout);
  checkTime('backoffInitial', o.backoffInitial);
  checkTime('backoffMax', o.backoffMax);
  checkTime('broadcastDelay', o.broadcastDelay, true);
  checkTime('lateReplyGuard', o.lateReplyGuard, true);
  if (!Number.isInteger(o.maxQueue) || o.maxQueue < 1) throw new ModbusRequestError(`maxQueue ${o.maxQueue} is not a positive integer`);
  if (!Number.isInteger(o.timeoutsBeforeReconnect) || o.timeoutsBeforeReconnect < 0) {
    throw new ModbusRequestError(`timeoutsBeforeReconnect ${o.timeoutsBeforeReconnect} is not a whole number ≥ 0`);
  }
  return o;
}
