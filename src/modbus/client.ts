/**
 * Modbus/TCP client: one TCP connection, a window of requests in flight,
 * per-request timeouts, automatic reconnection. It knows nothing of byte
 * layouts (pdu.ts) or framing (mbap.ts) beyond calling them.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  ModbusClientClosedError,
  ModbusConnectionError,
  ModbusError,
  ModbusExceptionError,
  ModbusProtocolError,
  ModbusQueueFullError,
  ModbusRequestError,
  ModbusTimeoutError,
} from './errors.js';
import { MBAP_HEADER_LENGTH, MbapDecoder, allocFrame, writeHeader } from './mbap.js';
import {
  type ModbusRequest,
  type ModbusResponse,
  decodeResponse,
  requestPduLength,
  validateRequest,
  writeRequestPdu,
} from './pdu.js';

export interface ClientOptions {
  host: string;
  /** Default 502. */
  port?: number;
  /** Unit id used when a request does not name one. Default 1. */
  unitId?: number;
  /** Default 2000 ms. */
  connectTimeout?: number;
  /** Time allowed for a reply once a request is on the wire. Default 1000 ms. */
  timeout?: number;
  /** Requests in flight at once, 1..64. Default 1: many PLCs serve one request at a time. */
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
  /** Replies with an unknown transaction id (late replies to timed-out requests). */
  unexpectedReplies: number;
  /** Frames dropped by the decoder (protocol id ≠ 0, impossible length). */
  badFrames: number;
  connects: number;
  reconnects: number;
  /** Epoch ms of the current connection, or null while down. */
  connectedSince: number | null;
}

export interface ClientEvents {
  connect: [];
  disconnect: [error: ModbusError];
  state: [state: ClientState];
}

interface Pending {
  req: ModbusRequest;
  unitId: number;
  timeout: number;
  resolve: (value: unknown) => void;
  /** What the caller gets from the decoded response. */
  pick: (res: ModbusResponse) => unknown;
  reject: (err: Error) => void;
  tid: number;
  deadline: number;
  sentAt: number;
}

const DEFAULTS = {
  port: 502,
  unitId: 1,
  connectTimeout: 2000,
  timeout: 1000,
  window: 1,
  reconnect: true,
  backoffInitial: 100,
  backoffMax: 5000,
  timeoutsBeforeReconnect: 2,
  maxQueue: 10000,
};

export class ModbusTcpClient extends EventEmitter<ClientEvents> {
  readonly options: Required<ClientOptions>;
  readonly stats: ClientStats = {
    requests: 0,
    responses: 0,
    timeouts: 0,
    exceptions: {},
    protocolErrors: 0,
    connectionErrors: 0,
    unexpectedReplies: 0,
    badFrames: 0,
    connects: 0,
    reconnects: 0,
    connectedSince: null,
  };

  /** Called with the round-trip time of every reply, in ms (for latency figures). */
  latencyListener: ((ms: number) => void) | undefined;

  private _state: ClientState = 'idle';
  private socket: net.Socket | undefined;
  private readonly decoder: MbapDecoder;
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  /**
   * Requests waiting for a slot: queue[queueHead..queueTail). Taken slots are
   * cleared and the indices rewind when it empties, so the array keeps its
   * storage instead of growing it again for every request.
   */
  private readonly queue: (Pending | undefined)[] = [];
  private queueHead = 0;
  private queueTail = 0;
  private readonly inflight = new InFlight();
  private nextTid = 1;
  private consecutiveTimeouts = 0;
  private pumpScheduled = false;
  /** See sendAlone(). */
  private frameBuffer: Buffer | undefined = Buffer.allocUnsafe(SPARE_FRAME_LENGTH);
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private lastError: ModbusError | undefined;

