/**
 * Modbus client: one connection made by a transport (TCP, a serial port), a
 * window of requests in flight, per-request timeouts, automatic reconnection.
 * It knows nothing of byte layouts: pdu.ts writes requests and response.ts
 * reads replies, the packager (MBAP, RTU) frames them, the transport moves
 * the bytes.
 */
import {
  type ClientState,
  type ClientStats,
  type CommonClientOptions,
  MAX_TIME_MS,
  type RequestOptions,
  emptyStats,
  resolveClientOptions,
} from './client-options.js';
import {
  ModbusClientClosedError,
  ModbusConnectionError,
  type ModbusError,
  ModbusExceptionError,
  ModbusProtocolError,
  ModbusQueueFullError,
  ModbusRequestError,
  ModbusTimeoutError,
} from './errors.js';
import { InFlight } from './inflight.js';
import { LineHold } from './line-hold.js';
import { ModbusFunctions } from './functions.js';
import type { FrameDecoder, Packager } from './packager.js';
import { type ModbusRequest, type ModbusResponse, requestPduLength, validateRequest, writeRequestPdu } from './pdu.js';
import { decodeResponse, replyShapeFits, writeEcho } from './response.js';
import type { Transport, TransportConnection } from './transport.js';

export type { ClientEvents, ClientOptions, ClientState, ClientStats, CommonClientOptions, RequestOptions } from './client-options.js';

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
  /** An RTU broadcast: no answer comes; it resolves once the devices had time to act on it. */
  broadcast: boolean;
}

export class ModbusClient<O extends CommonClientOptions = CommonClientOptions> extends ModbusFunctions {
  readonly options: Required<CommonClientOptions> & O;
  readonly stats: ClientStats = emptyStats();

  /** Called with the round-trip time of every reply, in ms (for latency figures). */
  latencyListener: ((ms: number) => void) | undefined;

  private _state: ClientState = 'idle';
  private connection: TransportConnection | undefined;
  private readonly decoder: FrameDecoder;
  /**
   * Requests waiting for a slot: queue[queueHead..queueTail). Taken slots are
   * cleared and the indices rewind when it empties, so the array keeps its
   * storage instead of growing it again for every request.
   */
  private readonly queue: (Pending | undefined)[] = [];
  private queueHead = 0;
  private queueTail = 0;
  private readonly inflight = new InFlight<Pending>();
  private nextTid = 1;
  private consecutiveTimeouts = 0;
  private pumpScheduled = false;
  /** Frames of functions 1..6, the requests a poller repeats; see sendAlone(). */
  private readonly spareLength: number;
  private frameBuffer: Buffer | undefined;
  /** RTU: the line held after a timeout (see LineHold): nothing is sent meanwhile. */
  private readonly hold = new LineHold();
  private lastSent: Pending | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connectWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  private lastError: ModbusError | undefined;

