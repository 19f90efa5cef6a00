/**
 * Pieces every alarm screen shares: the priority as shape + word (colour
 * only as a second sign, and only while the alarm is abnormal), the state in
 * words with a mark, who acknowledged or shelved it and why, and the outcome
 * of an operator's action where it was clicked.
 */
import type { AlarmPriority, AlarmState } from '../../../src/web/protocol.js';
import type { ActionResult } from './alarm-board.js';
import { PRIORITY_MARK, STATE_MARK, priorityWord, stateWord } from './alarm-model.js';
import { msg } from '../i18n/locale.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTimeZoned, formatTimeZoned } from '../shared/format.js';
import type { HmiState } from '../live/state.js';
import { roleRefusal, session } from '../session/session.js';

/** Why alarm actions are disabled now (the alarms on screen may not be current), or null. */
export function actionsBlocked(state: HmiState): string | null {
  if (state.replay.value) return msg().replay.alarmActionsBlocked;
  const link = state.link.value.state;
  const t = msg().alarms;
  if (link === 'down') return t.blockedDown;
  if (link === 'connecting') return t.blockedConnecting;
  if (!state.bus.value.up) return t.blockedBus;
  return null;
}

/** Why this browser may not acknowledge, shelve or unshelve (the server takes them from any signed-in user), or null. */
export function signInRefusal(): string | null {
  return session.value?.via === 'session' ? null : msg().alarms.signInToAct;
}

/** Why this user may not take alarms out of service or back, or null. */
export const serviceRefusal = (): string | null => roleRefusal(session.value, 'engineer', msg().alarms.serviceAction);

/** The reasons alarm actions are disabled, where they are: no live data, and what the user's role does not allow. */
export function BlockedActions({ id, roles = [] }: { id: string; roles?: readonly (string | null)[] }) {
  const reasons = [actionsBlocked(useHmiState()), ...roles].filter((r): r is string => r !== null);
  return (
    <div id={id} class="cmd-blocked-slot" role="status">
      {[...new Set(reasons)].map((r) => (
        <p key={r} class="cmd-blocked">
          <span aria-hidden="true">⊘ </span>
          {r}
        </p>
      ))}
    </div>
  );
}

export type PriorityTone = 'strong' | 'outline' | 'grey' | 'unsure';

/** How loud a priority is drawn: filled while unacknowledged and active, outlined while it still matters, grey when not abnormal. */
export function priorityTone(a: AlarmState): PriorityTone {
  switch (a.state) {
    case 'unack':
      return 'strong';
    case 'acked':
    case 'rtn-unack':
      return 'outline';
    case 'unknown':
      return 'unsure';
    default:
      return 'grey';
  }
}

export function PriorityBadge({ priority, tone = 'strong' }: { priority: AlarmPriority; tone?: PriorityTone }) {
  return (
    <span class={`prio prio-${priority} tone-${tone}`} data-priority={priority}>
      <span class="prio-mark" aria-hidden="true">
        {PRIORITY_MARK[priority]}
      </span>
      <span class="visually-hidden">{msg().priority.hidden}</span>
      {priorityWord(priority)}
    </span>
  );
}

export function StateWords({ a }: { a: AlarmState }) {
  return (
    <span class={`alarm-state st-${a.state}`} data-state={a.state}>
      <span class="st-mark" aria-hidden="true">
        {STATE_MARK[a.state]}
      </span>{' '}
      {stateWord(a.state)}
    </span>
  );
}

/** Who acknowledged, shelved or took the alarm out of service, when and why. */
export function WhoWhy({ a }: { a: AlarmState }) {
  const tz = useHmiState().timeZone;
  const t = msg().alarms;
  const lines: { key: string; text: string }[] = [];
  if (a.outOfService) {
    lines.push({ key: 'oos', text: t.outOfServiceBy(a.outOfService.user, formatDateTimeZoned(a.outOfService.at, tz), a.outOfService.reason) });
  }
  if (a.shelved) {
    lines.push({ key: 'shelved', text: t.shelvedBy(a.shelved.user, formatTimeZoned(a.shelved.at, tz), formatDateTimeZoned(a.shelved.until, tz), a.shelved.reason) });
  }
  if (a.ack && a.state !== 'normal') {
    lines.push({ key: 'ack', text: t.ackedBy(a.ack.user, formatDateTimeZoned(a.ack.at, tz), a.ack.comment) });
  }
  if (lines.length === 0) return null;
  return (
    <span class="who-why">
      {lines.map((l) => (
        <span key={l.key} class={`who-${l.key}`}>
          {l.text}
        </span>
      ))}
    </span>
  );
}

/**
 * The outcome of the operator's latest alarm action at this place (or the
 * latest of several places, e.g. a row's buttons and its dialogs): sending,
 * done, or the server's refusal (code and message).
 */
export function ActionNote({ where }: { where: string | readonly string[] }) {
  const state = useHmiState();
  const actions = state.alarms.actions.value;
  let r: ActionResult | undefined;
  for (const w of typeof where === 'string' ? [where] : where) {
    const x = actions.get(w);
    if (x && (!r || x.at >= r.at)) r = x;
  }
  const now = state.clock.value;
  const t = msg().alarms;
  return (
    <span class="action-note-slot" aria-live="polite" data-action-for={typeof where === 'string' ? where : where.join(' ')}>
      {r?.status === 'pending' && <span class="action-note is-pending">{t.sending(r.what)}</span>}
      {r?.status === 'done' && now - r.at < 15_000 && (
        <span class="action-note is-done">
          <span aria-hidden="true">✓ </span>
          {t.doneAt(r.what, formatTimeZoned(r.at, state.timeZone))}
        </span>
      )}
      {r?.status === 'error' && (
        <span class="action-note is-error" role="alert" data-code={r.code}>
          <span aria-hidden="true">✕ </span>
          <strong>
            {r.code === 'PLANTA_NO_ANSWER' ? t.noAnswer(r.what) : t.refused(r.what)}
          </strong>{' '}
          {r.message} <span class="mono">[{r.code}]</span>
        </span>
      )}
    </span>
  );
}
