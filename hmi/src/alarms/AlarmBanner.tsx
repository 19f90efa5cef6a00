/**
 * The alarm banner, on every page: how many alarms wait for an
 * acknowledgement and the highest priority among them (shape and word, the
 * banner's colour only as a second sign), how many are active and
 * acknowledged, how many are unknown, and the first alarm of the list (by
 * priority, unacknowledged first). An acknowledged alarm that is still
 * active (an e-stop still pressed) keeps the banner in its priority's edge
 * and names it until it clears; one tap to the alarm summary. The
 * count pulses briefly when a new alarm arrives and stops once the alarms
 * are acknowledged.
 */
import { PRIORITY_MARK, STATE_MARK, priorityWord, sinceOf, stateWord } from './alarm-model.js';
import { msg } from '../i18n/locale.js';
import { useHmiState } from '../shared/context.js';
import { formatTimeZoned } from '../shared/format.js';

export function AlarmBanner() {
  const state = useHmiState();
  const known = state.alarms.known.value;
  const s = state.alarms.summary.value;
  const pulse = state.sound.pulse.value;
  // The server cut off from the plant's bus has alarm states as last received too.
  const live = state.link.value.state === 'live' && state.bus.value.up;
  const t = msg().alarms;
  if (!known) {
    return (
      <a class="alarm-banner is-unknown" href="#/alarms" aria-label={t.notReceivedOpen}>
        <span class="alarm-icon" aria-hidden="true">
          ?
        </span>
        <strong class="alarm-count">{t.notReceived}</strong>
        <span class="alarm-go" aria-hidden="true">
          ›
        </span>
      </a>
    );
  }
  const highest = s.highest;
  const top = s.top;
  // Nothing to acknowledge, but something still abnormal: drawn in its priority's edge, not as normal.
  const stillActive = highest ? null : s.ackedHighest;
  const counts = [t.activeAcked(s.activeAcked)];
  if (s.unknown) counts.push(t.unknownBad(s.unknown));
  if (s.shelved) counts.push(t.shelvedN(s.shelved));
  const label = [
    s.unacked && highest ? t.unackedAlarms(s.unacked, priorityWord(highest).toLowerCase()) : t.noUnacked,
    stillActive ? t.withHighest(counts[0]!, priorityWord(stillActive).toLowerCase()) : counts[0],
    ...counts.slice(1),
    top ? t.first(top.message, stateWord(top.state).toLowerCase()) : '',
    live ? '' : t.asLastReceived,
  ]
    .filter(Boolean)
    .join('; ');
  return (
    <a
      class={`alarm-banner ${highest ? `has-unacked prio-bg-${highest}` : ''} ${stillActive ? `has-acked prio-edge-${stillActive}` : ''} ${s.unknown ? 'has-unknown' : ''} ${live ? '' : 'is-stale'}`}
      href="#/alarms"
      aria-label={t.openSummary(label)}
      data-unacked={s.unacked}
      data-highest={highest ?? ''}
      data-acked-highest={stillActive ?? ''}
    >
      <span class="alarm-icon" aria-hidden="true">
        {highest ? PRIORITY_MARK[highest] : stillActive ? PRIORITY_MARK[stillActive] : '✓'}
      </span>
      <span class="alarm-main">
        {/* Remounted for each new alarm, so the pulse starts again; no pulse once nothing is unacknowledged. */}
        <strong key={pulse} class={`alarm-count ${pulse > 0 && s.unacked > 0 ? 'is-pulsing' : ''}`}>
          {s.unacked ? t.unackedCount(s.unacked) : stillActive ? t.stillActive(priorityWord(stillActive)) : t.noUnacked}
        </strong>
        {stillActive && <span class="alarm-highest">{t.noneToAck}</span>}
        {highest && (
          <span class="alarm-highest">
            {t.highest}
            <strong>{priorityWord(highest)}</strong>
          </span>
        )}
      </span>
      <span class="alarm-counts">
        {counts.map((c) => (
          <span key={c} class="alarm-more">
            {c}
          </span>
        ))}
        {!live && <span class="alarm-more">{t.asLastReceivedParen}</span>}
      </span>
      {top && (
        <span class={`alarm-top st-${top.state}`} data-alarm={top.id} data-state={top.state}>
          <span aria-hidden="true">{PRIORITY_MARK[top.priority]} </span>
          <strong>{top.message}</strong> — <span aria-hidden="true">{STATE_MARK[top.state]} </span>
          {stateWord(top.state).toLowerCase()}
          {sinceOf(top) > 0 && t.since(formatTimeZoned(sinceOf(top), state.timeZone))}
        </span>
      )}
      <span class="alarm-go" aria-hidden="true">
        ›
      </span>
    </a>
  );
}
