/**
 * The overview's event list: the plant's journal as the server keeps it
 * (alarms, returns, acknowledgements, shelving, phase events, command
 * outcomes, device connections) — the same in every browser and still
 * there after a reload — newest first. At each snapshot (page load, or a
 * resync after a gap) the recent entries are fetched again; between them
 * `journal` events add to it. Only the live link's own losses and
 * restorations are this browser's, marked as such.
 */
import { type Signal, signal } from '@preact/signals';
import type { JournalEntry } from '../../../src/web/protocol.js';
import type { CallResult } from '../shared/call-result.js';

export type EventItem =
  | { key: string; ts: number; source: 'plant'; entry: JournalEntry }
  /** The live link of this browser, lost or restored. */
  | { key: string; ts: number; source: 'browser'; text: string };

export type JournalLoad = { status: 'loading' } | { status: 'ready' } | { status: 'error'; message: string };

export interface LiveJournalOptions {
  /** The newest entries (GET api/journal?limit=). */
  fetchRecent(limit: number): Promise<CallResult<JournalEntry[]>>;
  /** Entries kept. Default 200. */
  max?: number;
}

const order = (a: EventItem, b: EventItem): number => {
  if (b.ts !== a.ts) return b.ts - a.ts;
  // The journal's own order for entries of the same millisecond.
  if (a.source === 'plant' && b.source === 'plant') return b.entry.seq - a.entry.seq;
  return a.source === 'browser' ? -1 : b.source === 'browser' ? 1 : 0;
};

export class LiveJournal {
  readonly items: Signal<readonly EventItem[]> = signal([]);
  readonly load: Signal<JournalLoad> = signal({ status: 'loading' });
  private plant = new Map<number, JournalEntry>();
  private notes: EventItem[] = [];
  private notesSeq = 0;
  /** Entries that arrived while a refresh was under way: kept whatever it brings. */
  private arrived: JournalEntry[] | null = null;
  private refreshing = 0;
  private readonly max: number;
  private readonly listeners = new Set<(entries: readonly JournalEntry[]) => void>();

  constructor(private readonly o: LiveJournalOptions) {
    this.max = o.max ?? 200;
  }

  /** New entries from the stream. */
  add(entries: readonly JournalEntry[]): void {
    if (entries.length === 0) return;
    this.arrived?.push(...entries);
    for (const e of entries) this.plant.set(e.seq, e);
    this.publish();
    for (const l of this.listeners) l(entries);
  }

  /** Every new entry from the stream (the journal page puts them on top of its own list). */
  onEntries(listener: (entries: readonly JournalEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The recent entries, fetched again (a snapshot: first load, or after a
   * gap the stream could not fill). What the fetch brings replaces what was
   * kept, since the server may have restarted with its sequence anew.
   */
  async refresh(): Promise<void> {
    const run = ++this.refreshing;
    this.arrived = [];
    const r = await this.o.fetchRecent(this.max).catch((err: unknown) => ({ kind: 'no-answer', message: err instanceof Error ? err.message : String(err) }) as const);
    if (run !== this.refreshing) return;
    const arrived = this.arrived ?? [];
    this.arrived = null;
    if (r.kind !== 'ok') {
      this.load.value = { status: 'error', message: r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : r.message };
      return;
    }
    this.plant = new Map([...r.body, ...arrived].map((e) => [e.seq, e]));
    this.load.value = { status: 'ready' };
    this.publish();
  }

  /** A note about this browser's live link. */
  link(ts: number, text: string): void {
    this.notes = [{ key: `b${++this.notesSeq}`, ts, source: 'browser' as const, text }, ...this.notes].slice(0, 50);
    this.publish();
  }

  private publish(): void {
    const items: EventItem[] = [...this.plant.values()].map((entry) => ({ key: `p${entry.seq}`, ts: entry.ts, source: 'plant' as const, entry }));
    items.push(...this.notes);
    items.sort(order);
    if (items.length > this.max) {
      items.length = this.max;
      // Forget what fell off the end, so the map does not grow for ever.
      const kept = new Set(items.map((i) => i.key));
      for (const seq of [...this.plant.keys()]) if (!kept.has(`p${seq}`)) this.plant.delete(seq);
      this.notes = this.notes.filter((n) => kept.has(n.key));
    }
    this.items.value = items;
  }
}
