/**
 * The replay mode: the whole HMI shows the recorded plant at a moment
 * instead of the live one. It feeds the same stream handlers as the live
 * stream (live/sync.ts) from the server's replay routes — a snapshot at the
 * moment, or the replay stream when playing — so every page renders the
 * past with the code that renders the present; while it runs, the live
 * stream is stopped and state.replay says so (commands and alarm actions
 * are disabled, the frame and the timeline show).
 *
 * The moment is in the URL (`?at=` in the hash): a link opens the HMI there,
 * and moving between pages keeps it. Leaving replay reloads the page live,
 * so nothing of the past stays in the live state.
 */
import { signal } from '@preact/signals';
import type { ApiError, AuditEntry, JournalEntry, ReplayClock, ReplayEvents, ReplayState } from '../../../src/web/protocol.js';
import type { HmiState } from '../live/state.js';
import { SseParser } from '../live/sse-parser.js';
import type { StreamHandlers } from '../live/stream.js';
import { type ReplayMoment, type ReplaySpeed, atOf, isoInZone, replayJournalQuery, withAt } from './replay-model.js';
import { session } from '../session/session.js';
import { msg } from '../i18n/locale.js';


/** Half the span of the timeline around the moment. */
const WINDOW_MS = 30 * 60_000;

async function json<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', ...(signal ? { signal } : {}) });
  if (!res.ok) {
    let why = `the server answered ${res.status}`;
    try {
      const b = (await res.json()) as ApiError;
      why = `${b.error.message} [${b.error.code}]`;
    } catch {
      // not JSON: the status says it
    }
    throw new Error(why);
  }
  return (await res.json()) as T;
}

export interface ReplayControllerOptions {
  state: HmiState;
  /** The live stream's handlers: the replay renders through them. */
  sync: StreamHandlers;
  /** The live stream, stopped while replaying. */
  live: { start(): void; stop(): void };
  win?: Window;
}

export class ReplayController {
  /** Journal entries around the moment, oldest first: the timeline's markers. */
  readonly markers = signal<{ from: number; to: number; entries: readonly JournalEntry[]; audit: readonly AuditEntry[] }>({ from: 0, to: 0, entries: [], audit: [] });
  private stream: AbortController | undefined;
  private liveRunning = false;
  private readonly win: Window;
  private readonly state: HmiState;

  constructor(private readonly o: ReplayControllerOptions) {
    this.win = o.win ?? window;
    this.state = o.state;
  }

  /** Starts live, or replay when the URL names a moment; follows the URL's moment from then on. */
  begin(): void {
    const at = atOf(this.win.location.hash);
    if (at !== undefined) void this.enter(at);
    else this.startLive();
    this.win.addEventListener('hashchange', () => this.onHash());
  }

  get moment(): ReplayMoment | null {
    return this.state.replay.value;
  }

  private startLive(): void {
    if (this.liveRunning) return;
    this.liveRunning = true;
    this.o.live.start();
  }

  private onHash(): void {
    const at = atOf(this.win.location.hash);
    const m = this.moment;
    if (at !== undefined && (!m || Math.abs(at - m.t) >= 1000)) void this.enter(at);
    else if (at === undefined && m) this.writeUrl(m.t); // moving between pages keeps the moment
  }

  private writeUrl(t: number): void {
    const next = withAt(this.win.location.hash, isoInZone(t, this.state.timeZone));
    if (next !== this.win.location.hash) this.win.history.replaceState(null, '', next);
  }

  private set(patch: Partial<ReplayMoment>): void {
    const m = this.moment;
    if (!m) return;
    this.state.replay.value = { ...m, ...patch };
    if (patch.t !== undefined) this.state.clock.value = patch.t;
  }

  /** Shows the plant at `t` (paused): the live stream stops, the snapshot at t replaces every value and alarm. */
  async enter(t: number): Promise<void> {
    this.stopStream();
    if (this.liveRunning) {
      this.o.live.stop();
      this.liveRunning = false;
    }
    const first = this.moment === null;
    this.state.replay.value = { t, playing: false, speed: this.moment?.speed ?? 1, loading: true, note: null };
    this.state.clock.value = t;
    this.writeUrl(t);
    if (first) {
      // Device statuses are not recorded: today's must not show in the past.
      this.state.devices.value = this.state.devices.value.map((d) => ({ ...d, status: null, downSince: null }));
    }
    try {
      const s = await json<ReplayState>(`api/replay/state?at=${t}`);
      if (this.moment?.t !== t) return; // a later moment was asked for meanwhile
      this.o.sync.snapshot(s);
      this.o.sync.link('live', msg().replay.frameLabel);
      this.set({ loading: false });
    } catch (err) {
      this.set({ loading: false, note: msg().replay.failed(err instanceof Error ? err.message : String(err)) });
    }
    void this.loadMarkers(t);
  }

