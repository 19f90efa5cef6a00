/**
 * Modbus/TCP server: many connections, each decoded incrementally and served
 * in order by a request handler. The server checks what the spec checks before
 * the address (function 01, quantity/byte count 03); the handler checks
 * addresses (02) and executes (anything but a ModbusExceptionError → 04).
 *
 * Connections are a scarce resource a client must use: one that sends no
 * complete request for `idleTimeout`, or leaves a frame half sent for
 * `frameTimeout`, is closed; at `maxConnections` (or `maxConnectionsPerAddress`)
 * a newcomer takes the place of the connection idle longest, as many PLCs do,
 * so idle or half-open sockets never lock the poller out.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ExceptionCode, ModbusExceptionError } from './errors.js';
import { MBAP_HEADER_LENGTH, MbapDecoder, allocFrame, encodeFrame } from './mbap.js';
import {
  type ModbusRequest,
  type ModbusResponse,
  decodeRequest,
  encodeException,
  responseFits,
  responsePduLength,
  writeResponsePdu,
} from './pdu.js';

export interface RequestContext {
  readonly unitId: number;
  readonly transactionId: number;
  readonly connectionId: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Closes this connection without answering (for simulators that misbehave on purpose). */
  destroy(): void;
  /** Writes raw bytes to this connection (for simulators that send garbage on purpose). */
  writeRaw(bytes: Buffer): void;
}

/** Returned by a handler that must not answer at all (a device that went silent). */
export const NO_RESPONSE: unique symbol = Symbol('modbus.noResponse');
export type HandlerResult = ModbusResponse | typeof NO_RESPONSE;

/**
 * Serves one decoded, spec-checked request. Throw a ModbusExceptionError to
 * answer with its exception code; any other error is answered with 04.
 */
export type RequestHandler = (req: ModbusRequest, ctx: RequestContext) => HandlerResult | Promise<HandlerResult>;

export interface ServerOptions {
  handler: RequestHandler;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 502; 0 picks a free port. */
  port?: number;
  /**
   * Open connections at most. At the limit a newcomer evicts the connection
   * idle longest (if idle at least `evictAfter`), else it is closed at once. Default 64.
   */
  maxConnections?: number;
  /** Open connections per client address at most, the same way; 0: no such limit. Default 0. */
  maxConnectionsPerAddress?: number;
  /** Close a connection that sends no complete request this long; 0 never. Default 60000 ms. */
  idleTimeout?: number;
  /** Close a connection whose frame stays half-received this long; 0 never. Default 2000 ms. */
  frameTimeout?: number;
  /**
   * Only a connection idle at least this long may be evicted for a newcomer,
   * so a burst of new connections cannot push out each other (or one that
   * just connected) before their first request. Default 1000 ms.
   */
  evictAfter?: number;
}

/** The connection settings in force, with their defaults. */
export type ConnectionLimits = Required<Pick<ServerOptions, 'maxConnections' | 'maxConnectionsPerAddress' | 'idleTimeout' | 'frameTimeout' | 'evictAfter'>>;

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  maxConnections: 64,
  maxConnectionsPerAddress: 0,
  idleTimeout: 60_000,
  frameTimeout: 2000,
  evictAfter: 1000,
};

export interface ServerStats {
  /** Open now. */
  connections: number;
  accepted: number;
  /** Closed at once: at a limit with no connection idle long enough to evict. */
  refused: number;
  /** Closed to make room for a newcomer (the one idle longest). */
  evicted: number;
  /** Closed after sending no complete request for the idle timeout. */
  idleClosed: number;
  /** Closed with a frame half-received for the frame timeout. */
  frameTimeouts: number;
  requests: number;
  exceptions: number;
  badFrames: number;
  handlerFailures: number;
}

export interface ServerEvents {
  /** A handler threw something that is not a Modbus exception (answered with 04). */
  handlerError: [error: unknown, req: ModbusRequest];
  connection: [remote: string];
  /** A connection was closed by the server for one of its limits. */
  closed: [event: ConnectionClosed];
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

/** One open connection, for the simulator's control interface. */
export interface ConnectionInfo {
  id: number;
  remote: string;
  /** ms since its last complete request (or since it connected). */
  idleMs: number;
  /** Bytes of a frame received in part. */
  partialBytes: number;
}

interface Job {
  tid: number;
  unitId: number;
  pdu: Buffer;
}

/** Most frames a connection may queue while its handler is busy, before the socket is paused. */
const MAX_QUEUED_FRAMES = 64;

export class ModbusTcpServer extends EventEmitter<ServerEvents> {
  readonly stats: ServerStats = {
    connections: 0,
    accepted: 0,
    refused: 0,
    evicted: 0,
    idleClosed: 0,
    frameTimeouts: 0,
    requests: 0,
    exceptions: 0,
    badFrames: 0,
    handlerFailures: 0,
  };
  readonly limits: Readonly<ConnectionLimits>;
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /** One read buffer for every connection: each read is decoded before the next one lands. */
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private handlerFn: RequestHandler;
  private readonly host: string;
  private readonly port: number;
  private nextConnectionId = 1;

