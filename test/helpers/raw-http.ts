/**
 * HTTP/1.1 over a bare socket, for requests no client library sends as
 * written (absolute-form targets, dot segments, odd escapes): the bytes go
 * out exactly as given, and the answer is read until the server closes.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/** Parses the head of an HTTP response (status line and headers, lower-cased). */
export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: end < 0 ? '' : raw.slice(end + 4), raw };
}

/**
 * Sends `GET target` (or `method target`) with `headers` and `Connection:
 * close`, and resolves with what came back when the server closes (or
 * after `timeoutMs`).
 */
export function rawRequest(
  port: number,
  target: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; tls?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const headers = { host: `127.0.0.1:${port}`, connection: 'close', ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}), ...o.headers };
  const text = `${o.method ?? 'GET'} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${o.body ?? ''}`;
  return new Promise((resolve, reject) => {
    const socket = o.tls ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect(port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8');
    socket.on(o.tls ? 'secureConnect' : 'connect', () => socket.write(text));
    socket.on('data', (d: string) => (raw += d));
    socket.on('error', (err) => (raw ? resolve(parseResponse(raw)) : reject(err)));
    socket.on('close', () => resolve(parseResponse(raw)));
    socket.setTimeout(o.timeoutMs ?? 10_000, () => socket.destroy());
  });
}

/** Opens a connection and keeps it open without sending anything; resolves once connected. */
export function idleConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the milliseconds until `socket` closes. */
export function closedWithin(socket: net.Socket): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(0);
    socket.once('close', () => resolve(Date.now() - t0));
    socket.on('error', () => undefined);
  });
}
