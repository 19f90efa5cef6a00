/**
 * Forwarding to PostgreSQL is idempotent even when a commit was taken by
 * PostgreSQL and its answer lost: what the historian knew of the database
 * (each tag's last time) is read again after a failed commit, so the
 * buffered copy is skipped instead of colliding with what is stored — a
 * collision would fail every retry, and the buffer would never drain.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PostgresStore } from '../../src/historian/postgres.js';
import { StoreAndForward } from '../../src/historian/store-and-forward.js';
import { waitFor } from '../helpers/wait.js';
import { PG_URL, needPostgres, pgProxy, tempDir, testSchema } from './pg-helpers.js';

const T0 = Date.UTC(2026, 0, 1);

describe('historian on PostgreSQL: forwarding what was committed already', { timeout: 120_000 }, () => {
  it('a commit whose answer was lost is skipped when forwarded, and the buffer drains', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const proxy = await pgProxy(t);
    const store = new StoreAndForward(new PostgresStore({ url: proxy.url, schema, connectTimeoutMs: 500, queryTimeoutMs: 2000 }), { path: join(tempDir(t), 'buffer.db'), retryMs: 20 });
    t.after(() => store.close());
    const put = (from: number, to: number): void => {
      for (let n = from; n < to; n++) store.append(store.tagId('level'), T0 + n * 1000, n, 0);
    };
    put(0, 100);
    await store.flush();
    assert.equal(store.buffer().online, true);

    // The next commit fails on its way …
    await proxy.stop();
    put(100, 200);
    await store.flush();
    assert.equal(store.buffer().samples, 100);
    // … yet it reached PostgreSQL (written here by another connection, as the lost answer's commit would have been).
    const other = new PostgresStore({ url: PG_URL, schema });
    for (let n = 100; n < 200; n++) other.append(other.tagId('level'), T0 + n * 1000, n, 0);
    await other.flush();
    await other.close();

    await proxy.start();
    put(200, 300);
    await waitFor('the buffer forwarded', async () => {
      await store.flush();
      return store.buffer().samples === 0;
    }, 20_000, 20);
    assert.equal(store.buffer().skipped, 100, 'what PostgreSQL had is skipped');
    const s = await store.readRaw('level', T0, T0 + 1e9);
    assert.equal(s.n, 300);
    assert.ok(Array.from(s.v.subarray(0, s.n)).every((v, i) => v === i), 'each sample once, in order');
  });
});
