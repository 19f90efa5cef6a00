/**
 * What is notified, to whom and when: the rules (priorities, alarms, hours),
 * escalation (stopped by an acknowledgement, shelving or removal from
 * service), return to normal (onClear), chattering alarms (one notification,
 * then a digest per window) and floods (one message). It sees alarm journal
 * entries in order and hands notices to `emit`; time passes only through the
 * clock, so tests drive escalation without waiting. What it holds for a
 * digest or a flood message (and the channels waiting for an alarm's return)
 * is kept in `held` as it changes and restored at the start: a crash delays
 * those notices, never drops them.
 */
import type { AlarmPriority, AlarmState, JournalEntry } from '../bus/alarm-messages.js';
import { type HoursSpan, parseHours, withinHours } from '../config/hours.js';
import type { NotificationRule, NotificationsConfig } from '../config/schema.js';
import type { Notice, NoticeAlarm } from './notice.js';

/** Time and timers: the real ones, or a test's. */
export interface Clock {
  now(): number;
  /** Calls `fn` at `at` (epoch ms); returns a cancel. */
  at(at: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    const t = setTimeout(fn, Math.max(0, at - Date.now()));
    return () => clearTimeout(t);
  },
};

/** Escalations already sent, kept across restarts (an alarm's activation escalates once). */
export interface EscalationMemory {
  has(key: string): boolean;
  add(key: string): void;
}

/**
 * What the policy holds across a crash, by key (JSON values): `chatter:ID`,
 * `clear:ID`, `flood` and `recent`.
 */
export interface HeldMemory {
  /** What was held when the last run ended. */
  held(): Map<string, unknown>;
  /** Keeps the changes (undefined removes a key) and runs `queue` (which queues notices) in one transaction: both or neither. */
  keep(changes: ReadonlyMap<string, unknown>, queue: () => void): void;
}

/** The source's value and quality now, when known. */
export type SourceReader = (source: string) => Promise<Pick<NoticeAlarm, 'value' | 'quality'>>;

export type NewNotice = Omit<Notice, 'queuedAt'>;

interface CompiledRule {
  rule: NotificationRule;
  hours?: HoursSpan[];
}

interface ChatterRecord {
  /** When the alarm was last notified (its activation or a digest). */
  lastSent: number;
  /** Repeats held for the digest, since `heldSince`. */
  held: number;
  heldSince: number;
  /** The digest's interval: the window, doubling while the alarm goes on chattering (at most an hour). */
  interval: number;
  channels: string[];
  alarm: NoticeAlarm;
}

interface Chatter extends ChatterRecord {
  cancel?: () => void;
}

interface FloodRecord {
  since: number;
  count: number;
  first: { id: string; message: string; priority: AlarmPriority; at: number }[];
  channels: string[];
  /** When its last message went out; later alarms of the same flood wait for the next one. */
  lastReport: number | undefined;
  /** When its next message is due (none while no alarm waits for one). */
  due?: number;
}

interface Flood extends Omit<FloodRecord, 'channels'> {
  channels: Set<string>;
  cancel?: () => void;
}

interface Pending {
  key: string;
  cancel: () => void;
}

const FLOOD_LISTED = 5;
const MAX_DIGEST_INTERVAL_MS = 3_600_000;

/** An alarm id against a rule's list: exact, or a prefix before a trailing *. */
const matchesId = (patterns: readonly string[], id: string): boolean => patterns.some((p) => (p.endsWith('*') ? id.startsWith(p.slice(0, -1)) : p === id));

export interface PolicyOptions {
  config: NotificationsConfig;
  timeZone?: string;
  clock: Clock;
  emit: (notices: NewNotice[]) => void;
  escalated: EscalationMemory;
  /** Where what is held survives a crash; without it (tests), it lives in memory only. */
  held?: HeldMemory;
  source?: SourceReader;
  /** A notice made on a timer (digest, flood, escalation) that `emit` refused: reported here, never thrown into the timer. */
  onError?: (err: unknown) => void;
}

export class NotifyPolicy {
  private readonly rules: CompiledRule[];
  /** Alarms shelved or out of service: not notified. */
  private readonly hidden = new Set<string>();
  /** The tag (or device) each alarm watches. */
  private readonly sources = new Map<string, string>();
  /** Unacknowledged activations: alarm id → its activation time (ends with an acknowledgement). */
  private readonly unacked = new Map<string, number>();
  /** The channels of each alarm's last notified activation that want its return (onClear). */
  private readonly clearTo = new Map<string, string[]>();
  private readonly escalations = new Map<string, Pending[]>();
  private readonly chatter = new Map<string, Chatter>();
  private readonly recent: number[] = [];
  private flood: Flood | undefined;
  /** Keys of `held` changed since the last commit. */
  private readonly dirty = new Set<string>();

