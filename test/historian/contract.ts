/**
 * The historian's recording, rollups, retention, trends and export, on a
 * fake clock: a contract every store passes (store.test.ts runs it on
 * SQLite, postgres-contract.test.ts on PostgreSQL).
 */
import assert from 'node:assert/strict';
import { type TestContext, describe, it } from 'node:test';
import { exportCsv } from '../../src/historian/export.js';
import { Historian } from '../../src/historian/historian.js';
import type { HistoryStore } from '../../src/historian/types.js';
import type { Quality } from '../../src/tags/quality.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface StoreOptions {
  now: () => number;
  blockSize?: number;
}

/** Makes the store of one test (its cleanup registered on t), or undefined when the test is skipped. */
export type MakeStore = (t: TestContext, o: StoreOptions) => Promise<HistoryStore | undefined>;

export function storeContract(kind: string, make: MakeStore): void {
  async function rig(t: TestContext, o: { maxIntervalMs?: number; blockSize?: number } = {}) {
    const clock = { now: T0 };
    const store = await make(t, { now: () => clock.now, ...(o.blockSize ? { blockSize: o.blockSize } : {}) });
    if (!store) return undefined;
    const h = new Historian({ store, now: () => clock.now, ...(o.maxIntervalMs ? { maxIntervalMs: o.maxIntervalMs } : {}) });
    t.after(() => h.close());
    const put = (tag: string, ts: number, value: number | boolean | null, quality: Quality = 'Good'): void => {
      clock.now = Math.max(clock.now, ts);
      h.ingest([{ tag, value, quality, sourceTs: ts, serverTs: ts }]);
    };
    return { clock, store, h, put };
  }

  describe(`historian on ${kind}`, { timeout: 120_000 }, () => {
    it('records changes of value or quality only, repeats a flat value after the maximum interval', async (t) => {
      const rg = await rig(t, { maxIntervalMs: MIN });
      if (!rg) return;
      const { clock, h, put, store } = rg;
      put('a', T0, 1);
      put('a', T0 + 1000, 1); // unchanged: not recorded
      put('a', T0 + 2000, 1, 'Uncertain_LastUsableValue'); // quality changed
      put('a', T0 + 3000, 2);
      for (let t = T0 + 4000; t <= T0 + 5 * MIN; t += 1000) {
        clock.now = t;
        h.heartbeat();
      }
      await h.flush();
      const s = await store.readRaw('a', T0, T0 + DAY);
      assert.deepEqual(Array.from(s.ts.subarray(0, 3)), [T0, T0 + 2000, T0 + 3000]);
      // Repeats of 2 every minute after the last change.
      assert.deepEqual(Array.from(s.ts.subarray(3)), [1, 2, 3, 4].map((k) => T0 + 3000 + k * MIN));
      assert.ok(Array.from(s.v.subarray(3)).every((v) => v === 2));
      assert.equal(h.stats.unchanged, 1);
      assert.equal(h.stats.repeats, 4);
    });

    it('ingests many tags into sealed blocks and journal chunks; reads back exactly', async (t) => {
      const rg = await rig(t, { blockSize: 100 });
      if (!rg) return;
      const { h, store, put } = rg;
      for (let i = 0; i < 1000; i++) for (let k = 0; k < 10; k++) put(`t${k}`, T0 + i * 1000, i * 10 + k);
      await h.flush();
      for (let k = 0; k < 10; k++) {
        const s = await store.readRaw(`t${k}`, T0, T0 + 1000 * 1000);
        assert.equal(s.n, 1000);
        assert.ok(Array.from(s.v).every((v, i) => v === i * 10 + k));
        const part = await store.readRaw(`t${k}`, T0 + 250_500, T0 + 260_000);
        assert.deepEqual(Array.from(part.ts), Array.from({ length: 9 }, (_, i) => T0 + 251_000 + i * 1000));
      }
      assert.equal((await h.status()).samples, 10_000);
      assert.deepEqual(await store.lastBefore('t3', T0 + 5500), { ts: T0 + 5000, v: 53, q: 0 });
    });

    it('rollups per minute and hour: min, max, avg, count, time-weighted average, good share', async (t) => {
      const rg = await rig(t);
      if (!rg) return;
      const { clock, h, put, store } = rg;
      // Minute 0: 0 for 15 s, 10 for 45 s (time-weighted 7.5, mean 5).
      put('x', T0, 0);
      put('x', T0 + 15_000, 10);
      // Minute 1: bad quality for its second half.
      put('x', T0 + MIN, 4);
      put('x', T0 + MIN + 30_000, null, 'Bad_NoCommunication');
      put('x', T0 + 2 * MIN, 6);
      for (let t = T0 + 2 * MIN; t < T0 + HOUR + 5 * MIN; t += 30_000) put('x', t, 6 + ((t / 30_000) % 2));
      clock.now = T0 + HOUR + 10 * MIN;
      await h.rollup();
      const [m0, m1] = await store.readRollups('minute', 'x', T0, T0 + 2 * MIN);
      assert.deepEqual({ ...m0 }, { t: T0, first: 0, min: 0, max: 10, last: 10, avg: 5, twa: 7.5, count: 2, good: 1 });
      assert.equal(m1!.count, 2);
      assert.equal(m1!.twa, 4);
      assert.equal(m1!.good, 0.5);
      assert.equal(m1!.min, 4);
      const [h0] = await store.readRollups('hour', 'x', T0, T0 + HOUR);
      assert.equal(h0!.min, 0);
      assert.equal(h0!.max, 10);
      assert.equal(h0!.count, 4 + 116);
      assert.ok(Math.abs(h0!.good - (59.5 / 60)) < 1e-9, `${h0!.good}`);
    });

    it('retention: raw past 90 days and minutes past 2 years are deleted in batches; hours stay', async (t) => {
      const rg = await rig(t, { maxIntervalMs: HOUR });
      if (!rg) return;
      const { clock, h, put, store } = rg;
      for (let t = T0; t < T0 + 100 * DAY; t += 10 * MIN) put('r', t, (t / MIN) % 7);
      clock.now = T0 + 100 * DAY;
      await h.rollup();
      const before = await h.status();
      const deleted = await h.applyRetention();
      assert.ok(deleted > 0);
      const raw = await store.readRaw('r', T0, T0 + 100 * DAY);
      assert.ok(raw.ts[0]! >= T0 + 10 * DAY - 6 * HOUR, new Date(raw.ts[0]!).toISOString());
      assert.ok((await h.status()).samples < before.samples);
      assert.equal((await store.readRollups('minute', 'r', T0, T0 + DAY)).length > 0, true, 'minutes are kept 2 years');
      assert.equal((await store.readRollups('hour', 'r', T0, T0 + DAY)).length, 24);
      // Two years on, the minutes go too; the hours never.
      clock.now = T0 + 2 * 365 * DAY + 30 * DAY;
      await h.applyRetention(1000);
      assert.equal((await store.readRollups('minute', 'r', T0, T0 + DAY)).length, 0);
      assert.equal((await store.readRollups('hour', 'r', T0, T0 + DAY)).length, 24);
    });

    it('a one-sample spike in a year survives a 1,000-point reduction (hour rollups, M4)', async (t) => {
      const rg = await rig(t, { maxIntervalMs: 10 * MIN });
      if (!rg) return;
      const { clock, h, put } = rg;
      const spikeAt = T0 + 200 * DAY + 7 * HOUR + 13 * MIN;
      for (let t = T0; t < T0 + 365 * DAY; t += 5 * MIN) {
        put('s', t, 50 + Math.sin(t / DAY));
        if (t + 5 * MIN > spikeAt && t < spikeAt) put('s', spikeAt, 999);
      }
      clock.now = T0 + 365 * DAY;
      await h.rollup();
      const started = performance.now();
      const [s] = await h.query(['s'], T0, T0 + 365 * DAY, 1000);
      const ms = performance.now() - started;
      assert.equal(s!.resolution, 'hour');
      assert.ok(s!.t.length <= 4000 + 10, `${s!.t.length} points`);
      const max = Math.max(...s!.v.filter((v): v is number => v !== null));
      assert.equal(max, 999);
      const i = s!.v.indexOf(999);
      assert.ok(Math.abs(s!.t[i]! - spikeAt) < HOUR, 'in its hour');
      assert.ok(ms < 500, `query took ${ms} ms`);
      // Zoomed to that day: raw samples, the spike at its own time.
      const [day] = await h.query(['s'], spikeAt - 12 * HOUR, spikeAt + 12 * HOUR, 1000);
      assert.equal(day!.resolution, 'raw');
      assert.equal(day!.t[day!.v.indexOf(999)], spikeAt);
    });

    it('bad quality and missing data come back as gaps (null), never interpolated', async (t) => {
      const rg = await rig(t, { maxIntervalMs: MIN });
      if (!rg) return;
      const { clock, h, put } = rg;
      for (let t = T0; t < T0 + 10 * MIN; t += 1000) put('g', t, 5 + ((t / 1000) % 2));
      put('g', T0 + 10 * MIN, null, 'Bad_Timeout');
      put('g', T0 + 12 * MIN, 7);
      // Then nothing for an hour (the historian was down), then data again.
      put('g', T0 + 80 * MIN, 8);
      clock.now = T0 + 90 * MIN;
      const [s] = await h.query(['g'], T0, T0 + 90 * MIN, 1000);
      const at = (t: number): number => s!.t.findIndex((x) => x === t);
      assert.equal(s!.v[at(T0 + 10 * MIN)], null);
      assert.equal(s!.q[at(T0 + 10 * MIN)], 'bad');
      // Between 12 min and 80 min: a gap marker after the value went stale; no line from 7 to 8.
      const i7 = at(T0 + 12 * MIN);
      assert.equal(s!.v[i7], 7);
      assert.equal(s!.v[i7 + 1], null);
      assert.equal(s!.q[i7 + 1], null);
      assert.ok(s!.t[i7 + 1]! > T0 + 12 * MIN && s!.t[i7 + 1]! < T0 + 80 * MIN);
      // Through rollups too: a bad-only or empty minute is a gap.
      await h.rollup();
      const [r] = await h.query(['g'], T0, T0 + 90 * MIN, 2);
      assert.equal(r!.resolution, 'minute');
      assert.ok(r!.v.includes(null));
    });

    it('exports a month as streamed CSV: a row per time any tag has a sample, empty cells elsewhere', async (t) => {
      const rg = await rig(t, { maxIntervalMs: HOUR });
      if (!rg) return;
      const { h, put, clock } = rg;
      const month = 30 * DAY;
      for (let t = T0; t < T0 + month; t += MIN) {
        put('a', t, ((t - T0) / MIN) % 7);
        if ((t - T0) % (3 * MIN) === 0) put('b', t + 30_000, true);
        if ((t - T0) % (3 * MIN) === 0) put('b', t + 90_000, false);
      }
      clock.now = T0 + month;
      await h.flush();
      let chunks = 0;
      let rows = 0;
      let header = '';
      const samples: string[] = [];
      let largest = 0;
      for await (const chunk of exportCsv(h, [{ tag: 'a', unit: 'm' }, { tag: 'b', unit: '' }], T0, T0 + month)) {
        if (chunks++ === 0) {
          header = chunk;
          continue;
        }
        largest = Math.max(largest, chunk.length);
        const lines = chunk.split('\r\n').filter(Boolean);
        rows += lines.length;
        if (samples.length < 4) samples.push(...lines.slice(0, 4 - samples.length));
      }
      assert.equal(header, 'time,a [m],a quality,b,b quality\r\n');
      assert.equal(rows, 30 * 1440 + 2 * 10 * 1440);
      assert.ok(chunks > 50, `${chunks} chunks: streamed`);
      assert.ok(largest < 200_000, 'no chunk holds the month');
      assert.deepEqual(samples, [
        '2026-01-01T00:00:00.000Z,0,Good,,',
        '2026-01-01T00:00:30.000Z,,,1,Good',
        '2026-01-01T00:01:00.000Z,1,Good,,',
        '2026-01-01T00:01:30.000Z,,,0,Good',
      ]);
    });
  });
}
