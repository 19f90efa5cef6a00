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
import { PRIORITY_MARK, PRIORITY_WORD, STATE_MARK, STATE_WORD, sinceOf } from './alarm-model.js';
import { useHmiState } from '../shared/context.js';
import { formatTimeZoned } from '../shared/format.js';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function AlarmBanner() {
  const state = useHmiState();
  const known = state.alarms.known.value;
  const s = state.alarms.summary.value;
  const pulse = state.sound.pulse.value;
  // The server cut off from the plant's bus has alarm states as last received too.
  const live = state.link.value.state === 'live' && state.bus.value.up;
  if (!known) {
    return (
      <a class="alarm-banner is-unknown" href="#/alarms" aria-label="Alarm states not received yet: open the alarm summary">
        <span class="alarm-icon" aria-hidden="true">
          ?
        </span>
        <strong class="alarm-count">Alarm states not received yet</strong>
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
  const counts = [`${s.activeAcked} active acknowledged`];
  if (s.unknown) counts.push(`${s.unknown} unknown (bad data)`);
  if (s.shelved) counts.push(`${s.shelved} shelved`);
  const label = [
    s.unacked ? `${plural(s.unacked, 'unacknowledged alarm')}, highest priority ${highest}` : 'No unacknowledged alarms',
    stillActive ? `${counts[0]}, highest priority ${stillActive}` : counts[0],
    ...counts.slice(1),
    top ? `first: ${top.message} (${STATE_WORD[top.state].toLowerCase()})` : '',
    live ? '' : 'as last received',
  ]
    .filter(Boolean)
    .join('; ');
  return (
    <a
      class={`alarm-banner ${highest ? `has-unacked prio-bg-${highest}` : ''} ${stillActive ? `has-acked prio-edge-${stillActive}` : ''} ${s.unknown ? 'has-unknown' : ''} ${live ? '' : 'is-stale'}`}
      href="#/alarms"
      aria-label={`${label}: open the alarm summary`}
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
          {s.unacked ? `${s.unacked} unacknowledged` : stillActive ? `${PRIORITY_WORD[stillActive]} still active` : 'No unacknowledged alarms'}
        </strong>
        {stillActive && <span class="alarm-highest"> · none to acknowledge</span>}
        {highest && (
          <span class="alarm-highest">
            {' '}
            · highest <strong>{PRIORITY_WORD[highest]}</strong>
          </span>
        )}
      </span>
      <span class="alarm-counts">
        {counts.map((c) => (
          <span key={c} class="alarm-more">
            {c}
          </span>
        ))}
        {!live && <span class="alarm-more">(as last received)</span>}
      </span>
      {top && (
        <span class={`alarm-top st-${top.state}`} data-alarm={top.id} data-state={top.state}>
          <span aria-hidden="true">{PRIORITY_MARK[top.priority]} </span>
          <strong>{top.message}</strong> — <span aria-hidden="true">{STATE_MARK[top.state]} </span>
          {STATE_WORD[top.state].toLowerCase()}
          {sinceOf(top) > 0 && ` since ${formatTimeZoned(sinceOf(top), state.timeZone)}`}
        </span>
      )}
      <span class="alarm-go" aria-hidden="true">
        ›
      </span>
    </a>
  );
}