  constructor(options: ServerOptions) {
    super();
    const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS };
    for (const name of Object.keys(limits) as (keyof ConnectionLimits)[]) {
      const v = options[name] ?? limits[name];
      const least = name === 'maxConnections' ? 1 : 0;
      if (!Number.isInteger(v) || v < least) throw new RangeError(`${name} ${String(v)} is not a whole number ≥ ${least}`);
      limits[name] = v;
    }
    this.limits = limits;
    this.handlerFn = options.handler;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 502;
    // Paused on accept: reading starts once the connection is set up (see adopt()).
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server.on('error', () => undefined);
  }

  get handler(): RequestHandler {
    return this.handlerFn;
  }

  set handler(h: RequestHandler) {
    this.handlerFn = h;
  }

  /** Starts listening; resolves with the bound address (useful with port 0). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        const addr = this.server.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  get address(): { host: string; port: number } | undefined {
    const addr = this.server.address();
    return addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : undefined;
  }

  /** Closes every connection (without answering what is in progress). */
  dropConnections(): void {
    for (const c of this.connections) c.socket.destroy();
  }

  /** The open connections, idle longest first. */
  connectionList(): ConnectionInfo[] {
    const now = performance.now();
    return [...this.connections]
      .map((c) => ({ id: c.id, remote: `${c.remoteAddress}:${c.remotePort}`, idleMs: Math.round(now - c.lastActive), partialBytes: c.partialBytes }))
      .sort((a, b) => b.idleMs - a.idleMs);
  }

  /** (For its connections.) A connection closed for one of the limits: counted, and reported to whoever logs. */
  closedFor(c: Connection, event: Omit<ConnectionClosed, 'remote'>): void {
    this.connections.delete(c);
    this.stats.connections = this.connections.size;
    if (event.reason === 'evicted') this.stats.evicted++;
    else if (event.reason === 'idle') this.stats.idleClosed++;
    else this.stats.frameTimeouts++;
    c.socket.destroy();
    this.emit('closed', { remote: `${c.remoteAddress}:${c.remotePort}`, ...event });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.dropConnections();
    });
  }

  /**
   * Makes room for a newcomer from `address` when a limit is reached: the
   * connection idle longest (of that address, for the per-address limit)
   * goes, if it has been idle at least `evictAfter`. False: no room.
   */
  private makeRoom(address: string, newcomer: string): boolean {
    const { maxConnections, maxConnectionsPerAddress, evictAfter } = this.limits;
    let limit: 'connections' | 'per-address' | undefined;
    let among: Connection[] | undefined;
    if (maxConnectionsPerAddress > 0) {
      const same = [...this.connections].filter((c) => c.remoteAddress === address);
      if (same.length >= maxConnectionsPerAddress) {
        limit = 'per-address';
        among = same;
      }
    }
    if (!limit && this.connections.size >= maxConnections) {
      limit = 'connections';
      among = [...this.connections];
    }
    if (!limit || !among) return true;
    const now = performance.now();
    let victim: Connection | undefined;
    for (const c of among) if (c.evictable(now, evictAfter) && (!victim || c.lastActive < victim.lastActive)) victim = c;
    if (!victim) return false;
    this.closedFor(victim, { reason: 'evicted', limit, newcomer, idleMs: Math.round(now - victim.lastActive) });
    return true;
  }

  private accept(raw: net.Socket): void {
    raw.on('error', () => undefined);
    // Read before adopt() moves the handle away from `raw`.
    const address = raw.remoteAddress ?? '';
    const port = raw.remotePort ?? 0;
    if (!this.makeRoom(address, `${address}:${port}`)) {
      this.stats.refused++;
      raw.destroy();
      return;
    }
    // Reads start with the adopting socket; the first one arrives after this function returned.
    const reader: { connection?: Connection } = {};
    const adopted = adopt(raw, this.readBuffer, (n, buf) => reader.connection!.onRead(buf as Buffer, n));
    const socket = adopted ?? raw;
    if (adopted) socket.on('error', () => undefined);
    this.stats.accepted++;
    socket.setNoDelay(true);
    const connection = new Connection(this, socket, this.nextConnectionId++, adopted === undefined, address, port);
    reader.connection = connection;
    this.connections.add(connection);
    this.stats.connections = this.connections.size;
    socket.once('close', () => {
      this.connections.delete(connection);
      this.stats.connections = this.connections.size;
    });
    this.emit('connection', `${address}:${port}`);
    if (!adopted) socket.resume();
  }
}

