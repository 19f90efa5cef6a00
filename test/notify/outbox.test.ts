/** The outbox keeps what the policy holds with the notices it queues: both, or neither (a failure rolls back both). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Notice } from '../../src/notify/notice.js';
import { NotifyOutbox } from '../../src/notify/outbox.js';

const notice = (channel: string): Notice => ({ kind: 'digest', channel, at: 1, queuedAt: 1, count: 2 });

describe('notify outbox: what is held', () => {
  it('is kept with the notices queued beside it, in one transaction, and read back after a reopen', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-notify-outbox-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'n.db');
    let outbox = new NotifyOutbox(path, 1 << 20);
    outbox.keep(new Map<string, unknown>([['chatter:a', { held: 2 }], ['flood', { count: 3 }]]), () => outbox.enqueue(notice('ops')));
    assert.throws(
      () => outbox.keep(new Map<string, unknown>([['chatter:a', undefined], ['recent', [1, 2]]]), () => {
        outbox.enqueue(notice('ops'));
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.equal(outbox.pending('ops'), 1, 'the failed transaction queued nothing, and the count says so');
    outbox.keep(new Map<string, unknown>([['flood', undefined]]), () => undefined);
    outbox.close();
    outbox = new NotifyOutbox(path, 1 << 20);
    t.after(() => outbox.close());
    assert.deepEqual([...outbox.held()], [['chatter:a', { held: 2 }]]);
    assert.equal(outbox.pending('ops'), 1);
  });

  it('an outbox of an earlier version (its log without to whom) opens, keeps its rows and logs to whom from then on', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-notify-outbox-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE notify_log (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, alarm TEXT,
      subject TEXT NOT NULL, outcome TEXT NOT NULL, error TEXT, attempt INTEGER NOT NULL, late INTEGER NOT NULL, queued_at INTEGER NOT NULL);
      INSERT INTO notify_log VALUES (1, 10, 'ops', 'alarm', 'estop', 'old', 'sent', NULL, 1, 0, 9);`);
    db.close();
    const outbox = new NotifyOutbox(path, 1 << 20);
    t.after(() => outbox.close());
    outbox.log({ at: 20, channel: 'ops', to: 'json webhook at hooks.example.org', kind: 'test', alarm: null, subject: 'new', outcome: 'sent', error: null, attempt: 1, late: false, queuedAt: 20 });
    assert.deepEqual(outbox.recent(10).map((r) => [r.subject, r.to]), [['new', 'json webhook at hooks.example.org'], ['old', '']]);
  });
});
