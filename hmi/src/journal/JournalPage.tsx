/**
 * The journal (#/journal): what the plant journalled — alarms, returns,
 * acknowledgements, shelving, service, phase events, operator commands,
 * device connections — for a period and a search, newest first, a page at a
 * time ("Load older"). While the period reaches now, new entries appear on
 * top as they happen.
 */
import { ReplayFromHere } from '../replay/ReplayBar.js';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { JournalEntry } from '../../../src/web/protocol.js';
import { PriorityBadge } from '../alarms/AlarmMarks.js';
import { entryView } from './EventList.js';
import { type Range, RangePicker, presetNow } from '../shared/RangePicker.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTime, formatDateTimeZoned, zoneName } from '../shared/format.js';
import { JournalBrowser, KIND_GROUPS } from './journal-model.js';
import { msg } from '../i18n/locale.js';

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
      <td class="col-source mono" translate={false}>
        {e.source}
      </td>
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
  const t = msg().journal;
  const period = msg().periods.fromTo(formatDateTimeZoned(range.from, tz), range.to === undefined ? msg().periods.now : formatDateTimeZoned(range.to, tz));

  return (
    <main class="page journal-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.journal}</h1>
      <p class="page-links">
        <a href="#/alarms">{msg().nav.alarms}</a> · <a href="#/alarm-rates">{msg().titles.alarmRates}</a>
      </p>
      <section class="panel filters" aria-label={t.periodAndSearch}>
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
            <span>{t.search}</span>
            <input type="search" value={search} placeholder={t.searchPlaceholder} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
          </label>
          <label class="filter">
            <span>{t.show}</span>
            <select value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
              {KIND_GROUPS.map((g) => (
                <option key={g.value} value={g.value}>
                  {t.groups[g.value] ?? g.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="cmd-button">
            {t.search}
          </button>
        </form>
      </section>

      <section class="panel" aria-labelledby="h-journal">
        <h2 id="h-journal">
          {status.status === 'loading' ? t.reading : t.entries(entries.length, browser.hasMore.value)}
        </h2>
        <p class="caption">
          {t.fromPeriod(period)} {msg().periods.timesIn(zoneName(state.clock.value, tz), tz)} {live ? t.liveNote : t.endedNote}
        </p>
        {status.status === 'error' && (
          <p class="action-note is-error" role="alert">
            {t.couldNotRead(status.message)}
          </p>
        )}
        {status.status === 'ready' && entries.length === 0 && <p class="empty">{t.nothingInPeriod(applied.trim())}</p>}
        {entries.length > 0 && (
          <table class="journal-table">
            <thead>
              <tr>
                <th scope="col">{t.time}</th>
                <th scope="col">{t.kindCol}</th>
                <th scope="col">{t.priority}</th>
                <th scope="col">{t.what}</th>
                <th scope="col">{t.by}</th>
                <th scope="col">{t.source}</th>
                <th scope="col">{msg().replay.column}</th>
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
              {older.status === 'loading' ? t.loadingOlder : t.loadOlder}
            </button>
          )}
          {!browser.hasMore.value && status.status === 'ready' && entries.length > 0 && <p class="caption">{t.startReached}</p>}
          {older.status === 'error' && (
            <p class="action-note is-error" role="alert">
              {t.olderFailed(older.message)}
            </p>
          )}
        </div>
      </section>
    </main>
  );
}
