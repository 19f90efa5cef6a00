/**
 * Trends (#/trends?pens=…&last=…): the historian's record of several tags
 * over a period, one y axis per unit, gaps as gaps and uncertain stretches
 * dashed; drag across the chart (or the buttons) to zoom and step through
 * time, each asking the historian again for finer data; while the period
 * reaches now the live values are appended and the window slides. A cursor
 * legend gives each pen's value and quality; the pens and period live in the
 * URL, so a trend can be bookmarked. The current pens and period export as
 * CSV, streamed with its progress, and the historian's size and retention
 * are stated.
 */
import { ReplayFromHere } from '../replay/ReplayBar.js';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { TrendChartProps } from './TrendChart.js';
import type { TagInfo } from '../../../src/web/protocol.js';
import { historyApi } from '../shared/api.js';
import { ExportPanel } from './ExportPanel.js';
import { RangePicker } from '../shared/RangePicker.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTimeZoned, formatNumber, formatValue, zoneName } from '../shared/format.js';
import { MAX_PENS, exportPath } from './history-api.js';
import { HistorianLine } from './HistorianLine.js';
import { LONG_PRESETS, type Period, periodBounds, presetPeriod } from '../shared/periods.js';
import type { HmiState } from '../live/state.js';
import { TrendData } from './trend-data.js';
import {
  type PenData,
  type PenInfo,
  type TrendUrlState,
  axisGroups,
  defaultPens,
  hrefTrend,
  isBool,
  joinPens,
  penColour,
  penDash,
  liveSample,
  parseTrendQuery,
  pointsFor,
  qualityText,
  readingAt,
  step,
  trendable,
  zoomOut,
  zoomTo,
} from './trend-model.js';
import { type TrendLimit, limitSpecs, phaseBands, phaseSpecs } from './trend-overlays.js';
import { limitValue } from '../live/tag-view.js';
import { formatInUnit } from '../shared/format.js';
import './trends.css';
import { msg } from '../i18n/locale.js';

const RESOLUTION_WORDS = {
  raw: 'every recorded change',
  minute: 'minute rollups (extremes kept)',
  hour: 'hourly rollups (extremes kept)',
  mixed: 'mixed resolutions',
  none: 'no samples',
} as const;

function penInfo(tag: string, info: TagInfo | undefined): PenInfo {
  return { tag, unit: info?.unit ?? '', bool: info ? isBool(info) : false, decimals: info?.decimals ?? 2, label: info?.description || tag };
}

/** What this browser received of a tag lately: the pen's data when the historian cannot answer. */
function received(state: HmiState, now: number): (tag: string) => PenData {
  return (tag) => {
    const pts = state.trends.points(tag, now);
    return { tag, t: pts.map((p) => p.t), v: pts.map((p) => p.v), q: pts.map((p) => (p.good ? 'good' : 'uncertain')) };
  };
}

/** The chart and uPlot come in their own chunk, fetched when a trend is first shown. */
function Chart(props: TrendChartProps) {
  const [mod, setMod] = useState<typeof import('./TrendChart.js') | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    import('./TrendChart.js').then(
      (m) => current && setMod(m),
      (err: unknown) => current && setFailed(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      current = false;
    };
  }, []);
  if (failed) return <p class="action-note is-error" role="alert">{msg().trends.chartFailed(failed)}</p>;
  if (!mod) return <div class="trend-canvas trend-loading" aria-busy="true" />;
  return <mod.TrendChart {...props} />;
}

function go(s: TrendUrlState): void {
  window.location.hash = hrefTrend(s);
}

function Swatch({ i }: { i: number }) {
  return (
    <svg class="pen-swatch" viewBox="0 0 28 10" aria-hidden="true">
      <line x1="0" y1="5" x2="28" y2="5" stroke={penColour(i)} stroke-width="2.5" stroke-dasharray={penDash(i).join(' ') || undefined} />
    </svg>
  );
}

