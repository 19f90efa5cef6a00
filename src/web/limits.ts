/**
 * What one web node accepts at once (security.limits): open connections and
 * live streams, in all and per client. A connection over a limit is still
 * read, so that its request gets a clear answer (503 when the node is full,
 * 429 when that client has too many) and is then closed; one that sends
 * nothing is dropped after a few seconds. Past twice the connection limit,
 * new connections are closed at once, unanswered.
 *
 * A client is the connection's peer, or, behind a trusted proxy, the address
 * the proxy names (req.ip). A trusted proxy's own connections count towards
 * the total only: all clients share them.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { BlockList, type Server, type Socket, isIPv4 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LimitsConfig } from '../config/schema.js';
import { type HttpErrorCode, PlantaError, httpStatus } from '../errors.js';

export const LIMIT_NAMES = ['connections', 'connections_per_client', 'streams', 'streams_per_client', 'body', 'timeout'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Bodies that differ from security.limits.bodyBytes: a sign-in is small; a command or an acknowledgement of many alarms is larger. */
export const BODY_LIMITS = { signIn: 4 * 1024, command: 16 * 1024, acknowledge: 128 * 1024 } as const;

/** How long a refused connection may take to send the request its refusal answers. */
const REFUSED_GRACE_MS = 5000;
const RETRY_AFTER_S = '10';

/** Places taken, in all and per key. */
class Tally {
  private readonly byKey = new Map<string, number>();
  total = 0;

  constructor(
    private readonly max: number,
    private readonly maxPerKey: number,
  ) {}

  /** Takes a place, or says which limit is reached. A key of undefined counts towards the total only. */
  take(key: string | undefined): 'total' | 'key' | undefined {
    if (this.total >= this.max) return 'total';
    const n = key === undefined ? 0 : (this.byKey.get(key) ?? 0);
    if (key !== undefined && n >= this.maxPerKey) return 'key';
    this.total++;
    if (key !== undefined) this.byKey.set(key, n + 1);
    return undefined;
  }

  release(key: string | undefined): void {
    this.total--;
    if (key === undefined) return;
    const n = (this.byKey.get(key) ?? 1) - 1;
    if (n > 0) this.byKey.set(key, n);
    else this.byKey.delete(key);
  }
}

/** The trusted proxies as a matcher (addresses and CIDR networks, IPv4-mapped IPv6 included). */
export function proxyMatcher(trusted: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of trusted) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => address !== undefined && trusted.length > 0 && list.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

export class Limits {
  /** Connections, streams and bodies refused by each limit since start. */
  readonly refused: Record<LimitName, number> = { connections: 0, connections_per_client: 0, streams: 0, streams_per_client: 0, body: 0, timeout: 0 };
  private readonly connections: Tally;
  private readonly streams: Tally;
  private readonly verdicts = new WeakMap<Socket, LimitName>();

  constructor(
    private readonly o: LimitsConfig,
    private readonly isProxy: (address: string | undefined) => boolean,
  ) {
    this.connections = new Tally(o.connections, o.connectionsPerIp);
    this.streams = new Tally(o.streams, o.streamsPerIp);
  }

  get openConnections(): number {
    return this.connections.total;
  }

  /**
   * Counts the connections of `server` (HTTPS: after the handshake, where
   * requests are read). A connection must start its first request within the
   * header timeout (Node's own timeout starts with the request's first byte);
   * from its first request on, the idle timeout applies.
   */
  watch(server: Server, tls: boolean): void {
    server.maxConnections = 2 * this.o.connections;
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      const key = this.isProxy(socket.remoteAddress) ? undefined : (socket.remoteAddress ?? '?');
      const full = this.connections.take(key);
      if (full) {
        const limit = full === 'total' ? 'connections' : 'connections_per_client';
        this.refused[limit]++;
        this.verdicts.set(socket, limit);
        socket.setTimeout(Math.min(REFUSED_GRACE_MS, this.o.headersTimeout));
        return;
      }
      socket.setTimeout(this.o.headersTimeout);
      socket.once('close', () => this.connections.release(key));
    });
    // Past the hard ceiling Node closes new connections itself.
    server.on('drop', () => this.refused.connections++);
    server.on('request', (req: IncomingMessage) => {
      if (!this.verdicts.has(req.socket)) req.socket.setTimeout(this.o.idleTimeout);
    });
  }

  /** Answers a request on a connection over a limit (onRequest, before anything else), and closes it. */
  async refuseOverLimit(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const limit = this.verdicts.get(req.raw.socket);
    if (!limit) return;
    const [code, message]: [HttpErrorCode, string] =
      limit === 'connections'
        ? ['PLANTA_LIMIT_CONNECTIONS', `this server has ${this.o.connections} connections open, its limit: try again shortly`]
        : ['PLANTA_LIMIT_CONNECTIONS_PER_CLIENT', `your address has ${this.o.connectionsPerIp} connections open, the limit: close some and try again`];
    await reply.status(httpStatus(code)).header('connection', 'close').header('retry-after', RETRY_AFTER_S).send({ error: { code, message } });
  }

  /** Takes a stream's place for the request's client until its connection closes; throws the refusal when full. */
  admitStream(req: FastifyRequest, reply: FastifyReply): void {
    const key = req.ip;
    const full = this.streams.take(key);
    if (full) {
      const limit = full === 'total' ? 'streams' : 'streams_per_client';
      this.refused[limit]++;
      reply.header('retry-after', RETRY_AFTER_S);
      throw full === 'total'
        ? new PlantaError('PLANTA_LIMIT_STREAMS', `this server has ${this.o.streams} live streams, its limit: try again shortly`)
        : new PlantaError('PLANTA_LIMIT_STREAMS_PER_CLIENT', `your address has ${this.o.streamsPerIp} live streams open, the limit: close some tabs and try again`);
    }
    req.raw.socket.once('close', () => this.streams.release(key));
  }

  /**
   * Answers a request the HTTP parser gave up on — not sent within the
   * header or request timeout (a body dripped a byte at a time), or not
   * HTTP — in Planta's error shape with a stable code, and closes the
   * connection. (Fastify's clientErrorHandler: no route, no reply object.)
   */
  clientError(err: Error & { code?: string }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timeout) this.refused.timeout++;
    const [status, code, message]: [number, HttpErrorCode, string] = timeout
      ? [408, 'PLANTA_HTTP_TIMEOUT', `the request was not sent in time (its headers within ${this.o.headersTimeout} ms, all of it within ${this.o.requestTimeout} ms)`]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'PLANTA_HTTP_BAD_REQUEST', 'the request headers are too large']
        : [400, 'PLANTA_HTTP_BAD_REQUEST', 'the request is not valid HTTP/1.1'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  /** Counts a body refused for its size. */
  bodyRefused(): void {
    this.refused.body++;
  }
}
