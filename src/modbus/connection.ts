/**
 * One Modbus/TCP client's connection to the server: MBAP frames decoded
 * incrementally and served strictly in arrival order, the answers of one
 * read leaving in one write, and the clocks of the idle and frame limits.
 */
import type net from 'node:net';
import { MBAP_HEADER_LENGTH, MbapDecoder } from './mbap.js';
import { MBAP } from './packager.js';
import type { ModbusRequest } from './pdu.js';
import { SocketWriter } from './socket-writer.js';
import { type HandlerResult, type RequestContext, type RequestHandler, type ServeStats, answerFrame, refusalFrame, startRequest } from './serve.js';

/** The connection settings in force, with their defaults. */
export interface ConnectionLimits {
  /**
   * Open connections at most. At the limit a newcomer evicts the connection
   * idle longest (if idle at least `evictAfter`; one that never sent a
   * complete request goes before one that did), else it waits, up to twice
   * `evictAfter`, for one to become so, and is closed then. Default 64.
   */
  maxConnections: number;
  /** Open connections per client address at most, the same way; 0: no such limit. Default 0. */
  maxConnectionsPerAddress: number;
  /** Close a connection that sends no complete request this long; 0 never. Default 60000 ms. */
  idleTimeout: number;
  /** Close a connection whose frame stays half-received this long; 0 never. Default 2000 ms. */
  frameTimeout: number;
  /**
   * Only a connection idle at least this long may be evicted for a newcomer,
   * so a burst of new connections cannot push out each other (or one that
   * just connected) before their first request. Default 500 ms.
   */
  evictAfter: number;
}

/** Why the server closed a connection on its own. */
export interface ConnectionClosed {
  remote: string;
  /** evicted: for a newcomer (`limit` says which); idle: no complete request; frame: a frame left half-sent. */
  reason: 'evicted' | 'idle' | 'frame';
  /** For evictions: the limit reached. */
  limit?: 'connections' | 'per-address';
  /** The newcomer that took its place. */
  newcomer?: string;
  /** How long it had sent no complete request (or held its partial frame, for `frame`), ms. */
  idleMs: number;
}

/** What a connection needs of its server. */
export interface ConnectionOwner {
  readonly stats: ServeStats & { badFrames: number };
  readonly limits: Readonly<ConnectionLimits>;
  readonly handler: RequestHandler;
  /** A connection closed for one of the limits: counted and reported. */
  closedFor(c: Connection, event: Omit<ConnectionClosed, 'remote'>): void;
  handlerFailed(err: unknown, req: ModbusRequest): void;
}

interface Job {
  tid: number;
  unitId: number;
  pdu: Buffer;
}

/** Most frames a connection may queue while its handler is busy, before the socket is paused. */
const MAX_QUEUED_FRAMES = 64;

/** What a handler gets with each request; one small object, its methods shared. */
class Context implements RequestContext {
  constructor(
    private readonly connection: Connection,
    readonly unitId: number,
    readonly transactionId: number,
  ) {}

  get connectionId(): number {
    return this.connection.id;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  get remotePort(): number {
    return this.connection.remotePort;
  }

  destroy(): void {
    this.connection.socket.destroy();
  }

  writeRaw(bytes: Buffer): void {
    if (!this.connection.socket.destroyed) this.connection.write(bytes);
  }

  writePdu(pdu: Buffer): void {
    const frame = Buffer.allocUnsafe(MBAP_HEADER_LENGTH + pdu.length);
    pdu.copy(frame, MBAP_HEADER_LENGTH);
    this.writeRaw(MBAP.seal(frame, this.transactionId, this.unitId, pdu.length));
  }
}

/** One client's connection: frames are served strictly in arrival order. */
export class Connection {
  private readonly decoder: MbapDecoder;
  private readonly jobs: Job[] = [];
  private busy = false;
  /** While the frames of one read are served: their answers are collected and leave in one write. */
  private batching = false;
  private batchFirst: Buffer | undefined;
  private batchFirstOwn = false;
  private batchMore: Buffer[] | undefined;
  /**
   * The last answer frame, once the socket took all of it at once (the usual
   * case on a LAN): the next answer of the same length — a poller repeats its
   * requests — is written into it instead of a new buffer.
   */
  private spare: Buffer | undefined;
  /** Set by a frame that breaks the MBAP rules: nothing after it is served. */
  private closing = false;
  /** Complete frames received, to tell a read that completed one from a read of part of one. */
  private frames = 0;
  /** performance.now() of the last complete request or late answer (or of the connect). */
  lastActive = performance.now();
  /** performance.now() since which the decoder holds part of a frame, or 0. */
  private partialSince = 0;
  /** The limit timer and when it fires (performance.now()), or Infinity. */
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private readonly writer: SocketWriter;

