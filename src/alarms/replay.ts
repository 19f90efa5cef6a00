/**
 * Alarm states at a past moment, rebuilt from the alarm journal for incident
 * replay, then carried forward entry by entry as a replay plays.
 *
 * The journal holds every transition an operator sees (activation, return,
 * unknown, acknowledgement, shelving, service), so the state at T is found
 * by reading it backwards from T until each alarm's activity, acknowledgement,
 * shelving and service are known (or the journal, or the bound on pages, runs
 * out: an alarm with nothing journalled is normal). Two things the engine
 * does not journal are taken from the recorded tags: a source that comes
 * back good returns the alarm silently to its last known condition (the
 * caller says whether the source was bad at T), and an alarm is suppressed
 * by design while its enabling tag was good and false.
 */
import type { AlarmDisplayState, AlarmState, JournalEntry } from '../bus/alarm-messages.js';

/** What does not change with time: an alarm's id, message, priority and source. */
export type AlarmTemplate = Pick<AlarmState, 'id' | 'message' | 'priority' | 'source'>;

interface Tracked {
  tpl: AlarmTemplate;
  active: boolean | null;
  lastKnown: boolean;
  acked: boolean;
  activeSince: number | null;
  changedAt: number;
  ack?: AlarmState['ack'];
  shelved?: AlarmState['shelved'];
  outOfService?: AlarmState['outOfService'];
  suppressed: boolean;
}

/** A page of the journal before `before` (a seq; undefined: the newest), newest first, all at or before the moment. */
export type JournalPages = (before: number | undefined) => Promise<JournalEntry[]>;

/** The journal kinds that change an alarm's state. */
export const ALARM_KINDS = ['alarm', 'return', 'unknown', 'ack', 'shelve', 'unshelve', 'out-of-service', 'in-service'] as const;

const after = (text: string): string => {
  const i = text.lastIndexOf(' — ');
  return i < 0 ? '' : text.slice(i + 3);
};

/** The time a shelve entry names ("…: shelved until <ISO> — reason"), or NaN. */
const shelvedUntil = (text: string): number => Date.parse(/shelved until (\S+)/.exec(text)?.[1] ?? '');

function display(a: Tracked): AlarmDisplayState {
  if (a.outOfService) return 'out-of-service';
  if (a.shelved) return 'shelved';
  if (a.suppressed) return 'suppressed';
  if (a.active === null) return 'unknown';
  if (a.active) return a.acked ? 'acked' : 'unack';
  return a.acked ? 'normal' : 'rtn-unack';
}

export class ReplayAlarms {
  private readonly alarms = new Map<string, Tracked>();

  /** By enabling tag: the alarms it suppresses while false. */
  private readonly enabling = new Map<string, Tracked[]>();

  /** `enabledWhen`: the enabling tag of each alarm that has one (by alarm id). */
  constructor(templates: readonly AlarmTemplate[], enabledWhen: Readonly<Record<string, string | undefined>> = {}) {
    for (const tpl of templates) {
      const a: Tracked = { tpl, active: false, lastKnown: false, acked: true, activeSince: null, changedAt: 0, suppressed: false };
      this.alarms.set(tpl.id, a);
      const tag = enabledWhen[tpl.id];
      if (tag) this.enabling.set(tag, [...(this.enabling.get(tag) ?? []), a]);
    }
  }

  /** The tags that suppress alarms while false. */
  enablingTags(): string[] {
    return [...this.enabling.keys()];
  }

  /** An enabling tag's value at `ts` (false only when good and false, as the engine decides): the alarms whose suppression changed. */
  enabled(tag: string, enabled: boolean, ts: number): AlarmState[] {
    const out: AlarmState[] = [];
    for (const a of this.enabling.get(tag) ?? []) {
      if (a.suppressed === !enabled) continue;
      a.suppressed = !enabled;
      if (ts > a.changedAt) a.changedAt = ts;
      out.push(this.state(a));
    }
    return out;
  }

