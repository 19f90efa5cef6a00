/**
 * Modbus/TCP server: many connections, each decoded incrementally and served
 * in order by a request handler. The server checks what the spec checks before
 * the address (function 01, quantity/byte count 03); the handler checks
 * addresses (02) and executes (anything but a ModbusExceptionError → 04).
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
  /** Connections beyond this are closed at once. Default 64. */
  maxConnections?: number;
  /** Close a connection idle this long; 0 never. Default 60000 ms. */
  idleTimeout?: number;
}

export interface ServerStats {
  connections: number;
  accepted: number;
  refused: number;
  requests: number;
  exceptions: number;
  badFrames: number;
  handlerFailures: number;
}

export interface ServerEvents {
  /** A handler threw something that is not a Modbus exception (answered with 04). */
  handlerError: [error: unknown, req: ModbusRequest];
  connection: [remote: string];
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
    requests: 0,
    exceptions: 0,
    badFrames: 0,
    handlerFailures: 0,
  };
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** One read buffer for every connection: each read is decoded before the next one lands. */
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly options: Required<ServerOptions>;
  private nextConnectionId = 1;

  constructor(options: ServerOptions) {
    super();
    this.options = { host: '127.0.0.1', port: 502, maxConnections: 64, idleTimeout: 60_000, ...options };
    // Paused on accept: reading starts once the connection is set up (see adopt()).
    this.server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server.on('error', () => undefined);
  }

  get handler(): RequestHandler {
    return this.options.handler;
  }

  set handler(h: RequestHandler) {
    this.options.handler = h;
  }

  /** Starts listening; resolves with the bound address (useful with port 0). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
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

  /** Closes every connection (without answering what is in progress) and stops listening. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.dropConnections();
    });
  }

  private accept(raw: net.Socket): void {
    raw.on('error', () => undefined);
    if (this.sockets.size >= this.options.maxConnections) {
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
    this.sockets.add(socket);
    this.stats.connections = this.sockets.size;
    socket.setNoDelay(true);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.stats.connections = this.sockets.size;
    });
    const connection = new Connection(this, socket, this.nextConnectionId++, adopted === undefined);
    reader.connection = connection;
    if (this.options.idleTimeout > 0) connection.watchIdle(this.options.idleTimeout);
    this.emit('connection', `${socket.remoteAddress}:${socket.remotePort}`);
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
  /** performance.now() of the last read or late answer, when an idle timeout is set (else 0). */
  private lastActive = 0;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(
    private readonly server: ModbusTcpServer,
    readonly socket: net.Socket,
    readonly id: number,
    streamed: boolean,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
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
  }

  /** The first `n` bytes of `buf` arrived; `buf` may be reused once this returns. */
  onRead(buf: Buffer, n: number): boolean {
    if (this.lastActive !== 0) this.lastActive = performance.now();
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
    if (this.closing) this.closeWhenIdle();
    return true;
  }

  private onFrame(tid: number, unitId: number, pdu: Buffer): void {
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
   * Closes the connection once nothing arrived for `ms` and no answer is
   * pending. One clock read per read, where socket.setTimeout() would
   * refresh a timer on every read and every write.
   */
  watchIdle(ms: number): void {
    this.lastActive = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const check = (): void => {
      if (this.socket.destroyed) return;
      const left = this.lastActive + ms - performance.now();
      if (left <= 0 && !this.busy) {
        this.socket.destroy();
        return;
      }
      timer = setTimeout(check, left > 0 ? left : ms).unref();
    };
    timer = setTimeout(check, ms).unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  private finishAsync(tid: number, unitId: number, req: ModbusRequest, res: HandlerResult | undefined, err: unknown): void {
    this.busy = false;
    if (this.lastActive !== 0) this.lastActive = performance.now();
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