  private source: SourceReader | undefined;

  constructor(private readonly o: PolicyOptions) {
    this.source = o.source;
    this.rules = o.config.rules.map((rule) => (rule.hours ? { rule, hours: parseHours(rule.hours) } : { rule }));
  }

  /** The alarms' states when it starts: which are hidden, and the escalations still due of unacknowledged ones. */
  start(states: readonly AlarmState[]): void {
    this.restore();
    for (const s of states) {
      this.sources.set(s.id, s.source);
      if (s.state === 'shelved' || s.state === 'out-of-service') this.hidden.add(s.id);
      if (s.acked || s.activeSince === null || this.hidden.has(s.id)) continue;
      this.unacked.set(s.id, s.activeSince);
      this.scheduleEscalations({ id: s.id, message: s.message, priority: s.priority, source: s.source }, s.activeSince, this.matching(s.id, s.priority, s.activeSince));
    }
  }

  /**
   * Stops its timers. What it holds for a digest or a flood message is handed over now (to the outbox, sent at the
   * next start) rather than lost with the process; escalations still due are made again from the states at the start.
   */
  stop(): void {
    for (const list of this.escalations.values()) for (const p of list) p.cancel();
    this.escalations.clear();
    for (const [id, c] of this.chatter) {
      c.cancel?.();
      if (c.held > 0) this.guarded(() => this.digest(id));
    }
    this.flood?.cancel?.();
    if (this.flood && this.flood.count > 0) this.guarded(() => this.floodReport());
    this.flood = undefined;
    this.dirty.add('flood');
    this.guarded(() => this.commit([]));
  }

  // ------------------------------------------------------------ what is held, across a crash

  /** What an earlier run held: digests and flood messages due again on their timers (at once, when overdue). */
  private restore(): void {
    const now = this.o.clock.now();
    const known = (channels: readonly string[]): string[] => channels.filter((c) => c in this.o.config.channels);
    for (const [key, value] of this.o.held?.held() ?? []) {
      const id = key.slice(key.indexOf(':') + 1);
      if (key === 'recent') this.recent.push(...(value as number[]));
      else if (key === 'flood') {
        const r = value as FloodRecord;
        const f: Flood = { ...r, channels: new Set(known(r.channels)) };
        if (r.due !== undefined) f.cancel = this.o.clock.at(Math.max(r.due, now), () => this.guarded(() => this.floodReport()));
        this.flood = f;
      } else if (key.startsWith('clear:')) this.clearTo.set(id, known(value as string[]));
      else if (key.startsWith('chatter:')) {
        const c: Chatter = { ...(value as ChatterRecord) };
        c.channels = known(c.channels);
        // Quiet for its whole interval: forgotten, as it would have been.
        if (c.held === 0 && now - c.lastSent >= c.interval) {
          this.dirty.add(key);
          continue;
        }
        if (c.held > 0) c.cancel = this.o.clock.at(Math.max(c.lastSent + c.interval, now), () => this.guarded(() => this.digest(id)));
        this.chatter.set(id, c);
      }
    }
    this.commit([]);
  }

  /** What `held` keeps under a key now (undefined: nothing). */
  private record(key: string): unknown {
    const id = key.slice(key.indexOf(':') + 1);
    if (key === 'recent') return this.recent.length ? this.recent : undefined;
    if (key === 'flood') {
      if (!this.flood) return undefined;
      const { cancel: _cancel, ...f } = this.flood;
      return { ...f, channels: [...f.channels] } satisfies FloodRecord;
    }
    if (key.startsWith('clear:')) return this.clearTo.get(id);
    const c = this.chatter.get(id);
    if (!c) return undefined;
    const { cancel: _cancel, ...record } = c;
    return record satisfies ChatterRecord;
  }

  /** Queues notices and keeps what changed of what is held, in one transaction (a crash keeps both or neither). */
  private commit(notices: NewNotice[]): void {
    const queue = (): void => {
      if (notices.length) this.o.emit(notices);
    };
    const held = this.o.held;
    if (!held || this.dirty.size === 0) {
      this.dirty.clear();
      return queue();
    }
    held.keep(new Map([...this.dirty].map((k) => [k, this.record(k)])), queue);
    // Kept only once written: a failed write is tried again with the next commit.
    this.dirty.clear();
  }

