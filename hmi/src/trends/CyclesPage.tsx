/**
 * The SBR cycle report (#/cycles?last=…): each cycle the historian
 * detected, newest first — program, each phase's actual duration against
 * its plan, mean and minimum dissolved oxygen during aeration, turbidity at
 * discharge, volume treated, alarms raised — with anomalies flagged by a
 * mark and in words; a period to choose, and the same list as CSV.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { failureText } from '../alarms/alarm-api.js';
import { historyApi } from '../shared/api.js';
import { RangePicker } from '../shared/RangePicker.js';
import { useHmiState } from '../shared/context.js';
import { type CycleView, cycleView, cyclesSummary, phaseNames } from './cycles-model.js';
import { formatDateTimeZoned, zoneName } from '../shared/format.js';
import { type Cycle, cyclesCsvPath } from './history-api.js';
import { LONG_PRESETS, type Period, periodBounds } from '../shared/periods.js';
import { formatPeriod, parsePeriod } from './trend-model.js';
import './trends.css';
import { msg } from '../i18n/locale.js';
import { phaseLabeller } from '../i18n/plant-texts.js';
import { hrefCycleReport, hrefDayReport } from '../shared/router.js';

type Load = { status: 'loading' } | { status: 'ready'; cycles: Cycle[] } | { status: 'error'; message: string };

function PhaseCell({ v, name, label }: { v: CycleView; name: string; label: string }) {
  const p = v.phases.find((x) => x.name === name);
  if (!p) return <td class="faint">—</td>;
  return (
    <td class={`num col-phase ${p.over ? 'is-over' : ''}`} data-label={label}>
      <span class="phase-actual">{p.actual}</span>
      <span class="phase-plan">{msg().cycles.plan(p.planned)}</span>
      {p.over && (
        <span class="phase-over">
          <span aria-hidden="true">▲ </span>
          {p.over}
        </span>
      )}
    </td>
  );
}

function CycleRow({ c, phases }: { c: Cycle; phases: readonly string[] }) {
  const state = useHmiState();
  const label = phaseLabeller(phases);
  const v = cycleView(c, state.clock.value, label);
  const flagged = v.anomalies.length > 0;
  const t = msg().cycles;
  const start = formatDateTimeZoned(c.start, state.timeZone);
  return (
    <tr class={`cycle-row ${flagged ? 'has-anomaly' : ''} ${v.running ? 'is-running' : ''}`} data-start={c.start} data-anomalies={v.anomalies.length}>
      <th scope="row" class="col-start" data-label={t.start}>
        <time dateTime={new Date(c.start).toISOString()}>{start}</time>
        <span class="cycle-duration">{v.running ? t.running(v.duration) : v.duration}</span>
        <a class="cycle-report-link" href={hrefCycleReport(c.start)} aria-label={t.reportOf(start)}>
          {t.report}
        </a>
      </th>
      <td data-label={t.program}>{v.program}</td>
      {phases.map((n) => (
        <PhaseCell key={n} v={v} name={n} label={label(n)} />
      ))}
      <td class="num col-oxygen" data-label={t.oxygen}>
        <span class="oxygen-line">{t.mean(v.oxygenMean)}</span>
        <span class="oxygen-line">{t.min(v.oxygenMin)}</span>
      </td>
      <td class="num" data-label={t.turbidity}>
        {v.turbidity}
      </td>
      <td class="num" data-label={t.volume}>
        {v.volume}
      </td>
      <td class="num" data-label={t.alarms}>
        {v.alarms}
      </td>
      <td class="col-anomalies" data-label={t.anomalies}>
        {flagged ? (
          <ul class="anomalies">
            {v.anomalies.map((a) => (
              <li key={a.code} data-code={a.code}>
                <span class="anomaly-mark" aria-hidden="true">
                  ▲
                </span>{' '}
                <strong>{t.anomaly}</strong> {a.text}
              </li>
            ))}
          </ul>
        ) : (
          <span class="faint">
            <span aria-hidden="true">✓ </span>
            {t.none}
          </span>
        )}
      </td>
    </tr>
  );
}

export function CyclesPage({ query }: { query: string }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const period = useMemo(() => parsePeriod(new URLSearchParams(query), Date.now(), tz, 'week'), [query, tz]);
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [refresh, setRefresh] = useState(0);
  const [bounds, setBounds] = useState(() => periodBounds(period, Date.now(), tz));

  useEffect(() => {
    const full = `#/cycles?${formatPeriod(period)}`;
    if (window.location.hash !== full) history.replaceState(null, '', full);
  }, [period]);

  useEffect(() => {
    let current = true;
    const b = periodBounds(period, Date.now(), tz);
    setBounds(b);
    setLoad((l) => (l.status === 'ready' ? l : { status: 'loading' }));
    void historyApi.cycles(b.from, b.to).then((r) => {
      if (!current) return;
      setLoad(r.kind === 'ok' ? { status: 'ready', cycles: r.body.cycles } : { status: 'error', message: failureText(r) });
    });
    return () => {
      current = false;
    };
  }, [period, refresh, tz]);

  // While the period reaches now, the list is read again every half minute (a cycle ends, a new one starts).
  const live = period.to === undefined;
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setRefresh((n) => n + 1), 30_000);
    return () => clearInterval(timer);
  }, [live]);

  const setPeriod = (p: Period): void => {
    window.location.hash = `#/cycles?${formatPeriod(p)}`;
  };
  const cycles = load.status === 'ready' ? load.cycles : [];
  const phases = phaseNames(cycles);
  const t = msg().cycles;

  return (
    <main class="page cycles-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.cycles}</h1>
      <p class="page-links">
        <a href="#/trends">{msg().nav.trends}</a> · <a href="#/journal">{msg().nav.journal}</a> · <a href={hrefDayReport()}>{msg().reports.day}</a>
      </p>
      <section class="panel filters" aria-label={msg().periods.period}>
        <RangePicker idPrefix="cycles" value={period} onChange={setPeriod} presets={LONG_PRESETS} />
        <button type="button" class="cmd-button" onClick={() => setRefresh((n) => n + 1)}>
          {t.refresh}
        </button>
        <a class="cmd-button" href={cyclesCsvPath(bounds.from, bounds.to)} download>
          {t.csv}
        </a>
      </section>
      <section class="panel" aria-labelledby="h-cycles">
        <h2 id="h-cycles">{load.status === 'loading' ? t.reading : cyclesSummary(cycles)}</h2>
        <p class="caption">
          {t.caption(formatDateTimeZoned(bounds.from, tz), live ? msg().periods.now : formatDateTimeZoned(bounds.to, tz), msg().periods.timesIn(zoneName(bounds.to, tz), tz))}
        </p>
        {load.status === 'error' && (
          <p class="action-note is-error" role="alert">
            {t.failed(load.message)}
          </p>
        )}
        {load.status === 'ready' && cycles.length === 0 && <p class="empty">{t.noCycle}</p>}
        {cycles.length > 0 && (
          <table class="cycles-table">
            <thead>
              <tr>
                <th scope="col">{t.start}</th>
                <th scope="col">{t.program}</th>
                {phases.map((n) => (
                  <th key={n} scope="col">
                    {phaseLabeller(phases)(n)}
                  </th>
                ))}
                <th scope="col">{t.oxygen}</th>
                <th scope="col">{t.turbidity}</th>
                <th scope="col">{t.volume}</th>
                <th scope="col">{t.alarms}</th>
                <th scope="col">{t.anomalies}</th>
              </tr>
            </thead>
            <tbody>
              {cycles.map((c) => (
                <CycleRow key={c.start} c={c} phases={phases} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
