/**
 * The live event list, newest first: alarms raised and cleared, event tags
 * switching, operator commands (who, what, values, outcome) and the live
 * link lost and restored, with date and time to the second. It lists what
 * this page has seen, nothing from before.
 */
import { STATUS_ICON, STATUS_WORD } from '../command-model.js';
import { useHmiState } from '../context.js';
import { formatDateTime, formatTimeZoned, zoneName } from '../format.js';
import type { JournalEntry, JournalKind } from '../journal.js';
import { hrefTag } from '../router.js';

const WORD: Record<JournalKind, string> = { alarm: 'ALARM', cleared: 'CLEARED', on: 'ON', off: 'OFF', link: 'LINK', command: 'COMMAND' };
const ICON: Record<JournalKind, string> = { alarm: '▲', cleared: '△', on: '●', off: '○', link: '⇄', command: '→' };

const word = (e: JournalEntry): string => (e.command ? STATUS_WORD[e.command.status] : WORD[e.kind]);
const icon = (e: JournalEntry): string => (e.command ? STATUS_ICON[e.command.status] : ICON[e.kind]);
const bad = (e: JournalEntry): boolean => Boolean(e.command && e.command.status !== 'queued' && e.command.status !== 'confirmed');

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
            <li key={e.seq} class={`event event-${e.kind} ${bad(e) ? 'is-bad' : ''}`} data-tag={e.tag} data-command-id={e.command?.id} data-status={e.command?.status}>
              <time class="event-time num" dateTime={new Date(e.ts).toISOString()}>
                {formatDateTime(e.ts, tz)}
              </time>
              <span class="event-word">
                <span aria-hidden="true">{icon(e)} </span>
                {word(e)}
              </span>
              <span class="event-text">
                {e.command && <span class="visually-hidden">Command </span>}
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
