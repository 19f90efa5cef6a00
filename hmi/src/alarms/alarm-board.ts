/**
 * The alarms as the server states them (snapshot, then `alarms` events),
 * and the operator's actions on them: acknowledge, shelve, unshelve, take
 * out of service, return to service. Nothing here decides an alarm's
 * state: the engine does, and the stream tells. An action's answer (or
 * its refusal, with the server's code and message) is kept under the place
 * the operator clicked, so the screen shows it there.
 */
import { type ReadonlySignal, type Signal, computed, signal } from '@preact/signals';
import type { AlarmState } from '../../../src/web/protocol.js';
import type { AlarmApi } from './alarm-api.js';
import { failureText } from './alarm-api.js';
import { type AlarmSummary, newlyUnacked, summarise } from './alarm-model.js';
import type { CallResult } from '../shared/call-result.js';
import { msg } from '../i18n/locale.js';

/** An action's outcome; `at` is when it was clicked (pending) or answered. */
export type ActionResult =
  | { status: 'pending'; what: string; at: number }
  | { status: 'done'; what: string; at: number }
  | { status: 'error'; what: string; at: number; code: string; message: string; text: string };

export interface AlarmBoardOptions {
  api: AlarmApi;
  /** Alarms that just became active and unacknowledged (not called for the first snapshot). */
  onNew?(alarms: AlarmState[]): void;
  now?: () => number;
  /** Gives each alarm as it arrives its message in the user's language (i18n/plant-texts.ts). */
  localize?: (a: AlarmState) => AlarmState;
}

export class AlarmBoard {
  /** Every alarm by id. */
  readonly byId: Signal<ReadonlyMap<string, AlarmState>> = signal(new Map());
  /** False until a snapshot carried the alarms (an older server sends none). */
  readonly known: Signal<boolean> = signal(false);
  readonly list: ReadonlySignal<AlarmState[]> = computed(() => [...this.byId.value.values()]);
  readonly summary: ReadonlySignal<AlarmSummary> = computed(() => summarise(this.list.value));
  /** The outcome of the latest action, by where it was clicked. */
  readonly actions: Signal<ReadonlyMap<string, ActionResult>> = signal(new Map());
  private snapshots = 0;
  private readonly now: () => number;

  constructor(private readonly o: AlarmBoardOptions) {
    this.now = o.now ?? Date.now;
  }

  /** A stream snapshot: every alarm (the first is the baseline; a later one resyncs after a gap). */
  snapshot(list: readonly AlarmState[] | undefined): void {
    const first = this.snapshots++ === 0;
    if (list === undefined) return;
    const before = this.byId.value;
    this.byId.value = new Map(list.map((a) => [a.id, this.o.localize ? this.o.localize(a) : a]));
    this.known.value = true;
    if (!first) this.announce(newlyUnacked(before, list));
  }

  /** Alarms whose state changed (an `alarms` event). */
  update(list: readonly AlarmState[]): void {
    if (list.length === 0) return;
    const before = this.byId.value;
    const fresh = this.apply(list);
    this.known.value = true;
    this.announce(newlyUnacked(before, fresh));
  }

  get(id: string): AlarmState | undefined {
    return this.byId.value.get(id);
  }

  /** Newer states only: an action's answer that arrives after the stream's next change must not undo it. */
  private apply(list: readonly AlarmState[]): AlarmState[] {
    const next = new Map(this.byId.value);
    const applied: AlarmState[] = [];
    for (const arrived of list) {
      const a = this.o.localize ? this.o.localize(arrived) : arrived;
      const prev = next.get(a.id);
      if (prev && prev.changedAt > a.changedAt) continue;
      next.set(a.id, a);
      applied.push(a);
    }
    if (applied.length) this.byId.value = next;
    return applied;
  }

  private announce(fresh: AlarmState[]): void {
    if (fresh.length) this.o.onNew?.(fresh);
  }

  // ------------------------------------------------------------------ actions

  actionAt(where: string): ActionResult | undefined {
    return this.actions.value.get(where);
  }

  clearAction(where: string): void {
    if (!this.actions.value.has(where)) return;
    const next = new Map(this.actions.value);
    next.delete(where);
    this.actions.value = next;
  }

  private setAction(where: string, r: ActionResult): void {
    const next = new Map(this.actions.value);
    next.set(where, r);
    this.actions.value = next;
  }

  /** One request per click; its answer (states) is applied at once, its refusal kept where it was clicked. */
  private async run<T extends AlarmState | AlarmState[]>(where: string, what: string, call: () => Promise<CallResult<T>>): Promise<boolean> {
    if (this.actionAt(where)?.status === 'pending') return false;
    this.setAction(where, { status: 'pending', what, at: this.now() });
    let r: CallResult<T>;
    try {
      r = await call();
    } catch (err) {
      r = { kind: 'no-answer', message: err instanceof Error ? err.message : String(err) };
    }
    if (r.kind === 'ok') {
      this.apply(Array.isArray(r.body) ? r.body : [r.body]);
      this.setAction(where, { status: 'done', what, at: this.now() });
      return true;
    }
    const code = r.kind === 'refused' ? r.error.code : 'PLANTA_NO_ANSWER';
    const message = r.kind === 'refused' ? r.error.message : r.message;
    this.setAction(where, { status: 'error', what, at: this.now(), code, message, text: failureText(r) });
    return false;
  }

  acknowledge(where: string, ids: readonly string[], comment?: string): Promise<boolean> {
    const c = comment?.trim();
    const t = msg().alarms;
    const what = t.whatAck(ids.length);
    if (ids.length === 0) {
      this.setAction(where, { status: 'error', what, at: this.now(), code: 'PLANTA_NOTHING_SELECTED', message: 'no alarm to acknowledge', text: t.nothingSelected });
      return Promise.resolve(false);
    }
    return this.run(where, what, () => this.o.api.ack(ids, c || undefined));
  }

  shelve(where: string, id: string, reason: string, minutes: number): Promise<boolean> {
    return this.run(where, msg().alarms.whatShelve, () => this.o.api.shelve(id, reason, minutes));
  }

  unshelve(where: string, id: string): Promise<boolean> {
    return this.run(where, msg().alarms.whatUnshelve, () => this.o.api.unshelve(id));
  }

  outOfService(where: string, id: string, reason: string): Promise<boolean> {
    return this.run(where, msg().alarms.whatOutOfService, () => this.o.api.outOfService(id, reason));
  }

  inService(where: string, id: string): Promise<boolean> {
    return this.run(where, msg().alarms.whatInService, () => this.o.api.inService(id));
  }
}
