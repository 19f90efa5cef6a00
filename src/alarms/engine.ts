/**
 * The alarm engine: watches the bus's values and device statuses, runs every
 * alarm's state machine, journals every transition, operator action, event,
 * command outcome and connection change (SQLite), and publishes alarm states
 * and journal entries on the bus. Acknowledging writes nothing to any PLC;
 * silencing the horn is an operator command like any other.
 */
import type { AlarmState, JournalEntry } from '../bus/alarm-messages.js';
import { isRefusal } from '../bus/command-messages.js';
import type { AlarmBus, CommandOutcome, DeviceStatus, JournalBus, OutcomeBus, Unsubscribe, ValueBus } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import { type ErrorCode, PlantaError } from '../errors.js';
import { type EventConfig, type Role, ROLES } from '../config/schema.js';
import type { TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { type AlarmDefinition, AlarmMachine, type Reading, type Transition } from './machine.js';
import { type RateFigures, type RateTargets, alarmRates } from './rates.js';
import type { AlarmStore, JournalQuery } from './store.js';

/** An alarm action refused, answered with the status of its code. */
export class AlarmActionError extends PlantaError<Extract<ErrorCode, `PLANTA_ALARM_${string}`>> {}

export interface Actor {
  user: string;
  role: Role;
}

interface Watch {
  machine: AlarmMachine;
  source?: string;
  limitTag?: string;
  limit?: number;
  enabledWhen?: string;
}

export interface AlarmEngineOptions {
  bus: ValueBus & OutcomeBus & AlarmBus & JournalBus;
  config: PlantConfig;
  store: AlarmStore;
  log?: Logger;
  /** How often delays and shelving expiries are checked. Default 250 ms. */
  tickMs?: number;
  /**
   * A device down this long raises its communication alarm. Default 0: a device is down once no valid reply came
   * for its link-loss time (devices[].linkLoss), which is the delay; another one here would only make it later.
   */
  commDelayMs?: number;
  targets?: RateTargets;
  now?: () => number;
}

const rank = (r: Role): number => ROLES.indexOf(r);

/** 90 → "1 h 30 min", in the words of the HMI's shelve choices. */
function formatMinutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  const h = Math.floor(m / 60);
  return [h ? `${h} h` : '', m % 60 ? `${m % 60} min` : ''].filter(Boolean).join(' ');
}

export class AlarmEngine {
  private readonly watches = new Map<string, Watch>();
  /** Alarms (and events) to re-evaluate when a tag changes. */
  private readonly byTag = new Map<string, Watch[]>();
  private readonly values = new Map<string, TagValue>();
  /** The configured events of each tag. */
  private readonly eventsByTag = new Map<string, [string, EventConfig][]>();
  private readonly deviceState = new Map<string, string>();
  private readonly unsubscribe: Unsubscribe[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: AlarmEngineOptions) {
    this.now = o.now ?? Date.now;
    for (const [id, e] of Object.entries(o.config.events)) this.eventsByTag.set(e.tag, [...(this.eventsByTag.get(e.tag) ?? []), [id, e]]);
    const persisted = o.store.loadStates();
    const add = (def: AlarmDefinition, w: Omit<Watch, 'machine'>): void => {
      const watch: Watch = { machine: new AlarmMachine(def, persisted.get(def.id)), ...w };
      this.watches.set(def.id, watch);
      for (const tag of [w.source, w.limitTag, w.enabledWhen]) {
        if (!tag) continue;
        const list = this.byTag.get(tag);
        if (list) list.push(watch);
        else this.byTag.set(tag, [watch]);
      }
    };
    for (const [id, a] of Object.entries(o.config.alarms)) {
      const def: AlarmDefinition = {
        id,
        message: a.message,
        priority: a.priority,
        source: a.tag,
        deadband: a.deadband,
        onDelayMs: a.onDelay,
        offDelayMs: a.offDelay,
      };
      if (a.activeWhen !== undefined) def.activeWhen = a.activeWhen;
      if (a.condition) def.condition = a.condition;
      const w: Omit<Watch, 'machine'> = { source: a.tag };
      if (typeof a.limit === 'string') w.limitTag = a.limit;
      if (typeof a.limit === 'number') w.limit = a.limit;
      if (a.enabledWhen) w.enabledWhen = a.enabledWhen;
      add(def, w);
    }
    // A communication-loss alarm per device, generated: a PLC nobody can hear from is an alarm. It follows the link's
    // health (valid replies), so a TCP connection that flaps never restarts its delay.
    for (const d of o.config.devices) {
      add(
        {
          id: `comm.${d.name}`,
          message: `No communication with ${d.name}${d.description ? ` (${d.description})` : ''}`,
          priority: 'high',
          source: d.name,
          activeWhen: true,
          deadband: 0,
          onDelayMs: o.commDelayMs ?? 0,
          offDelayMs: 0,
        },
        {},
      );
    }
  }