  private setClearTo(id: string, channels: string[] | undefined): void {
    if (channels) this.clearTo.set(id, channels);
    else if (!this.clearTo.delete(id)) return;
    this.dirty.add(`clear:${id}`);
  }

  private matching(id: string, priority: AlarmPriority, at: number): NotificationRule[] {
    return this.rules
      .filter(({ rule, hours }) => rule.priorities.includes(priority) && (!rule.alarms || matchesId(rule.alarms, id)) && (!hours || withinHours(hours, at, this.o.timeZone)))
      .map((c) => c.rule);
  }

  /** Handles a journal entry (in journal order). */
  async entry(e: JournalEntry): Promise<void> {
    const id = e.source;
    switch (e.kind) {
      case 'shelve':
      case 'out-of-service':
        this.hidden.add(id);
        this.cancelEscalations(id);
        return;
      case 'unshelve':
      case 'in-service':
        this.hidden.delete(id);
        return;
      case 'ack':
        this.unacked.delete(id);
        this.cancelEscalations(id);
        return;
      case 'return':
        return this.cleared(e);
      case 'alarm':
        return this.raised(e);
      default:
        return;
    }
  }

  private alarmOf(e: JournalEntry): Promise<NoticeAlarm> {
    return this.withSource({ id: e.source, message: e.text, priority: e.priority ?? 'low', source: this.sources.get(e.source) ?? '' });
  }

  private async raised(e: JournalEntry): Promise<void> {
    const id = e.source;
    this.unacked.set(id, e.ts);
    this.setClearTo(id, undefined);
    if (this.hidden.has(id)) return this.commit([]);
    const rules = this.matching(id, e.priority ?? 'low', e.ts);
    if (rules.length === 0) return this.commit([]);
    const alarm = await this.alarmOf(e);
    const escalates = this.scheduleEscalations(alarm, e.ts, rules);
    const channels = unique(rules.flatMap((r) => r.channels));
    // Held for a digest or a flood message: its return is not notified either.
    if (this.chattering(alarm, e.ts, channels) || this.flooding(alarm, e.ts, channels)) return this.commit([]);
    this.setClearTo(id, unique(rules.filter((r) => r.onClear).flatMap((r) => r.channels)));
    this.commit(channels.map((channel) => ({ kind: 'alarm', channel, at: e.ts, alarm, ...(escalates ? { escalates } : {}) })));
  }

  private async cleared(e: JournalEntry): Promise<void> {
    const to = this.clearTo.get(e.source);
    this.setClearTo(e.source, undefined);
    if (!to?.length || this.hidden.has(e.source)) return this.commit([]);
    const alarm = await this.alarmOf({ ...e, text: e.text.replace(/: returned to normal.*$/, '') });
    this.commit(to.map((channel) => ({ kind: 'clear', channel, at: e.ts, alarm })));
  }

  // ------------------------------------------------------------ escalation

  /** Schedules the escalations of an activation; returns the first (for the message: "escalates to … at …"). */
  private scheduleEscalations(alarm: NoticeAlarm, since: number, rules: NotificationRule[]): { at: number; channels: string[] } | undefined {
    this.cancelEscalations(alarm.id);
    const pending: Pending[] = [];
    let first: { at: number; channels: string[] } | undefined;
    for (const r of rules) {
      if (!r.escalate) continue;
      const at = since + r.escalate.after;
      const channels = r.escalate.channels;
      const key = `${alarm.id}@${since}:${channels.join(',')}:${r.escalate.after}`;
      if (this.o.escalated.has(key)) continue;
      if (!first || at < first.at) first = { at, channels };
      pending.push({ key, cancel: this.o.clock.at(at, () => this.guarded(() => this.escalate(alarm, since, key, channels))) });
    }
    if (pending.length) this.escalations.set(alarm.id, pending);
    return first;
  }

  private escalate(alarm: NoticeAlarm, since: number, key: string, channels: string[]): void {
    const list = this.escalations.get(alarm.id)?.filter((p) => p.key !== key) ?? [];
    if (list.length) this.escalations.set(alarm.id, list);
    else this.escalations.delete(alarm.id);
    // Acknowledged, shelved, out of service, or raised again since: nothing to escalate.
    if (this.unacked.get(alarm.id) !== since || this.hidden.has(alarm.id) || this.o.escalated.has(key)) return;
    this.o.escalated.add(key);
    void this.withSource(alarm).then((a) => this.guarded(() => this.o.emit(channels.map((channel) => ({ kind: 'escalation', channel, at: this.o.clock.now(), since, alarm: a })))));
  }

