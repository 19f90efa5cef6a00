/**
 * One alarm's life after ISA-18.2. The condition (active, inactive or
 * unknown) comes from the source's value and quality, through the deadband
 * and the on/off delays; acknowledgement, shelving and removal from service
 * come from people. Time only moves through `now` arguments, so tests drive
 * every transition without sleeping.
 *
 *   normal ──activate──▶ unack ──ack──▶ acked ──clear──▶ normal
 *                          │clear                ▲
 *                          ▼                     │ack
 *                      rtn-unack ────────────────┘
 *   shelved, suppressed (by design), out-of-service hide the above; unknown when the source is bad.
 */
import type { AlarmDisplayState, AlarmPriority, AlarmState, JournalKind } from '../bus/alarm-messages.js';

export type Condition = 'high' | 'highhigh' | 'low' | 'lowlow';

export interface AlarmDefinition {
  id: string;
  message: string;
  priority: AlarmPriority;
  source: string;
  /** Digital: active while the source equals this. */
  activeWhen?: boolean;
  /** Analog: the comparison and its deadband. */
  condition?: Condition;
  deadband: number;
  onDelayMs: number;
  offDelayMs: number;
}

/** What the machine says happened, for the journal. */
export interface Transition {
  kind: JournalKind;
  text: string;
  user?: string;
}

/** The part of an alarm that survives a restart. */
export interface PersistedAlarm {
  active: boolean | null;
  acked: boolean;
  activeSince: number | null;
  changedAt: number;
  value: number | boolean | null;
  ack?: AlarmState['ack'];
  shelved?: AlarmState['shelved'];
  outOfService?: AlarmState['outOfService'];
}

export interface Reading {
  /** The source value, or null with good=false when its quality is bad. */
  value: number | boolean | null;
  good: boolean;
  /** For analog alarms: the limit now (null while a limit tag is bad). */
  limit?: number | null;
  /** False while the alarm is suppressed by design. */
  enabled?: boolean;
}

export class AlarmMachine {
  private active: boolean | null = null;
  /** The condition before it became unknown: coming back to it is no transition. */
  private lastKnown: boolean | null = null;
  private acked = true;
  private activeSince: number | null = null;
  private changedAt = 0;
  private value: number | boolean | null = null;
  private ack: AlarmState['ack'];
  private shelved: AlarmState['shelved'];
  private outOfService: AlarmState['outOfService'];
  private enabled = true;
  /** The raw condition (before delays) and since when it has held. */
  private raw: boolean | null = null;
  private rawSince = 0;

  constructor(readonly def: AlarmDefinition, persisted?: PersistedAlarm) {
    if (persisted) {
      this.active = persisted.active;
      this.lastKnown = persisted.active;
      this.acked = persisted.acked;
      this.activeSince = persisted.activeSince;
      this.changedAt = persisted.changedAt;
      this.value = persisted.value;
      this.ack = persisted.ack;
      this.shelved = persisted.shelved;
      this.outOfService = persisted.outOfService;
    }
  }

  get displayState(): AlarmDisplayState {
    if (this.outOfService) return 'out-of-service';
    if (this.shelved) return 'shelved';
    if (!this.enabled) return 'suppressed';
    if (this.active === null) return 'unknown';
    if (this.active) return this.acked ? 'acked' : 'unack';
    return this.acked ? 'normal' : 'rtn-unack';
  }

  /** Whether it needs an operator's attention: unacknowledged, and not hidden by shelving or service. */
  get annunciating(): boolean {
    const s = this.displayState;
    return s === 'unack' || s === 'rtn-unack';
  }

  state(): AlarmState {
    const s: AlarmState = {
      id: this.def.id,
      message: this.def.message,
      priority: this.def.priority,
      source: this.def.source,
      state: this.displayState,
      active: this.active,
      acked: this.acked,
      activeSince: this.activeSince,
      changedAt: this.changedAt,
      value: this.value,
    };
    if (this.ack) s.ack = this.ack;
    if (this.shelved) s.shelved = this.shelved;
    if (this.outOfService) s.outOfService = this.outOfService;
    return s;
  }

  persisted(): PersistedAlarm {
    const p: PersistedAlarm = { active: this.active ?? this.lastKnown, acked: this.acked, activeSince: this.activeSince, changedAt: this.changedAt, value: this.value };
    if (this.ack) p.ack = this.ack;
    if (this.shelved) p.shelved = this.shelved;
    if (this.outOfService) p.outOfService = this.outOfService;
    return p;
  }

