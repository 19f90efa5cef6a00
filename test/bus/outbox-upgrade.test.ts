/**
 * A poller upgraded while samples wait in its outbox: the file the previous
 * version wrote (its own schema: `entries (seq, device, up_to, v)`) is read
 * on open and forwarded to the samples streams — every batch in its order,
 * with its device, upTo and values — before what the poller publishes next.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox } from '../../src/bus/outbox.js';
import { encodeBatch } from '../../src/bus/redis/codec.js';
import type { SampleBatch } from '../../src/bus/types.js';
import { waitFor } from '../helpers/wait.js';
import { value } from './contract.js';
import { needRedis, redisBus, testPrefix } from './redis-helpers.js';

describe('outbox written by the previous version', { timeout: 60_000 }, () => {
  it('is forwarded to Redis after the upgrade, in order, with device, upTo and values, before new batches', async (t) => {
    if (!(await needRedis(t))) return;
    const dir = mkdtempSync(join(tmpdir(), 'planta-outbox-upgrade-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'outbox-plc.db');
    const t0 = Date.now() - 60_000;
    // As the previous version made it (src/bus/outbox.ts before the shared disk queue).
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.pragma('auto_vacuum = INCREMENTAL');
    old.exec('VACUUM');
    old.exec('CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, device TEXT NOT NULL, up_to INTEGER, v TEXT NOT NULL)');
    const insert = old.prepare('INSERT INTO entries (device, up_to, v) VALUES (?, ?, ?)');
    for (let i = 0; i < 20; i++) insert.run('plc', i % 5 === 4 ? null : t0 + i, encodeBatch([value('n', i, 'Good', t0 + i)]));
    old.close();

    const outbox = new Outbox(path, 64 << 20);
    assert.equal(outbox.pending('plc'), 20);
    const tagDevices = new Map([['n', 'plc']]);
    const prefix = testPrefix(t, 'upgrade');
    const poller = await redisBus(t, { prefix, consumer: 'poller', devices: ['plc'], tagDevices, outbox });
    const historian = await redisBus(t, { prefix, consumer: 'historian', tagDevices });
    const got: SampleBatch[] = [];
    await historian.subscribeSamples((b) => got.push(b), { durable: 'historian' });
    await poller.samples.check();
    await poller.publishValues([value('n', 20, 'Good', t0 + 20)], { device: 'plc', upTo: t0 + 20 });
    await waitFor('the 20 old batches and the new one', () => got.length >= 21, 20_000);
    assert.equal(got.length, 21);
    assert.deepEqual(
      got.map((b) => [b.device, b.upTo, b.values.map((v) => [v.tag, v.value, v.sourceTs])]),
      [...Array(21).keys()].map((i) => ['plc', i % 5 === 4 && i < 20 ? undefined : t0 + i, [['n', i, t0 + i - 5]]]),
    );
    assert.equal(outbox.pending(), 0);
  });
});
