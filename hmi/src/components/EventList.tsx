/**
 * The live event list, newest first: alarms raised and cleared, event tags
 * switching, and the live link lost and restored, with date and time to the
 * second. It lists what this page has seen, nothing from before.
 */
import { useHmiState } from '../context.js';
import { formatDateTime, formatTimeZoned, zoneName } from '../format.js';
import type { JournalKind } from '../journal.js';
import { hrefTag } from '../router.js';

const WORD: Record<JournalKind, string> = { alarm: 'ALARM', cleared: 'CLEARED', on: 'ON', off: 'OFF', link: 'LINK' };
const ICON: Record<JournalKind, string> = { alarm: '▲', cleared: '△', on: '●', off: '○', link: '⇄' };

export function EventList({ limit = 50 }: { limit?: number }) {
  const state = useHmiState();
  const entries = state.journal.entries.value.slice(0, limit);
  const tz = state.timeZone;
  return (
    <div class="events">
      <p class="caption">
        Changes seen since {formatTimeZoned(state.startedAt, tz)} (when this page opened). Times in {zoneName(state.clock.value, tz)} ({tz}).
      </p>
      {entries.length === 0 ? (
        <p class="empty">No changes yet.</p>
      ) : (
        <ol class="event-list" aria-label="Events, newest first">
          {entries.map((e) => (
            <li key={e.seq} class={`event event-${e.kind}`} data-tag={e.tag}>
              <time class="event-time num" dateTime={new Date(e.ts).toISOString()}>
                {formatDateTime(e.ts, tz)}
              </time>
              <span class="event-word">
                <span aria-hidden="true">{ICON[e.kind]} </span>
                {WORD[e.kind]}
              </span>
              <span class="event-text">
                {e.tag ? <a href={hrefTag(e.tag)}>{e.text}</a> : e.text}
                {e.note && <span class="event-note"> ({e.note})</span>}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