type OnRead = (n: number, buf: Uint8Array) => boolean;

/**
 * Moves an accepted connection onto a socket that reads into `buffer` and
 * calls `onRead` for each read: Node's `onread` option, the client's read
 * path. It saves what a 'data' event costs per request — a fresh ArrayBuffer
 * and Buffer, the Readable bookkeeping and the emit — a third of the server's
 * own CPU time per request on loopback. Node offers `onread` only to sockets
 * it creates for connect(), so the accepted handle is moved to such a socket
 * the way Node wraps accepted and passed handles itself (`new Socket({ handle })`);
 * the first socket, never read, is released without closing the handle.
 * Returns undefined, and the caller keeps the stream socket, if this Node
 * keeps its handle elsewhere.
 */
function adopt(raw: net.Socket, buffer: Buffer, onRead: OnRead): net.Socket | undefined {
  const holder = raw as unknown as { _handle?: { readStart?: unknown; reading?: boolean } | null };
  const handle = holder._handle;
  if (!handle || typeof handle.readStart !== 'function' || handle.reading) return undefined;
  holder._handle = null;
  raw.destroy();
  const options = { handle, onread: { buffer, callback: onRead } };
  return new net.Socket(options as net.SocketConstructorOpts);
}

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
}

/** One client's connection: frames are served strictly in arrival order. */
class Connection {
  private readonly decoder: MbapDecoder;
  private readonly jobs: Job[] = [];
  private busy = false;
  /** While the frames of one read are served: their answers are collected and leave in one write. */
  private batching = false;
  private batchFirst: Buffer | undefined;
  private batchMore: Buffer[] | undefined;
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

  constructor(
    private readonly server: ModbusTcpServer,
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
    socket.on('drain', () => this.resume());
    socket.once('close', () => clearTimeout(this.timer));
    const { idleTimeout } = server.limits;
    if (idleTimeout > 0) this.arm(this.lastActive + idleTimeout);
  }

  get partialBytes(): number {
    return this.decoder.buffered;
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
      this.send(more === undefined ? first : Buffer.concat(more));
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
    const stats = this.server.stats;
    stats.requests++;
    const decoded = decodeRequest(pdu);
    if (!decoded.ok) {
      stats.exceptions++;
      this.write(encodeFrame(tid, unitId, encodeException(decoded.fc, decoded.exception)));
      return;
    }
    const req = decoded.request;
    let result: HandlerResult | Promise<HandlerResult>;
    try {
      result = this.server.handler(req, new Context(this, unitId, tid));
    } catch (err) {
      this.answer(tid, unitId, req, undefined, err);
      return;
    }
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
    if (this.jobs.length < MAX_QUEUED_FRAMES && !this.socket.writableNeedDrain && this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  private answer(tid: number, unitId: number, req: ModbusRequest, res: HandlerResult | undefined, err: unknown): void {
    if (this.socket.destroyed || res === NO_RESPONSE) return;
    if (err === undefined && res !== undefined && !responseFits(req, res)) {
      err = new Error(`the handler's answer to function ${req.fc} does not fit the request`);
    }
    if (err !== undefined || res === undefined) {
      this.server.stats.exceptions++;
      let code: number = ExceptionCode.ServerDeviceFailure;
      if (err instanceof ModbusExceptionError) {
        code = err.exceptionCode;
      } else {
        this.server.stats.handlerFailures++;
        this.server.emit('handlerError', err, req);
      }
      this.write(encodeFrame(tid, unitId, encodeException(req.fc, code)));
      return;
    }
    const frame = allocFrame(tid, unitId, responsePduLength(res));
    writeResponsePdu(res, frame, MBAP_HEADER_LENGTH);
    this.write(frame);
  }

  write(frame: Buffer): void {
    if (!this.batching) this.send(frame);
    else if (this.batchFirst === undefined) this.batchFirst = frame;
    else (this.batchMore ??= [this.batchFirst]).push(frame);
  }

  private send(frame: Buffer): void {
    if (!this.socket.write(frame)) this.socket.pause();
  }
}
