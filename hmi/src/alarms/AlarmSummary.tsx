/**
 * The alarm summary (#/alarms): every alarm that is not normal (or all of
 * them), with its priority, message, state in words, since when (to the
 * second, plant time zone named), and who acknowledged, shelved or took it
 * out of service and why. Filters by state, priority and text; sorts by
 * priority, time or state. Select and acknowledge (with an optional
 * comment), acknowledge all visible, shelve with a reason and a duration,
 * unshelve, out of service and back (engineers: the server decides). The
 * server's refusals are shown next to what was clicked.
 */
import { useState } from 'preact/hooks';
import type { AlarmPriority, AlarmState } from '../../../src/web/protocol.js';
import {
  type AlarmSort,
  type StateFilter,
  PRIORITIES,
  SORTS,
  STATE_FILTERS,
  canAck,
  filterAlarms,
  sinceOf,
  sortAlarms,
} from './alarm-model.js';
import { ActionNote, BlockedActions, PriorityBadge, StateWords, WhoWhy, actionsBlocked, priorityTone, serviceRefusal, signInRefusal } from './AlarmMarks.js';
import { sourceHref } from './AlarmList.js';
import { ReasonDialog, type ReasonRequest } from './ReasonDialog.js';
import { SoundNote } from './SoundToggle.js';
import { useHmiState } from '../shared/context.js';
import { formatAge, formatDateTimeZoned, zoneName } from '../shared/format.js';
import { roleRefusal, session } from '../session/session.js';
import { NeedsRole } from '../session/NeedsRole.js';
import { msg } from '../i18n/locale.js';

function Counts() {
  const state = useHmiState();
  const s = state.alarms.summary.value;
  const t = msg().summary;
  const items: { key: string; text: string; n: number }[] = [
    { key: 'unacked', text: t.unacknowledged, n: s.unacked },
    { key: 'acked', text: t.activeAcknowledged, n: s.activeAcked },
    { key: 'unknown', text: t.unknown, n: s.unknown },
    { key: 'shelved', text: t.shelved, n: s.shelved },
    { key: 'oos', text: t.outOfService, n: s.outOfService },
  ];
  return (
    <ul class="alarm-counts-list" aria-label={t.counts}>
      {items.map((i) => (
        <li key={i.key} class={`count-item ${i.n > 0 ? 'has-some' : ''}`} data-count={i.key}>
          <span>
            <strong class="num">{i.n}</strong> {i.text}
            {i.key === 'unacked' && s.highest && (
              <>
                {t.highest}
                <PriorityBadge priority={s.highest} />
              </>
            )}
          </span>
        </li>
      ))}
    </ul>
  );
}

