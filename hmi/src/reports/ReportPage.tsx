/**
 * The printable reports (#/report?day=… and #/report?cycle=…): a day, or one
 * SBR cycle, on one A4 page — volumes, the cycles with each phase against its
 * plan, oxygen and turbidity against their limits, the alarms of the period
 * and the operators' actions — from the cycle report (api/cycles) and the
 * journal (api/journal). The print stylesheet (reports.css) leaves out the
 * top bar, the banners and the tools, black on white, so "Print → Save as
 * PDF" gives a clean page; on screen the same page with its tools above.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AlarmPriority, JournalEntry } from '../../../src/web/protocol.js';
import { failureText } from '../alarms/alarm-api.js';
import { PriorityBadge } from '../alarms/AlarmMarks.js';
import { entryView } from '../journal/EventList.js';
import { msg } from '../i18n/locale.js';
import { phaseLabeller } from '../i18n/plant-texts.js';
import { historyApi } from '../shared/api.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTime, formatDateTimeZoned, formatDuration, formatLongDate, formatNumber, formatTime, zoneName } from '../shared/format.js';
import { hrefCycleReport, hrefDayReport } from '../shared/router.js';
import { cycleView } from '../trends/cycles-model.js';
import type { Cycle } from '../trends/history-api.js';
import type { HmiState } from '../live/state.js';
import { limitValue } from '../live/tag-view.js';
import {
  ACTION_KINDS,
  ALARM_KINDS,
  type ReportRequest,
  chronological,
  dayBounds,
  dayOf,
  figures,
  readReportQuery,
  shiftDay,
  withinLimits,
} from './report-model.js';
import './reports.css';

type Data =
  | { status: 'loading' }
  | { status: 'error'; message: string }
  | { status: 'ready'; cycles: Cycle[]; alarms: JournalEntry[]; actions: JournalEntry[]; from: number; to: number; for: ReportRequest };

/** At most this many journal lines per list: the page stays one A4 sheet; the journal has the rest. */
const MAX_LINES = 25;

async function load(state: HmiState, r: ReportRequest): Promise<Data> {
  let from: number;
  let to: number;
  let cycles: Cycle[];
  if (r.kind === 'day') {
    ({ from, to } = dayBounds(r.day, state.timeZone));
    const c = await historyApi.cycles(from, to);
    if (c.kind !== 'ok') return { status: 'error', message: failureText(c) };
    cycles = [...c.body.cycles].filter((x) => x.start >= from && x.start < to).sort((a, b) => a.start - b.start);
  } else {
    const c = await historyApi.cycles(r.start - 1000, r.start + 1000);
    if (c.kind !== 'ok') return { status: 'error', message: failureText(c) };
    const found = c.body.cycles.find((x) => x.start === r.start);
    if (!found) return { status: 'error', message: msg().reports.noCycle };
    cycles = [found];
    from = found.start;
    to = found.end ?? Date.now();
  }
  const [alarms, actions] = await Promise.all([
    state.alarmApi.journal({ from, to, kinds: ALARM_KINDS, limit: 500 }),
    state.alarmApi.journal({ from, to, kinds: ACTION_KINDS, limit: 500 }),
  ]);
  if (alarms.kind !== 'ok') return { status: 'error', message: failureText(alarms) };
  if (actions.kind !== 'ok') return { status: 'error', message: failureText(actions) };
  return { status: 'ready', cycles, alarms: chronological(alarms.body), actions: chronological(actions.body), from, to, for: r };
}

/** The limits the overview's bars draw for a measurement of this unit (mg/L: oxygen, NTU: turbidity), now. */
function limitsFor(state: HmiState, unit: string): { low?: number; high?: number; decimals: number } {
  for (const p of state.pages) {
    if (p.kind !== 'dashboard') continue;
    for (const b of p.bars) {
      const info = state.tags.get(b.tag);
      if (info?.unit !== unit) continue;
      const low = limitValue(state, b.low)?.value;
      const high = limitValue(state, b.high)?.value;
      return { ...(low !== undefined ? { low } : {}), ...(high !== undefined ? { high } : {}), decimals: info.decimals };
    }
  }
  return { decimals: 2 };
}

