/**
 * Year trends from the rollup tiers (issue 25, goal 2), on SQLite and on
 * PostgreSQL: the trend equals what the raw data gives under the buckets'
 * semantics (each bucket's first, extremes and last; spikes kept), and its
 * structure — a year reads at most a year of hour rows once, then only the
 * rows the watermark passed since (the tiers cached in memory); the sample
 * count that picks the resolution stops once past its threshold.
 * The speed itself is measured by `npm run bench:historian-trend`.
 */
import assert from 'node:assert/strict';
import { type TestContext, describe, it } from 'node:test';
import { Historian } from '../../src/historian/historian.js';
import { M4Sink, type PointSink, type Series, m4 } from '../../src/historian/m4.js';
import { rollupBuckets } from '../../src/historian/rollup.js';
import { appendRawSeries, appendRollupSeries } from '../../src/historian/series.js';
import { SqliteStore } from '../../src/historian/sqlite.js';
import { HistorianError, type HistoryStore, type QualityClass } from '../../src/historian/types.js';
import { needPostgres, pgStore, testSchema } from './pg-helpers.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const YEAR = 365 * DAY;
const T0 = Date.UTC(2025, 0, 1);
const STEP = 5 * MIN;
const INTERVAL = 10 * MIN;
const POINTS = 1000;

/** The M4 reduction as it was before it streamed (the oracle): over a whole series in arrays. */
function m4Arrays(s: Series, from: number, to: number, pixels: number): Series {
  const n = s.t.length;
  if (n <= 4 * pixels || !(to > from)) return s;
  const out: Series = { t: [], v: [], q: [] };
  const scale = pixels / (to - from);
  let col = -1;
  let [first, min, max, last, gap] = [-1, -1, -1, -1, -1];
  const emit = (): void => {
    let prev = -1;
    for (const i of [first, min, max, last, gap].filter((x) => x >= 0).sort((a, b) => a - b)) {
      if (i === prev) continue;
      prev = i;
      out.t.push(s.t[i]!);
      out.v.push(s.v[i]!);
      out.q.push(s.q[i]!);
    }
  };
  for (let i = 0; i < n; i++) {
    const c = Math.min(pixels - 1, Math.max(0, Math.floor((s.t[i]! - from) * scale)));
    if (c !== col) {
      if (col >= 0) emit();
      col = c;
      first = min = max = last = gap = -1;
    }
    const v = s.v[i];
    if (v === null || v === undefined) {
      if (gap < 0) gap = i;
      continue;
    }
    if (first < 0) first = i;
    if (min < 0 || v < s.v[min]!) min = i;
    if (max < 0 || v > s.v[max]!) max = i;
    last = i;
  }
  if (col >= 0) emit();
  return out;
}

/** A sink that keeps every point, for the oracle (a Series itself). */
function arraySink(): PointSink & Series {
  const s: Series = { t: [], v: [], q: [] };
  return Object.assign(s, {
    push(t: number, v: number | null, q: QualityClass | null) {
      s.t.push(t);
      s.v.push(v);
      s.q.push(q);
    },
    get length() {
      return s.t.length;
    },
    get lastValue() {
      return s.v.length === 0 ? undefined : s.v[s.v.length - 1];
    },
  });
}

describe('M4 streamed', () => {
  it('keeps the same points as M4 over the whole series, gaps and ties included', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const n of [0, 1, 50, 400, 401, 5000, 40_000]) {
      const s: Series = { t: [], v: [], q: [] };
      let t = 1000;
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(rnd() * 30);
        s.t.push(t);
        s.v.push(rnd() < 0.05 ? null : Math.round(rnd() * 20));
        s.q.push(rnd() < 0.1 ? 'uncertain' : 'good');
      }
      for (const [from, to] of [[1000, t + 1], [1000 + t / 3, t / 2], [5, 5]] as const) {
        assert.deepEqual(m4(s, from, to, 100), m4Arrays(s, from, to, 100), `n ${n}, [${from}, ${to})`);
        const sink = new M4Sink(from, to, 100);
        sink.expect(n);
        for (let i = 0; i < n; i++) sink.push(s.t[i]!, s.v[i]!, s.q[i]!);
        assert.deepEqual(sink.result(), m4Arrays(s, from, to, 100), `told ${n} points, [${from}, ${to})`);
      }
    }
  });
});