function Legend({ pens, data, cursor, onRemove }: { pens: readonly PenInfo[]; data: readonly PenData[]; cursor: number | null; onRemove(tag: string): void }) {
  const state = useHmiState();
  const tz = state.timeZone;
  return (
    <div class="trend-legend" aria-live="off">
      <p class="legend-time caption" data-testid="cursor-time">
        {cursor === null ? msg().trends.latest : msg().trends.at(formatDateTimeZoned(cursor, tz))}
      </p>
      <ul class="legend-list">
        {pens.map((p, i) => {
          const d = data.find((x) => x.tag === p.tag);
          const r = d ? readingAt(d, cursor ?? Number.MAX_SAFE_INTEGER) : undefined;
          const q = qualityText(r);
          const info = state.tags.get(p.tag);
          const value = r?.v === null || r === undefined ? '—' : formatValue(info, p.bool ? r.v !== 0 : r.v);
          return (
            <li key={p.tag} class={`legend-pen ${q.good ? '' : 'q-unsure'}`} data-pen={p.tag} data-value={r?.v ?? ''} data-quality={r?.q ?? ''}>
              <Swatch i={i} />
              <a class="legend-name" href={`#/tags/${encodeURIComponent(p.tag)}`} title={p.tag}>
                {p.label}
              </a>
              <span class="legend-value num">{value}</span>
              <span class="legend-quality">
                {q.mark && <span aria-hidden="true">{q.mark} </span>}
                {q.word}
              </span>
              <button type="button" class="pen-remove" aria-label={msg().trends.remove(p.label)} onClick={() => onRemove(p.tag)}>
                ✕
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function AddPen({ pens, onAdd }: { pens: readonly string[]; onAdd(tag: string): void }) {
  const state = useHmiState();
  const [choice, setChoice] = useState('');
  const options = state.tagList.filter((t) => trendable(t) && !pens.includes(t.name));
  const full = pens.length >= MAX_PENS;
  return (
    <form
      class="add-pen"
      onSubmit={(e) => {
        e.preventDefault();
        if (choice) onAdd(choice);
        setChoice('');
      }}
    >
      <label class="filter">
        <span>{msg().trends.addPen}</span>
        <select value={choice} disabled={full} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
          <option value="">{full ? msg().trends.atMostPens(MAX_PENS) : msg().trends.chooseTag}</option>
          {options.map((t) => (
            <option key={t.name} value={t.name}>
              {t.description ? `${t.description} (${t.name})` : t.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" class="cmd-button" disabled={!choice || full}>
        {msg().trends.add}
      </button>
    </form>
  );
}

export function TrendPage({ query }: { query: string }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const defaults = useMemo(() => defaultPens(state.pages, state.tagList), [state]);
  const view = useMemo(() => parseTrendQuery(query, { now: Date.now(), timeZone: tz, tags: state.tags, defaults }), [query, state, defaults, tz]);
  const { pens, period } = view;
  const live = period.to === undefined;
  const now = state.clock.value;
  const bounds = periodBounds(period, live ? now : Date.now(), tz);
  const data = useMemo(() => new TrendData({ history: (q) => historyApi.history(q) }), []);
  // The phases' boolean tags, asked for the same period, shaded behind the pens.
  const phaseData = useMemo(() => new TrendData({ history: (q) => historyApi.history(q) }), []);
  const phases = useMemo(() => phaseSpecs(state.pages), [state]);
  const [plotWidth, setPlotWidth] = useState(0);
  const [cursor, setCursor] = useState<number | null>(null);
  /** The last time pointed at on the chart (kept when the pointer leaves it): where "Replay from here" starts. */
  const [pointed, setPointed] = useState<number | null>(null);
  const penInfos = useMemo(() => pens.map((p) => penInfo(p, state.tags.get(p))), [pens, state]);
  const groups = useMemo(() => axisGroups(penInfos), [penInfos]);

  // The URL always names the full state, so the address bar can be bookmarked as it is.
  useEffect(() => {
    const full = hrefTrend(view);
    if (window.location.hash !== full) history.replaceState(null, '', full);
  }, [view]);

  // Ask the historian for each new pen set, period or plot width (bucketed, so a resize does not ask again at every pixel).
  const widthBucket = Math.max(200, Math.round(plotWidth / 100) * 100);
  const askKey = `${pens.join(',')}|${period.preset}|${period.from}|${period.to ?? 'now'}|${widthBucket}`;
  useEffect(() => {
    if (pens.length === 0 || plotWidth === 0) return;
    const t = Date.now();
    const b = periodBounds(period, t, tz);
    void data.fetch({ tags: pens, from: b.from, to: b.to, points: pointsFor(widthBucket) }, received(state, t)).then(() => {
      if (!live) return;
      // What arrived while the historian answered: from this browser's recent values.
      const since = received(state, Date.now());
      for (const tag of pens) {
        const mine = since(tag);
        mine.t.forEach((ts, k) => data.live(tag, ts, mine.v[k] ?? null, mine.q[k] ?? null, b.from));
      }
    });
  }, [askKey]);

  useEffect(() => {
    if (phases.length === 0 || plotWidth === 0) return;
    const b = periodBounds(period, Date.now(), tz);
    void phaseData.fetch({ tags: phases.map((p) => p.tag), from: b.from, to: b.to, points: pointsFor(widthBucket) }, received(state, Date.now()));
  }, [askKey]);
  useEffect(() => {
    if (!live) return;
    const offs = phases.map((p) =>
      state.value(p.tag).subscribe((lv) => {
        if (!lv.sourceTs) return;
        const s = liveSample(lv.value === true ? 1 : lv.value === false ? 0 : lv.value, lv.quality);
        phaseData.live(p.tag, lv.sourceTs, s.v, s.q, periodBounds(period, Date.now(), tz).from);
      }),
    );
    return () => offs.forEach((off) => off());
  }, [askKey, live]);

  // The live tail: every new value of a pen, while the period reaches now.
  useEffect(() => {
    if (!live) return;
    const offs = pens.map((tag) =>
      state.value(tag).subscribe((lv) => {
        if (!lv.sourceTs) return;
        const s = liveSample(lv.value, lv.quality);
        data.live(tag, lv.sourceTs, s.v, s.q, periodBounds(period, Date.now(), tz).from);
      }),
    );
    return () => offs.forEach((off) => off());
  }, [askKey, live]);

  const version = data.version.value;
  const load = data.load.value;
  const linkLive = state.link.value.state === 'live';
  const joined = useMemo(() => joinPens(data.pens, live && linkLive ? Math.max(now, data.pens.reduce((m, p) => Math.max(m, p.t[p.t.length - 1] ?? 0), 0)) : undefined), [version, live, linkLive, now]);

  const phaseVersion = phaseData.version.value;
  const bands = useMemo(() => phaseBands(phases, phaseData.pens, bounds.from, bounds.to, live ? Math.max(now, bounds.to) : bounds.to), [phaseVersion, bounds.from, bounds.to, now]);
  const limitRefs = useMemo(() => limitSpecs(state.pages, pens), [state, pens.join(',')]);
  const limits: TrendLimit[] = [];
  for (const l of limitRefs) {
    if (penInfos[l.pen]?.bool) continue;
    const lv = limitValue(state, l.ref);
    if (lv) limits.push({ pen: l.pen, kind: l.kind, value: lv.value, good: lv.good });
  }
  const limitsKey = limits.map((l) => `${l.pen}:${l.kind}:${l.value}:${l.good}`).join(',');
  const stableLimits = useMemo(() => limits, [limitsKey]);
  const shownPhases = [...new Set(bands.map((b) => b.label))];

  const setPens = (next: string[]): void => go({ pens: next, period });
  const setPeriod = (p: Period): void => go({ pens, period: p });

  const t = msg().trends;
  const toText = live ? msg().periods.now : formatDateTimeZoned(bounds.to, tz);
  const label = t.chartLabel(penInfos.map((p) => p.label).join(', '), formatDateTimeZoned(bounds.from, tz), toText);
  const lastMonth = presetPeriod('last-month', now, tz);

  return (
    <main class="page trend-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.trends}</h1>
      <p class="page-links">
        <a href="#/cycles">{t.cycleReport}</a> · <a href="#/tags">{msg().nav.tags}</a>
      </p>
      <section class="panel filters" aria-label={msg().periods.period}>
        <RangePicker idPrefix="trend" value={period} onChange={setPeriod} presets={LONG_PRESETS} />
      </section>

      <section class="panel trend-panel" aria-labelledby="h-trend">
        <h2 id="h-trend">
          {live ? t.live : ''}
          {msg().periods.fromTo(formatDateTimeZoned(bounds.from, tz), toText)}
        </h2>
        <div class="trend-tools" role="toolbar" aria-label={t.moveThroughTime}>
          <button type="button" class="cmd-button" onClick={() => setPeriod(step(bounds, -1, Date.now()))}>
            <span aria-hidden="true">◀ </span>
            {t.earlier}
          </button>
          <button type="button" class="cmd-button" disabled={live} onClick={() => setPeriod(step(bounds, 1, Date.now()))}>
            {t.later}
            <span aria-hidden="true"> ▶</span>
          </button>
          <button type="button" class="cmd-button" onClick={() => setPeriod(zoomTo(bounds.from + (bounds.to - bounds.from) / 4, bounds.to - (bounds.to - bounds.from) / 4))}>
            {t.zoomIn}
          </button>
          <button type="button" class="cmd-button" onClick={() => setPeriod(zoomOut(bounds, Date.now()))}>
            {t.zoomOut}
          </button>
          {!live && (
            <button type="button" class="cmd-button" onClick={() => setPeriod(presetPeriod('hour', Date.now(), tz))}>
              {t.liveButton}
              <span aria-hidden="true"> ▶▶</span>
            </button>
          )}
        </div>
        {pens.length === 0 ? (
          <p class="empty">{t.noPens}</p>
        ) : (
          <Chart
            pens={penInfos}
            groups={groups}
            data={joined}
            bounds={bounds}
            timeZone={tz}
            label={label}
            onZoom={(a, b) => setPeriod(zoomTo(a, b))}
            onCursor={(t) => {
              setCursor(t);
              if (t !== null) setPointed(Math.round(t));
            }}
            onWidth={setPlotWidth}
            bands={bands}
            limits={stableLimits}
          />
        )}
        {(stableLimits.length > 0 || shownPhases.length > 0) && (
          <p class="caption trend-overlays" data-bands={bands.length} data-limits={stableLimits.length}>
            {stableLimits.length > 0 &&
              msg().trendOverlay.limits(stableLimits.map((l) => msg().trendOverlay.limit(penInfos[l.pen]?.label ?? '', l.kind, formatInUnit(state.tags.get(pens[l.pen]!), l.value), l.good)).join('; '))}{' '}
            {shownPhases.length > 0 && msg().trendOverlay.bands(shownPhases.join(', '))}
          </p>
        )}
        <p class="caption trend-status" role="status" data-status={load.status} data-resolution={load.status === 'ready' ? load.resolution : ''}>
          {load.status === 'loading' && t.reading}
          {load.status === 'ready' && t.points(formatNumber(load.points, 0), t.resolution[load.resolution] ?? RESOLUTION_WORDS[load.resolution])}
          {load.status === 'error' && (
            <span class="is-error">
              <span aria-hidden="true">✕ </span>
              {t.failed(load.message, live)}
            </span>
          )}{' '}
          {msg().periods.timesIn(zoneName(bounds.to, tz), tz)} {t.help}
        </p>
        {pointed !== null && pointed <= Date.now() && <ReplayFromHere ts={pointed} />}
        <Legend pens={penInfos} data={data.pens} cursor={cursor} onRemove={(tag) => setPens(pens.filter((p) => p !== tag))} />
        <AddPen pens={pens} onAdd={(tag) => setPens([...pens, tag])} />
      </section>

      <ExportPanel
        pens={pens}
        exports={[
          { label: t.exportPeriod, url: exportPath(pens, bounds.from, bounds.to), name: 'planta-trend.csv' },
          { label: t.exportLastMonth, url: exportPath(pens, lastMonth.from, lastMonth.to!), name: 'planta-last-month.csv' },
        ]}
      />
      <HistorianLine />
    </main>
  );
}