function Row({ a, selected, comment, onSelect, onAsk }: { a: AlarmState; selected: boolean; comment: string | undefined; onSelect(on: boolean): void; onAsk(r: ReasonRequest): void }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const now = state.clock.value;
  const where = `summary:${a.id}`;
  const signIn = signInRefusal();
  const blocked = actionsBlocked(state) ?? signIn;
  // While pending, without live data, or not signed in: nothing to click (the reason is said above the list).
  const off = state.alarms.actions.value.get(where)?.status === 'pending' || Boolean(blocked);
  const hint = blocked ?? undefined;
  const service = serviceRefusal();
  const since = sinceOf(a);
  const ackable = canAck(a);
  // The plant's rule for this priority: below its role, shelving is not offered (the server refuses it anyway).
  const t = msg().summary;
  const ta = msg().alarms;
  const mayNotShelve = roleRefusal(session.value, state.plant.shelving[a.priority].role, ta.shelveAction(msg().priority.name[a.priority].toLowerCase()));
  return (
    <tr class={`alarm-row st-${a.state} ${selected ? 'is-selected' : ''}`} data-alarm={a.id} data-state={a.state}>
      <td class="col-select">
        {ackable ? (
          <label class="select-box">
            <input type="checkbox" checked={selected} onChange={(e) => onSelect((e.target as HTMLInputElement).checked)} />
            <span class="visually-hidden">{t.select(a.message)}</span>
          </label>
        ) : (
          <span class="faint" aria-hidden="true">
            –
          </span>
        )}
      </td>
      <td class="col-prio">
        <PriorityBadge priority={a.priority} tone={priorityTone(a)} />
      </td>
      <td class="col-alarm">
        <a href={sourceHref(state, a)} class="alarm-msg">
          {a.message}
        </a>
        <span class="alarm-id mono">{a.id}</span>
      </td>
      <td class="col-state">
        <StateWords a={a} />
        <WhoWhy a={a} />
      </td>
      <td class="col-since num">
        {since ? (
          <>
            <time dateTime={new Date(since).toISOString()}>{formatDateTimeZoned(since, tz)}</time>
            <span class="since-age">{t.ago(formatAge(since, now))}</span>
          </>
        ) : (
          '—'
        )}
      </td>
      <td class="col-actions">
        <span class="row-actions">
          {ackable && (
            <button type="button" class="cmd-button" disabled={off} title={hint} aria-label={ta.acknowledgeWhat(a.message)} onClick={() => void state.alarms.acknowledge(where, [a.id], comment)}>
              {ta.acknowledge}
              {signIn && <NeedsRole role="sign in" />}
            </button>
          )}
          {a.state === 'shelved' ? (
            <button type="button" class="cmd-button" disabled={off} title={hint} aria-label={t.unshelveWhat(a.message)} onClick={() => void state.alarms.unshelve(where, a.id)}>
              {t.unshelve}
              {signIn && <NeedsRole role="sign in" />}
            </button>
          ) : (
            a.state !== 'out-of-service' && (
              <button
                type="button"
                class="cmd-button"
                disabled={Boolean(blocked) || mayNotShelve !== null}
                title={hint ?? mayNotShelve ?? undefined}
                aria-label={t.shelveWhat(a.message)}
                onClick={() => onAsk({ kind: 'shelve', alarm: a })}
              >
                {t.shelve}
                {mayNotShelve && <NeedsRole role={state.plant.shelving[a.priority].role} />}
              </button>
            )
          )}
          {a.state === 'out-of-service' ? (
            <button type="button" class="cmd-button" disabled={off || service !== null} title={hint ?? service ?? undefined} aria-label={t.inServiceWhat(a.message)} onClick={() => void state.alarms.inService(where, a.id)}>
              {t.inService}
              {service && <NeedsRole role="engineer" />}
            </button>
          ) : (
            <button type="button" class="cmd-button" disabled={Boolean(blocked) || service !== null} title={hint ?? service ?? undefined} aria-label={t.outOfServiceWhat(a.message)} onClick={() => onAsk({ kind: 'out-of-service', alarm: a })}>
              {t.outOfServiceButton}
              {service && <NeedsRole role="engineer" />}
            </button>
          )}
        </span>
        <ActionNote where={[where, `${where}:shelve`, `${where}:out-of-service`]} />
      </td>
    </tr>
  );
}

