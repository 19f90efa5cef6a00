/**
 * The operator's commands in this page: their definitions (GET api/commands
 * at start), and the one command being confirmed or followed — from the
 * click, through the confirmation dialog (select-before-operate for
 * critical commands), to its outcome as the live stream reports it.
 *
 * Safety rules kept here, whatever the screens do:
 * - nothing is sent while commands are blocked (no live data, PLC not
 *   connected): a click then is refused, never queued for later;
 * - every request is made once: a failed or unanswered request is shown as
 *   such and never resent (a new click makes a new command with a new id);
 * - a selection that is cancelled, replaced or answered too late is released.
 */
import { type Signal, signal } from '@preact/signals';
import type { ApiError, CommandInfo, CommandOutcome } from '../../../src/web/protocol.js';
import type { CallResult } from '../shared/call-result.js';
import type { CommandApi, QueuedAnswer, SelectAnswer } from './command-api.js';
import { type Params, fillConfirmation, isFinal, localDeadline, newCommandId } from './command-model.js';
import { msg } from '../i18n/locale.js';

export type Definitions = { status: 'loading' } | { status: 'ready'; list: readonly CommandInfo[] } | { status: 'error'; message: string };

export type AttemptPhase =
  /** Critical: asking the server to reserve the PLC and read the current state. */
  | 'selecting'
  /** The server refused the selection (shown in the dialog, then where the operator clicked). */
  | 'select-refused'
  /** Waiting for the operator's Confirm. */
  | 'ready'
  /** The request is on its way. */
  | 'sending'
  /** The server queued it: waiting for the PLC (the outcome comes on the stream). */
  | 'sent'
  /** The server refused the command itself. */
  | 'refused'
  /** No answer to the request: it may or may not have arrived. Never resent. */
  | 'no-answer'
  /** The server no longer knows the command (it restarted before reporting). */
  | 'lost'
  /** The operator cancelled: nothing was sent. */
  | 'cancelled';

export interface Selection {
  token: string;
  /** Until when the operator may confirm, on this browser's clock. */
  deadline: number;
  current: SelectAnswer['current'];
  readAt: number;
}

export interface Attempt {
  seq: number;
  /** Where the operator clicked: the outcome is shown there. */
  source: string;
  command: CommandInfo;
  params: Params;
  /** The confirmation question with the values filled in. */
  question: string;
  dialog: boolean;
  phase: AttemptPhase;
  selection?: Selection;
  /** The command id, once sent. */
  id?: string;
  sentAt?: number;
  /** The server's refusal, with the field at fault when it names one. */
  error?: ApiError['error'] & { status: number };
  /** Why there was no answer. */
  problem?: string;
  /** The latest outcome the stream (or a check) reported for this id. */
  outcome?: CommandOutcome;
}

export interface CommandStoreOptions {
  api: CommandApi;
  /** Why commands to this device cannot be sent now, or null. */
  blocked(device: string): string | null;
  /** Why this user may not send this command (not signed in, role too low), or null. The server checks again. */
  mayNot?(command: CommandInfo): string | null;
  now?: () => number;
  /** Outcomes remembered for commands whose answer has not arrived yet. Default 200. */
  remember?: number;
}

export class CommandStore {
  readonly definitions: Signal<Definitions> = signal({ status: 'loading' });
  /** The command being confirmed or followed; null when there is none. */
  readonly attempt: Signal<Attempt | null> = signal(null);
  private readonly outcomes = new Map<string, CommandOutcome>();
  private seq = 0;
  private readonly now: () => number;

  constructor(private readonly o: CommandStoreOptions) {
    this.now = o.now ?? Date.now;
  }

  setDefinitions(list: readonly CommandInfo[]): void {
    this.definitions.value = { status: 'ready', list };
  }

  definitionsFailed(message: string): void {
    this.definitions.value = { status: 'error', message };
  }

  definition(name: string): CommandInfo | undefined {
    const d = this.definitions.value;
    return d.status === 'ready' ? d.list.find((c) => c.name === name) : undefined;
  }

  /** Why a command cannot be sent now (commands not loaded, no live data, PLC not connected), or null. */
  blocker(command: CommandInfo | undefined): string | null {
    const d = this.definitions.value;
    const t = msg().commands;
    if (d.status === 'loading') return t.loading;
    if (d.status === 'error') return t.unavailable(d.message);
    if (!command) return t.unknown;
    return this.o.mayNot?.(command) ?? this.o.blocked(command.device);
  }

  /** The click on a command button: opens its confirmation (and selects a critical command). */
  begin(source: string, command: CommandInfo, params: Params): void {
    if (this.blocker(command)) return;
    const open = this.attempt.value;
    if (open?.dialog) this.release(open);
    const attempt: Attempt = {
      seq: ++this.seq,
      source,
      command,
      params: { ...params },
      question: fillConfirmation(command, params),
      dialog: true,
      phase: command.critical ? 'selecting' : 'ready',
    };
    this.attempt.value = attempt;
    if (command.critical) void this.select(attempt.seq);
  }

