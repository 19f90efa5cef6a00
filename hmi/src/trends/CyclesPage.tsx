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

type Load = { status: 'loading' } | { status: 'ready'; cycles: Cycle[] } | { status: 'error'; message: string };

function PhaseCell({ v, name }: { v: CycleView; name: string }) {
  const p = v.phases.find((x) => x.name === name);
  if (!p) return <td class="faint">—</td>;
  return (
    <td class={`num col-phase ${p.over ? 'is-over' : ''}`} data-label={name}>
      <span class="phase-actual">{p.actual}</span>
      <span class="phase-plan">plan {p.planned}</span>
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
  const v = cycleView(c, state.clock.value);
  const flagged = v.anomalies.length > 0;
  return (
    <tr class={`cycle-row ${flagged ? 'has-anomaly' : ''} ${v.running ? 'is-running' : ''}`} data-start={c.start} data-anomalies={v.anomalies.length}>
      <th scope="row" class="col-start" data-label="Start">
        <time dateTime={new Date(c.start).toISOString()}>{formatDateTimeZoned(c.start, state.timeZone)}</time>
        <span class="cycle-duration">{v.running ? `running, ${v.duration}` : v.duration}</span>
      </th>
      <td data-label="Program">{v.program}</td>
      {phases.map((n) => (
        <PhaseCell key={n} v={v} name={n} />
      ))}
      <td class="num col-oxygen" data-label="O₂ mean / min">
        <span class="oxygen-line">mean {v.oxygenMean}</span>
        <span class="oxygen-line">min {v.oxygenMin}</span>
      </td>
      <td class="num" data-label="Turbidity at discharge">
        {v.turbidity}
      </td>
      <td class="num" data-label="Volume">
        {v.volume}
      </td>
      <td class="num" data-label="Alarms">
        {v.alarms}
      </td>
      <td class="col-anomalies" data-label="Anomalies">
        {flagged ? (
          <ul class="anomalies">
            {v.anomalies.map((a) => (
              <li key={a.code} data-code={a.code}>
                <span class="anomaly-mark" aria-hidden="true">
                  ▲
                </span>{' '}
                <strong>ANOMALY</strong> {a.text}
              </li>
            ))}
          </ul>
        ) : (
          <span class="faint">
            <span aria-hidden="true">✓ </span>none
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

  return (
    <main class="page cycles-page" aria-labelledby="page-title">
      <h1 id="page-title">Cycle report</h1>
      <p class="page-links">
        <a href="#/trends">Trends</a> · <a href="#/journal">Journal</a>
      </p>
      <section class="panel filters" aria-label="Period">
        <RangePicker idPrefix="cycles" value={period} onChange={setPeriod} presets={LONG_PRESETS} />
        <button type="button" class="cmd-button" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
        <a class="cmd-button" href={cyclesCsvPath(bounds.from, bounds.to)} download>
          Download CSV
        </a>
      </section>
      <section class="panel" aria-labelledby="h-cycles">
        <h2 id="h-cycles">{load.status === 'loading' ? 'Reading the cycles…' : cyclesSummary(cycles)}</h2>
        <p class="caption">
          From {formatDateTimeZoned(bounds.from, tz)} to {live ? 'now' : formatDateTimeZoned(bounds.to, tz)}, newest first. Times in {zoneName(bounds.to, tz)} ({tz}).
          Oxygen during aeration; an anomaly is a phase over its plan, oxygen out of its limits or turbidity above its maximum at discharge.
        </p>
        {load.status === 'error' && (
          <p class="action-note is-error" role="alert">
            The cycles could not be read: {load.message}
          </p>
        )}
        {load.status === 'ready' && cycles.length === 0 && <p class="empty">No cycle in this period.</p>}
        {cycles.length > 0 && (
          <table class="cycles-table">
            <thead>
              <tr>
                <th scope="col">Start</th>
                <th scope="col">Program</th>
                {phases.map((n) => (
                  <th key={n} scope="col">
                    {n}
                  </th>
                ))}
                <th scope="col">O₂ mean / min</th>
                <th scope="col">Turbidity at discharge</th>
                <th scope="col">Volume</th>
                <th scope="col">Alarms</th>
                <th scope="col">Anomalies</th>
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
