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
 * so idle or half-open sockets never lock the poller out. One that never sent
 * a complete request goes first; a newcomer arriving while every connection
 * was active within the eviction grace waits for one to pass it.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Connection, type ConnectionClosed, type ConnectionLimits, type ConnectionOwner } from './connection.js';
import type { ModbusRequest } from './pdu.js';
import type { RequestHandler } from './serve.js';

export type { ConnectionClosed, ConnectionLimits } from './connection.js';

/** The connection limits (connection.ts) are optional here: each has its default. */
export interface ServerOptions extends Partial<ConnectionLimits> {
  handler: RequestHandler;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 502; 0 picks a free port. */
  port?: number;
  /** Whether to keep a connection just accepted; false: it is closed at once (a simulated device that hangs up). */
  admit?: () => boolean;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  maxConnections: 64,
  maxConnectionsPerAddress: 0,
  idleTimeout: 60_000,
  frameTimeout: 2000,
  evictAfter: 500,
};

export interface ServerStats {
  /** Open now. */
  connections: number;
  accepted: number;
  /** Closed at a limit after waiting twice the eviction grace for a connection idle long enough to evict. */
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

/** One open connection, for the simulator's control interface. */
export interface ConnectionInfo {
  id: number;
  remote: string;
  /** ms since its last complete request (or since it connected). */
  idleMs: number;
  /** Bytes of a frame received in part. */
  partialBytes: number;
}

/** A newcomer accepted at a limit, paused until a connection can make room for it. */
interface Waiting {
  raw: net.Socket;
  address: string;
  port: number;
  /** performance.now() past which it is refused. */
  giveUpAt: number;
}

/** How often waiting newcomers look for room. */
const WAIT_CHECK_MS = 20;

export class ModbusTcpServer extends EventEmitter<ServerEvents> implements ConnectionOwner {
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
  private readonly accepts: (() => boolean) | undefined;
  private readonly host: string;
  private readonly port: number;
  private nextConnectionId = 1;
  /** Newcomers at a limit waiting for a connection to become evictable. */
  private readonly waiting = new Set<Waiting>();
  private waitTimer: NodeJS.Timeout | undefined;

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
    this.accepts = options.admit;
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

  /** (For its connections.) A handler failed with something that is not a Modbus exception (answered with 04). */
  handlerFailed(err: unknown, req: ModbusRequest): void {
    this.emit('handlerError', err, req);
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
    clearInterval(this.waitTimer);
    this.waitTimer = undefined;
    for (const w of this.waiting) w.raw.destroy();
    this.waiting.clear();
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
    // A client that never sent a complete request goes first: a slow but active one may have been idle longer.
    const before = (c: Connection, v: Connection): boolean => (c.served === v.served ? c.lastActive < v.lastActive : !c.served);
    let unservedSoon = false;
    for (const c of among) {
      if (c.evictable(now, evictAfter)) {
        if (!victim || before(c, victim)) victim = c;
      } else if (!c.served) unservedSoon = true;
    }
    // Rather wait for one that never asked to pass the grace than evict a client that uses its connection.
    if (!victim || (victim.served && unservedSoon)) return false;
    this.closedFor(victim, { reason: 'evicted', limit, newcomer, idleMs: Math.round(now - victim.lastActive) });
    return true;
  }

  private accept(raw: net.Socket): void {
    raw.on('error', () => undefined);
    // Read before adopt() moves the handle away from `raw`.
    const address = raw.remoteAddress ?? '';
    const port = raw.remotePort ?? 0;
    if (this.accepts && !this.accepts()) {
      raw.destroy();
      return;
    }
    if (this.makeRoom(address, `${address}:${port}`)) this.admit(raw, address, port);
    else if (this.waiting.size >= this.limits.maxConnections) this.refuse(raw);
    else {
      // Every connection is busy or was active within the grace (a burst of newcomers): this one waits, paused
      // (what it sends stays in the socket), for one to become evictable, rather than being turned away.
      const w: Waiting = { raw, address, port, giveUpAt: performance.now() + 2 * this.limits.evictAfter };
      this.waiting.add(w);
      raw.once('close', () => this.waiting.delete(w));
      this.waitTimer ??= setInterval(() => this.admitWaiting(), WAIT_CHECK_MS);
    }
  }

  /** Newcomers that waited, in arrival order: each takes the room made now, or is refused past its wait. */
  private admitWaiting(): void {
    const now = performance.now();
    for (const w of this.waiting) {
      if (w.raw.destroyed) this.waiting.delete(w);
      else if (this.makeRoom(w.address, `${w.address}:${w.port}`)) {
        this.waiting.delete(w);
        this.admit(w.raw, w.address, w.port);
      } else if (now >= w.giveUpAt) {
        this.waiting.delete(w);
        this.refuse(w.raw);
      }
    }
    if (this.waiting.size === 0) {
      clearInterval(this.waitTimer);
      this.waitTimer = undefined;
    }
  }

  private refuse(raw: net.Socket): void {
    this.stats.refused++;
    raw.destroy();
  }

  private admit(raw: net.Socket, address: string, port: number): void {
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
