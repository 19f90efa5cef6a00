/**
 * The journal as the HMI reasons about it, without any screen: each kind in
 * a word with a mark, a command entry in the operator's words, ranges and
 * presets, and the journal page's list — a query, pages back with `before`,
 * and live entries put on top while the range reaches now.
 */
import { type Signal, signal } from '@preact/signals';
import type { CommandInfo, CommandStatus, JournalEntry, JournalKind } from '../../../src/web/protocol.js';
import type { JournalQuery } from '../alarms/alarm-api.js';
import { textMatches } from '../alarms/alarm-model.js';
import type { CallResult } from '../shared/call-result.js';
import { type Params, type Words, STATUS_ICON, describeParams, reasonInWords, statusWord } from '../commands/command-model.js';
import { msg } from '../i18n/locale.js';

/** ALARM, RETURN... in the user's language. */
export const kindWord = (k: JournalKind): string => msg().journal.kind[k];

export const KIND_MARK: Record<JournalKind, string> = {
  alarm: '▲',
  return: '△',
  unknown: '?',
  ack: '✓',
  shelve: '‖',
  unshelve: '▷',
  'out-of-service': '⊘',
  'in-service': '⊙',
  event: '●',
  command: '→',
  device: '⇄',
};

export const KIND_GROUPS: readonly { value: string; label: string; kinds: readonly JournalKind[] }[] = [
  { value: 'all', label: 'Everything', kinds: [] },
  { value: 'alarms', label: 'Alarms and returns', kinds: ['alarm', 'return', 'unknown'] },
  { value: 'actions', label: 'Acknowledgements, shelving, service', kinds: ['ack', 'shelve', 'unshelve', 'out-of-service', 'in-service'] },
  { value: 'events', label: 'Process events', kinds: ['event'] },
  { value: 'commands', label: 'Operator commands', kinds: ['command'] },
  { value: 'devices', label: 'Device connections', kinds: ['device'] },
];

// ------------------------------------------------------------------ a command entry in words

const COMMAND_STATUSES: readonly CommandStatus[] = ['confirmed', 'rejected', 'failed', 'not-accepted', 'expired', 'unknown', 'queued'];

export interface CommandLine {
  status: CommandStatus;
  /** "Start program (Program 2)". */
  what: string;
  /** Why it did not go through, in words. */
  reason?: string;
}

/**
 * The engine writes a command outcome as
 * `command <name>[ (<k>=<v>, …)]: <status>[ — <reason>]`; this reads it back
 * into the command's label and values. Undefined when the text has another
 * shape (then it is shown as it is).
 */
export function readCommandEntry(e: Pick<JournalEntry, 'text' | 'source'>, def: CommandInfo | undefined, words: Words, tagNames: readonly string[]): CommandLine | undefined {
  const m = /^command (\S+)(?: \((.*)\))?: ([a-z-]+)(?: — ([\s\S]*))?$/.exec(e.text);
  if (!m) return undefined;
  const status = m[3] as CommandStatus;
  if (!COMMAND_STATUSES.includes(status)) return undefined;
  const params: Params = {};
  for (const part of (m[2] ?? '').split(', ').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    params[k] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : Number.NaN;
    if (Number.isNaN(params[k])) return undefined;
  }
  const values = describeParams(def, params);
  const line: CommandLine = { status, what: `${def?.label ?? m[1]}${values ? ` (${values})` : ''}` };
  if (m[4]) line.reason = reasonInWords(m[4], words, tagNames);
  return line;
}

export interface EntryView {
  word: string;
  mark: string;
  /** What happened, in words (times in the plant's zone). */
  text: string;
  /** For a command: its outcome. */
  status?: CommandStatus;
  /** Not as planned: a command that did not go through, an alarm, a lost connection. */
  bad: boolean;
}

export function viewEntry(e: JournalEntry, o: { command?: CommandInfo | undefined; words: Words; tagNames: readonly string[] }): EntryView {
  if (e.kind === 'command') {
    const c = readCommandEntry(e, o.command, o.words, o.tagNames);
    if (c) {
      return {
        word: kindWord('command'),
        mark: STATUS_ICON[c.status],
        text: `${c.what}: ${statusWord(c.status)}${c.reason ? ` — ${c.reason}` : ''}`,
        status: c.status,
        bad: c.status !== 'confirmed',
      };
    }
  }
  // Only the times are put in plant time here: messages are the configuration's words already.
  const text = e.text.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g, (iso) => o.words.time(Date.parse(iso)));
  const bad = e.kind === 'alarm' || e.kind === 'unknown' || (e.kind === 'device' && !/: connected$/.test(e.text));
  return { word: kindWord(e.kind), mark: KIND_MARK[e.kind] ?? '•', text, bad };
}