  async start(): Promise<void> {
    const { bus } = this.o;
    this.unsubscribe.push(await bus.subscribeValues((batch) => this.onValues(batch)));
    this.unsubscribe.push(await bus.subscribeDeviceStatus((s) => this.onDevice(s)));
    this.unsubscribe.push(await bus.subscribeCommandOutcomes((c) => this.onCommand(c)));
    this.onValues(await bus.snapshot());
    for (const s of await bus.deviceStatuses()) this.onDevice(s);
    await bus.publishAlarmStates(this.states());
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) await u();
  }

  states(): AlarmState[] {
    return [...this.watches.values()].map((w) => w.machine.state());
  }

  journal(q: JournalQuery): JournalEntry[] {
    return this.o.store.query(q);
  }

  rates(from: number, to: number): RateFigures {
    return alarmRates(this.o.store.activations(from, to), this.states(), from, to, this.o.targets);
  }

  // ------------------------------------------------------------ inputs

  private reading(w: Watch): Reading {
    const v = w.source ? this.values.get(w.source) : undefined;
    const good = v !== undefined && (v.quality === 'Good' || v.quality === 'Uncertain_EngineeringUnitsExceeded');
    const r: Reading = { value: good ? (v.value as number | boolean) : null, good };
    if (w.limitTag) {
      const l = this.values.get(w.limitTag);
      r.limit = l && l.quality === 'Good' && typeof l.value === 'number' ? l.value : null;
    } else if (w.limit !== undefined) {
      r.limit = w.limit;
    }
    if (w.enabledWhen) {
      const e = this.values.get(w.enabledWhen);
      // While the enabling condition is unknown the alarm stays enabled: better a possible alarm than a hidden one.
      r.enabled = !(e && e.quality === 'Good' && e.value === false);
    }
    return r;
  }

  private onValues(batch: TagValue[]): void {
    const now = this.now();
    const touched = new Set<Watch>();
    const events: Omit<JournalEntry, 'seq'>[] = [];
    for (const v of batch) {
      const before = this.values.get(v.tag);
      // A poller that (re)started has not read yet: no news of the process. The last known value stands until its first read.
      if (v.quality === 'Bad_WaitingForInitialData' && before !== undefined && before.quality !== 'Bad_WaitingForInitialData') continue;
      this.values.set(v.tag, v);
      for (const w of this.byTag.get(v.tag) ?? []) touched.add(w);
      for (const [id, e] of this.eventsByTag.get(v.tag) ?? []) {
        // An event is an edge to its value, seen on a good reading after a good one (not the first read).
        if (v.quality === 'Good' && v.value === e.when && before?.quality === 'Good' && before.value !== e.when) {
          events.push({ ts: v.sourceTs, kind: 'event', source: id, text: e.message });
        }
      }
    }
    const out = [...events];
    const changed: Watch[] = [];
    for (const w of touched) {
      const shown = w.machine.displayState;
      const t = w.machine.update(this.reading(w), now);
      // Suppression by design changes what is shown without a transition of the condition.
      if (t.length || w.machine.displayState !== shown) changed.push(w);
      out.push(...this.entries(w, t, now));
    }
    this.commit(out, changed);
  }

  private onDevice(s: DeviceStatus): void {
    const before = this.deviceState.get(s.device);
    this.deviceState.set(s.device, s.state);
    const now = this.now();
    const out: Omit<JournalEntry, 'seq'>[] = [];
    if (before !== undefined && before !== s.state && (s.state === 'connected' || before === 'connected')) {
      const text = s.state === 'connected' ? `${s.device}: connected` : `${s.device}: connection lost${s.lastError ? ` — ${s.lastError.message}` : ''}`;
      out.push({ ts: now, kind: 'device', source: s.device, text });
    }
    const w = this.watches.get(`comm.${s.device}`);
    const changed: Watch[] = [];
    // Only a device that is down raises the alarm, and only one with valid replies again ends it: a poller that
    // (re)started and waits for its first reply says nothing yet.
    if (w && (s.state !== 'connecting' || w.machine.state().active === null)) {
      const shown = w.machine.displayState;
      const t = w.machine.update({ value: s.state === 'down', good: true }, now);
      // The first reading (unknown → normal) is no transition, but what is shown changed.
      if (t.length || w.machine.displayState !== shown) changed.push(w);
      out.push(...this.entries(w, t, now));
    }
    this.commit(out, changed);
  }

  private onCommand(c: CommandOutcome): void {
    // A refused request is in the audit trail and its requester's answer, not on everyone's event list.
    if (c.status === 'queued' || isRefusal(c)) return;
    const params = Object.entries(c.params).map(([k, v]) => `${k}=${String(v)}`).join(', ');
    const text = `command ${c.command}${params ? ` (${params})` : ''}: ${c.status}${c.reason ? ` — ${c.reason}` : ''}`;
    this.commit([{ ts: c.at, kind: 'command', source: c.command, text, user: c.user }], []);
  }

  /** Delays and shelving expiries. */
  tick(): void {
    const now = this.now();
    const out: Omit<JournalEntry, 'seq'>[] = [];
    const changed: Watch[] = [];
    for (const w of this.watches.values()) {
      const t = w.machine.tick(now);
      if (t.length) {
        changed.push(w);
        out.push(...this.entries(w, t, now));
      }
    }
    this.commit(out, changed);
  }

  private entries(w: Watch, transitions: Transition[], now: number): Omit<JournalEntry, 'seq'>[] {
    return transitions.map((t) => {
      const e: Omit<JournalEntry, 'seq'> = { ts: now, kind: t.kind, source: w.machine.def.id, text: t.text, priority: w.machine.def.priority };
      if (t.user) e.user = t.user;
      return e;
    });
  }

  /** Stores first, then publishes: what a browser sees is already on disk. */
  private commit(entries: Omit<JournalEntry, 'seq'>[], changed: Watch[]): void {
    if (entries.length === 0 && changed.length === 0) return;
    const unique = [...new Set(changed)];
    try {
      if (unique.length) this.o.store.saveStates(unique.map((w) => [w.machine.def.id, w.machine.persisted()]));
      const stored = entries.length ? this.o.store.append(entries) : [];
      void this.o.bus.publishJournal(stored);
      void this.o.bus.publishAlarmStates(unique.map((w) => w.machine.state()));
    } catch (err) {
      this.o.log?.error({ err }, 'alarm journal write failed');
    }
  }

  // ------------------------------------------------------------ operators

  private watch(id: string): Watch {
    const w = this.watches.get(id);
    if (!w) throw new AlarmActionError('PLANTA_ALARM_UNKNOWN', `no alarm "${id}"`);
    return w;
  }

  private need(actor: Actor, role: Role, what: string): void {
    if (rank(actor.role) < rank(role)) throw new AlarmActionError('PLANTA_ALARM_FORBIDDEN', `${actor.user} (${actor.role}) may not ${what}: it needs ${role}`);
  }

  private act(ws: Watch[], f: (w: Watch, now: number) => Transition[]): AlarmState[] {
    const now = this.now();
    const out: Omit<JournalEntry, 'seq'>[] = [];
    const changed: Watch[] = [];
    for (const w of ws) {
      const t = f(w, now);
      if (t.length) {
        changed.push(w);
        out.push(...this.entries(w, t, now));
      }
    }
    this.commit(out, changed);
    return ws.map((w) => w.machine.state());
  }

  /** Acknowledges: writes nothing to any PLC. */
  acknowledge(actor: Actor, ids: string[], comment?: string): AlarmState[] {
    this.need(actor, 'operator', 'acknowledge alarms');
    if (comment !== undefined && comment.length > 500) throw new AlarmActionError('PLANTA_ALARM_BAD_COMMENT', 'comment: at most 500 characters');
    const ws = ids.map((id) => this.watch(id));
    return this.act(ws, (w, now) => w.machine.acknowledge(actor.user, now, comment || undefined));
  }

  /**
   * Shelves for a while: the plant's shelving rules (configuration `shelving:`)
   * say, per priority, the lowest role allowed and the longest time — by
   * default a critical alarm needs an engineer and comes back within an hour.
   * Shelving it again while it is shelved cannot push its return past that
   * longest time, counted from when it was first shelved.
   */
  shelve(actor: Actor, id: string, reason: string, durationMs: number): AlarmState {
    this.need(actor, 'operator', 'shelve alarms');
    if (!reason.trim()) throw new AlarmActionError('PLANTA_ALARM_REASON_REQUIRED', 'reason: say why the alarm is shelved');
    if (!(durationMs >= 60_000 && durationMs <= 24 * 3_600_000)) {
      throw new AlarmActionError('PLANTA_ALARM_BAD_DURATION', 'duration: between 1 minute and 24 hours; a shelved alarm always comes back by itself');
    }
    const w = this.watch(id);
    const priority = w.machine.def.priority;
    const rule = this.o.config.shelving[priority];
    if (rank(actor.role) < rank(rule.role)) {
      throw new AlarmActionError('PLANTA_ALARM_SHELVE_FORBIDDEN', `${actor.user} (${actor.role}) may not shelve a ${priority} alarm: it needs ${rule.role}`);
    }
    if (durationMs > rule.maxMs) {
      throw new AlarmActionError('PLANTA_ALARM_SHELVE_TOO_LONG', `duration: a ${priority} alarm may be shelved for ${formatMinutes(rule.maxMs)} at most`);
    }
    // Shelving it again before it came back is not a new shelving: the maximum counts from the first one, so it always comes back.
    const since = w.machine.shelvedSince(this.now());
    if (since !== undefined && this.now() + durationMs > since + rule.maxMs) {
      const left = Math.floor((since + rule.maxMs - this.now()) / 60_000);
      throw new AlarmActionError(
        'PLANTA_ALARM_SHELVE_TOO_LONG',
        `duration: ${id} has been shelved since ${new Date(since).toISOString()}, and a ${priority} alarm may stay shelved ${formatMinutes(rule.maxMs)} at most in all: ` +
          (left >= 1 ? `${left} min more at most` : 'it comes back first, then it may be shelved again'),
      );
    }
    return this.act([w], (w, now) => w.machine.shelve(actor.user, reason.trim(), now + durationMs, now))[0]!;
  }

  unshelve(actor: Actor, id: string): AlarmState {
    this.need(actor, 'operator', 'unshelve alarms');
    return this.act([this.watch(id)], (w, now) => w.machine.unshelve(actor.user, now))[0]!;
  }

  removeFromService(actor: Actor, id: string, reason: string): AlarmState {
    this.need(actor, 'engineer', 'take alarms out of service');
    if (!reason.trim()) throw new AlarmActionError('PLANTA_ALARM_REASON_REQUIRED', 'reason: say why the alarm is taken out of service');
    return this.act([this.watch(id)], (w, now) => w.machine.removeFromService(actor.user, reason.trim(), now))[0]!;
  }

  returnToService(actor: Actor, id: string): AlarmState {
    this.need(actor, 'engineer', 'return alarms to service');
    return this.act([this.watch(id)], (w, now) => w.machine.returnToService(actor.user, now))[0]!;
  }
}