  constructor(
    private readonly server: ConnectionOwner,
    readonly socket: net.Socket,
    readonly id: number,
    streamed: boolean,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    this.decoder = new MbapDecoder(
      (tid, unitId, pdu) => this.onFrame(tid, unitId, pdu),
      () => {
        // A frame that breaks the MBAP rules gets no reply: the stream cannot be trusted any more.
        server.stats.badFrames++;
        this.closing = true;
      },
    );
    if (streamed) socket.on('data', (chunk: Buffer) => this.onRead(chunk, chunk.length));
    this.writer = new SocketWriter(socket, () => this.resume());
    socket.once('close', () => clearTimeout(this.timer));
    const { idleTimeout } = server.limits;
    if (idleTimeout > 0) this.arm(this.lastActive + idleTimeout);
  }

  get partialBytes(): number {
    return this.decoder.buffered;
  }

  /** Whether it ever sent a complete request: one that never did is evicted before any that did. */
  get served(): boolean {
    return this.frames > 0;
  }

  /** Whether a newcomer may take this connection's place: idle long enough, no answer pending. */
  evictable(now: number, evictAfter: number): boolean {
    return !this.busy && !this.socket.destroyed && now - this.lastActive >= evictAfter;
  }

  /** The first `n` bytes of `buf` arrived; `buf` may be reused once this returns. */
  onRead(buf: Buffer, n: number): boolean {
    const framesBefore = this.frames;
    this.batching = true;
    this.decoder.push(buf, n);
    this.batching = false;
    const first = this.batchFirst;
    if (first !== undefined) {
      const more = this.batchMore;
      this.batchFirst = undefined;
      this.batchMore = undefined;
      if (more === undefined) this.send(first, this.batchFirstOwn);
      else this.send(Buffer.concat(more), false);
    }
    if (this.frames !== framesBefore || this.decoder.buffered === 0 || this.partialSince === 0) this.track(this.frames !== framesBefore);
    if (this.closing) this.closeWhenIdle();
    return true;
  }

  /** After a read: a complete request makes the connection active; a new partial frame starts the frame clock. */
  private track(completed: boolean): void {
    const now = performance.now();
    if (completed) this.lastActive = now;
    if (this.decoder.buffered === 0) {
      this.partialSince = 0;
      return;
    }
    // The partial frame after this read's complete ones (or the first bytes of one) is a new frame.
    this.partialSince = now;
    const { frameTimeout } = this.server.limits;
    if (frameTimeout > 0) this.arm(now + frameTimeout);
  }

  private onFrame(tid: number, unitId: number, pdu: Buffer): void {
    this.frames++;
    if (this.socket.destroyed || this.closing) return;
    if (this.busy || this.jobs.length > 0) {
      // The PDU is a view of the read buffer, which the next read overwrites.
      this.jobs.push({ tid, unitId, pdu: Buffer.from(pdu) });
      if (this.jobs.length >= MAX_QUEUED_FRAMES) this.socket.pause();
      return;
    }
    this.serve(tid, unitId, pdu);
  }

  /** Serves one frame; returns after answering (sync handler) or after scheduling (async handler). */
  private serve(tid: number, unitId: number, pdu: Buffer): void {
    const started = startRequest(pdu, this.server.handler, new Context(this, unitId, tid), this.server.stats);
    if (started.kind === 'refused') {
      this.write(refusalFrame(MBAP, tid, unitId, started.fc, started.exception), true);
      return;
    }
    if (started.kind === 'failed') {
      this.answer(tid, unitId, started.req, undefined, started.error);
      return;
    }
    const { req, result } = started;
    if (result instanceof Promise) {
      this.busy = true;
      result.then(
        (res) => this.finishAsync(tid, unitId, req, res, undefined),
        (err: unknown) => this.finishAsync(tid, unitId, req, undefined, err),
      );
      return;
    }
    this.answer(tid, unitId, req, result, undefined);
  }