  /**
   * The alarms at `t`: the journal read backwards (`pages`, newest first, at most `maxPages` pages) until every
   * alarm's state is decided; `sourceBad` says whether an alarm's source was bad at t.
   */
  static async at(
    templates: readonly AlarmTemplate[],
    pages: JournalPages,
    t: number,
    o: { sourceBad: (source: string) => boolean; enabledWhen?: Readonly<Record<string, string | undefined>>; enabled?: (tag: string) => { enabled: boolean; since: number } | undefined; maxPages?: number },
  ): Promise<ReplayAlarms> {
    const r = new ReplayAlarms(templates, o.enabledWhen);
    const sourceBad = o.sourceBad;
    const maxPages = o.maxPages ?? 20;
    // Per alarm, the newest entry of each dimension (newest first, so the first seen decides).
    const found = new Map<string, { activity?: JournalEntry; unknownAfter?: JournalEntry; ackish?: JournalEntry; shelf?: JournalEntry; service?: JournalEntry; newest?: JournalEntry }>();
    for (const id of r.alarms.keys()) found.set(id, {});
    let open = r.alarms.size;
    let before: number | undefined;
    for (let page = 0; page < maxPages && open > 0; page++) {
      const entries = await pages(before);
      if (entries.length === 0) break;
      for (const e of entries) {
        const f = found.get(e.source);
        if (!f || e.ts > t) continue;
        const wasOpen = !(f.activity && f.ackish && f.shelf && f.service);
        f.newest ??= e;
        if (e.kind === 'alarm' || e.kind === 'return') f.activity ??= e;
        if (e.kind === 'unknown' && !f.activity) f.unknownAfter ??= e;
        if (e.kind === 'alarm' || e.kind === 'ack') f.ackish ??= e;
        if (e.kind === 'shelve' || e.kind === 'unshelve') f.shelf ??= e;
        if (e.kind === 'out-of-service' || e.kind === 'in-service') f.service ??= e;
        if (wasOpen && f.activity && f.ackish && f.shelf && f.service) open--;
      }
      before = entries[entries.length - 1]!.seq;
    }
    for (const [id, f] of found) {
      const a = r.alarms.get(id)!;
      const known = f.activity?.kind === 'alarm';
      a.lastKnown = known;
      a.active = f.unknownAfter && sourceBad(a.tpl.source) ? null : known;
      a.activeSince = known ? f.activity!.ts : null;
      a.acked = f.ackish?.kind !== 'alarm';
      if (f.ackish?.kind === 'ack') a.ack = { user: f.ackish.user ?? '', at: f.ackish.ts };
      if (f.shelf?.kind === 'shelve') {
        const until = shelvedUntil(f.shelf.text);
        if (!(until <= t)) a.shelved = { user: f.shelf.user ?? '', reason: after(f.shelf.text), at: f.shelf.ts, until };
      }
      if (f.service?.kind === 'out-of-service') a.outOfService = { user: f.service.user ?? '', reason: after(f.service.text), at: f.service.ts };
      a.changedAt = f.newest?.ts ?? 0;
    }
    for (const tag of r.enablingTags()) {
      const e = o.enabled?.(tag);
      if (e) r.enabled(tag, e.enabled, e.since);
    }
    return r;
  }

  /** An entry of the journal, in time order: the state it changes, if it is an alarm's. */
  apply(e: JournalEntry): AlarmState | undefined {
    const a = this.alarms.get(e.source);
    if (!a || !(ALARM_KINDS as readonly string[]).includes(e.kind)) return undefined;
    switch (e.kind) {
      case 'alarm':
        Object.assign(a, { active: true, lastKnown: true, acked: false, activeSince: e.ts, ack: undefined });
        break;
      case 'return':
        Object.assign(a, { active: false, lastKnown: false, activeSince: null });
        break;
      case 'unknown':
        a.active = null;
        break;
      case 'ack':
        a.acked = true;
        a.ack = { user: e.user ?? '', at: e.ts };
        break;
      case 'shelve':
        a.shelved = { user: e.user ?? '', reason: after(e.text), at: e.ts, until: shelvedUntil(e.text) };
        break;
      case 'unshelve':
        a.shelved = undefined;
        break;
      case 'out-of-service':
        a.outOfService = { user: e.user ?? '', reason: after(e.text), at: e.ts };
        break;
      case 'in-service':
        a.outOfService = undefined;
        break;
    }
    a.changedAt = e.ts;
    return this.state(a);
  }

  /** A source came back good at `ts`: its unknown alarms return, unjournalled, to their last known condition. */
  sourceGood(source: string, ts: number): AlarmState[] {
    const out: AlarmState[] = [];
    for (const a of this.alarms.values()) {
      if (a.tpl.source !== source || a.active !== null) continue;
      a.active = a.lastKnown;
      a.changedAt = ts;
      out.push(this.state(a));
    }
    return out;
  }

  states(): AlarmState[] {
    return [...this.alarms.values()].map((a) => this.state(a));
  }

  private state(a: Tracked): AlarmState {
    const s: AlarmState = { ...a.tpl, state: display(a), active: a.active, acked: a.acked, activeSince: a.activeSince, changedAt: a.changedAt, value: null };
    if (a.ack && a.acked) s.ack = a.ack;
    if (a.shelved) s.shelved = a.shelved;
    if (a.outOfService) s.outOfService = a.outOfService;
    return s;
  }
}
