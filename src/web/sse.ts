/**
 * Server-Sent Events framing. One event is encoded once and the same bytes
 * are written to every client.
 *
 *   id: <id>\n event: <name>\n data: <one line of JSON>\n \n
 */
import type { Socket } from 'node:net';
import { PlantaError } from '../errors.js';

export class SseFramingError extends PlantaError<'PLANTA_SSE_FRAMING'> {
  constructor(message: string) {
    super('PLANTA_SSE_FRAMING', message);
  }
}

const FORBIDDEN = /[\r\n\0]/;

/** Encodes one event; refuses CR, LF or NUL in the id or the event name (they would split the frame). */
export function encodeEvent(id: string, event: string, data: string): Buffer {
  if (FORBIDDEN.test(id)) throw new SseFramingError(`an SSE id must not contain CR, LF or NUL: ${JSON.stringify(id)}`);
  if (FORBIDDEN.test(event)) throw new SseFramingError(`an SSE event name must not contain CR, LF or NUL: ${JSON.stringify(event)}`);
  // JSON never contains a raw line break, but data from elsewhere might: each line needs its own "data:".
  const body = data.includes('\n') || data.includes('\r') ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data;
  return Buffer.from(`id: ${id}\nevent: ${event}\ndata: ${body}\n\n`);
}

/** A comment line: ignored by EventSource, keeps proxies from closing an idle stream. */
/**
 * Takes over a socket for an event stream: no Nagle delay, no idle timeout (heartbeats keep it alive), and the
 * response head — never cached or transformed, and not buffered by a proxy (X-Accel-Buffering).
 */
export function startEventStream(socket: Socket, connection: 'keep-alive' | 'close', extraHeaders = ''): void {
  socket.setNoDelay(true);
  socket.setTimeout(0);
  socket.write(
    'HTTP/1.1 200 OK\r\n' +
      'Content-Type: text/event-stream; charset=utf-8\r\n' +
      'Cache-Control: no-cache, no-transform\r\n' +
      `Connection: ${connection}\r\n` +
      'X-Accel-Buffering: no\r\n' +
      extraHeaders +
      '\r\n',
  );
}

export const HEARTBEAT = Buffer.from(': heartbeat\n\n');

export function retryField(ms: number): Buffer {
  return Buffer.from(`retry: ${Math.max(0, Math.round(ms))}\n\n`);
}
