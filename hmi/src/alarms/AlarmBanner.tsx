/**
 * The alarm banner, on every page: how many alarms wait for an
 * acknowledgement and the highest priority among them (shape and word, the
 * banner's colour only as a second sign), how many are active and
 * acknowledged, how many are unknown; one tap to the alarm summary. The
 * count pulses briefly when a new alarm arrives and stops once the alarms
 * are acknowledged.
 */
import { PRIORITY_MARK, PRIORITY_WORD } from './alarm-model.js';
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
  const counts = [`${s.activeAcked} active acknowledged`];
  if (s.unknown) counts.push(`${s.unknown} unknown (bad data)`);
  if (s.shelved) counts.push(`${s.shelved} shelved`);
  const label = [
    s.unacked ? `${plural(s.unacked, 'unacknowledged alarm')}, highest priority ${highest}` : 'No unacknowledged alarms',
    ...counts,
    live ? '' : 'as last received',
  ]
    .filter(Boolean)
    .join('; ');
  const newest = s.newest;
  return (
    <a
      class={`alarm-banner ${highest ? `has-unacked prio-bg-${highest}` : ''} ${s.unknown ? 'has-unknown' : ''} ${live ? '' : 'is-stale'}`}
      href="#/alarms"
      aria-label={`${label}: open the alarm summary`}
      data-unacked={s.unacked}
      data-highest={highest ?? ''}
    >
      <span class="alarm-icon" aria-hidden="true">
        {highest ? PRIORITY_MARK[highest] : '✓'}
      </span>
      <span class="alarm-main">
        {/* Remounted for each new alarm, so the pulse starts again; no pulse once nothing is unacknowledged. */}
        <strong key={pulse} class={`alarm-count ${pulse > 0 && s.unacked > 0 ? 'is-pulsing' : ''}`}>
          {s.unacked ? `${s.unacked} unacknowledged` : 'No unacknowledged alarms'}
        </strong>
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
      {newest && (
        <span class="alarm-newest">
          newest: {newest.message} at {formatTimeZoned(newest.activeSince ?? newest.changedAt, state.timeZone)}
        </span>
      )}
      <span class="alarm-go" aria-hidden="true">
        ›
      </span>
    </a>
  );
}
