/**
 * The overview's active alarms as the alarm engine states them: active or
 * waiting for an acknowledgement (acknowledged ones stay until they clear),
 * and unknown (bad source data) — by priority, then unacknowledged first,
 * then newest — each with its priority, state, time and an Acknowledge button.
 */
import type { AlarmState } from '../../../src/web/protocol.js';
import { canAck, overviewAlarms, sinceOf } from './alarm-model.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTimeZoned } from '../shared/format.js';
import { hrefTag } from '../shared/router.js';
import { ActionNote, BlockedActions, PriorityBadge, StateWords, actionsBlocked, priorityTone, signInRefusal } from './AlarmMarks.js';
import { NeedsRole } from '../session/NeedsRole.js';
import { msg } from '../i18n/locale.js';

/** Where an alarm's source is shown: its tag's faceplate, or the devices page for a communication alarm. */
export function sourceHref(state: ReturnType<typeof useHmiState>, a: AlarmState): string {
  if (state.tags.has(a.source)) return hrefTag(a.source);
  if (state.devices.value.some((d) => d.name === a.source)) return '#/devices';
  return '#/alarms';
}

function Item({ a }: { a: AlarmState }) {
  const state = useHmiState();
  const where = `overview:${a.id}`;
  const pending = state.alarms.actions.value.get(where)?.status === 'pending';
  const blocked = actionsBlocked(state) ?? signInRefusal();
  const t = msg().alarms;
  return (
    <li class={`alarm-item st-${a.state}`} data-alarm={a.id} data-state={a.state}>
      <PriorityBadge priority={a.priority} tone={priorityTone(a)} />
      <a class="alarm-text" href={sourceHref(state, a)}>
        {a.message}
      </a>
      <span class="alarm-meta">
        <StateWords a={a} />
        {sinceOf(a) > 0 && <span class="alarm-time num">{t.sinceTime(formatDateTimeZoned(sinceOf(a), state.timeZone))}</span>}
      </span>
      {canAck(a) && (
        <span class="alarm-actions">
          <button
            type="button"
            class="cmd-button alarm-ack"
            disabled={pending || Boolean(blocked)}
            title={blocked ?? undefined}
            aria-label={t.acknowledgeWhat(a.message)}
            aria-describedby="overview-alarms-blocked"
            onClick={() => void state.alarms.acknowledge(where, [a.id])}
          >
            {t.acknowledge}
            {signInRefusal() && <NeedsRole role="sign in" />}
          </button>
          <ActionNote where={where} />
        </span>
      )}
      {!canAck(a) && <ActionNote where={where} />}
    </li>
  );
}

export function AlarmList() {
  const state = useHmiState();
  if (!state.alarms.known.value) {
    return <p class="empty">{msg().alarms.notReceivedDot}</p>;
  }
  const list = overviewAlarms(state.alarms.list.value);
  if (list.length === 0) {
    return (
      <p class="empty" data-testid="no-alarms">
        <span aria-hidden="true">✓ </span>
        {msg().alarms.noActive}
      </p>
    );
  }
  return (
    <>
      <BlockedActions id="overview-alarms-blocked" roles={[signInRefusal()]} />
      <ul class="alarms" aria-label={msg().alarms.activeByPriority}>
        {list.map((a) => (
          <Item key={a.id} a={a} />
        ))}
      </ul>
    </>
  );
}