  /** Selects again after a selection ran out (the operator's deliberate click). */
  reselect(): void {
    const a = this.attempt.value;
    if (!a?.dialog || !a.command.critical || a.phase === 'selecting' || a.phase === 'sending') return;
    if (this.blocker(a.command)) return;
    this.release(a);
    const next: Attempt = { ...a, phase: 'selecting' };
    delete next.selection;
    delete next.error;
    this.attempt.value = next;
    void this.select(a.seq);
  }

  private async select(seq: number): Promise<void> {
    const a = this.attempt.value!;
    const r = await this.o.api.select(a.command.name, a.params);
    const now = this.now();
    const still = this.attempt.value;
    if (!still || still.seq !== seq || still.phase !== 'selecting' || !still.dialog) {
      // Cancelled while the server was answering: give the reservation back at once.
      if (r.kind === 'ok') void this.o.api.cancel(r.body.token).catch(() => undefined);
      return;
    }
    if (r.kind === 'ok') {
      this.attempt.value = {
        ...still,
        phase: 'ready',
        selection: { token: r.body.token, deadline: localDeadline(r.body.expiresAt, r.serverDate, now), current: r.body.current, readAt: now },
      };
    } else {
      this.attempt.value = { ...still, phase: 'select-refused', ...failure(r) };
    }
  }

  /**
   * Confirm: sends the command once, with a fresh id. Returns false when
   * nothing was sent. `password`: the user's password again, which the
   * server asks for before a critical command.
   */
  async confirm(password?: string): Promise<boolean> {
    const a = this.attempt.value;
    if (!a || !a.dialog || a.phase !== 'ready') return false;
    if (this.blocker(a.command)) return false;
    if (a.command.critical && (!a.selection || this.now() >= a.selection.deadline)) return false;
    const id = newCommandId();
    const sending: Attempt = { ...a, dialog: false, phase: 'sending', id, sentAt: this.now() };
    this.attempt.value = sending;
    const r: CallResult<QueuedAnswer> = a.command.critical
      ? await this.o.api.operate(id, a.selection!.token, a.command.name, a.params, password)
      : await this.o.api.submit(id, a.command.name, a.params);
    const still = this.attempt.value;
    const known = this.outcomes.get(id);
    if (!still || still.seq !== a.seq) return r.kind === 'ok';
    const next: Attempt = r.kind === 'ok' ? { ...still, phase: 'sent' } : { ...still, phase: r.kind === 'refused' ? 'refused' : 'no-answer', ...failure(r) };
    if (known && !(next.outcome && isFinal(next.outcome.status))) next.outcome = known;
    this.attempt.value = next;
    return r.kind === 'ok';
  }

  /** Cancel (or Escape): releases the selection; nothing is sent. */
  cancel(): void {
    const a = this.attempt.value;
    if (!a?.dialog) return;
    this.release(a);
    if (a.phase === 'select-refused') {
      // The refusal stays visible where the operator clicked (and next to the field at fault).
      this.attempt.value = { ...a, dialog: false };
      return;
    }
    const next: Attempt = { ...a, dialog: false, phase: 'cancelled' };
    delete next.selection;
    this.attempt.value = next;
  }

  /** Hides the outcome shown where the operator clicked. */
  dismiss(): void {
    if (this.attempt.value && !this.attempt.value.dialog) this.attempt.value = null;
  }

  /** A command outcome from the live stream (anyone's). */
  onOutcome(o: CommandOutcome): void {
    const prev = this.outcomes.get(o.id);
    // A final outcome is never replaced by an earlier "queued".
    if (!prev || isFinal(o.status) || !isFinal(prev.status)) {
      this.outcomes.delete(o.id);
      this.outcomes.set(o.id, o);
      while (this.outcomes.size > (this.o.remember ?? 200)) this.outcomes.delete(this.outcomes.keys().next().value!);
    }
    const a = this.attempt.value;
    if (a?.id === o.id && !(a.outcome && isFinal(a.outcome.status) && !isFinal(o.status))) this.attempt.value = { ...a, outcome: o };
  }

  /**
   * After the stream resynchronised from a snapshot, the outcome of a command
   * still pending may have fallen in the gap: ask for it once (a read, never
   * a resend).
   */
  async recheck(): Promise<void> {
    const a = this.attempt.value;
    if (!a?.id || a.phase !== 'sent' || (a.outcome && isFinal(a.outcome.status))) return;
    const r = await this.o.api.outcome(a.id);
    const still = this.attempt.value;
    if (!still || still.seq !== a.seq) return;
    if (r.kind === 'ok') this.onOutcome(r.body);
    else if (r.kind === 'refused' && r.status === 404) {
      this.attempt.value = { ...still, phase: 'lost', problem: 'the server restarted before it reported the outcome: check the plant before sending it again' };
    }
  }

  /** Gives a selection back to the server (fire and forget: it also runs out by itself). */
  private release(a: Attempt): void {
    if (a.selection) void this.o.api.cancel(a.selection.token).catch(() => undefined);
  }
}

function failure(r: Exclude<CallResult<unknown>, { kind: 'ok' }>): Pick<Attempt, 'error' | 'problem'> {
  return r.kind === 'refused' ? { error: { ...r.error, status: r.status } } : { problem: r.message };
}
