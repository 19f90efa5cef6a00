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
  PRIORITY_WORD,
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

function Counts() {
  const state = useHmiState();
  const s = state.alarms.summary.value;
  const items: { key: string; text: string; n: number }[] = [
    { key: 'unacked', text: 'unacknowledged', n: s.unacked },
    { key: 'acked', text: 'active acknowledged', n: s.activeAcked },
    { key: 'unknown', text: 'unknown (bad data)', n: s.unknown },
    { key: 'shelved', text: 'shelved', n: s.shelved },
    { key: 'oos', text: 'out of service', n: s.outOfService },
  ];
  return (
    <ul class="alarm-counts-list" aria-label="Alarm counts">
      {items.map((i) => (
        <li key={i.key} class={`count-item ${i.n > 0 ? 'has-some' : ''}`} data-count={i.key}>
          <span>
            <strong class="num">{i.n}</strong> {i.text}
            {i.key === 'unacked' && s.highest && (
              <>
                , highest <PriorityBadge priority={s.highest} />
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
  const mayNotShelve = roleRefusal(session.value, state.plant.shelving[a.priority].role, `shelve a ${a.priority} alarm`);
  return (
    <tr class={`alarm-row st-${a.state} ${selected ? 'is-selected' : ''}`} data-alarm={a.id} data-state={a.state}>
      <td class="col-select">
        {ackable ? (
          <label class="select-box">
            <input type="checkbox" checked={selected} onChange={(e) => onSelect((e.target as HTMLInputElement).checked)} />
            <span class="visually-hidden">Select {a.message}</span>
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
            <span class="since-age"> ({formatAge(since, now)} ago)</span>
          </>
        ) : (
          '—'
        )}
      </td>
      <td class="col-actions">
        <span class="row-actions">
          {ackable && (
            <button type="button" class="cmd-button" disabled={off} title={hint} aria-label={`Acknowledge: ${a.message}`} onClick={() => void state.alarms.acknowledge(where, [a.id], comment)}>
              Acknowledge
              {signIn && <NeedsRole role="sign in" />}
            </button>
          )}
          {a.state === 'shelved' ? (
            <button type="button" class="cmd-button" disabled={off} title={hint} aria-label={`Unshelve: ${a.message}`} onClick={() => void state.alarms.unshelve(where, a.id)}>
              Unshelve
              {signIn && <NeedsRole role="sign in" />}
            </button>
          ) : (
            a.state !== 'out-of-service' && (
              <button
                type="button"
                class="cmd-button"
                disabled={Boolean(blocked) || mayNotShelve !== null}
                title={hint ?? mayNotShelve ?? undefined}
                aria-label={`Shelve: ${a.message}…`}
                onClick={() => onAsk({ kind: 'shelve', alarm: a })}
              >
                Shelve…
                {mayNotShelve && <NeedsRole role={state.plant.shelving[a.priority].role} />}
              </button>
            )
          )}
          {a.state === 'out-of-service' ? (
            <button type="button" class="cmd-button" disabled={off || service !== null} title={hint ?? service ?? undefined} aria-label={`In service: ${a.message} (engineers)`} onClick={() => void state.alarms.inService(where, a.id)}>
              In service
              {service && <NeedsRole role="engineer" />}
            </button>
          ) : (
            <button type="button" class="cmd-button" disabled={Boolean(blocked) || service !== null} title={hint ?? service ?? undefined} aria-label={`Out of service: ${a.message}… (engineers)`} onClick={() => onAsk({ kind: 'out-of-service', alarm: a })}>
              Out of service…
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

  if (!state.alarms.known.value) {
    return (
      <main class="page alarms-page" aria-labelledby="page-title">
        <h1 id="page-title">Alarms</h1>
        <p class="empty">Alarm states not received yet: waiting for the live stream.</p>
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
  const filterWord = STATE_FILTERS.find((f) => f.value === stateFilter)?.label ?? '';

  return (
    <main class="page alarms-page" aria-labelledby="page-title">
      <h1 id="page-title">Alarms</h1>
      <p class="page-links">
        <a href="#/journal">Journal</a> · <a href="#/alarm-rates">Alarm rates</a>
      </p>
      <section class="panel" aria-label="Summary">
        <Counts />
        <SoundNote />
      </section>

      <section class="panel filters" aria-label="Filters and sort">
        <label class="filter">
          <span>State</span>
          <select value={stateFilter} onChange={(e) => setStateFilter((e.target as HTMLSelectElement).value as StateFilter)}>
            {STATE_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
        <label class="filter">
          <span>Priority</span>
          <select value={priority} onChange={(e) => setPriority((e.target as HTMLSelectElement).value as AlarmPriority | 'all')}>
            <option value="all">All priorities</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {PRIORITY_WORD[p][0]}
                {PRIORITY_WORD[p].slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label class="filter filter-text">
          <span>Text</span>
          <input type="search" value={text} placeholder="words in the message or id" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label class="filter">
          <span>Sort by</span>
          <select value={sort} onChange={(e) => setSort((e.target as HTMLSelectElement).value as AlarmSort)}>
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </section>

      <section class="panel" aria-labelledby="h-alarm-list">
        <h2 id="h-alarm-list">
          {visible.length} of {all.length} alarms: {filterWord.toLowerCase()}
          {priority !== 'all' ? `, ${priority} priority` : ''}
          {text.trim() ? `, matching “${text.trim()}”` : ''}
        </h2>
        {stateFilter === 'not-normal' && suppressed > 0 && (
          <p class="caption">
            {suppressed} suppressed by design (they do not apply in the present process state) are left out: choose “Suppressed by design” or “All alarms” under State.
          </p>
        )}
        <BlockedActions id="summary-blocked" roles={[signInRefusal() ?? serviceRefusal()]} />
        <div class="ack-bar" role="group" aria-label="Acknowledge">
          <label class="filter ack-comment">
            <span>Comment (optional)</span>
            <input type="text" maxLength={500} value={comment} placeholder="e.g. maintenance informed" onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
          </label>
          <span class="ack-buttons">
            <button type="button" class="cmd-button" disabled={chosen.length === 0 || Boolean(blocked)} onClick={() => void ackSelected()}>
              Acknowledge selected ({chosen.length})
            </button>
            <button type="button" class="cmd-button" disabled={visibleAckable.length === 0 || Boolean(blocked)} onClick={() => void ackVisible()}>
              Acknowledge all visible ({visibleAckable.length})
            </button>
          </span>
          <ActionNote where="summary:ack-selected" />
          <ActionNote where="summary:ack-visible" />
          <p class="caption ack-note">Acknowledging writes nothing to the PLC. The plant horn is silenced with “Silence the horn” on the overview.</p>
        </div>
        {visible.length === 0 ? (
          <p class="empty" data-testid="no-alarms">
            <span aria-hidden="true">✓ </span>No alarm {stateFilter === 'all' ? 'matches' : `is ${filterWord.toLowerCase()}`}
            {priority !== 'all' || text.trim() ? ' with these filters' : ''}.
          </p>
        ) : (
          <table class="alarm-table">
            <caption class="caption">
              Sorted by {SORTS.find((s) => s.value === sort)?.label.toLowerCase()}. Times in {zoneName(state.clock.value, tz)} ({tz}).
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
                      <span class="visually-hidden">Select every unacknowledged alarm shown</span>
                    </label>
                  ) : (
                    <span class="visually-hidden">Select</span>
                  )}
                </th>
                <th scope="col">Priority</th>
                <th scope="col">Alarm</th>
                <th scope="col">State, who and why</th>
                <th scope="col">Since</th>
                <th scope="col">Actions</th>
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