  constructor(options: ClientOptions) {
    super();
    const o = { ...DEFAULTS, ...stripUndefined(options) } as Required<ClientOptions>;
    if (!Number.isInteger(o.window) || o.window < 1 || o.window > 64) {
      throw new ModbusRequestError(`window ${o.window} is outside 1..64`);
    }
    if (!Number.isInteger(o.unitId) || o.unitId < 0 || o.unitId > 255) {
      throw new ModbusRequestError(`unit id ${o.unitId} is outside 0..255`);
    }
    checkTime('timeout', o.timeout);
    checkTime('connectTimeout', o.connectTimeout);
    checkTime('backoffInitial', o.backoffInitial);
    checkTime('backoffMax', o.backoffMax);
    if (!Number.isInteger(o.maxQueue) || o.maxQueue < 1) throw new ModbusRequestError(`maxQueue ${o.maxQueue} is not a positive integer`);
    if (!Number.isInteger(o.timeoutsBeforeReconnect) || o.timeoutsBeforeReconnect < 0) {
      throw new ModbusRequestError(`timeoutsBeforeReconnect ${o.timeoutsBeforeReconnect} is not a whole number ≥ 0`);
    }
    this.options = o;
    this.decoder = new MbapDecoder(
      (tid, unit, pdu) => this.onFrame(tid, unit, pdu),
      (kind, detail) => {
        this.stats.badFrames++;
        // A frame with a foreign protocol id is skipped whole; after an impossible
        // length the frame boundary is lost and nothing later on this stream can be trusted.
        if (kind === 'length') this.dropConnection(`framing lost (${detail})`);
      },
    );
  }

  get state(): ClientState {
    return this._state;
  }

  get connected(): boolean {
    return this._state === 'connected';
  }

  /** Requests waiting for a slot plus requests on the wire. */
  get pending(): number {
    return this.queueTail - this.queueHead + this.inflight.size;
  }