const amount = (v: number | null, decimals: number, unit: string): string => (v === null ? '—' : `${formatNumber(v, decimals)}\u00a0${unit}`);

function QualityTable({ cycles }: { cycles: readonly Cycle[] }) {
  const state = useHmiState();
  const t = msg().reports;
  const f = figures(cycles);
  const o2 = limitsFor(state, 'mg/L');
  const ntu = limitsFor(state, 'NTU');
  const limitText = (l: { low?: number; high?: number; decimals: number }, unit: string, which: 'both' | 'low' | 'high'): string => {
    const lo = l.low === undefined ? undefined : amount(l.low, l.decimals, unit);
    const hi = l.high === undefined ? undefined : amount(l.high, l.decimals, unit);
    if (which === 'both' && lo && hi) return t.between(lo, hi);
    if ((which === 'both' || which === 'low') && lo) return t.atLeast(lo);
    if ((which === 'both' || which === 'high') && hi) return t.atMost(hi);
    return '—';
  };
  const rows = [
    { key: 'o2-mean', what: t.oxygenMean, value: amount(f.oxygenMean, 2, 'mg/L'), limit: limitText(o2, 'mg/L', 'both'), ok: withinLimits(f.oxygenMean, o2.low, o2.high) },
    { key: 'o2-min', what: t.oxygenMin, value: amount(f.oxygenMin, 2, 'mg/L'), limit: limitText(o2, 'mg/L', 'low'), ok: withinLimits(f.oxygenMin, o2.low, undefined) },
    { key: 'turbidity', what: t.turbidityMax, value: amount(f.turbidityMax, 1, 'NTU'), limit: limitText(ntu, 'NTU', 'high'), ok: withinLimits(f.turbidityMax, undefined, ntu.high) },
  ];
  return (
    <section class="report-section" aria-labelledby="h-report-quality">
      <h2 id="h-report-quality">{t.quality}</h2>
      <table class="report-table">
        <thead>
          <tr>
            <th scope="col">{t.measure}</th>
            <th scope="col">{t.value}</th>
            <th scope="col">{t.limit}</th>
            <th scope="col">{t.verdict}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-row={r.key} class={r.ok === false ? 'is-outside' : ''}>
              <th scope="row">{r.what}</th>
              <td class="num">{r.value}</td>
              <td class="num">{r.limit}</td>
              <td>{r.ok === null ? t.noData : r.ok ? `✓ ${t.within}` : `▲ ${t.outside}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CyclesTable({ cycles }: { cycles: readonly Cycle[] }) {
  const state = useHmiState();
  const t = msg().reports;
  const tc = msg().cycles;
  const phases = [...new Set(cycles.flatMap((c) => c.phases.map((p) => p.name)))];
  const label = phaseLabeller(phases);
  const views = cycles.map((c) => ({ c, v: cycleView(c, state.clock.value, label) }));
  const anomalies = views.flatMap(({ c, v }) => v.anomalies.map((a) => ({ key: `${c.start}:${a.code}:${a.text}`, at: c.start, text: a.text })));
  return (
    <section class="report-section" aria-labelledby="h-report-cycles">
      <h2 id="h-report-cycles">
        {t.cyclesTitle}: {t.cyclesCount(cycles.length, cycles.filter((c) => c.anomalies.length > 0).length)}
      </h2>
      {cycles.length === 0 ? (
        <p class="empty">{t.noCycles}</p>
      ) : (
        <table class="report-table report-cycles">
          <thead>
            <tr>
              <th scope="col">{tc.start}</th>
              <th scope="col">{tc.program}</th>
              {phases.map((n) => (
                <th key={n} scope="col">
                  {label(n)}
                </th>
              ))}
              <th scope="col">{tc.oxygen}</th>
              <th scope="col">{tc.turbidity}</th>
              <th scope="col">{tc.volume}</th>
              <th scope="col">{tc.alarms}</th>
            </tr>
          </thead>
          <tbody>
            {views.map(({ c, v }) => (
              <tr key={c.start} class={v.anomalies.length ? 'is-outside' : ''}>
                <th scope="row" class="num">
                  <a href={hrefCycleReport(c.start)}>{formatTime(c.start, state.timeZone)}</a>
                  <span class="report-sub">{v.duration}</span>
                </th>
                <td>{c.program ?? '—'}</td>
                {phases.map((n) => {
                  const p = v.phases.find((x) => x.name === n);
                  return (
                    <td key={n} class="num">
                      {p ? (
                        <>
                          {p.over && <span aria-hidden="true">▲ </span>}
                          {p.actual}
                          <span class="report-sub">{tc.plan(p.planned)}</span>
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                  );
                })}
                <td class="num">
                  {v.oxygenMean}
                  <span class="report-sub">{tc.min(v.oxygenMin)}</span>
                </td>
                <td class="num">{v.turbidity}</td>
                <td class="num">{v.volume}</td>
                <td class="num">{v.alarms}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {anomalies.length > 0 && (
        <ul class="report-anomalies">
          {anomalies.map((a) => (
            <li key={a.key}>
              <span aria-hidden="true">▲ </span>
              <strong>{tc.anomaly}</strong> {formatTime(a.at, state.timeZone)}: {a.text}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function PhaseTable({ c }: { c: Cycle }) {
  const state = useHmiState();
  const t = msg().reports;
  const label = phaseLabeller(c.phases.map((p) => p.name));
  const v = cycleView(c, state.clock.value, label);
  return (
    <section class="report-section" aria-labelledby="h-report-phases">
      <h2 id="h-report-phases">{t.phasesTitle}</h2>
      <table class="report-table">
        <thead>
          <tr>
            <th scope="col">{t.phase}</th>
            <th scope="col">{t.actual}</th>
            <th scope="col">{t.planned}</th>
            <th scope="col">{t.difference}</th>
          </tr>
        </thead>
        <tbody>
          {c.phases.map((p, i) => {
            const pv = v.phases[i]!;
            const diff = p.actualS !== null && p.plannedS !== null ? p.actualS - p.plannedS : null;
            return (
              <tr key={p.name} class={pv.over ? 'is-outside' : ''} data-phase={p.name}>
                <th scope="row">{label(p.name)}</th>
                <td class="num">{pv.actual}</td>
                <td class="num">{pv.planned}</td>
                <td class="num">
                  {diff === null ? '—' : `${diff > 0 ? '+' : diff < 0 ? '−' : ''}${formatDuration(Math.abs(diff) * 1000)}`}
                  {pv.over && <span aria-hidden="true"> ▲</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function JournalTable({ id, title, empty, entries, withPriority }: { id: string; title: string; empty: string; entries: readonly JournalEntry[]; withPriority: boolean }) {
  const state = useHmiState();
  const t = msg().reports;
  const shown = entries.slice(0, MAX_LINES);
  return (
    <section class="report-section" aria-labelledby={id}>
      <h2 id={id}>
        {title} ({entries.length})
      </h2>
      {entries.length === 0 ? (
        <p class="empty">{empty}</p>
      ) : (
        <table class="report-table report-journal">
          <thead>
            <tr>
              <th scope="col">{t.time}</th>
              {withPriority && <th scope="col">{t.priority}</th>}
              <th scope="col">{t.what}</th>
              {!withPriority && <th scope="col">{t.by}</th>}
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => {
              const v = entryView(state, e);
              return (
                <tr key={e.seq} data-kind={e.kind}>
                  <td class="num">{formatDateTime(e.ts, state.timeZone)}</td>
                  {withPriority && <td>{e.priority ? <PriorityBadge priority={e.priority as AlarmPriority} tone="outline" /> : '—'}</td>}
                  <td>{v.text}</td>
                  {!withPriority && <td>{e.user ?? '—'}</td>}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {entries.length > MAX_LINES && <p class="caption">{t.more(entries.length - MAX_LINES)}</p>}
    </section>
  );
}

function Volumes({ cycles }: { cycles: readonly Cycle[] }) {
  const state = useHmiState();
  const t = msg().reports;
  const f = figures(cycles);
  // The volume counters the overview shows (m³), as they read now.
  const home = state.pages.find((p) => p.kind === 'dashboard');
  const counters = home && home.kind === 'dashboard' ? home.values.map((n) => state.tags.get(n)).filter((i) => i?.unit === 'm³') : [];
  return (
    <section class="report-section" aria-labelledby="h-report-volumes">
      <h2 id="h-report-volumes">{t.volumes}</h2>
      <dl class="report-facts">
        <div>
          <dt>{t.treated}</dt>
          <dd class="num" data-figure="volume">
            {amount(f.volume, 1, 'm³')}
          </dd>
        </div>
        {counters.map((i) => {
          const v = state.value(i!.name).value.value;
          return (
            <div key={i!.name}>
              <dt>{i!.description || i!.name}</dt>
              <dd class="num">{typeof v === 'number' ? amount(v, i!.decimals, 'm³') : '—'}</dd>
            </div>
          );
        })}
      </dl>
    </section>
  );
}

export function ReportPage({ query }: { query: string }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const request = useMemo(() => readReportQuery(query, Date.now(), tz), [query, tz]);
  const [loaded, setData] = useState<Data>({ status: 'loading' });
  // Another report asked for: the figures of the previous one are not shown meanwhile.
  const data: Data = loaded.status === 'ready' && loaded.for !== request ? { status: 'loading' } : loaded;
  const [day, setDay] = useState(request.kind === 'day' ? request.day : dayOf(request.start, tz));
  const t = msg().reports;

  useEffect(() => {
    let current = true;
    setData({ status: 'loading' });
    void load(state, request).then((d) => {
      if (current) setData(d);
    });
    return () => {
      current = false;
    };
  }, [request, state]);

  const title = request.kind === 'day' ? t.day : t.cycle;
  const now = state.clock.value;
  const subject =
    request.kind === 'day'
      ? formatLongDate(dayBounds(request.day, tz).from + 12 * 3_600_000, tz)
      : t.cycleOf(formatDateTimeZoned(request.start, tz));
  const cycle = request.kind === 'cycle' && data.status === 'ready' ? data.cycles[0] : undefined;

  return (
    <main class="page report-page" aria-labelledby="page-title" data-report={request.kind}>
      <div class="report-tools panel">
        <p class="page-links">
          <a href="#/cycles">{t.chooseCycle}</a>
          {request.kind === 'day' && (
            <>
              {' · '}
              <a href={hrefDayReport(shiftDay(request.day, -1))}>{t.previousDay}</a>
              {' · '}
              <a href={hrefDayReport(shiftDay(request.day, 1))}>{t.nextDay}</a>
            </>
          )}
        </p>
        <form
          class="report-day"
          onSubmit={(e) => {
            e.preventDefault();
            window.location.hash = hrefDayReport(day);
          }}
        >
          <label class="filter">
            <span>{t.dayLabel}</span>
            <input type="date" value={day} onInput={(e) => setDay((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="cmd-button">
            {t.show}
          </button>
          <button type="button" class="cmd-button cmd-confirm" onClick={() => window.print()}>
            {t.print}
          </button>
        </form>
        <p class="caption">{t.printHint}</p>
      </div>

      <article class="report-sheet">
        <header class="report-head">
          <p class="report-plant">{state.plant.name}</p>
          <h1 id="page-title">
            {title}: {subject}
          </h1>
          <p class="caption">
            {data.status === 'ready' && `${t.period(formatDateTime(data.from, tz), formatDateTime(data.to, tz))}${cycle?.program != null ? ` · ${t.program(String(cycle.program))}` : ''}${cycle && cycle.end === null ? ` (${t.running})` : ''} · `}
            {t.timesIn(zoneName(now, tz), tz)} {t.generated(formatDateTimeZoned(now, tz))}
          </p>
        </header>
        {data.status === 'loading' && <p class="empty">{t.reading}</p>}
        {data.status === 'error' && (
          <p class="action-note is-error" role="alert">
            {t.failed(data.message)}
          </p>
        )}
        {data.status === 'ready' && (
          <>
            <Volumes cycles={data.cycles} />
            {cycle ? <PhaseTable c={cycle} /> : <CyclesTable cycles={data.cycles} />}
            <QualityTable cycles={data.cycles} />
            <JournalTable id="h-report-alarms" title={t.alarmsTitle} empty={t.noAlarms} entries={data.alarms} withPriority />
            <JournalTable id="h-report-actions" title={t.actionsTitle} empty={t.noActions} entries={data.actions} withPriority={false} />
            <p class="report-signature">{t.signature}: ____________________________</p>
          </>
        )}
      </article>
    </main>
  );
}