/** Counts what the store hands out: rollup rows and raw samples. */
function counted(store: HistoryStore): { rollupRows: number; rawSamples: number } {
  const c = { rollupRows: 0, rawSamples: 0 };
  const readRollups = store.readRollups.bind(store);
  const readRaw = store.readRaw.bind(store);
  store.readRollups = async (...a) => {
    const rows = await readRollups(...a);
    c.rollupRows += rows.length;
    return rows;
  };
  store.readRaw = async (...a) => {
    const s = await readRaw(...a);
    c.rawSamples += s.n;
    return s;
  };
  return c;
}

/**
 * The trend of [from, to) from the raw data alone: hour buckets computed
 * straight from the samples (not from minute rows) up to the hour watermark,
 * minute buckets up to the minute watermark, then the samples; M4 over all.
 */
async function fromRaw(store: HistoryStore, h: Historian, tag: string, from: number, to: number, hourMark: number, minuteMark: number): Promise<Series> {
  const sink = arraySink();
  const stale = h.staleAfterMs(tag);
  const buckets = async (a: number, b: number, size: number) =>
    rollupBuckets(await store.readRaw(tag, a, b), await store.lastBefore(tag, a), a, b, size, stale);
  const a = Math.floor(from / HOUR) * HOUR;
  appendRollupSeries(sink, await buckets(a, hourMark, HOUR), HOUR, from, hourMark);
  appendRollupSeries(sink, await buckets(hourMark, minuteMark, MIN), MIN, hourMark, minuteMark);
  appendRawSeries(sink, await store.readRaw(tag, minuteMark, to), await store.lastBefore(tag, minuteMark), minuteMark, to, stale, to);
  return m4Arrays({ t: sink.t, v: sink.v, q: sink.q }, from, to, POINTS);
}

