/**
 * What the browser saw happen, newest first: alarm tags turning on and off,
 * event tags changing, operator commands (anyone's: sent, then their
 * outcome), and the live link being lost and restored. It starts
 * empty: the first snapshot is the baseline, and nothing is invented about
 * the time before it. It also knows since when each alarm is active.
 */
import { type Signal, signal } from '@preact/signals';
import type { CommandStatus } from '../../src/web/protocol.js';

export type JournalKind = 'alarm' | 'cleared' | 'on' | 'off' | 'link' | 'command';

export interface JournalEntry {
  seq: number;
  ts: number;
  kind: JournalKind;
  /** The tag, for alarm and event entries. */
  tag?: string;
  text: string;
  /** e.g. "seen at resync": the change happened while the browser was not receiving. */
  note?: string;
  /** For command entries: the command's id and status. */
  command?: { id: string; status: CommandStatus };
}

export interface JournalOptions {
  alarms: readonly string[];
  events: readonly string[];
  describe(tag: string): string;
  /** Entries kept. Default 300. */
  max?: number;
}

export class Journal {
  readonly entries: Signal<readonly JournalEntry[]> = signal([]);
  /** Active alarms: tag → when it became active (the value's source time). */
  readonly alarmSince: Signal<ReadonlyMap<string, number>> = signal(new Map());
  private readonly alarms: ReadonlySet<string>;
  private readonly events: ReadonlySet<string>;
  private readonly max: number;
  private seq = 0;
  /** Command outcomes already listed ("id status"), so a replayed event is not listed twice. */
  private readonly commandsSeen = new Set<string>();

  constructor(private readonly o: JournalOptions) {
    this.alarms = new Set(o.alarms);
    this.events = new Set(o.events);
    this.max = o.max ?? 300;
  }

  watches(tag: string): boolean {
    return this.alarms.has(tag) || this.events.has(tag);
  }

  /** A baseline value (first snapshot): sets alarm times, writes no entry. */
  baseline(tag: string, value: unknown, sourceTs: number): void {
    if (!this.alarms.has(tag)) return;
    this.setAlarm(tag, value === true, sourceTs);
  }

  /** A value that changed from `before` to `after` at `ts`; `resync` when it was found in a snapshot after a gap. */
  change(tag: string, before: unknown, after: unknown, ts: number, resync: boolean): void {
    if (before === null || before === undefined) {
      // The first value read is a baseline, not a change.
      this.baseline(tag, after, ts);
      return;
    }
    if (before === after || typeof after !== 'boolean') return;
    const note = resync ? 'found at resync: it changed while live data was lost' : undefined;
    if (this.alarms.has(tag)) {
      this.setAlarm(tag, after, ts);
      this.add({ ts, kind: after ? 'alarm' : 'cleared', tag, text: this.o.describe(tag), ...(note ? { note } : {}) });
    } else if (this.events.has(tag)) {
      this.add({ ts, kind: after ? 'on' : 'off', tag, text: this.o.describe(tag), ...(note ? { note } : {}) });
    }
  }

  /** A command outcome (queued or final), at the time the server decided it. */
  command(id: string, status: CommandStatus, ts: number, text: string): void {
    const key = `${id} ${status}`;
    if (this.commandsSeen.has(key)) return;
    this.commandsSeen.add(key);
    if (this.commandsSeen.size > this.max * 4) this.commandsSeen.delete(this.commandsSeen.values().next().value!);
    this.add({ ts, kind: 'command', text, command: { id, status } });
  }

  /** A note about the live link itself. */
  link(ts: number, text: string): void {
    this.add({ ts, kind: 'link', text });
  }

  private setAlarm(tag: string, active: boolean, ts: number): void {
    const current = this.alarmSince.value;
    if (active === current.has(tag)) return;
    const next = new Map(current);
    if (active) next.set(tag, ts);
    else next.delete(tag);
    this.alarmSince.value = next;
  }

  private add(e: Omit<JournalEntry, 'seq'>): void {
    const entry: JournalEntry = { ...e, seq: ++this.seq };
    const list = [entry, ...this.entries.value];
    // Newest first by time; changes arriving in one batch keep their order.
    list.sort((a, b) => b.ts - a.ts || b.seq - a.seq);
    if (list.length > this.max) list.length = this.max;
    this.entries.value = list;
  }
}
