/**
 * The journal (#/journal): what the plant journalled — alarms, returns,
 * acknowledgements, shelving, service, phase events, operator commands,
 * device connections — for a period and a search, newest first, a page at a
 * time ("Load older"). While the period reaches now, new entries appear on
 * top as they happen.
 */
import { ReplayFromHere } from '../replay/ReplayBar.js';
import { REPLAY_TEXT } from '../replay/replay-text.js';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { JournalEntry } from '../../../src/web/protocol.js';
import { PriorityBadge } from '../alarms/AlarmMarks.js';
import { entryView } from './EventList.js';
import { type Range, RangePicker, presetNow } from '../shared/RangePicker.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTime, formatDateTimeZoned, zoneName } from '../shared/format.js';
import { JournalBrowser, KIND_GROUPS } from './journal-model.js';

function Row({ e }: { e: JournalEntry }) {
  const state = useHmiState();
  const v = entryView(state, e);
  return (
    <tr class={`journal-row kind-${e.kind} ${v.bad ? 'is-bad' : ''}`} data-kind={e.kind} data-seq={e.seq} data-status={v.status}>
      <td class="col-time num">
        <time dateTime={new Date(e.ts).toISOString()}>{formatDateTime(e.ts, state.timeZone)}</time>
      </td>
      <td class="col-kind">
        <span class="event-word">
          <span aria-hidden="true">{v.mark} </span>
          {v.word}
        </span>
      </td>
      <td class="col-prio">{e.priority ? <PriorityBadge priority={e.priority} tone={e.kind === 'alarm' ? 'outline' : 'grey'} /> : <span class="faint">—</span>}</td>
      <td class="col-what">{v.text}</td>
      <td class="col-user">{e.user ?? <span class="faint">—</span>}</td>
      <td class="col-source mono">{e.source}</td>
      <td class="col-replay">
        <ReplayFromHere ts={e.ts} />
      </td>
    </tr>
  );
}

export function JournalPage() {
  const state = useHmiState();
  const tz = state.timeZone;
  const browser = useMemo(() => new JournalBrowser({ fetch: (q) => state.alarmApi.journal(q) }), [state]);
  const [range, setRange] = useState<Range>(() => presetNow('day', Date.now()));
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [group, setGroup] = useState('all');

  // The search is applied when typing pauses (or at once with Enter).
  useEffect(() => {
    const timer = setTimeout(() => setApplied(search), 400);
    return () => clearTimeout(timer);
  }, [search]);

  useEffect(() => {
    const kinds = KIND_GROUPS.find((g) => g.value === group)?.kinds ?? [];
    void browser.load({ from: range.from, ...(range.to !== undefined ? { to: range.to } : {}), q: applied, kinds });
  }, [browser, range, applied, group]);

  useEffect(() => state.journal.onEntries((entries) => browser.live(entries)), [state, browser]);

  const entries = browser.entries.value;
  const status = browser.status.value;
  const older = browser.older.value;
  const live = range.to === undefined;
  const period = `${formatDateTimeZoned(range.from, tz)} to ${range.to === undefined ? 'now' : formatDateTimeZoned(range.to, tz)}`;

  return (
    <main class="page journal-page" aria-labelledby="page-title">
      <h1 id="page-title">Journal</h1>
      <p class="page-links">
        <a href="#/alarms">Alarms</a> · <a href="#/alarm-rates">Alarm rates</a>
      </p>
      <section class="panel filters" aria-label="Period and search">
        <RangePicker idPrefix="journal" value={range} onChange={setRange} />
        <form
          class="journal-search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(search);
          }}
        >
          <label class="filter filter-text">
            <span>Search</span>
            <input type="search" value={search} placeholder="words in the text or source" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
          </label>
          <label class="filter">
            <span>Show</span>
            <select value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
              {KIND_GROUPS.map((g) => (
                <option key={g.value} value={g.value}>
                  {g.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="cmd-button">
            Search
          </button>
        </form>
      </section>

      <section class="panel" aria-labelledby="h-journal">
        <h2 id="h-journal">
          {status.status === 'loading' ? 'Reading the journal…' : `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${browser.hasMore.value ? ' (more below)' : ''}`}
        </h2>
        <p class="caption">
          From {period}, newest first. Times in {zoneName(state.clock.value, tz)} ({tz}).{' '}
          {live ? 'New entries appear on top as they happen.' : 'This period has ended: no new entries appear.'}
        </p>
        {status.status === 'error' && (
          <p class="action-note is-error" role="alert">
            The journal could not be read: {status.message}
          </p>
        )}
        {status.status === 'ready' && entries.length === 0 && <p class="empty">Nothing journalled in this period{applied.trim() ? ` matching “${applied.trim()}”` : ''}.</p>}
        {entries.length > 0 && (
          <table class="journal-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Priority</th>
                <th scope="col">What</th>
                <th scope="col">By</th>
                <th scope="col">Source</th>
                <th scope="col">{REPLAY_TEXT.column}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <Row key={e.seq} e={e} />
              ))}
            </tbody>
          </table>
        )}
        <div class="journal-more">
          {browser.hasMore.value && status.status === 'ready' && (
            <button type="button" class="cmd-button" disabled={older.status === 'loading'} onClick={() => void browser.loadOlder()}>
              {older.status === 'loading' ? 'Loading older entries…' : 'Load older'}
            </button>
          )}
          {!browser.hasMore.value && status.status === 'ready' && entries.length > 0 && <p class="caption">Start of the period reached.</p>}
          {older.status === 'error' && (
            <p class="action-note is-error" role="alert">
              Older entries could not be read: {older.message}
            </p>
          )}
        </div>
      </section>
    </main>
  );
}
