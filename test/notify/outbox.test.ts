/** The outbox keeps what the policy holds with the notices it queues: both, or neither (a failure rolls back both). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
});
