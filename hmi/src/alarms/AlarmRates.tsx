/**
 * Alarm rates (#/alarm-rates): how hard the alarm system works the
 * operator over a period, against the ISA-18.2 / EEMUA 191 targets — the
 * average and peak rate per 10 minutes, time in flood, chattering and stale
 * alarms, the ten most frequent and their share, the priority mix — in
 * words, with a chart of the activations.
 */
import { useEffect, useState } from 'preact/hooks';
import type { RateFigures } from '../../../src/web/protocol.js';
import { failureText } from './alarm-api.js';
import { type Range, RangePicker, presetNow } from '../shared/RangePicker.js';
import { RateChart } from './RateChart.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTimeZoned } from '../shared/format.js';
import { RATING_MARK, RATING_WORD, VERDICT_MARK, figureRows, percent, ratingSentence } from './rates-model.js';
import { msg } from '../i18n/locale.js';

type Load = { status: 'loading' } | { status: 'ready'; f: RateFigures } | { status: 'error'; message: string };

function Figures({ f }: { f: RateFigures }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const name = (id: string): string => state.alarms.get(id)?.message ?? id;
  const rows = figureRows(f);
  const t = msg().rates;
  return (
    <>
      <section class={`panel rating rating-${f.rating}`} aria-labelledby="h-rating" data-rating={f.rating}>
        <h2 id="h-rating">{t.rating}</h2>
        <p class="rating-word">
          <span aria-hidden="true">{RATING_MARK[f.rating]} </span>
          {t.ratingWord[f.rating] ?? RATING_WORD[f.rating]}
        </p>
        <p>{ratingSentence(f)}</p>
        <p class="caption">
          {t.activations(f.activations, formatDateTimeZoned(f.from, tz), formatDateTimeZoned(f.to, tz))}
        </p>
      </section>

      <section class="panel" aria-labelledby="h-figures">
        <h2 id="h-figures">{t.figures}</h2>
        <table class="figures-table">
          <thead>
            <tr>
              <th scope="col">{t.figure}</th>
              <th scope="col">{t.thisPeriod}</th>
              <th scope="col">{t.target}</th>
              <th scope="col">{t.verdict}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} class={`figure verdict-${r.verdict}`} data-figure={r.key} data-verdict={r.verdict}>
                <th scope="row">{r.label}</th>
                <td class="num">{r.value}</td>
                <td>{r.target}</td>
                <td class="col-verdict">
                  <span class="verdict">
                    <span aria-hidden="true">{VERDICT_MARK[r.verdict]} </span>
                    {r.words}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section class="panel" aria-labelledby="h-chart">
        <h2 id="h-chart">{t.overTime}</h2>
        <RateChart f={f} />
      </section>

      <div class="rate-lists">
        <section class="panel" aria-labelledby="h-top10">
          <h2 id="h-top10">{t.top10(percent(f.top10Share, 0))}</h2>
          {f.top10.length === 0 ? (
            <p class="empty">{t.noActivations}</p>
          ) : (
            <table class="figures-table">
              <thead>
                <tr>
                  <th scope="col">{t.alarm}</th>
                  <th scope="col">{t.activationsCol}</th>
                  <th scope="col">{t.share}</th>
                </tr>
              </thead>
              <tbody>
                {f.top10.map((t) => (
                  <tr key={t.source}>
                    <th scope="row">{name(t.source)}</th>
                    <td class="num">{t.count}</td>
                    <td class="num">{percent(t.share, 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="panel" aria-labelledby="h-chatter">
          <h2 id="h-chatter">{t.chattering(f.targets.chatterCount)}</h2>
          {f.chattering.length === 0 ? (
            <p class="empty">
              <span aria-hidden="true">✓ </span>
              {msg().common.none}
            </p>
          ) : (
            <table class="figures-table">
              <thead>
                <tr>
                  <th scope="col">{t.alarm}</th>
                  <th scope="col">{t.mostInMinute}</th>
                </tr>
              </thead>
              <tbody>
                {f.chattering.map((c) => (
                  <tr key={c.source}>
                    <th scope="row">{name(c.source)}</th>
                    <td class="num">{c.maxPerMinute}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2 id="h-stale">{t.stale(Math.round(f.targets.staleMs / 3_600_000))}</h2>
          {f.stale.length === 0 ? (
            <p class="empty">
              <span aria-hidden="true">✓ </span>
              {msg().common.none}
            </p>
          ) : (
            <table class="figures-table" aria-labelledby="h-stale">
              <thead>
                <tr>
                  <th scope="col">{t.alarm}</th>
                  <th scope="col">{t.activeSince}</th>
                </tr>
              </thead>
              <tbody>
                {f.stale.map((s) => (
                  <tr key={s.id}>
                    <th scope="row">{name(s.id)}</th>
                    <td class="num">{formatDateTimeZoned(s.activeSince, tz)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </>
  );
}

export function AlarmRates() {
  const state = useHmiState();
  const [range, setRange] = useState<Range>(() => presetNow('day', Date.now()));
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    let current = true;
    setLoad((l) => (l.status === 'ready' ? l : { status: 'loading' }));
    const now = Date.now();
    // A preset is "up to now": measured again at each refresh.
    const r = range.preset === 'custom' ? range : presetNow(range.preset, now);
    void state.alarmApi.rates(r.from, r.to ?? now).then((res) => {
      if (!current) return;
      setLoad(res.kind === 'ok' ? { status: 'ready', f: res.body } : { status: 'error', message: failureText(res) });
    });
    return () => {
      current = false;
    };
  }, [state, range, refresh]);

  return (
    <main class="page rates-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.alarmRates}</h1>
      <p class="page-links">
        <a href="#/alarms">{msg().nav.alarms}</a> · <a href="#/journal">{msg().nav.journal}</a>
      </p>
      <section class="panel filters" aria-label={msg().periods.period}>
        <RangePicker idPrefix="rates" value={range} onChange={setRange} />
        <button type="button" class="cmd-button" onClick={() => setRefresh((n) => n + 1)}>
          {msg().cycles.refresh}
        </button>
        <p class="caption">
          {msg().rates.targetsNote}
        </p>
      </section>
      {load.status === 'loading' && <p class="empty">{msg().rates.counting}</p>}
      {load.status === 'error' && (
        <p class="action-note is-error" role="alert">
          {msg().rates.failed(load.message)}
        </p>
      )}
      {load.status === 'ready' && <Figures f={load.f} />}
    </main>
  );
}
