/** The active alarms of a dashboard, newest first, each with the time it became active. */
import { useHmiState } from '../context.js';
import { formatDateTimeZoned } from '../format.js';
import { hrefTag } from '../router.js';
import { viewTag } from '../tag-view.js';
import { QualityMark } from './QualityMark.js';

export function AlarmList({ tags }: { tags: readonly string[] }) {
  const state = useHmiState();
  const since = state.journal.alarmSince.value;
  const active = tags.filter((t) => since.has(t)).sort((a, b) => since.get(b)! - since.get(a)!);
  if (active.length === 0) {
    return (
      <p class="empty" data-testid="no-alarms">
        <span aria-hidden="true">✓ </span>No active alarms.
      </p>
    );
  }
  return (
    <ul class="alarms" aria-label="Active alarms, newest first">
      {active.map((name) => {
        const v = viewTag(state, name);
        return (
          <li class={`alarm-item ${v.good ? '' : 'q-unsure'}`} key={name} data-tag={name}>
            <span class="alarm-badge">
              <span aria-hidden="true">▲ </span>ALARM
            </span>
            <a class="alarm-text" href={hrefTag(name)}>
              {v.info?.description || name}
            </a>
            <span class="alarm-time num">since {formatDateTimeZoned(since.get(name)!, state.timeZone)}</span>
            <QualityMark quality={v.quality} reason={`alarm state unsure: ${v.reason}`} />
          </li>
        );
      })}
    </ul>
  );
}