  private async loadMarkers(t: number): Promise<void> {
    const from = t - WINDOW_MS;
    const to = Math.min(Date.now(), t + WINDOW_MS);
    try {
      const r = await json<ReplayEvents>(`api/replay/events?from=${from}&to=${to}&limit=5000`);
      this.markers.value = { from, to: t + WINDOW_MS, entries: r.entries, audit: r.audit ?? [] };
    } catch {
      this.markers.value = { from, to: t + WINDOW_MS, entries: [], audit: [] };
    }
  }

  /** Plays from the moment shown at `speed`, through the replay stream. */
  play(speed: ReplaySpeed): void {
    const m = this.moment;
    if (!m) return;
    this.stopStream();
    const controller = new AbortController();
    this.stream = controller;
    this.set({ playing: true, speed, note: null });
    void this.run(controller, m.t, speed);
  }

  private async run(controller: AbortController, from: number, speed: ReplaySpeed): Promise<void> {
    const parser = new SseParser({
      onEvent: (e) => {
        const data: unknown = JSON.parse(e.data);
        switch (e.event) {
          case 'snapshot':
            this.o.sync.snapshot(data as ReplayState);
            break;
          case 'delta':
            this.o.sync.delta(data as Parameters<StreamHandlers['delta']>[0]);
            break;
          case 'alarms':
            this.o.sync.alarms?.(data as Parameters<NonNullable<StreamHandlers['alarms']>>[0]);
            break;
          case 'journal':
            this.o.sync.journal?.(data as JournalEntry[]);
            break;
          case 'replay': {
            const c = data as ReplayClock;
            this.set({ t: c.t, ...(c.end ? { playing: false, note: msg().replay.ended } : {}) });
            const mk = this.markers.value;
            if (c.t > mk.to - WINDOW_MS / 3) void this.loadMarkers(c.t);
            break;
          }
          default:
            break;
        }
      },
    });
    try {
      const res = await fetch(`api/replay/stream?from=${from}&speed=${speed}`, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      this.set({ note: msg().replay.failed(err instanceof Error ? err.message : String(err)) });
    }
    if (this.stream === controller) {
      this.stream = undefined;
      this.set({ playing: false });
      const m = this.moment;
      if (m) this.writeUrl(m.t);
    }
  }

  private stopStream(): void {
    this.stream?.abort();
    this.stream = undefined;
  }

  pause(): void {
    this.stopStream();
    this.set({ playing: false });
    const m = this.moment;
    if (m) this.writeUrl(m.t);
  }

  /** To the next (1) or previous (-1) alarm, event or command journalled. */
  async step(direction: 1 | -1): Promise<void> {
    const m = this.moment;
    if (!m) return;
    this.pause();
    try {
      if (direction === 1) {
        const r = await json<ReplayEvents>(`api/replay/events?from=${m.t + 1}&limit=1`);
        const e = r.entries[0];
        if (!e) return this.set({ note: msg().replay.noMore });
        await this.enter(e.ts);
      } else {
        // The newest entry before the moment: the journal itself answers newest first (the same entries the user may see).
        const r = await this.state.alarmApi.journal(replayJournalQuery(m.t - 1, 1, session.value));
        if (r.kind !== 'ok') throw new Error(r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : r.message);
        const e = r.body[0];
        if (!e) return this.set({ note: msg().replay.noEarlier });
        await this.enter(e.ts);
      }
    } catch (err) {
      this.set({ note: msg().replay.failed(err instanceof Error ? err.message : String(err)) });
    }
  }

  /** Back to the live plant: the page loads again without the moment, so nothing of the past stays. */
  leave(): void {
    this.stopStream();
    this.win.history.replaceState(null, '', withAt(this.win.location.hash, undefined));
    this.win.location.reload();
  }
}
