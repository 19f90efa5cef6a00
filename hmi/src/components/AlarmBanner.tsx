/**
 * The alarm banner, on every page: how many alarms are active and the
 * newest, one tap from the alarm list. (Acknowledgement and priorities come
 * with the alarm configuration; until then these are "active alarms".)
 */
import { useHmiState } from '../context.js';
import { formatTimeZoned } from '../format.js';

export function AlarmBanner() {
  const state = useHmiState();
  const active = [...state.journal.alarmSince.value.entries()].sort((a, b) => b[1] - a[1]);
  const count = active.length;
  const newest = active[0];
  const text = count === 0 ? 'No active alarms' : `${count} active alarm${count === 1 ? '' : 's'}`;
  return (
    <a class={`alarm-banner ${count > 0 ? 'has-alarms' : ''}`} href="#/alarms" aria-label={`${text}: open the alarm list`}>
      <span class="alarm-icon" aria-hidden="true">
        {count > 0 ? '▲' : '✓'}
      </span>
      <strong class="alarm-count">{text}</strong>
      {newest && (
        <span class="alarm-newest">
          {' '}
          — newest: {state.tags.get(newest[0])?.description || newest[0]} at {formatTimeZoned(newest[1], state.timeZone)}
        </span>
      )}
      <span class="alarm-go" aria-hidden="true">
        ›
      </span>
    </a>
  );
}