function trendContract(kind: string, make: (t: TestContext, now: () => number) => Promise<HistoryStore | undefined>): void {
  describe(`year trend on ${kind}`, { timeout: 300_000 }, () => {
    it('from the hour tier equals the raw data bucket by bucket, spikes kept; asked again it reads only what is new', async (t) => {
      const clock = { now: T0 };
      const store = await make(t, () => clock.now);
      if (!store) return;
      const h = new Historian({ store, now: () => clock.now, maxIntervalMs: INTERVAL, maxQueue: Infinity });
      t.after(() => h.close());
      const spikes: number[] = [];
      let v = 50;
      let k = 0;
      const record = async (until: number): Promise<void> => {
        for (; T0 + k * STEP < until; k++) {
          const ts = T0 + k * STEP;
          v += Math.sin(k * 0.7) * 0.5;
          // Two days without data (a gap) and three hours of bad quality.
          if (ts >= T0 + 100 * DAY && ts < T0 + 102 * DAY) continue;
          const quality = ts >= T0 + 200 * DAY + 17 * MIN && ts < T0 + 200 * DAY + 3 * HOUR ? 'Bad_NoCommunication' : 'Good';
          const spike = k % 2016 === 1000; // a 5-minute spike a week
          if (spike) spikes.push(v + 500 + k);
          clock.now = ts;
          h.ingest([{ tag: 'level', value: spike ? spikes.at(-1)! : v, quality, sourceTs: ts, serverTs: ts }]);
          if (k % 20_000 === 0) await h.flush();
        }
        await h.flush();
        clock.now = until;
        await h.rollup();
      };
      await record(T0 + YEAR);
      const c = counted(store);
      const from = T0 + 1_234_567;
      const to = T0 + YEAR;
      const [s] = await h.query(['level'], from, to, POINTS);
      assert.equal(s!.resolution, 'hour');
      // A year is at most a year of hour rows (and the minutes of the last hour), the raw data only its last minute.
      assert.ok(c.rollupRows <= 8760 + 60 + 1, `${c.rollupRows} rollup rows read`);
      assert.ok(c.rawSamples <= 2, `${c.rawSamples} raw samples read`);
      const hourMark = Number(await store.getMeta('rollup.hour'));
      const minuteMark = Number(await store.getMeta('rollup.minute'));
      assert.ok(hourMark > to - 2 * HOUR && minuteMark > to - 2 * MIN, 'rolled up to the end');
      const expected = await fromRaw(store, h, 'level', from, to, hourMark, minuteMark);
      assert.deepEqual({ t: s!.t, v: s!.v, q: s!.q }, expected);
      assert.ok(s!.t.length <= 4 * POINTS + 200, `${s!.t.length} points`);
      for (const x of spikes) assert.ok(s!.v.includes(x), `spike ${x} drawn`);
      assert.ok(s!.v.includes(null) && s!.q.includes('bad'), 'the gap and the bad stretch drawn');

      // Asked again: the same trend, from memory.
      const before = c.rollupRows;
      const [again] = await h.query(['level'], from, to, POINTS);
      assert.deepEqual(again, s);
      assert.ok(c.rollupRows - before <= 60, `${c.rollupRows - before} rollup rows read again (the year's hours are cached)`);

      // Three hours later: only the new rows are read, and the trend is the one a fresh reader draws.
      await record(T0 + YEAR + 3 * HOUR);
      const later = c.rollupRows;
      const [moved] = await h.query(['level'], from + 3 * HOUR, to + 3 * HOUR, POINTS);
      assert.ok(c.rollupRows - later <= 3 + 60, `${c.rollupRows - later} rollup rows read after 3 hours`);
      const fresh = new Historian({ store, now: () => clock.now, maxIntervalMs: INTERVAL });
      assert.deepEqual(moved, (await fresh.query(['level'], from + 3 * HOUR, to + 3 * HOUR, POINTS))[0]);
    });
  });
}

trendContract('sqlite', async (_t, now) => new SqliteStore(':memory:', { now }));
trendContract('postgres', async (t, now) => ((await needPostgres(t)) ? pgStore(t, { schema: testSchema(t), now }) : undefined));

describe('year trend: a store that fails', () => {
  it('rejects the query with the store’s error, nothing left unhandled (a web node before the historian made its file)', async () => {
    const unavailable = (): never => {
      throw new HistorianError('PLANTA_HISTORIAN_UNAVAILABLE', 'no history file yet');
    };
    const store = new Proxy({}, { get: (_o, k) => (k === 'then' ? undefined : unavailable) }) as HistoryStore;
    const h = new Historian({ store, reader: true });
    await assert.rejects(h.query(['level'], T0, T0 + YEAR, POINTS), { code: 'PLANTA_HISTORIAN_UNAVAILABLE' });
    // An unhandled rejection of a read issued with the failing one would fail this test here.
    await new Promise((r) => setImmediate(r));
  });
});

describe('year trend: the resolution’s sample count', () => {
  it('stops counting the blocks once past the threshold (SQLite: a year of blocks is not read)', async () => {
    const store = new SqliteStore(':memory:', { blockSize: 1000 });
    const id = store.tagId('x');
    for (let k = 0; k < 200_000; k++) store.append(id, T0 + k * 1000, k, 0);
    await store.flush();
    assert.equal(await store.countRaw('x', T0, T0 + YEAR), 200_000);
    const n = await store.countRaw('x', T0, T0 + YEAR, 50_000);
    assert.ok(n > 50_000 && n <= 51_000, `${n}: counted past 50,000 by one block at most`);
    await store.close();
  });
});
