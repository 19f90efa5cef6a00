/**
 * The historian fed by the bus's samples: scan reports tell how far a
 * device's values are known, and repeats of a flat value never claim more
 * (a poller that stopped reporting gets no repeats); a sample delivered again
 * (after a restart, or forwarded twice) is skipped; after a restart the
 * store's last times are known before anything is delivered, and the
 * snapshot records only tags never recorded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { Historian } from '../../src/historian/historian.js';
import { SqliteStore } from '../../src/historian/sqlite.js';
import type { TagValue } from '../../src/tags/types.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 10, 1);
const v = (tag: string, value: number, ts: number): TagValue => ({ tag, value, quality: 'Good', sourceTs: ts, serverTs: ts });
const times = async (store: SqliteStore, tag: string): Promise<number[]> => {
  const s = await store.readRaw(tag, 0, Infinity);
  return Array.from(s.ts.subarray(0, s.n));
};

describe('historian fed by scan reports', () => {
  it('repeats a flat value only as far as its device is known, and never past a poller that stopped reporting', async () => {
    const store = new SqliteStore(':memory:');
    const clock = { now: T0 };
    const h = new Historian({ store, now: () => clock.now, maxIntervalMs: 60_000 });
    h.ingestSamples({ device: 'plc', upTo: T0, values: [v('level', 41, T0)] });
    // The device reports scans that change nothing for 90 s: one repeat at its report's time, not at the historian's clock.
    for (let t = T0 + 1000; t <= T0 + 90_000; t += 1000) h.ingestSamples({ device: 'plc', upTo: t, values: [] });
    clock.now = T0 + 95_000;
    assert.equal(h.heartbeat(), 1);
    // Then the poller stops reporting (killed): the historian's clock runs on, no repeat claims the level stayed 41.
    clock.now = T0 + 600_000;
    assert.equal(h.heartbeat(), 0);
    // A tag given directly (not by scan reports) repeats on the historian's clock as before.
    h.ingest([v('other', 1, T0)]);
    assert.equal(h.heartbeat(), 1);
    await h.flush();
    assert.deepEqual(await times(store, 'level'), [T0, T0 + 90_000]);
    assert.deepEqual(await times(store, 'other'), [T0, T0 + 600_000]);
    await store.close();
  });

  it('skips a sample delivered again; after a restart knows the last stored times and records the snapshot only for tags never recorded', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-hist-samples-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'h.db');
    const bus = new MemoryBus();
    let store = new SqliteStore(path);
    let h = new Historian({ store, maxIntervalMs: 3_600_000 });
    await h.attach(bus);
    const now = Date.now();
    await bus.publishValues([v('level', 1, now - 3000), v('oxygen', 5, now - 3000)], { device: 'plc', upTo: now - 3000 });
    await bus.publishValues([v('level', 2, now - 2000)], { device: 'plc', upTo: now - 2000 });
    // The same report again (forwarded twice): nothing new.
    await bus.publishValues([v('level', 1, now - 3000)], { device: 'plc', upTo: now - 3000 });
    await waitFor('the replay seen', () => h.stats.replayed === 1);
    await h.close();
    assert.deepEqual(await (async () => {
      const again = new SqliteStore(path);
      const ts = await times(again, 'level');
      await again.close();
      return ts;
    })(), [now - 3000, now - 2000]);

    // Restarted: the stream delivers again what was not acknowledged (an older sample) and then new ones.
    store = new SqliteStore(path);
    h = new Historian({ store, maxIntervalMs: 3_600_000 });
    await bus.publishValues([v('level', 3, now - 1000), v('turbidity', 7, now - 1000)]); // the snapshot the new historian finds
    await h.attach(bus);
    await bus.publishValues([v('level', 2, now - 2000)], { device: 'plc', upTo: now - 2000 });
    await bus.publishValues([v('level', 4, now)], { device: 'plc', upTo: now });
    await waitFor('both reports seen', () => h.stats.replayed === 1 && h.stats.recorded >= 2);
    await h.close();
    const last = new SqliteStore(path);
    t.after(() => last.close());
    assert.deepEqual(await times(last, 'level'), [now - 3000, now - 2000, now], 'the snapshot value of a recorded tag is not taken; the replay skipped');
    assert.deepEqual(await times(last, 'turbidity'), [now - 1000], 'a tag never recorded gets its snapshot value');
  });
});

describe('historian whose bus does not answer', () => {
  it('goes on committing while an acknowledgement waits (Redis away); the event loop keeps turning', async (t) => {
    const store = new SqliteStore(':memory:');
    const h = new Historian({ store });
    const bus = new MemoryBus();
    let asked = 0;
    const subscribe = bus.subscribeSamples.bind(bus);
    // The acknowledgement waits in the client for a connection that does not come back.
    bus.subscribeSamples = async (handler) => ({ ...(await subscribe(handler)), acknowledge: () => (asked++, new Promise<void>(() => undefined)) });
    await h.attach(bus);
    t.after(() => h.stop());
    let turns = 0;
    const ticker = setInterval(() => turns++, 10);
    t.after(() => clearInterval(ticker));
    const deadline = new Promise<string>((r) => setTimeout(() => r('still waiting after 3 s'), 3000).unref());
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      await bus.publishValues([v('level', 40 + i, t0 + i * 1000)], { device: 'plc', upTo: t0 + i * 1000 });
      const settled = await Promise.race([Promise.all([h.flush(), h.flush()]).then(() => 'committed'), deadline]);
      assert.equal(settled, 'committed');
    }
    assert.deepEqual(Array.from((await store.readRaw('level', 0, Infinity)).v.subarray(0, 3)), [40, 41, 42]);
    assert.ok(asked >= 3);
    await waitFor('timers to run three times within 100 ms', () => turns >= 3, 100, 5);
  });
});