  constructor(
    readonly transport: Transport,
    readonly packager: Packager,
    options: O,
  ) {
    super();
    this.options = resolveClientOptions(options, packager.transactionIds ? 64 : 1);
    this.spareLength = packager.frameLength(5);
    this.frameBuffer = Buffer.allocUnsafe(this.spareLength);
    this.decoder = packager.decoder(
      'response',
      (tid, unit, pdu) => this.onFrame(tid, unit, pdu),
      (kind, detail, fatal) => {
        this.stats.badFrames++;
        if (kind === 'crc') this.stats.crcErrors++;
        // After an impossible MBAP length the frame boundary is lost: nothing later on this stream can be trusted.
        if (fatal) this.dropConnection(`framing lost (${detail})`);
      },
      transport.frameGapMs,
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
  protected send<T>(req: ModbusRequest, opts: RequestOptions | undefined, pick: (res: ModbusResponse) => T): Promise<T> {
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
    const broadcast = !this.packager.answers(unitId);
    if (broadcast && !isWrite(req)) {
      return Promise.reject(new ModbusRequestError(`a broadcast (unit 0) gets no answer: function ${req.fc} reads, only writes can be broadcast`));
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
      const p: Pending = { req, unitId, timeout, resolve: resolve as (value: unknown) => void, pick, reject, tid: 0, deadline: 0, sentAt: 0, broadcast };
      // An idle connection sends at once; otherwise requests made in this turn leave together.
      const idle = this._state === 'connected' && this.inflight.size === 0 && !this.pumpScheduled && !this.hold.holding;
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

  /** Closes the connection for good; every pending request fails with ModbusClientClosedError. */
  close(): Promise<void> {
    if (this._state === 'closed') return Promise.resolve();
    this.setState('closed');
    this.stats.connectedSince = null;
    clearTimeout(this.reconnectTimer);
    this.hold.clear();
    this.clearTimer();
    this.decoder.reset();
    const err = new ModbusClientClosedError();
    this.failAll(err);
    this.rejectConnectWaiters(err);
    const connection = this.connection;
    this.connection = undefined;
    if (!connection) return Promise.resolve();
    return new Promise((resolve) => {
      this.closeWaiters.push(resolve);
      connection.destroy();
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
    return new ModbusConnectionError(`not connected to ${this.transport.description}${why}`);
  }

  private open(): void {
    clearTimeout(this.reconnectTimer);
    this.setState('connecting');
    const connection: TransportConnection = this.transport.connect(
      {
        onOpen: () => {
          if (this.connection === connection) this.onConnected();
        },
        onData: (buf, n) => {
          if (this.connection !== connection) return;
          this.hold.heard();
          this.decoder.push(buf, n);
          // Replies free slots in the window: requests waiting for one go out together
          // (a request made by a reply's callback sends itself).
          if (this.queueHead < this.queueTail) this.schedulePump();
        },
        onClose: (reason, opened) => {
          if (this.connection !== connection) {
            for (const w of this.closeWaiters.splice(0)) w();
            return;
          }
          this.connection = undefined;
          this.onDisconnected(reason, opened);
        },
      },
      this.options.connectTimeout,
    );
    this.connection = connection;
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
    this.connection?.destroy(new ModbusConnectionError(why));
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
    const connection = this.connection;
    if (!connection || this._state !== 'connected' || this.hold.holding) return;
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
    connection.write(more ? Buffer.concat(more) : first!);
  }

  /**
   * Sends one request on an idle connection. Its frame is written into a
   * buffer kept for the purpose, reused while the transport has taken every
   * byte of the previous one at once (the normal case); a write left
   * pending keeps that buffer and a new one is made.
   */
  private sendAlone(p: Pending): void {
    const connection = this.connection!;
    const spare = this.frameBuffer;
    const frame = this.start(p, performance.now(), spare);
    connection.write(frame);
    if (frame.length === this.spareLength && connection.pendingBytes === 0) this.frameBuffer = frame;
    else if (frame === spare) this.frameBuffer = undefined;
  }

  /**
   * Puts a request in flight: transaction id, deadline, frame (returned, for
   * the caller to write; written into `spare` if the request fits it).
   */
  private start(p: Pending, now: number, spare?: Buffer): Buffer {
    const packager = this.packager;
    // Without transaction ids nothing before this request can be its reply.
    if (!packager.transactionIds) this.decoder.reset();
    p.tid = this.allocTid();
    p.sentAt = now;
    this.lastSent = p;
    const pduLength = requestPduLength(p.req);
    const length = packager.frameLength(pduLength);
    const frame = spare !== undefined && length === this.spareLength ? spare : Buffer.allocUnsafe(length);
    writeRequestPdu(p.req, frame, packager.pduOffset);
    packager.seal(frame, p.tid, p.unitId, pduLength);
    // On a serial line the time allowed starts once the request's last character is out.
    p.deadline = now + this.transport.wireTimeMs(length) + (p.broadcast ? this.options.broadcastDelay : p.timeout);
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
    // Without transaction ids one request is in flight at most (the window is 1), the one sent last.
    const p = this.packager.transactionIds ? this.inflight.get(tid) : this.lastSent !== undefined ? this.inflight.get(this.lastSent.tid) : undefined;
    if (!p || p.broadcast) {
      this.stats.unexpectedReplies++;
      return;
    }
    if (unitId !== p.unitId && !this.packager.transactionIds) {
      // Another device on the line (or an echo of its request): not an answer to this one.
      this.stats.otherUnits++;
      return;
    }
    if (!this.packager.transactionIds && !replyShapeFits(p.req, pdu)) {
      // Without transaction ids a frame of another function or length is a stale reply (or another master's): the
      // request waits on for its own answer.
      this.stats.unexpectedReplies++;
      return;
    }
    this.inflight.remove(p);
    this.consecutiveTimeouts = 0;
    this.latencyListener?.(performance.now() - p.sentAt);
    if (unitId !== p.unitId) {
      this.stats.protocolErrors++;
      p.reject(new ModbusProtocolError(`reply from unit ${unitId} to a request for unit ${p.unitId}`));
      return;
    }
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
    let timedOut = false;
    for (const p of expired) {
      this.inflight.remove(p);
      if (p.broadcast) {
        this.stats.broadcasts++;
        p.resolve(p.pick(writeEcho(p.req)));
        continue;
      }
      timedOut = true;
      this.stats.timeouts++;
      this.consecutiveTimeouts++;
      p.reject(new ModbusTimeoutError(p.timeout, `function ${p.req.fc} (${this.packager.transactionIds ? `transaction ${p.tid}` : `unit ${p.unitId}`})`));
    }
    const limit = this.options.timeoutsBeforeReconnect;
    if (limit > 0 && this.consecutiveTimeouts >= limit && this._state === 'connected') {
      this.dropConnection(`${this.consecutiveTimeouts} consecutive timeouts`);
      return;
    }
    if (next !== Infinity) this.armTimer(next, now);
    if (timedOut && !this.packager.transactionIds && this.options.lateReplyGuard > 0) {
      // Until a late reply, or what is left of it, is over (dropped, counted); the decoder then starts afresh.
      const silence = Math.max(this.options.lateReplyGuard, this.transport.frameGapMs ?? 0);
      this.hold.hold(silence, this.options.timeout, () => {
        this.decoder.reset();
        this.pump();
      });
    } else this.pump();
  }
}

function isWrite(req: ModbusRequest): boolean {
  return req.fc === 5 || req.fc === 6 || req.fc === 15 || req.fc === 16;
}

const identity = (res: ModbusResponse): ModbusResponse => res;
