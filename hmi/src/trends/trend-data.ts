/**
 * The trend page's data: the historian's answer for the pens and period
 * (each new period or pen set asks again; an older answer arriving late is
 * dropped), then, while the period reaches now, the values the live stream
 * brings appended to it.
 */
import { type Signal, signal } from '@preact/signals';
import type { CallResult } from '../shared/call-result.js';
import type { HistoryAnswer, HistoryQuery, Resolution, SampleQuality } from './history-api.js';
import { type PenData, appendLive, fromHistory } from './trend-model.js';

export type TrendLoad =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready'; resolution: Resolution | 'mixed' | 'none'; points: number }
  | { status: 'error'; message: string; code: string | undefined };

export interface TrendDataOptions {
  history(q: HistoryQuery): Promise<CallResult<HistoryAnswer>>;
}

export class TrendData {
  readonly load: Signal<TrendLoad> = signal({ status: 'idle' });
  /** Bumped whenever the pens' data change (a new answer, a live value). */
  readonly version: Signal<number> = signal(0);
  pens: PenData[] = [];
  /** The query of the last answer shown. */
  query: HistoryQuery | undefined;
  private run = 0;

  constructor(private readonly o: TrendDataOptions) {}

  /** Asks the historian; `fallback` gives each pen's data when it cannot (e.g. what this browser received). */
  async fetch(q: HistoryQuery, fallback?: (tag: string) => PenData): Promise<void> {
    const run = ++this.run;
    this.load.value = { status: 'loading' };
    const r = await this.o.history(q);
    if (run !== this.run) return;
    this.query = q;
    if (r.kind !== 'ok') {
      const message = r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : `No answer from the server: ${r.message}`;
      this.pens = fallback ? q.tags.map(fallback) : q.tags.map((tag) => ({ tag, t: [], v: [], q: [] }));
      this.load.value = { status: 'error', message, code: r.kind === 'refused' ? r.error.code : undefined };
      this.version.value++;
      return;
    }
    const byTag = new Map(r.body.series.map((s) => [s.tag, s]));
    this.pens = q.tags.map((tag) => {
      const s = byTag.get(tag);
      return s ? fromHistory(s) : { tag, t: [], v: [], q: [] };
    });
    const resolutions = new Set(r.body.series.map((s) => s.resolution));
    const points = r.body.series.reduce((n, s) => n + s.t.length, 0);
    this.load.value = {
      status: 'ready',
      resolution: resolutions.size === 0 ? 'none' : resolutions.size === 1 ? [...resolutions][0]! : 'mixed',
      points,
    };
    this.version.value++;
  }

  /** A value from the live stream (or this browser's recent buffer), for a pen shown. */
  live(tag: string, t: number, v: number | null, q: SampleQuality, windowFrom: number): void {
    if (this.load.value.status === 'loading' || this.load.value.status === 'idle') return;
    const pen = this.pens.find((p) => p.tag === tag);
    if (pen && appendLive(pen, t, v, q, windowFrom)) this.version.value++;
  }
}
