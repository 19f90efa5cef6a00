/**
 * A poller's outbox on disk: entries kept in order per device, the oldest
 * dropped (and counted) past its size, kept across a reopen, one process
 * per file; its file back near its empty size once drained, files made
 * before (without incremental vacuum) migrated.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox, openOutbox } from '../../src/bus/outbox.js';

function dir(t: { after: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'planta-outbox-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('outbox', () => {
  it('keeps entries in order per device, across a reopen', (t) => {
    const path = join(dir(t), 'o.db');
    const a = new Outbox(path, 1 << 20);
    for (let i = 0; i < 5; i++) {
      a.append('plc', 1000 + i, `[${i}]`);
      a.append('other', null, `["x${i}"]`);
    }
    assert.equal(a.pending(), 10);
    assert.equal(a.pending('plc'), 5);
    assert.deepEqual(a.devices().sort(), ['other', 'plc']);
    const first = a.oldest('plc', 3);
    assert.deepEqual(first.map((e) => [e.upTo, e.values]), [[1000, '[0]'], [1001, '[1]'], [1002, '[2]']]);
    a.remove('plc', first);
    assert.equal(a.pending('plc'), 2);
    a.close();

    const b = new Outbox(path, 1 << 20);
    t.after(() => b.close());
    assert.equal(b.pending('plc'), 2);
    assert.equal(b.bytes, 2 * 3 + 5 * 6);
    assert.deepEqual(b.oldest('plc', 10).map((e) => e.values), ['[3]', '[4]']);
    assert.deepEqual(b.oldest('other', 1).map((e) => e.upTo), [null]);
    assert.equal(b.drop('other'), 5);
    assert.equal(b.pending(), 2);
    assert.equal(b.dropped, 5);
  });

  it('drops the oldest entries past its size, and counts them', (t) => {
    const box = new Outbox(join(dir(t), 'o.db'), 100);
    t.after(() => box.close());
    const entry = (i: number): string => `[${String(i).padStart(8, '0')}]`; // 10 bytes
    let dropped = 0;
    for (let i = 0; i < 25; i++) dropped += box.append('plc', i, entry(i));
    assert.equal(dropped, 15);
    assert.equal(box.dropped, 15);
    assert.equal(box.pending(), 10);
    assert.ok(box.bytes <= 100);
    assert.deepEqual(box.oldest('plc', 100).map((e) => e.upTo), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    // An entry larger than the whole outbox cannot be kept: it is the one dropped.
    assert.equal(box.append('plc', 99, `[${'x'.repeat(200)}]`), 11);
    assert.equal(box.pending(), 0);
  });

  it('belongs to one process at a time: the next one takes the next file', (t) => {
    const path = join(dir(t), 'outbox-plc.db');
    const a = openOutbox(path, 1 << 20);
    const b = openOutbox(path, 1 << 20);
    t.after(() => {
      a.close();
      b.close();
    });
    assert.equal(a.path, path);
    assert.equal(b.path, path.replace('.db', '-2.db'));
    assert.throws(() => new Outbox(path, 1 << 20), (err: Error & { code?: string }) => err.code === 'PLANTA_BUS_OUTBOX_BUSY');
  });

  /** About 480 kB in 2 kB scan reports, as a 60 s outage left behind (issue 28.4). */
  const fill = (box: Outbox): void => {
    const report = JSON.stringify(Array.from({ length: 200 }, (_, i) => [i, 1234.5678 + i]));
    for (let i = 0; i < 480_000 / report.length; i++) box.append(i % 2 ? 'plc' : 'other', i, report);
  };
  const drain = (box: Outbox): void => {
    for (const d of box.devices()) {
      for (let batch = box.oldest(d, 50); batch.length > 0; batch = box.oldest(d, 50)) box.remove(d, batch);
    }
  };

  it('gives its space back once drained: the file is back near its empty size', (t) => {
    const box = new Outbox(join(dir(t), 'o.db'), 256 * 1024 * 1024);
    t.after(() => box.close());
    const empty = box.fileBytes();
    fill(box);
    const peak = box.fileBytes();
    assert.ok(peak > 400_000, `${peak} bytes at the peak`);
    const draining = performance.now();
    drain(box);
    assert.equal(box.pending(), 0);
    const drained = performance.now();
    const after = box.fileBytes();
    assert.ok(after <= empty + 16 * 1024, `${after} bytes after the drain (empty: ${empty}, peak: ${peak})`);
    t.diagnostic(`empty ${empty} B, peak ${peak} B, after the drain ${after} B (drained in ${Math.round(drained - draining)} ms)`);
    // And it fills and drains again.
    fill(box);
    assert.equal(box.drop('plc') + box.drop('other') > 0, true);
    assert.ok(box.fileBytes() <= empty + 16 * 1024);
  });

  it('migrates a file made without incremental vacuum, keeping its entries, and shrinks it once drained', (t) => {
    const path = join(dir(t), 'old.db');
    // An outbox as earlier versions made it: auto_vacuum NONE, entries waiting, a large freelist.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, device TEXT NOT NULL, up_to INTEGER, v TEXT NOT NULL)');
    const insert = old.prepare('INSERT INTO entries (device, up_to, v) VALUES (?, ?, ?)');
    for (let i = 0; i < 200; i++) insert.run('plc', i, `[${'9'.repeat(2000)}]`);
    old.exec('DELETE FROM entries WHERE seq > 3');
    assert.equal(old.pragma('auto_vacuum', { simple: true }), 0);
    old.close();

    const box = new Outbox(path, 1 << 20);
    assert.equal(box.pending('plc'), 3);
    assert.deepEqual(box.oldest('plc', 10).map((e) => e.upTo), [0, 1, 2]);
    drain(box);
    box.close();
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('auto_vacuum', { simple: true }), 2, 'auto_vacuum INCREMENTAL');
    check.close();
    const reopened = new Outbox(path, 1 << 20);
    t.after(() => reopened.close());
    assert.ok(reopened.fileBytes() <= 32 * 1024, `${reopened.fileBytes()} bytes`);
  });
});