  /** The condition before delays: true/false, or null when it cannot be known. */
  private condition(r: Reading): boolean | null {
    if (!r.good || r.value === null) return null;
    const d = this.def;
    if (d.condition === undefined) return r.value === (d.activeWhen ?? true);
    if (typeof r.value !== 'number' || r.limit === null || r.limit === undefined) return null;
    const high = d.condition === 'high' || d.condition === 'highhigh';
    // Deadband: an active alarm clears only once the value is back past the limit by the deadband.
    const band = this.active ? d.deadband : 0;
    return high ? r.value > r.limit - band : r.value < r.limit + band;
  }

  /** Feeds a new reading; returns what happened. */
  update(r: Reading, now: number): Transition[] {
    const out: Transition[] = [];
    const enabled = r.enabled ?? true;
    if (enabled !== this.enabled) {
      this.enabled = enabled;
      this.changedAt = now;
    }
    if (r.value !== null) this.value = r.value;
    const c = enabled ? this.condition(r) : false;
    if (c !== this.raw) {
      this.raw = c;
      this.rawSince = now;
    }
    this.settle(now, out);
    return out;
  }

  /** Applies the delays as time passes; returns what happened. */
  tick(now: number): Transition[] {
    const out: Transition[] = [];
    this.settle(now, out);
    if (this.shelved && this.shelved.until <= now) {
      this.shelved = undefined;
      this.changedAt = now;
      out.push({ kind: 'unshelve', text: `${this.def.message}: unshelved (shelving expired)` });
    }
    return out;
  }

  private settle(now: number, out: Transition[]): void {
    const raw = this.raw;
    if (raw === null) {
      if (this.active !== null) {
        this.active = null;
        this.changedAt = now;
        out.push({ kind: 'unknown', text: `${this.def.message}: state unknown (its source's quality is bad)` });
      }
      return;
    }
    if (raw === this.active) return;
    if (this.active === null && raw === this.lastKnown) {
      // Known again, and as it was: no transition to journal.
      this.active = raw;
      this.changedAt = now;
      return;
    }
    const first = this.lastKnown === null;
    const wait = raw ? this.def.onDelayMs : this.def.offDelayMs;
    // Back from unknown, the delays apply only to a real change; the very first activation waits like any other.
    const delayed = this.active !== null || (first && raw);
    if (delayed && now - this.rawSince < wait) return;
    this.active = raw;
    this.lastKnown = raw;
    this.changedAt = now;
    if (raw) {
      this.activeSince = now;
      this.acked = false;
      this.ack = undefined;
      out.push({ kind: 'alarm', text: this.def.message });
    } else {
      this.activeSince = null;
      // The first reading finding the condition absent is where an alarm starts, not a return.
      if (!first) out.push({ kind: 'return', text: `${this.def.message}: returned to normal${this.acked ? '' : ' (not yet acknowledged)'}` });
    }
  }

  acknowledge(user: string, now: number, comment?: string): Transition[] {
    if (this.acked) return [];
    this.acked = true;
    this.ack = comment ? { user, at: now, comment } : { user, at: now };
    this.changedAt = now;
    return [{ kind: 'ack', text: `${this.def.message}: acknowledged${comment ? ` — ${comment}` : ''}`, user }];
  }

  /** Since when the alarm has been shelved without a break (shelved again before it came back), or undefined when it is not shelved. */
  shelvedSince(now: number): number | undefined {
    return this.shelved && this.shelved.until > now ? (this.shelved.since ?? this.shelved.at) : undefined;
  }

  shelve(user: string, reason: string, until: number, now: number): Transition[] {
    const since = this.shelvedSince(now);
    this.shelved = { user, reason, at: now, until, ...(since !== undefined ? { since } : {}) };
    this.changedAt = now;
    return [{ kind: 'shelve', text: `${this.def.message}: shelved until ${new Date(until).toISOString()} — ${reason}`, user }];
  }

  unshelve(user: string, now: number): Transition[] {
    if (!this.shelved) return [];
    this.shelved = undefined;
    this.changedAt = now;
    return [{ kind: 'unshelve', text: `${this.def.message}: unshelved`, user }];
  }

  removeFromService(user: string, reason: string, now: number): Transition[] {
    this.outOfService = { user, reason, at: now };
    this.changedAt = now;
    return [{ kind: 'out-of-service', text: `${this.def.message}: taken out of service — ${reason}`, user }];
  }

  returnToService(user: string, now: number): Transition[] {
    if (!this.outOfService) return [];
    this.outOfService = undefined;
    this.changedAt = now;
    return [{ kind: 'in-service', text: `${this.def.message}: returned to service`, user }];
  }
}