  /** Work of a timer: a failure is reported, not thrown (a timer's exception would end the process). */
  private guarded(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  private cancelEscalations(id: string): void {
    for (const p of this.escalations.get(id) ?? []) p.cancel();
    this.escalations.delete(id);
  }

  /** Where the sources' values and qualities come from (the bus's snapshot). */
  setSource(source: SourceReader): void {
    this.source = source;
  }

  private async withSource(a: NoticeAlarm): Promise<NoticeAlarm> {
    if (!this.source || !a.source) return a;
    try {
      return { ...a, ...(await this.source(a.source)) };
    } catch {
      return a;
    }
  }

  // ------------------------------------------------------------ chattering

  /** True when the activation is held for the alarm's digest: a repeat within the interval after its last notification. */
  private chattering(alarm: NoticeAlarm, at: number, channels: string[]): boolean {
    this.dirty.add(`chatter:${alarm.id}`);
    let c = this.chatter.get(alarm.id);
    // Quiet for a whole interval since its last notification: it starts afresh.
    if (c && c.held === 0 && at - c.lastSent >= c.interval) c = undefined;
    if (!c) {
      this.chatter.set(alarm.id, { lastSent: at, held: 0, heldSince: at, interval: this.o.config.chatter.window, channels, alarm });
      return false;
    }
    if (c.held === 0) c.heldSince = at;
    c.held++;
    c.alarm = alarm;
    c.channels = unique([...c.channels, ...channels]);
    c.cancel ??= this.o.clock.at(Math.max(c.lastSent + c.interval, this.o.clock.now()), () => this.guarded(() => this.digest(alarm.id)));
    return true;
  }

  private digest(id: string): void {
    const c = this.chatter.get(id);
    if (!c) return;
    c.cancel = undefined;
    const now = this.o.clock.now();
    // The notified activation and its repeats within the interval.
    const chattering = c.held + 1 >= this.o.config.chatter.count;
    const notices: NewNotice[] = c.channels.map((channel) => ({ kind: 'digest', channel, at: now, since: c.heldSince, count: c.held, chattering, alarm: c.alarm }));
    c.lastSent = now;
    c.held = 0;
    c.interval = chattering ? Math.min(c.interval * 2, MAX_DIGEST_INTERVAL_MS) : this.o.config.chatter.window;
    this.dirty.add(`chatter:${id}`);
    this.commit(this.hidden.has(id) ? [] : notices);
  }

  // ------------------------------------------------------------ floods

  /** True when the activation is part of a flood (counted in the flood's message instead). */
  private flooding(alarm: NoticeAlarm, at: number, channels: string[]): boolean {
    const { count, collect } = this.o.config.flood;
    this.dirty.add('recent').add('flood');
    this.pruneRecent(at);
    this.recent.push(at);
    // Whether more than `count` fall within the window needs only the newest count + 1 (and keeps what is written small).
    if (this.recent.length > count + 1) this.recent.splice(0, this.recent.length - count - 1);
    let f = this.flood;
    // A flood whose message went out and whose rate fell back: over.
    if (f && !f.cancel && this.recent.length <= count) f = this.flood = undefined;
    if (!f) {
      if (this.recent.length <= count) return false;
      f = this.flood = { since: at, count: 0, first: [], channels: new Set(), lastReport: undefined };
    }
    f.count++;
    if (f.first.length < FLOOD_LISTED) f.first.push({ id: alarm.id, message: alarm.message, priority: alarm.priority, at });
    for (const ch of channels) f.channels.add(ch);
    // The first message `collect` after it began; while it goes on, one per flood window.
    if (!f.cancel) {
      const due = f.lastReport === undefined ? this.o.clock.now() + collect : f.lastReport + this.o.config.flood.window;
      f.due = Math.max(this.o.clock.now(), due);
      f.cancel = this.o.clock.at(f.due, () => this.guarded(() => this.floodReport()));
    }
    return true;
  }

  private pruneRecent(at: number): void {
    while (this.recent.length && at - this.recent[0]! >= this.o.config.flood.window) this.recent.shift();
  }

  private floodReport(): void {
    const f = this.flood;
    if (!f) return;
    const now = this.o.clock.now();
    this.flood = { since: now, count: 0, first: [], channels: new Set(), lastReport: now };
    this.dirty.add('flood');
    this.commit([...f.channels].map((channel) => ({ kind: 'flood', channel, at: now, since: f.since, count: f.count, first: f.first })));
  }
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