  /** Resolves once connected; rejects if this attempt fails (reconnection goes on in the background). */
  connect(): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(new ModbusClientClosedError());
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this._state === 'idle' || this._state === 'backoff') this.open();
    return p;
  }

  /** Sends a request and resolves with its decoded response. */
  request(req: ModbusRequest, opts?: RequestOptions): Promise<ModbusResponse> {
    return this.send(req, opts, identity);
  }

  /** Like request(), resolving with `pick(response)`: one promise per request, not two. */
  private send<T>(req: ModbusRequest, opts: RequestOptions | undefined, pick: (res: ModbusResponse) => T): Promise<T> {
    try {
      validateRequest(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const unitId = opts?.unitId ?? this.options.unitId;
    const timeout = opts?.timeout ?? this.options.timeout;
    if (!(timeout > 0 && timeout <= MAX_TIME_MS)) {
      return Promise.reject(new ModbusRequestError(`timeout ${timeout} ms is not a duration in (0, ${MAX_TIME_MS}]`));
    }
    if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) {
      return Promise.reject(new ModbusRequestError(`unit id ${unitId} is outside 0..255`));
    }
    switch (this._state) {
      case 'closed':
        return Promise.reject(new ModbusClientClosedError());
      case 'backoff':
        return Promise.reject(this.notConnected());
      case 'idle':
        this.open();
        break;
      default:
        break;
    }
    if (this.pending >= this.options.maxQueue) {
      return Promise.reject(new ModbusQueueFullError(`${this.pending} requests already waiting`));
    }
    this.stats.requests++;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = {
        req,
        unitId,
        timeout,
        resolve: resolve as (value: unknown) => void,
        pick,
        reject,
        tid: 0,
        deadline: 0,
        sentAt: 0,
      };
      // An idle connection sends at once; otherwise requests made in this turn leave together.
      const idle = this._state === 'connected' && this.inflight.size === 0 && !this.pumpScheduled;
      if (idle && this.queueHead === this.queueTail) {
        this.sendAlone(p);
        return;
      }
      this.queue[this.queueTail++] = p;
      if (this._state !== 'connected') return;
      if (idle) this.pump();
      else this.schedulePump();
    });
  }

  readCoils(address: number, quantity: number, opts?: RequestOptions): Promise<boolean[]> {
    return this.send({ fc: 1, address, quantity }, opts, bitsOf);
  }

  readDiscreteInputs(address: number, quantity: number, opts?: RequestOptions): Promise<boolean[]> {
    return this.send({ fc: 2, address, quantity }, opts, bitsOf);
  }

  readHoldingRegisters(address: number, quantity: number, opts?: RequestOptions): Promise<Uint16Array> {
    return this.send({ fc: 3, address, quantity }, opts, registersOf);
  }

  readInputRegisters(address: number, quantity: number, opts?: RequestOptions): Promise<Uint16Array> {
    return this.send({ fc: 4, address, quantity }, opts, registersOf);
  }

  writeSingleCoil(address: number, value: boolean, opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 5, address, value }, opts, nothing);
  }

  writeSingleRegister(address: number, value: number, opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 6, address, value }, opts, nothing);
  }

  writeMultipleCoils(address: number, values: readonly boolean[], opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 15, address, values }, opts, nothing);
  }

  writeMultipleRegisters(address: number, values: ArrayLike<number>, opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 16, address, values }, opts, nothing);
  }

  readWriteMultipleRegisters(
    readAddress: number,
    readQuantity: number,
    writeAddress: number,
    values: ArrayLike<number>,
    opts?: RequestOptions,
  ): Promise<Uint16Array> {
    return this.send({ fc: 23, readAddress, readQuantity, writeAddress, values }, opts, registersOf);
  }

  /** Closes the connection for good; every pending request fails with ModbusClientClosedError. */
  close(): Promise<void> {
    if (this._state === 'closed') return Promise.resolve();
    this.setState('closed');
    this.stats.connectedSince = null;
    clearTimeout(this.reconnectTimer);
    this.clearTimer();
    const err = new ModbusClientClosedError();
    this.failAll(err);
    this.rejectConnectWaiters(err);
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  // ------------------------------------------------------------ connection

  private setState(state: ClientState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit('state', state);
  }

  private notConnected(): ModbusConnectionError {
    const why = this.lastError ? `: ${this.lastError.message}` : '';
    return new ModbusConnectionError(`not connected to ${this.options.host}:${this.options.port}${why}`);
  }

  private open(): void {
    clearTimeout(this.reconnectTimer);
    this.setState('connecting');
    const { host, port, connectTimeout } = this.options;
    // Reads land in one reused buffer (no allocation per read, no stream machinery):
    // the decoder copies what it keeps and replies are decoded before the next read.
    const socket = net.connect({
      host,
      port,
      onread: {
        buffer: this.readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (this.socket === socket) {
            this.decoder.push(buf as Buffer, n);
            // Replies free slots in the window: requests waiting for one go out together
            // (a request made by a reply's callback sends itself).
            if (this.queueHead < this.queueTail) this.schedulePump();
          }
          return true;
        },
      },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    let connected = false;
    const connectTimer = setTimeout(() => {
      socket.destroy(new ModbusConnectionError(`connect to ${host}:${port} timed out after ${connectTimeout} ms`));
    }, connectTimeout);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      connected = true;
      socket.setKeepAlive(true, 5000);
      this.onConnected();
    });
    let error: Error | undefined;
    socket.on('error', (err) => {
      error = err;
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      const reason =
        error instanceof ModbusError
          ? error
          : new ModbusConnectionError(
              connected
                ? `connection to ${host}:${port} closed${error ? `: ${error.message}` : ' by the peer'}`
                : `cannot connect to ${host}:${port}${error ? `: ${error.message}` : ''}`,
            );
      this.onDisconnected(reason, connected);
    });
  }

  private onConnected(): void {
    this.stats.connects++;
    if (this.stats.connects > 1) this.stats.reconnects++;
    this.stats.connectedSince = Date.now();
    this.attempt = 0;
    this.consecutiveTimeouts = 0;
    this.lastError = undefined;
    this.decoder.reset();
    this.setState('connected');
    for (const w of this.connectWaiters.splice(0)) w.resolve();
    this.emit('connect');
    this.pump();
  }

  private onDisconnected(reason: ModbusError, wasConnected: boolean): void {
    if (this._state === 'closed') return;
    this.stats.connectionErrors++;
    this.stats.connectedSince = null;
    this.lastError = reason;
    this.clearTimer();
    this.failAll(reason);
    this.rejectConnectWaiters(reason);
    if (wasConnected) this.emit('disconnect', reason);
    if (!this.options.reconnect) {
      this.setState('idle');
      return;
    }
    this.setState('backoff');
    const base = Math.min(this.options.backoffMax, this.options.backoffInitial * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // Jitter keeps many clients of one restarted gateway from reconnecting in lockstep.
    const delay = Math.round(base * (0.75 + Math.random() * 0.25));
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private rejectConnectWaiters(err: Error): void {
    for (const w of this.connectWaiters.splice(0)) w.reject(err);
  }

  private failAll(err: Error): void {
    const inflight = this.inflight.list();
    this.inflight.clear();
    const queued = this.queue.slice(this.queueHead, this.queueTail) as Pending[];
    this.queue.length = 0;
    this.queueHead = 0;
    this.queueTail = 0;
    for (const p of inflight) p.reject(err);
    for (const p of queued) p.reject(err);
  }

  /** Drops a connection that stopped answering; reconnection follows. */
  private dropConnection(why: string): void {
    this.socket?.destroy(new ModbusConnectionError(why));
  }

  // ------------------------------------------------------------ requests

  private allocTid(): number {
    // 16-bit ids, skipping 0 and any id still in flight (a late reply must never match a new request).
    for (;;) {
      const tid = this.nextTid;
      this.nextTid = tid === 0xffff ? 1 : tid + 1;
      if (this.inflight.isFree(tid)) return tid;
    }
  }

  private pump(): void {
    const socket = this.socket;
    if (!socket || this._state !== 'connected') return;
    const window = this.options.window;
    if (this.inflight.size >= window || this.queueHead === this.queueTail) return;
    const now = performance.now();
    // Frames sent together go out in one write: one syscall, one TCP segment.
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    while (this.inflight.size < window && this.queueHead < this.queueTail) {
      const p = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined;
      const frame = this.start(p, now);
      if (first === undefined) first = frame;
      else (more ??= [first]).push(frame);
    }
    if (this.queueHead === this.queueTail) {
      this.queueHead = 0;
      this.queueTail = 0;
    } else if (this.queueHead > 1024) {
      this.queue.copyWithin(0, this.queueHead, this.queueTail);
      this.queueTail -= this.queueHead;
      this.queueHead = 0;
      this.queue.length = this.queueTail;
    }
    socket.write(more ? Buffer.concat(more) : first!);
  }

  /**
   * Sends one request on an idle connection. Its frame is written into a
   * buffer kept for the purpose, reused while the socket has taken every
   * byte of the previous one at once (nothing left in writableLength, the
   * normal case); a write left pending keeps that buffer and a new one is made.
   */
  private sendAlone(p: Pending): void {
    const socket = this.socket!;
    const spare = this.frameBuffer;
    const frame = this.start(p, performance.now(), spare);
    socket.write(frame);
    if (frame.length === SPARE_FRAME_LENGTH && socket.writableLength === 0) this.frameBuffer = frame;
    else if (frame === spare) this.frameBuffer = undefined;
  }

  /**
   * Puts a request in flight: transaction id, deadline, frame (returned, for
   * the caller to write; written into `spare` if the request fits it).
   */
  private start(p: Pending, now: number, spare?: Buffer): Buffer {
    p.tid = this.allocTid();
    p.sentAt = now;
    p.deadline = now + p.timeout;
    const pduLength = requestPduLength(p.req);
    const frame =
      spare !== undefined && pduLength + MBAP_HEADER_LENGTH === SPARE_FRAME_LENGTH
        ? writeHeader(spare, p.tid, p.unitId, pduLength)
        : allocFrame(p.tid, p.unitId, pduLength);
    writeRequestPdu(p.req, frame, MBAP_HEADER_LENGTH);
    this.inflight.add(p);
    if (p.deadline < this.timerDue) this.armTimer(p.deadline, now);
    return frame;
  }

  /**
   * Requests made in one turn of the event loop (e.g. by the callbacks of the
   * replies of one TCP chunk) are sent together once that turn's promise
   * callbacks have run.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    process.nextTick(this.scheduledPump);
  }

  private readonly scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  private onFrame(tid: number, unitId: number, pdu: Buffer): void {
    const p = this.inflight.get(tid);
    if (!p) {
      this.stats.unexpectedReplies++;
      return;
    }
    this.inflight.remove(p);
    this.consecutiveTimeouts = 0;
    this.latencyListener?.(performance.now() - p.sentAt);
    if (unitId !== p.unitId) {
      this.stats.protocolErrors++;
      p.reject(new ModbusProtocolError(`reply from unit ${unitId} to a request for unit ${p.unitId}`));
    } else {
      let res: ModbusResponse;
      try {
        res = decodeResponse(p.req, pdu);
      } catch (err) {
        if (err instanceof ModbusExceptionError) {
          this.stats.exceptions[err.exceptionCode] = (this.stats.exceptions[err.exceptionCode] ?? 0) + 1;
        } else {
          this.stats.protocolErrors++;
        }
        p.reject(err as Error);
        return;
      }
      this.stats.responses++;
      p.resolve(p.pick(res));
    }
  }

  // ------------------------------------------------------------ timeouts
  // One timer for all requests, armed at the earliest deadline: a timer per
  // request would cost more than the request itself at high rates.

  private armTimer(due: number, now: number): void {
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - now));
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = performance.now();
    let next = Infinity;
    const expired: Pending[] = [];
    for (const p of this.inflight.list()) {
      if (p.deadline <= now) expired.push(p);
      else if (p.deadline < next) next = p.deadline;
    }
    for (const p of expired) {
      this.inflight.remove(p);
      this.stats.timeouts++;
      this.consecutiveTimeouts++;
      p.reject(new ModbusTimeoutError(p.timeout, `function ${p.req.fc} (transaction ${p.tid})`));
    }
    const limit = this.options.timeoutsBeforeReconnect;
    if (limit > 0 && this.consecutiveTimeouts >= limit && this._state === 'connected') {
      this.dropConnection(`${this.consecutiveTimeouts} consecutive timeouts`);
      return;
    }
    if (next !== Infinity) this.armTimer(next, now);
    this.pump();
  }
}

/** Frames of functions 1..6 (MBAP header + 5-byte PDU), the requests a poller repeats. */
const SPARE_FRAME_LENGTH = 12;

/** Slots for requests in flight; a power of two, the largest window. */
const SLOTS = 64;

/**
 * The requests in flight, each in slot `tid % 64` — a Map did the same at
 * several times the cost per request — or, in the rare case where that slot
 * holds an older request still waiting (64 ids apart), in a Map beside.
 * Only an id still in flight is ever refused (allocTid skips it).
 */
class InFlight {
  private readonly slots = new Array<Pending | undefined>(SLOTS).fill(undefined);
  private readonly overflow = new Map<number, Pending>();
  size = 0;

  isFree(tid: number): boolean {
    return this.slots[tid & (SLOTS - 1)]?.tid !== tid && !(this.overflow.size > 0 && this.overflow.has(tid));
  }

  get(tid: number): Pending | undefined {
    const p = this.slots[tid & (SLOTS - 1)];
    if (p !== undefined && p.tid === tid) return p;
    return this.overflow.size > 0 ? this.overflow.get(tid) : undefined;
  }

  add(p: Pending): void {
    const i = p.tid & (SLOTS - 1);
    if (this.slots[i] === undefined) this.slots[i] = p;
    else this.overflow.set(p.tid, p);
    this.size++;
  }

  remove(p: Pending): void {
    const i = p.tid & (SLOTS - 1);
    if (this.slots[i] === p) this.slots[i] = undefined;
    else this.overflow.delete(p.tid);
    this.size--;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.overflow.clear();
    this.size = 0;
  }

  /** Every request in flight, oldest first. */
  list(): Pending[] {
    const out: Pending[] = [];
    for (const p of this.slots) if (p !== undefined) out.push(p);
    for (const p of this.overflow.values()) out.push(p);
    // Sent earlier, or in the same write with a lower id (ids wrap after 65535, far apart in time).
    return out.sort((a, b) => a.sentAt - b.sentAt || a.tid - b.tid);
  }
}

const identity = (res: ModbusResponse): ModbusResponse => res;
const bitsOf = (res: ModbusResponse): boolean[] => (res as { bits: boolean[] }).bits;
const registersOf = (res: ModbusResponse): Uint16Array => (res as { registers: Uint16Array }).registers;
const nothing = (): void => undefined;

/** Node's timers hold at most 2^31−1 ms; a longer time would fire at once. */
const MAX_TIME_MS = 2 ** 31 - 1;

function checkTime(name: string, ms: number): void {
  if (!(ms > 0 && ms <= MAX_TIME_MS)) throw new ModbusRequestError(`${name} ${ms} ms is not a duration in (0, ${MAX_TIME_MS}]`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
