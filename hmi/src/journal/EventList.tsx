/**
 * The overview's event list, newest first: the plant's journal (alarms and
 * their returns, acknowledgements, shelving, phase events, operator
 * commands with their outcome, device connections), the same in every
 * browser, plus this browser's own live-link losses. Date and time to the
 * second, in the plant's zone.
 */
import type { JournalEntry } from '../../../src/web/protocol.js';
import { commandWords, tagNames } from '../commands/command-view.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTime, zoneName } from '../shared/format.js';
import type { EventItem } from './journal.js';
import { type EntryView, viewEntry } from './journal-model.js';
import type { HmiState } from '../live/state.js';
import { PriorityBadge } from '../alarms/AlarmMarks.js';
import { msg } from '../i18n/locale.js';
import { entryText } from '../i18n/plant-texts.js';

export function entryView(state: HmiState, e: JournalEntry): EntryView {
  const o = { command: e.kind === 'command' ? state.commands.definition(e.source) : undefined, words: commandWords(state), tagNames: tagNames(state) };
  const v = viewEntry(e, o);
  // Said again in the user's language; what it means (bad or not) is read from the server's own words.
  const text = entryText(e, (id) => state.alarms.get(id)?.message);
  return text === e.text || e.kind === 'command' ? v : { ...v, text: viewEntry({ ...e, text }, o).text };
}

function Item({ item }: { item: EventItem }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const time = (
    <time class="event-time num" dateTime={new Date(item.ts).toISOString()}>
      {formatDateTime(item.ts, tz)}
    </time>
  );
  if (item.source === 'browser') {
    return (
      <li class="event event-link" data-kind="link">
        {time}
        <span class="event-word">
          <span aria-hidden="true">⇄ </span>
          {msg().journal.link}
        </span>
        <span class="event-text">
          {item.text} <span class="event-note">{msg().journal.browserOnly}</span>
        </span>
      </li>
    );
  }
  const e = item.entry;
  const v = entryView(state, e);
  return (
    <li class={`event event-${e.kind} ${v.bad ? 'is-bad' : ''}`} data-kind={e.kind} data-seq={e.seq} data-status={v.status} data-source={e.source}>
      {time}
      <span class="event-word">
        <span aria-hidden="true">{v.mark} </span>
        {v.word}
      </span>
      <span class="event-text">
        {e.priority && <PriorityBadge priority={e.priority} tone={e.kind === 'alarm' ? 'outline' : 'grey'} />} {v.text}
        {e.user && <span class="event-user">{msg().journal.byUser(e.user)}</span>}
      </span>
    </li>
  );
}

export function EventList({ limit = 50 }: { limit?: number }) {
  const state = useHmiState();
  const items = state.journal.items.value.slice(0, limit);
  const load = state.journal.load.value;
  const tz = state.timeZone;
  const t = msg().journal;
  return (
    <div class="events">
      <p class="caption">
        {t.fromJournal}
        <a href="#/journal">{t.wholeJournal}</a>). {msg().periods.timesIn(zoneName(state.clock.value, tz), tz)}
      </p>
      {load.status === 'error' && (
        <p class="action-note is-error" role="alert">
          {t.couldNotReadLive(load.message)}
        </p>
      )}
      {items.length === 0 ? (
        <p class="empty">{load.status === 'loading' ? t.reading : t.nothing}</p>
      ) : (
        <ol class="event-list" aria-label={t.newestFirst}>
          {items.map((i) => (
            <Item key={i.key} item={i} />
          ))}
        </ol>
      )}
    </div>
  );
}
