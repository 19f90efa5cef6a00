/** A minimal SSE client for tests: raw bytes and parsed events, over a real socket. */
import net from 'node:net';

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseConnection {
  socket: net.Socket;
  /** Everything received, head included. */
  raw(): string;
  events: SseEvent[];
  comments: string[];
  /** Resolves when `n` events have arrived (or rejects after `timeoutMs`). */
  waitEvents(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

export function openStream(
  port: number,
  { lastEventId, path = '/api/stream', read = true, headers = {} }: { lastEventId?: string; path?: string; read?: boolean; headers?: Record<string, string> } = {},
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    let body = '';
    let headDone = false;
    const events: SseEvent[] = [];
    const comments: string[] = [];
    const waiters: (() => void)[] = [];
    const parse = (): void => {
      let end: number;
      while ((end = body.indexOf('\n\n')) >= 0) {
        const block = body.slice(0, end);
        body = body.slice(end + 2);
        const e: SseEvent = { event: 'message', data: '' };
        const data: string[] = [];
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) {
            comments.push(line.slice(1).trim());
            continue;
          }
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
          else continue; // retry: and unknown fields
          isEvent = true;
        }
        if (isEvent) {
          e.data = data.join('\n');
          events.push(e);
        }
      }
      for (const w of waiters.splice(0)) w();
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      raw += chunk;
      if (!headDone) {
        const i = raw.indexOf('\r\n\r\n');
        if (i < 0) return;
        headDone = true;
        body = raw.slice(i + 4);
      } else {
        body += chunk;
      }
      parse();
    });
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n${lastEventId ? `Last-Event-ID: ${lastEventId}\r\n` : ''}${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
      if (!read) socket.pause();
      resolve({
        socket,
        raw: () => raw,
        events,
        comments,
        waitEvents: (n, timeoutMs = 3000) =>
          new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`only ${events.length} of ${n} events within ${timeoutMs} ms`)), timeoutMs);
            const check = (): void => {
              if (events.length >= n) {
                clearTimeout(timer);
                res(events);
              } else waiters.push(check);
            };
            check();
          }),
        close: () => socket.destroy(),
      });
    });
  });
}
