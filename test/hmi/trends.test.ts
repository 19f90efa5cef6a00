/**
 * The trend page, the CSV export and the cycle report without a browser:
 * periods (rolling and calendar months in the plant's zone), the URL's
 * state and its round trip, pens joined onto one time axis with gaps and
 * uncertain stretches kept apart, the value at the cursor, zoom and steps,
 * the live tail, the data holder that drops late answers, export progress
 * from a partial CSV, and the cycle report's figures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallResult } from '../../hmi/src/shared/call-result.js';
import { cycleView, cyclesSummary, phaseNames } from '../../hmi/src/trends/cycles-model.js';
import { CsvProgress, fileNameFrom, readRangeHeader, streamExport } from '../../hmi/src/trends/export-model.js';
import { type Cycle, type HistoryAnswer, type HistoryQuery, exportPath, historyPath } from '../../hmi/src/trends/history-api.js';
import { monthStart, periodBounds, presetPeriod } from '../../hmi/src/shared/periods.js';
import { TrendData } from '../../hmi/src/trends/trend-data.js';
import {
  type PenData,
  appendLive,
  axisGroups,
  defaultPens,
  formatTrendQuery,
  historianText,
  joinPens,
  liveSample,
  parseTrendQuery,
  qualityText,
  readingAt,
  retentionText,
  step,
  zoomOut,
  zoomTo,
} from '../../hmi/src/trends/trend-model.js';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const tags = new Map([
  ['reactor.level', { type: 'uint16' as const }],
  ['reactor.oxygen', { type: 'uint16' as const }],
  ['phase.fill', { type: 'bool' as const }],
  ['plant.name', { type: 'string' as const }],
]);
const parseOpts = { now: T0, timeZone: 'America/Argentina/Buenos_Aires', tags, defaults: ['reactor.level', 'reactor.oxygen'] };

describe('periods', () => {
  it('rolling presets end now; calendar months in the plant zone', () => {
    assert.deepEqual(presetPeriod('hour', T0), { preset: 'hour', from: T0 - 3_600_000, to: undefined });
    assert.deepEqual(presetPeriod('month', T0), { preset: 'month', from: T0 - 30 * 86_400_000, to: undefined });
    // Buenos Aires is UTC-3: its November starts at 03:00 UTC.
    const tz = 'America/Argentina/Buenos_Aires';
    assert.equal(monthStart(T0, tz), Date.parse('2026-11-01T03:00:00Z'));
    assert.deepEqual(presetPeriod('this-month', T0, tz), { preset: 'this-month', from: Date.parse('2026-11-01T03:00:00Z'), to: undefined });
    assert.deepEqual(presetPeriod('last-month', T0, tz), { preset: 'last-month', from: Date.parse('2026-10-01T03:00:00Z'), to: Date.parse('2026-11-01T03:00:00Z') });
    // January's last month is the previous year's December.
    assert.equal(monthStart(Date.parse('2027-01-15T12:00:00Z'), 'UTC', -1), Date.parse('2026-12-01T00:00:00Z'));
  });

  it('a rolling period slides with now; a fixed one does not', () => {
    assert.deepEqual(periodBounds(presetPeriod('hour', T0), T0 + 60_000), { from: T0 - 3_540_000, to: T0 + 60_000 });
    assert.deepEqual(periodBounds({ preset: 'custom', from: 1, to: 5 }, T0), { from: 1, to: 5 });
    assert.deepEqual(periodBounds({ preset: 'this-month', from: 100, to: undefined }, T0), { from: 100, to: T0 });
  });
});

describe('the URL of a trend', () => {
  it('round-trips pens and a preset or fixed period', () => {
    for (const state of [
      { pens: ['reactor.level', 'phase.fill'], period: presetPeriod('day', T0) },
      { pens: ['reactor.oxygen'], period: { preset: 'custom' as const, from: T0 - 600_000, to: T0 } },
    ]) {
      const q = formatTrendQuery(state);
      const back = parseTrendQuery(q, parseOpts);
      assert.deepEqual(back.pens, state.pens);
      assert.equal(back.period.preset, state.period.preset);
      assert.equal(back.period.to, state.period.to);
      if (state.period.preset === 'custom') assert.equal(back.period.from, state.period.from);
    }
    assert.equal(formatTrendQuery({ pens: ['a b', 'c'], period: { preset: 'custom', from: 0, to: 1000 } }), 'pens=a%20b,c&from=1970-01-01T00:00:00.000Z&to=1970-01-01T00:00:01.000Z');
  });

  it('defaults, unknown and string tags left out, epoch ms accepted, nonsense falls back to the last hour', () => {
    assert.deepEqual(parseTrendQuery('', parseOpts).pens, ['reactor.level', 'reactor.oxygen']);
    assert.deepEqual(parseTrendQuery('pens=nope,plant.name,reactor.level,reactor.level', parseOpts).pens, ['reactor.level']);
    assert.deepEqual(parseTrendQuery('pens=', parseOpts).pens, [], 'an empty pen list stays empty (the operator removed them all)');
    assert.deepEqual(parseTrendQuery(`pens=reactor.level&from=${T0 - 5000}&to=${T0}`, parseOpts).period, { preset: 'custom', from: T0 - 5000, to: T0 });
    assert.equal(parseTrendQuery('pens=reactor.level&from=x&to=y', parseOpts).period.preset, 'hour');
    assert.equal(parseTrendQuery(`pens=reactor.level&from=${T0}&to=${T0 - 1}`, parseOpts).period.preset, 'hour');
    assert.equal(parseTrendQuery('last=last-month', parseOpts).period.preset, 'last-month');
    assert.equal(parseTrendQuery('last=fortnight', parseOpts).period.preset, 'hour');
  });

  it("default pens: the first dashboard's bars, else the first numeric tags", () => {
    const list = [
      { name: 'phase.fill', type: 'bool' as const },
      { name: 'a', type: 'uint16' as const },
      { name: 's', type: 'string' as const },
      { name: 'b', type: 'float32' as const },
    ];
    assert.deepEqual(defaultPens([{ kind: 'mimic' }, { kind: 'dashboard', bars: [{ tag: 'reactor.level' }, { tag: 'reactor.oxygen' }] }], list), ['reactor.level', 'reactor.oxygen']);
    assert.deepEqual(defaultPens([], list), ['a', 'b']);
  });

  it('the request paths', () => {
    assert.equal(historyPath({ tags: ['reactor.level', 'a,b'], from: 1.5, to: 9.2, points: 800 }), 'api/history?tags=reactor.level,a%2Cb&from=1&to=10&points=800');
    assert.equal(exportPath(['x'], 0, 10), 'api/history/export?tags=x&from=0&to=10');
  });
});

describe('pens on one time axis', () => {
  const pen = (tag: string, t: number[], v: (number | null)[], q: PenData['q']): PenData => ({ tag, t, v, q });

  it('one axis per unit; booleans share one', () => {
    const g = axisGroups([
      { tag: 'l', unit: '%', bool: false, decimals: 1, label: 'l' },
      { tag: 'o', unit: 'mg/L', bool: false, decimals: 2, label: 'o' },
      { tag: 'f', unit: '', bool: true, decimals: 0, label: 'f' },
      { tag: 'l2', unit: '%', bool: false, decimals: 1, label: 'l2' },
      { tag: 'd', unit: '', bool: true, decimals: 0, label: 'd' },
    ]);
    assert.deepEqual(
      g.map((x) => [x.key, x.pens]),
      [
        ['u:%', [0, 3]],
        ['u:mg/L', [1]],
        ['bool', [2, 4]],
      ],
    );
  });

  it('joins times, leaves other pens’ times undefined and keeps gaps as null', () => {
    const a = pen('a', [10, 30, 40], [1, null, 3], ['good', 'bad', 'good']);
    const b = pen('b', [20, 30], [5, 6], ['good', 'good']);
    const j = joinPens([a, b]);
    assert.deepEqual(j.x, [10, 20, 30, 40]);
    assert.deepEqual(j.good[0], [1, undefined, null, 3]);
    assert.deepEqual(j.unsure[0], [null, undefined, null, null]);
    assert.deepEqual(j.good[1], [undefined, 5, 6, undefined]);
  });

  it('an uncertain stretch is apart from the good one: each stops where the other starts', () => {
    const a = pen('a', [0, 10, 20, 30], [1, 2, 3, 4], ['good', 'uncertain', 'uncertain', 'good']);
    const j = joinPens([a]);
    assert.deepEqual(j.good[0], [1, null, null, 4]);
    assert.deepEqual(j.unsure[0], [null, 2, 3, null]);
  });

  it('while live, each pen holds its last value up to now (a gap stays a gap)', () => {
    const j = joinPens([pen('a', [0, 10], [1, 2], ['good', 'good']), pen('b', [5], [null], ['bad']), pen('c', [], [], [])], 50);
    assert.deepEqual(j.x, [0, 5, 10, 50]);
    assert.equal(j.good[0]![3], 2);
    assert.equal(j.good[1]![3], null);
    assert.equal(j.good[2]![3], undefined);
  });

  it('the value at the cursor is the last sample at or before it, with its quality', () => {
    const a = pen('a', [10, 20, 30], [1, null, 3], ['good', 'bad', 'uncertain']);
    assert.equal(readingAt(a, 5), undefined);
    assert.deepEqual(readingAt(a, 15), { t: 10, v: 1, q: 'good' });
    assert.deepEqual(readingAt(a, 25), { t: 20, v: null, q: 'bad' });
    assert.deepEqual(readingAt(a, 99), { t: 30, v: 3, q: 'uncertain' });
    assert.equal(qualityText(readingAt(a, 15)).word, 'good');
    assert.equal(qualityText(readingAt(a, 25)).word, 'bad (gap)');
    assert.deepEqual(qualityText(readingAt(a, 30)), { word: 'uncertain', mark: '?', good: false });
    assert.equal(qualityText(undefined).word, 'no data');
  });
});

describe('zoom, steps and the live tail', () => {
  it('zooms to a dragged period (at least a second), out around the middle, never past now', () => {
    assert.deepEqual(zoomTo(20_000, 0), { preset: 'custom', from: 0, to: 20_000 });
    assert.deepEqual(zoomTo(1_000_000, 1_000_002), { preset: 'custom', from: 999_501, to: 1_000_501 });
    assert.deepEqual(zoomOut({ from: 1000, to: 2000 }, 10_000), { preset: 'custom', from: 500, to: 2500 });
    assert.deepEqual(zoomOut({ from: 1000, to: 2000 }, 2200), { preset: 'custom', from: 200, to: 2200 });
    assert.deepEqual(step({ from: 1000, to: 2000 }, -1, 10_000), { preset: 'custom', from: 500, to: 1500 });
    assert.deepEqual(step({ from: 1000, to: 2000 }, 1, 2100), { preset: 'custom', from: 1100, to: 2100 });
  });

  it('appends only newer values and drops what slid out of the window (keeping the value at its edge)', () => {
    const p: PenData = { tag: 'a', t: [0, 10, 20], v: [1, 2, 3], q: ['good', 'good', 'good'] };
    assert.equal(appendLive(p, 20, 9, 'good', 0), false);
    assert.equal(appendLive(p, 30, 4, 'uncertain', 15), true);
    assert.deepEqual(p, { tag: 'a', t: [10, 20, 30], v: [2, 3, 4], q: ['good', 'good', 'uncertain'] });
    assert.deepEqual(liveSample(true, 'Good'), { v: 1, q: 'good' });
    assert.deepEqual(liveSample(4.5, 'Uncertain_LastUsableValue'), { v: 4.5, q: 'uncertain' });
    assert.deepEqual(liveSample(4.5, 'Bad_NoCommunication'), { v: null, q: 'bad' });
    assert.deepEqual(liveSample('text', 'Good'), { v: null, q: 'bad' });
  });

  it('shows only the answer to the latest question; live values join it once it is there', async () => {
    const answers: ((r: CallResult<HistoryAnswer>) => void)[] = [];
    const asked: HistoryQuery[] = [];
    const d = new TrendData({
      history: (q) => {
        asked.push(q);
        return new Promise((res) => answers.push(res));
      },
    });
    const ok = (v: number): CallResult<HistoryAnswer> => ({ kind: 'ok', status: 200, serverDate: undefined, body: { from: 0, to: 100, series: [{ tag: 'a', unit: '%', resolution: 'raw', t: [1], v: [v], q: ['good'] }] } });
    const first = d.fetch({ tags: ['a'], from: 0, to: 100, points: 200 });
    const second = d.fetch({ tags: ['a'], from: 50, to: 100, points: 200 });
    d.live('a', 200, 5, 'good', 0);
    answers[1]!(ok(2));
    await second;
    answers[0]!(ok(1));
    await first;
    assert.deepEqual(d.pens[0]!.v, [2]);
    assert.deepEqual(d.load.value, { status: 'ready', resolution: 'raw', points: 1 });
    d.live('a', 300, 6, 'good', 0);
    assert.deepEqual(d.pens[0]!.v, [2, 6]);
    assert.equal(asked[1]!.from, 50);
  });

  it('when the historian cannot answer, says why and shows what the fallback gives', async () => {
    const d = new TrendData({ history: () => Promise.resolve({ kind: 'refused', status: 503, error: { code: 'PLANTA_HISTORIAN_UNAVAILABLE', message: 'no historian' } }) });
    await d.fetch({ tags: ['a'], from: 0, to: 1 }, (tag) => ({ tag, t: [5], v: [1], q: ['good'] }));
    assert.deepEqual(d.load.value, { status: 'error', message: 'no historian [PLANTA_HISTORIAN_UNAVAILABLE]', code: 'PLANTA_HISTORIAN_UNAVAILABLE' });
    assert.deepEqual(d.pens[0]!.t, [5]);
  });
});

describe('CSV export', () => {
  it('progress from the time in the last complete row, against X-Planta-Range', () => {
    const range = readRangeHeader(`${T0}-${T0 + 4000}`);
    assert.deepEqual(range, { from: T0, to: T0 + 4000 });
    const p = new CsvProgress(range);
    p.feed('time,reactor.level [%],reactor.level quality\n2026-11-25T12:00:00.000Z,1,good\n2026-11-25T12:00:01.000Z,2,go');
    assert.equal(p.rows, 1);
    assert.equal(p.fraction, 0);
    p.feed('od\n2026-11-25T12:00:03.000Z,3,good\n2026-11-25T12:00:0');
    assert.equal(p.rows, 3);
    assert.equal(p.fraction, 0.75);
    assert.equal(new CsvProgress(undefined).fraction, undefined);
    assert.equal(readRangeHeader(null), undefined);
    assert.equal(readRangeHeader('5-5'), undefined);
  });

  it('the file name from Content-Disposition', () => {
    assert.equal(fileNameFrom('attachment; filename="planta-20261125T120000Z.csv"', 'x.csv'), 'planta-20261125T120000Z.csv');
    assert.equal(fileNameFrom("attachment; filename*=UTF-8''caf%C3%A9.csv; filename=\"cafe.csv\"", 'x.csv'), 'café.csv');
    assert.equal(fileNameFrom('attachment; filename="../../etc/passwd"', 'x.csv'), 'passwd');
    assert.equal(fileNameFrom(null, 'x.csv'), 'x.csv');
  });

  it('streams chunk by chunk to a Blob, reports progress, and can be cancelled', async () => {
    const chunks = ['time,a [%],a quality\n', `${new Date(T0).toISOString()},1,good\n`, `${new Date(T0 + 500).toISOString()},2,good\n`];
    const response = (): Response => {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const s of chunks) c.enqueue(enc.encode(s));
          c.close();
        },
      });
      return new Response(body, { headers: { 'Content-Disposition': 'attachment; filename="t.csv"', 'X-Planta-Range': `${T0}-${T0 + 1000}` } });
    };
    const seen: (number | undefined)[] = [];
    const r = await streamExport({ url: 'x', fallbackName: 'f.csv', signal: new AbortController().signal, onProgress: (p) => seen.push(p.fraction), fetch: () => Promise.resolve(response()) });
    assert.equal(r.kind, 'done');
    if (r.kind !== 'done') return;
    assert.equal(r.fileName, 't.csv');
    assert.equal(r.rows, 2);
    assert.equal(await r.blob.text(), chunks.join(''));
    assert.deepEqual(seen, [0, 0, 0.5, 1]);

    const ctl = new AbortController();
    const never = (_u: unknown, init?: RequestInit): Promise<Response> =>
      new Promise((_res, rej) => init?.signal?.addEventListener('abort', () => rej(new DOMException('aborted', 'AbortError'))));
    const pending = streamExport({ url: 'x', fallbackName: 'f.csv', signal: ctl.signal, onProgress: () => {}, fetch: never as typeof fetch });
    ctl.abort();
    assert.deepEqual(await pending, { kind: 'cancelled' });

    const refused = await streamExport({
      url: 'x',
      fallbackName: 'f.csv',
      signal: new AbortController().signal,
      onProgress: () => {},
      fetch: () => Promise.resolve(new Response(JSON.stringify({ error: { code: 'PLANTA_TAG_UNKNOWN', message: 'no tag "x"' } }), { status: 404 })),
    });
    assert.deepEqual(refused, { kind: 'failed', message: 'no tag "x" [PLANTA_TAG_UNKNOWN]' });
  });
});

describe('the historian and the cycle report in words', () => {
  it('disk use, samples and retention', () => {
    assert.equal(retentionText('90d'), '90 days');
    assert.equal(retentionText('1y'), '1 year');
    assert.equal(retentionText('forever'), 'for ever');
    assert.equal(retentionText(null), 'for ever');
    assert.equal(retentionText(2 * 86_400_000), '2 days');
    assert.equal(
      historianText({ bytes: 12_345_678, samples: 1_234_567, oldest: 0, retention: { raw: '90d', minute: '2y', hour: 'forever' } }, (t) => `T${t}`),
      'Historian: 12.3\u00a0MB on disk, 1,234,567 samples since T0; kept: raw 90 days, minute rollups 2 years, hourly for ever.',
    );
  });

  const cycle = (over: Partial<Cycle> = {}): Cycle => ({
    start: T0,
    end: T0 + 3_600_000,
    program: 1,
    phases: [
      { name: 'Aerated fill', plannedS: 1800, actualS: 1800 },
      { name: 'Aeration', plannedS: 600, actualS: 900 },
    ],
    oxygenMeanMgL: 2.345,
    oxygenMinMgL: 1.2,
    turbidityAtDischargeNtu: null,
    volumeM3: 12.34,
    alarms: 2,
    anomalies: [],
    ...over,
  });

  it('figures with units, phases against their plan, a running cycle', () => {
    const v = cycleView(cycle(), T0);
    assert.equal(v.program, 'Program 1');
    assert.equal(v.duration, '1 h 00 min');
    assert.equal(v.oxygenMean, '2.35\u00a0mg/L');
    assert.equal(v.turbidity, '—');
    assert.equal(v.volume, '12.3\u00a0m³');
    assert.deepEqual(v.phases[0], { name: 'Aerated fill', actual: '30 min 00 s', planned: '30 min 00 s', over: undefined });
    assert.equal(v.phases[1]!.over, '5 min 00 s over plan');
    const running = cycleView(cycle({ end: null, program: null }), T0 + 90_000);
    assert.equal(running.running, true);
    assert.equal(running.duration, '1 min 30 s so far');
    assert.equal(running.program, '—');
  });

  it('phase columns in order of appearance; a summary that counts anomalies', () => {
    const a = cycle({ anomalies: [{ code: 'PHASE_OVER', text: 'Aeration 5 min over plan' }] });
    const b = cycle({ phases: [{ name: 'Settling', plannedS: 60, actualS: 60 }] });
    assert.deepEqual(phaseNames([a, b]), ['Aerated fill', 'Aeration', 'Settling']);
    assert.equal(cyclesSummary([a, b]), '2 cycles, 1 with anomalies');
    assert.equal(cyclesSummary([b]), '1 cycle');
  });
});
