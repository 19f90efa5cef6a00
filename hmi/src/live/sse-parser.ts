/**
 * An incremental parser for the Server-Sent Events format (the HTML
 * standard's "event stream" interpretation): feed it text as it arrives, in
 * pieces of any size, and it calls back with whole events.
 *
 * Unlike the browser's EventSource it also reports comment lines, so the
 * client sees the server's heartbeats and can tell a quiet stream from a
 * dead one.
 */

export interface SseMessage {
  /** The event's id field, if it had one. */
  id: string | undefined;
  /** The event type ("message" when the event named none). */
  event: string;
  data: string;
}

export interface SseCallbacks {
  onEvent(message: SseMessage): void;
  /** A comment line (": heartbeat"): proof that the connection is alive. */
  onComment?(text: string): void;
  /** A "retry:" field: the reconnection delay the server asks for, in ms. */
  onRetry?(ms: number): void;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private hasData = false;
  /** A CR at the end of the last chunk: an LF starting the next one belongs to it. */
  private pendingCr = false;

  constructor(private readonly callbacks: SseCallbacks) {}

  /** Feeds decoded text. Lines end with CRLF, LF or CR; a blank line ends an event. */
  push(text: string): void {
    let chunk = text;
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', start);
      const lf = this.buffer.indexOf('\n', start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      const line = this.buffer.slice(start, end);
      if (this.buffer[end] === '\r') {
        if (end + 1 === this.buffer.length) {
          this.pendingCr = true;
          start = end + 1;
        } else {
          start = this.buffer[end + 1] === '\n' ? end + 2 : end + 1;
        }
      } else {
        start = end + 1;
      }
      this.line(line);
    }
    this.buffer = this.buffer.slice(start);
  }

  /** Forgets a partial event (call when the connection is replaced). */
  reset(): void {
    this.buffer = '';
    this.pendingCr = false;
    this.clearEvent();
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.callbacks.onComment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.callbacks.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    if (this.hasData) {
      this.callbacks.onEvent({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
    }
    this.clearEvent();
  }

  private clearEvent(): void {
    this.data = [];
    this.event = '';
    this.id = undefined;
    this.hasData = false;
  }
}
