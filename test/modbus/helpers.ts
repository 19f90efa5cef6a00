/**
 * Test helpers for the Modbus stack: a scripted raw TCP server controlled byte
 * by byte, a raw TCP client, and small waiting utilities. Everything binds
 * 127.0.0.1 on port 0 and is closed by its owner.
 */
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { MbapDecoder, encodeFrame } from '../../src/modbus/index.js';

export const HOST = '127.0.0.1';

/** Resolves when `cond()` is true, polling every millisecond; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1)); // the poll period of this condition wait, not a wait of its own
  }
}

/** Splits `buf` at the given cut points (any numbers; reduced modulo the length and sorted). */
export function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** For paces and scripted slow replies only; to wait for something use `until`, for a quiet window `assertThroughout`. */
export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The outcome of a promise, captured at once so that no rejection is ever unhandled. */
export interface Settled<T> {
  done: boolean;
  value?: T;
  error?: unknown;
  promise: Promise<void>;
}

export function settle<T>(p: Promise<T>): Settled<T> {
  const s: Settled<T> = { done: false, promise: Promise.resolve() };
  s.promise = p.then(
    (v) => {
      s.done = true;
      s.value = v;
    },
    (e: unknown) => {
      s.done = true;
      s.error = e;
    },
  );
  return s;
}

// ---------------------------------------------------------------- scripted server

export interface RawFrame {
  tid: number;
  unit: number;
  pdu: Buffer;
  conn: RawConn;
  /** Index of this frame among every frame the server received. */
  index: number;
}

export class RawConn {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  closed = false;
  readonly frames: RawFrame[] = [];
  readonly closedPromise: Promise<void>;

  constructor(readonly socket: net.Socket) {
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => {
      this.closed = true;
    });
  }

  send(bytes: Buffer | number[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Answers `frame` with `pdu` (same transaction and unit id unless given). */
  reply(frame: { tid: number; unit: number }, pdu: Buffer | number[], override: { tid?: number; unit?: number } = {}): void {
    this.send(encodeFrame(override.tid ?? frame.tid, override.unit ?? frame.unit, Buffer.from(pdu)));
  }
}

/**
 * A TCP server the test drives by hand: it records every byte and every MBAP
 * frame received on every connection, and answers only what `autoReply`
 * returns (or what the test sends).
 */
export class ScriptedServer extends EventEmitter {
  readonly conns: RawConn[] = [];
  readonly frames: RawFrame[] = [];
  port = 0;
  /** When set, called for each frame; a returned PDU is sent back at once. */
  autoReply: ((f: RawFrame) => Buffer | number[] | undefined) | undefined;
  private readonly server: net.Server;

  private constructor() {
    super();
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  static async start(autoReply?: (f: RawFrame) => Buffer | number[] | undefined): Promise<ScriptedServer> {
    const s = new ScriptedServer();
    s.autoReply = autoReply;
    await s.listen(0);
    return s;
  }

  async listen(port: number): Promise<void> {
    this.server.listen(port, HOST);
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get bytesReceived(): number {
    return this.conns.reduce((n, c) => n + c.bytes, 0);
  }

  get openConnections(): RawConn[] {
    return this.conns.filter((c) => !c.closed);
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const conn = new RawConn(socket);
    this.conns.push(conn);
    const decoder = new MbapDecoder(
      (tid, unit, pdu) => {
        const frame: RawFrame = { tid, unit, pdu: Buffer.from(pdu), conn, index: this.frames.length };
        this.frames.push(frame);
        conn.frames.push(frame);
        this.emit('frame', frame);
        const answer = this.autoReply?.(frame);
        if (answer !== undefined) conn.reply(frame, answer);
      },
      () => undefined,
    );
    socket.on('data', (chunk: Buffer) => {
      conn.chunks.push(chunk);
      conn.bytes += chunk.length;
      decoder.push(chunk);
    });
    this.emit('connection', conn);
  }

  async waitFrames(n: number, timeoutMs = 2000): Promise<RawFrame[]> {
    await until(() => this.frames.length >= n, timeoutMs, `${n} frames at the scripted server`);
    return this.frames.slice(0, n);
  }

  async waitConnections(n: number, timeoutMs = 2000): Promise<RawConn[]> {
    await until(() => this.conns.length >= n, timeoutMs, `${n} connections at the scripted server`);
    return this.conns.slice(0, n);
  }

  /** Destroys every connection; keeps listening. */
  dropAll(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  /** Stops listening (new connections are refused) and destroys every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.dropAll();
    await closed;
  }
}

// ---------------------------------------------------------------- raw client

/** A raw TCP client that records everything it receives and whether the peer closed. */
export class RawClient {
  private readonly chunks: Buffer[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => this.chunks.push(c));
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect({ host: HOST, port });
    socket.setNoDelay(true);
    const c = new RawClient(socket);
    await once(socket, 'connect');
    return c;
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  send(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Waits until at least `n` bytes arrived and returns exactly the first `n`, leaving the rest. */
  async read(n: number, timeoutMs = 2000): Promise<Buffer> {
    await until(() => this.received.length >= n || this.closed, timeoutMs, `${n} bytes from the server`);
    const all = this.received;
    if (all.length < n) throw new Error(`connection closed after ${all.length} of ${n} bytes: ${all.toString('hex')}`);
    this.chunks.length = 0;
    if (all.length > n) this.chunks.push(all.subarray(n));
    return all.subarray(0, n);
  }

  /** Waits for the server to close the connection. */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    await until(() => this.closed, timeoutMs, 'the server to close the connection');
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closedPromise;
  }
}

/** A free port: bound and released at once (nothing listens there afterwards). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, HOST);
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------- black hole

/**
 * A listening socket that never accepts: a worker thread listens with backlog 1
 * and then blocks its event loop, so the kernel's accept queue fills (two
 * filler connections) and further SYNs are dropped — connects hang, as to a
 * host that does not answer.
 */
export async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const srv = net.createServer(() => {});
    srv.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      parentPort.postMessage(srv.address().port);
      setImmediate(() => { Atomics.wait(workerData, 0, 0); srv.close(); });
    });
    `,
    { eval: true, workerData: flag },
  );
  const [port] = (await once(worker, 'message')) as [number];
  // Fill the accept queue: open connections until one stays unanswered (with
  // backlog 1 the kernel completes two handshakes, then drops SYNs).
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const s = net.connect({ host: HOST, port });
    s.on('error', () => undefined);
    fillers.push(s);
    let connected = false;
    s.once('connect', () => (connected = true));
    try {
      await until(() => connected, 50);
    } catch {
      break; // this one hangs: the queue is full
    }
  }
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}