/** Whether an entry belongs to a query's results (what the server would answer), for entries arriving live. */
export function entryMatches(e: JournalEntry, q: JournalQuery): boolean {
  if (q.from !== undefined && e.ts < q.from) return false;
  if (q.to !== undefined && e.ts > q.to) return false;
  if (q.kinds?.length && !q.kinds.includes(e.kind)) return false;
  return textMatches(q.q ?? '', e.text, e.source);
}

/** Live entries go on top while the range reaches now (no end, or an end not yet passed). */
export const rangeIncludesNow = (q: JournalQuery, now: number): boolean => q.to === undefined || q.to >= now;

// ------------------------------------------------------------------ the journal page's list

export type BrowseStatus = { status: 'idle' } | { status: 'loading' } | { status: 'ready' } | { status: 'error'; message: string };

export interface JournalBrowserOptions {
  fetch(q: JournalQuery): Promise<CallResult<JournalEntry[]>>;
  /** Entries per page. Default 100. */
  pageSize?: number;
  /** Entries kept on screen at most (live ones push the oldest off; paging brings them back). Default 3000. */
  max?: number;
  now?: () => number;
}

const failed = (r: Exclude<CallResult<unknown>, { kind: 'ok' }>): string => (r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : `No answer from the server: ${r.message}`);

export class JournalBrowser {
  readonly entries: Signal<readonly JournalEntry[]> = signal([]);
  readonly status: Signal<BrowseStatus> = signal({ status: 'idle' });
  /** Whether older entries may exist beyond the last page. */
  readonly hasMore: Signal<boolean> = signal(false);
  readonly older: Signal<BrowseStatus> = signal({ status: 'idle' });
  /** Entries that arrived live since the query was made. */
  readonly liveCount: Signal<number> = signal(0);
  private query: JournalQuery = {};
  private run = 0;
  private readonly pageSize: number;
  private readonly max: number;
  private readonly now: () => number;
  /** Entries that arrived while the first page was loading. */
  private held: JournalEntry[] | null = null;

  constructor(private readonly o: JournalBrowserOptions) {
    this.pageSize = o.pageSize ?? 100;
    this.max = o.max ?? 3000;
    this.now = o.now ?? Date.now;
  }

  get current(): JournalQuery {
    return this.query;
  }

  /** A new query: its first page replaces the list. */
  async load(q: JournalQuery): Promise<void> {
    const run = ++this.run;
    this.query = { ...q };
    this.status.value = { status: 'loading' };
    this.older.value = { status: 'idle' };
    this.liveCount.value = 0;
    this.held = [];
    const r = await this.o.fetch({ ...q, limit: this.pageSize });
    if (run !== this.run) return;
    const held = this.held ?? [];
    this.held = null;
    if (r.kind !== 'ok') {
      this.entries.value = [];
      this.hasMore.value = false;
      this.status.value = { status: 'error', message: failed(r) };
      return;
    }
    const top = r.body[0]?.seq ?? 0;
    const newer = held.filter((e) => e.seq > top && entryMatches(e, this.query)).sort((a, b) => b.seq - a.seq);
    this.entries.value = [...newer, ...r.body];
    this.hasMore.value = r.body.length >= this.pageSize;
    this.status.value = { status: 'ready' };
  }

  /** The next page back ("Load older"). */
  async loadOlder(): Promise<void> {
    if (this.status.value.status !== 'ready' || this.older.value.status === 'loading' || !this.hasMore.value) return;
    const run = this.run;
    const list = this.entries.value;
    const before = list.length ? list[list.length - 1]!.seq : undefined;
    this.older.value = { status: 'loading' };
    const r = await this.o.fetch({ ...this.query, limit: this.pageSize, ...(before !== undefined ? { before } : {}) });
    if (run !== this.run) return;
    if (r.kind !== 'ok') {
      this.older.value = { status: 'error', message: failed(r) };
      return;
    }
    const seen = new Set(this.entries.value.map((e) => e.seq));
    this.entries.value = [...this.entries.value, ...r.body.filter((e) => !seen.has(e.seq))];
    this.hasMore.value = r.body.length >= this.pageSize;
    this.older.value = { status: 'idle' };
  }

  /** Entries from the stream: on top, when they match the query and the range reaches now. */
  live(entries: readonly JournalEntry[]): void {
    if (this.held) {
      this.held.push(...entries);
      return;
    }
    if (this.status.value.status !== 'ready' || !rangeIncludesNow(this.query, this.now())) return;
    const top = this.entries.value[0]?.seq ?? 0;
    const fresh = entries.filter((e) => e.seq > top && entryMatches(e, this.query)).sort((a, b) => b.seq - a.seq);
    if (fresh.length === 0) return;
    const list = [...fresh, ...this.entries.value];
    if (list.length > this.max) {
      list.length = this.max;
      this.hasMore.value = true;
    }
    this.entries.value = list;
    this.liveCount.value += fresh.length;
  }
}