  /**
   * Makes the limit timer fire by `at` (performance.now() time). The timer is
   * moved only to an earlier time, never on every read or write (which
   * socket.setTimeout() would do); when it fires it checks the clocks and
   * waits again for the next due time.
   */
  private arm(at: number): void {
    if (at >= this.timerDue || this.socket.destroyed) return;
    clearTimeout(this.timer);
    this.timerDue = at;
    this.timer = setTimeout(() => this.check(), Math.max(0, at - performance.now())).unref();
  }

  /** Closes the connection if it broke a limit; else waits for the next time it could. */
  private check(): void {
    this.timerDue = Infinity;
    this.timer = undefined;
    if (this.socket.destroyed) return;
    const { idleTimeout, frameTimeout } = this.server.limits;
    const now = performance.now();
    // A connection waiting for its handler's answer is not idle.
    if (!this.busy) {
      if (frameTimeout > 0 && this.partialSince > 0 && now - this.partialSince >= frameTimeout) {
        this.server.closedFor(this, { reason: 'frame', idleMs: Math.round(now - this.partialSince) });
        return;
      }
      if (idleTimeout > 0 && now - this.lastActive >= idleTimeout) {
        this.server.closedFor(this, { reason: 'idle', idleMs: Math.round(now - this.lastActive) });
        return;
      }
    }
    let next = Infinity;
    if (idleTimeout > 0) next = Math.max(this.lastActive + idleTimeout, now + (this.busy ? idleTimeout : 0));
    if (frameTimeout > 0 && this.partialSince > 0) next = Math.min(next, Math.max(this.partialSince + frameTimeout, now + (this.busy ? frameTimeout : 0)));
    if (next < Infinity) this.arm(next);
  }

  private finishAsync(tid: number, unitId: number, req: ModbusRequest, res: HandlerResult | undefined, err: unknown): void {
    this.busy = false;
    this.lastActive = performance.now();
    if (this.socket.destroyed) return;
    this.answer(tid, unitId, req, res, err);
    if (this.closing) this.closeWhenIdle();
    else this.drainJobs();
  }

  /** Requests executed before a bad frame get their answers before the connection closes. */
  private closeWhenIdle(): void {
    if (!this.busy && !this.socket.writableEnded) this.socket.end(() => this.socket.destroy());
  }

  private drainJobs(): void {
    while (!this.busy && this.jobs.length > 0 && !this.socket.destroyed && !this.closing) {
      const job = this.jobs.shift()!;
      this.serve(job.tid, job.unitId, job.pdu);
    }
    this.resume();
  }

  private resume(): void {
    if (this.jobs.length < MAX_QUEUED_FRAMES && !this.writer.full && this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  private answer(tid: number, unitId: number, req: ModbusRequest, res: HandlerResult | undefined, err: unknown): void {
    if (this.socket.destroyed) return;
    // The spare may take only an answer sent alone: one waiting in a batch must not be overwritten by the next.
    const spare = this.batchFirst === undefined ? this.spare : undefined;
    const frame = answerFrame(MBAP, tid, unitId, req, res, err, this.server.stats, (e, r) => this.server.handlerFailed(e, r), spare);
    if (frame !== undefined) this.write(frame, true);
  }

  /** Sends `frame` (with the rest of this read's answers, while a read is served); `own`: a frame of ours, reusable once sent. */
  write(frame: Buffer, own = false): void {
    if (!this.batching) this.send(frame, own);
    else if (this.batchFirst === undefined) {
      this.batchFirst = frame;
      this.batchFirstOwn = own;
    } else (this.batchMore ??= [this.batchFirst]).push(frame);
  }

  private send(frame: Buffer, own: boolean): void {
    const ok = this.writer.write(frame);
    // Written at once: the socket holds no reference to it any more. Otherwise it is the socket's until sent.
    if (this.writer.pendingBytes === 0) {
      if (own) this.spare = frame;
    } else if (frame === this.spare) this.spare = undefined;
    if (!ok) this.socket.pause();
  }
}