/** `focus`: an alarm id (#/alarms/<id>, a notification's link): the summary opens showing that alarm, whatever its state. */
export function AlarmSummary({ focus }: { focus?: string } = {}) {
  const state = useHmiState();
  const [stateFilter, setStateFilter] = useState<StateFilter>(focus ? 'all' : 'not-normal');
  const [priority, setPriority] = useState<AlarmPriority | 'all'>('all');
  const [text, setText] = useState(focus ?? '');
  const [sort, setSort] = useState<AlarmSort>('priority');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [comment, setComment] = useState('');
  const [ask, setAsk] = useState<ReasonRequest | null>(null);
  /** The comment typed for acknowledgements on this page. */
  const ackComment = comment.trim() || undefined;
  const tz = state.timeZone;
  const t = msg().summary;

  if (!state.alarms.known.value) {
    return (
      <main class="page alarms-page" aria-labelledby="page-title">
        <h1 id="page-title">{msg().titles.alarms}</h1>
        <p class="empty">{msg().alarms.notReceivedWaiting}</p>
      </main>
    );
  }

  const all = state.alarms.list.value;
  const visible = sortAlarms(filterAlarms(all, { state: stateFilter, priority, text }), sort);
  const visibleAckable = visible.filter(canAck);
  const suppressed = all.filter((a) => a.state === 'suppressed').length;
  const blocked = actionsBlocked(state) ?? signInRefusal();
  // A selection counts only alarms that can still be acknowledged (another operator may have done it meanwhile).
  const chosen = all.filter((a) => selected.has(a.id) && canAck(a));
  const select = (id: string, on: boolean): void => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const ackSelected = async (): Promise<void> => {
    if (await state.alarms.acknowledge('summary:ack-selected', chosen.map((a) => a.id), ackComment)) {
      setSelected(new Set());
      setComment('');
    }
  };
  const ackVisible = async (): Promise<void> => {
    if (await state.alarms.acknowledge('summary:ack-visible', visibleAckable.map((a) => a.id), ackComment)) {
      setSelected(new Set());
      setComment('');
    }
  };
  const allChosen = visibleAckable.length > 0 && visibleAckable.every((a) => selected.has(a.id));
  const filterWord = t.filters[stateFilter];

  return (
    <main class="page alarms-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.alarms}</h1>
      <p class="page-links">
        <a href="#/journal">{msg().nav.journal}</a> · <a href="#/alarm-rates">{t.links}</a>
      </p>
      <section class="panel" aria-label={t.summary}>
        <Counts />
        <SoundNote />
      </section>

      <section class="panel filters" aria-label={t.filtersAndSort}>
        <label class="filter">
          <span>{t.state}</span>
          <select value={stateFilter} onChange={(e) => setStateFilter((e.target as HTMLSelectElement).value as StateFilter)}>
            {STATE_FILTERS.map((f) => (
              <option key={f} value={f}>
                {t.filters[f]}
              </option>
            ))}
          </select>
        </label>
        <label class="filter">
          <span>{t.priority}</span>
          <select value={priority} onChange={(e) => setPriority((e.target as HTMLSelectElement).value as AlarmPriority | 'all')}>
            <option value="all">{t.allPriorities}</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {msg().priority.name[p]}
              </option>
            ))}
          </select>
        </label>
        <label class="filter filter-text">
          <span>{t.text}</span>
          <input type="search" value={text} placeholder={t.textPlaceholder} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label class="filter">
          <span>{t.sortBy}</span>
          <select value={sort} onChange={(e) => setSort((e.target as HTMLSelectElement).value as AlarmSort)}>
            {SORTS.map((s) => (
              <option key={s} value={s}>
                {t.sorts[s]}
              </option>
            ))}
          </select>
        </label>
      </section>

      <section class="panel" aria-labelledby="h-alarm-list">
        <h2 id="h-alarm-list">
          {t.heading(visible.length, all.length, filterWord)}
          {priority !== 'all' ? t.headingPriority(msg().priority.name[priority]) : ''}
          {text.trim() ? t.headingText(text.trim()) : ''}
        </h2>
        {stateFilter === 'not-normal' && suppressed > 0 && (
          <p class="caption">
            {t.suppressedLeftOut(suppressed)}
          </p>
        )}
        <BlockedActions id="summary-blocked" roles={[signInRefusal() ?? serviceRefusal()]} />
        <div class="ack-bar" role="group" aria-label={t.acknowledgeGroup}>
          <label class="filter ack-comment">
            <span>{t.comment}</span>
            <input type="text" maxLength={500} value={comment} placeholder={t.commentPlaceholder} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
          </label>
          <span class="ack-buttons">
            <button type="button" class="cmd-button" disabled={chosen.length === 0 || Boolean(blocked)} onClick={() => void ackSelected()}>
              {t.ackSelected(chosen.length)}
            </button>
            <button type="button" class="cmd-button" disabled={visibleAckable.length === 0 || Boolean(blocked)} onClick={() => void ackVisible()}>
              {t.ackVisible(visibleAckable.length)}
            </button>
          </span>
          <ActionNote where="summary:ack-selected" />
          <ActionNote where="summary:ack-visible" />
          <p class="caption ack-note">{t.ackNote}</p>
        </div>
        {visible.length === 0 ? (
          <p class="empty" data-testid="no-alarms">
            <span aria-hidden="true">✓ </span>
            {t.noneMatches(stateFilter === 'all', filterWord, priority !== 'all' || Boolean(text.trim()))}
          </p>
        ) : (
          <table class="alarm-table">
            <caption class="caption">
              {t.sortedBy(t.sorts[sort], zoneName(state.clock.value, tz), tz)}
            </caption>
            <thead>
              <tr>
                <th scope="col" class="col-select">
                  {visibleAckable.length > 0 ? (
                    <label class="select-box">
                      <input
                        type="checkbox"
                        checked={allChosen}
                        onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(visibleAckable.map((a) => a.id)) : new Set())}
                      />
                      <span class="visually-hidden">{t.selectAll}</span>
                    </label>
                  ) : (
                    <span class="visually-hidden">{t.selectCol}</span>
                  )}
                </th>
                <th scope="col">{t.colPriority}</th>
                <th scope="col">{t.colAlarm}</th>
                <th scope="col">{t.colState}</th>
                <th scope="col">{t.colSince}</th>
                <th scope="col">{t.colActions}</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((a) => (
                <Row key={a.id} a={a} selected={selected.has(a.id)} comment={ackComment} onSelect={(on) => select(a.id, on)} onAsk={setAsk} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ReasonDialog request={ask} onClose={() => setAsk(null)} />
    </main>
  );
}
