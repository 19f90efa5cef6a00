/**
 * The live stream client: GET api/stream read with fetch, parsed as
 * Server-Sent Events, with what EventSource does (Last-Event-ID on
 * reconnect, the server's retry delay) plus what it cannot do: notice a
 * stream that has gone silent. The server writes a heartbeat comment every
 * 15 s, which EventSource hides; here any bytes count as life, and nothing
 * for `staleMs` (default 20 s) means the stream is down: it is dropped and
 * opened again.
 *
 * On reconnect the server either replays the events missed (resume) or
 * sends a fresh snapshot; either way the state resyncs by itself.
 */
import type { AlarmState, BusLink, CommandOutcome, DeviceStatus, JournalEntry, StreamDelta, StreamSnapshot } from '../../../src/web/protocol.js';
import { type SseMessage, SseParser } from './sse-parser.js';

export type LinkState = 'connecting' | 'live' | 'down';

export interface StreamHandlers {
  snapshot(s: StreamSnapshot): void;
  delta(d: StreamDelta): void;
  devices(d: DeviceStatus[]): void;
  /** An operator command was queued, or reached its outcome (anyone's command). */
  command?(o: CommandOutcome): void;
  /** Alarms whose state changed. */
  alarms?(list: AlarmState[]): void;
  /** New entries of the plant's journal. */
  journal?(entries: JournalEntry[]): void;
  /** The server lost its link to the plant's bus (its values since are its last known), or has it again. */
  bus?(link: BusLink): void;
  /** The link changed: live once the server answers, down when it fails or goes silent. */
  link(state: LinkState, detail: string): void;
  /** The server refused the stream for want of a signed-in user (a session that ended). */
  unauthorized?(): void;
}

export interface StreamClientOptions {
  url: string;
  /** Silence longer than this means the stream is dead. Default 20000 ms (the heartbeat is 15 s). */
  staleMs?: number;
  /** First reconnection delay when the server names none. Default 2000 ms. */
  retryMs?: number;
  /** Longest delay between attempts while the server stays away. Default 15000 ms. */
  maxRetryMs?: number;
}

class StaleStreamError extends Error {}

export class StreamClient {
  private lastEventId: string | undefined;
  private retryMs: number;
  private failures = 0;
  private controller: AbortController | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly staleMs: number;
  private readonly maxRetryMs: number;

  constructor(
    private readonly options: StreamClientOptions,
    private readonly handlers: StreamHandlers,
  ) {
    this.staleMs = options.staleMs ?? 20_000;
    this.retryMs = options.retryMs ?? 2000;
    this.maxRetryMs = options.maxRetryMs ?? 15_000;
  }

  /** The id of the last event received (sent back as Last-Event-ID). */
  get lastId(): string | undefined {
    return this.lastEventId;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    this.wake?.();
  }

  /** Skips the wait before the next attempt (e.g. the browser came back online). */
  retryNow(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    this.handlers.link('connecting', 'opening the live stream');
    while (!this.stopped) {
      let detail: string;
      try {
        await this.connectOnce();
        detail = 'the server closed the live stream';
      } catch (err) {
        detail = describe(err, this.staleMs);
      }
      if (this.stopped) break;
      this.handlers.link('down', detail);
      await this.pause(this.nextDelay());
    }
  }

  private async connectOnce(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const alive = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new StaleStreamError()), this.staleMs);
    };
    const parser = new SseParser({
      onEvent: (m) => this.onMessage(m),
      onRetry: (ms) => {
        this.retryMs = Math.max(100, ms);
      },
    });
    try {
      alive();
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (this.lastEventId !== undefined) headers['Last-Event-ID'] = this.lastEventId;
      const res = await fetch(this.options.url, { headers, signal: controller.signal });
      if (res.status === 401) this.handlers.unauthorized?.();
      if (!res.ok || !res.body) throw new Error(`the server answered ${res.status} ${res.statusText}`);
      this.handlers.link('live', 'receiving live data');
      this.failures = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        alive();
        parser.push(value);
      }
    } catch (err) {
      // An abort rejects with the abort reason: keep the stale marker visible to run().
      throw controller.signal.aborted && controller.signal.reason instanceof StaleStreamError ? controller.signal.reason : err;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }

  private onMessage(m: SseMessage): void {
    try {
      switch (m.event) {
        case 'snapshot':
          this.handlers.snapshot(JSON.parse(m.data) as StreamSnapshot);
          break;
        case 'delta':
          this.handlers.delta(JSON.parse(m.data) as StreamDelta);
          break;
        case 'devices':
          this.handlers.devices(JSON.parse(m.data) as DeviceStatus[]);
          break;
        case 'command':
          this.handlers.command?.(JSON.parse(m.data) as CommandOutcome);
          break;
        case 'alarms':
          this.handlers.alarms?.(JSON.parse(m.data) as AlarmState[]);
          break;
        case 'journal':
          this.handlers.journal?.(JSON.parse(m.data) as JournalEntry[]);
          break;
        case 'bus':
          this.handlers.bus?.(JSON.parse(m.data) as BusLink);
          break;
        default:
          break; // events of later versions
      }
    } catch (err) {
      // An event we could not apply leaves the state unsure: start again from a fresh snapshot.
      this.lastEventId = undefined;
      throw err;
    }
    if (m.id !== undefined) this.lastEventId = m.id;
  }

  /** The server's retry delay, growing while attempts keep failing, with jitter so browsers do not return in step. */
  private nextDelay(): number {
    const grown = Math.min(this.maxRetryMs, this.retryMs * 1.5 ** this.failures);
    this.failures++;
    return grown * (0.8 + Math.random() * 0.4);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function describe(err: unknown, staleMs: number): string {
  if (err instanceof StaleStreamError) return `no data for ${Math.round(staleMs / 1000)} s`;
  if (err instanceof SyntaxError) return 'the server sent an event that could not be read';
  if (err instanceof Error && err.message) return err.message;
  return 'the connection to the server failed';
}
