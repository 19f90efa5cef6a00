/**
 * The historian's store-and-forward buffer (in front of PostgreSQL) gives its
 * space back once forwarded, like the poller's outbox (issue 28.4) — both are
 * a disk queue (src/util/disk-queue.ts): the file is back near its empty size
 * after a fill and a drain, and a buffer file made before (its own schema,
 * without incremental vacuum) is migrated with its chunks kept.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DiskQueue } from '../../src/util/disk-queue.js';

function dir(t: { after: (f: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'planta-buffer-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function drain(buf: DiskQueue): void {
  for (let batch = buf.oldest('', 20); batch.length > 0; batch = buf.oldest('', 20)) buf.remove('', batch.at(-1)!.seq);
}

describe('historian buffer: space', () => {
  it('is back near its empty size once forwarded', (t) => {
    const buf = new DiskQueue(join(dir(t), 'b.db'), 256 * 1024 * 1024);
    t.after(() => buf.close());
    const empty = buf.fileBytes();
    for (let i = 0; i < 240; i++) buf.append('', Buffer.alloc(2000, i), i === 0 ? { names: [[1, 'reactor.level']] } : {});
    const peak = buf.fileBytes();
    assert.ok(peak > 400_000, `${peak} bytes at the peak`);
    drain(buf);
    assert.equal(buf.pending(), 0);
    assert.ok(buf.fileBytes() <= empty + 16 * 1024, `${buf.fileBytes()} bytes after the drain (empty: ${empty}, peak: ${peak})`);
    assert.deepEqual([...buf.names()], [[1, 'reactor.level']], 'the tag names stay');
  });

  it('migrates a file made without incremental vacuum, keeping its chunks', (t) => {
    const path = join(dir(t), 'old.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE chunks (seq INTEGER PRIMARY KEY, data BLOB NOT NULL); CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);');
    const insert = old.prepare('INSERT INTO chunks (data) VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run(Buffer.alloc(2000, i));
    old.exec('DELETE FROM chunks WHERE seq > 2');
    old.close();

    const buf = new DiskQueue(path, 1 << 20);
    t.after(() => buf.close());
    assert.equal(buf.pending(''), 2);
    assert.deepEqual(buf.oldest('', 10).map((c) => c.data[0]), [0, 1]);
    drain(buf);
    assert.ok(buf.fileBytes() <= 32 * 1024, `${buf.fileBytes()} bytes`);
    const check = new Database(path, { readonly: true, fileMustExist: true });
    t.after(() => check.close());
    assert.equal(check.pragma('auto_vacuum', { simple: true }), 2, 'auto_vacuum INCREMENTAL');
  });
});
