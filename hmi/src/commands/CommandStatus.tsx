/**
 * A command's outcome where the operator clicked: sending, sent and waiting
 * for the PLC, then confirmed, not accepted, failed, expired, unknown or rejected,
 * with the reason in words; until dismissed or the next command.
 */
import type { CommandOutcome } from '../../../src/web/protocol.js';
import { sortAlarms } from '../alarms/alarm-model.js';
import { STATUS_ICON, formatParam, isFinal, outcomeReason, paramLabel, refusalInWords, statusLead, statusWord } from './command-model.js';
import { msg } from '../i18n/locale.js';
import type { Attempt } from './command-store.js';
import { commandWords, paramTags, tagNames } from './command-view.js';
import { useHmiState } from '../shared/context.js';
import { formatDuration, formatTimeZoned, formatValue } from '../shared/format.js';

type Tone = 'pending' | 'ok' | 'bad' | 'neutral';

interface Shown {
  /** For tests and styles: queued, confirmed, not-accepted, failed, expired, unknown, rejected, unconfirmed, sending, no-answer, lost, cancelled. */
  status: string;
  tone: Tone;
  icon: string;
  word: string;
  lead: string;
  detail?: string;
  /** What the operator can check for themselves. */
  hint?: string;
}

/** The values read back after writing, named as the command's fields ("Aerated fill 35 min") or by their tag's description. */
function readBack(state: ReturnType<typeof useHmiState>, a: Attempt, o: CommandOutcome): string | undefined {
  const byTag = paramTags(a.command, o.params);
  // Numbers only: a pulse bit reads back OFF once the PLC has acted, which says nothing to an operator.
  const parts = Object.entries(o.after ?? {})
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([tag, v]) => {
      const param = byTag.get(tag);
      const info = param ? a.command.params[param] : undefined;
      return info ? `${paramLabel(info)} ${formatParam(info, v)}` : `${state.tags.get(tag)?.description || tag} ${formatValue(state.tags.get(tag), v)}`;
    });
  return parts.length ? msg().commands.readBack(parts.join(', ')) : undefined;
}

function shown(state: ReturnType<typeof useHmiState>, a: Attempt, now: number): Shown | null {
  const words = commandWords(state);
  const names = tagNames(state);
  const o = a.outcome;
  const t = msg().commands;
  if (o && isFinal(o.status)) {
    const reason = outcomeReason(o, words, names);
    const detail = o.status === 'confirmed' ? readBack(state, a, o) : reason ? t.why(reason) : undefined;
    // What the operator can see for themselves: the alarms active now (e.g. the emergency stop).
    const alarms = o.status === 'not-accepted' || o.status === 'unknown' ? sortAlarms(state.alarms.list.value.filter((x) => x.active === true), 'priority').map((x) => x.message) : [];
    return {
      status: o.status,
      tone: o.status === 'confirmed' ? 'ok' : 'bad',
      icon: STATUS_ICON[o.status],
      word: statusWord(o.status),
      lead: statusLead(o.status),
      ...(detail ? { detail } : {}),
      ...(alarms.length ? { hint: t.activeNow(alarms.join(', ')) } : {}),
    };
  }
  const refusal = a.error ? refusalInWords(a.error, words, names) : undefined;
  switch (a.phase) {
    case 'selecting':
    case 'ready':
      return null;
    case 'select-refused':
      return { status: 'rejected', tone: 'bad', icon: '✕', word: t.refused, lead: t.refusedLead, ...(refusal ? { detail: refusal } : {}) };
    case 'cancelled':
      return { status: 'cancelled', tone: 'neutral', icon: '–', word: t.cancelled, lead: t.nothingSent };
    case 'sending':
      return { status: 'sending', tone: 'pending', icon: '…', word: t.sending, lead: t.sendingLead };
    case 'sent':
      return {
        status: 'queued',
        tone: 'pending',
        icon: '…',
        word: t.sent,
        lead: statusLead('queued'),
        detail: t.sinceSent(formatDuration(now - (a.sentAt ?? now))),
      };
    case 'refused':
      // The bus failed while taking it: "nothing was sent" would promise too much.
      if (a.error?.code === 'PLANTA_COMMAND_UNCONFIRMED') return { status: 'unconfirmed', tone: 'bad', icon: '?', word: t.notConfirmed, lead: t.probablyNot, ...(refusal ? { detail: refusal } : {}) };
      return { status: 'rejected', tone: 'bad', icon: '✕', word: statusWord('rejected'), lead: statusLead('rejected'), ...(refusal ? { detail: refusal } : {}) };
    case 'no-answer':
      return {
        status: 'failed',
        tone: 'bad',
        icon: '✕',
        word: t.failed,
        lead: t.noAnswer,
        detail: t.noAnswerDetail(a.problem),
      };
    case 'lost':
      return { status: 'lost', tone: 'bad', icon: '?', word: t.lost, lead: t.lostLead, detail: `${a.problem ?? ''}.` };
  }
}

export function CommandStatus({ source }: { source: string }) {
  const state = useHmiState();
  const a = state.commands.attempt.value;
  const now = state.clock.value;
  const s = a && a.source === source && !a.dialog ? shown(state, a, now) : null;
  return (
    <div class="cmd-status-slot" role="status" aria-live="polite" data-cmd-source={source} tabIndex={-1}>
      {s && a && (
        <div class={`cmd-status tone-${s.tone}`} data-status={s.status}>
          <p class="cmd-status-line">
            <span class="cmd-status-word">
              <span aria-hidden="true">{s.icon} </span>
              {s.word}
            </span>{' '}
            <span class="cmd-status-what">{a.question.replace(/\?$/, '')}</span>
          </p>
          <p class="cmd-status-lead">{s.lead}</p>
          {s.detail && <p class="cmd-status-detail">{s.detail}</p>}
          {s.hint && <p class="cmd-status-hint">{s.hint}</p>}
          {(a.outcome || a.sentAt) && (
            <p class="cmd-status-meta caption" title={a.id ? msg().commands.commandId(a.id) : undefined}>
              {a.outcome ? msg().commands.statusAt(statusWord(a.outcome.status), formatTimeZoned(a.outcome.at, state.timeZone)) : msg().commands.sentAt(formatTimeZoned(a.sentAt!, state.timeZone))}
            </p>
          )}
          {s.status !== 'sending' && (
            <button type="button" class="cmd-dismiss" onClick={() => state.commands.dismiss()}>
              {msg().commands.dismiss}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
