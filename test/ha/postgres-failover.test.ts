/**
 * PostgreSQL failover as a user meets it: the historian and the users'
 * directory are given both hosts of a primary and its streaming standby
 * (postgres://…@h1:P,h2:S/db, src/util/pg.ts). The primary is stopped
 * while samples are written every 20 ms, the standby promoted: the
 * historian's store-and-forward keeps what could not be written and
 * forwards it to the promoted standby — every sample once, in order — and
 * sign-in (the user's row, a new session, the audit trail) works there,
 * without a restart of anything.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PostgresDirectory } from '../../src/auth/postgres.js';
import { hashPassword, verifyPassword } from '../../src/auth/passwords.js';
import { PostgresStore } from '../../src/historian/postgres.js';
import { StoreAndForward } from '../../src/historian/store-and-forward.js';
import { openPgPool } from '../../src/util/pg.js';
import { tempDir } from '../historian/pg-helpers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { pgPair } from './pg-pair.js';

const T0 = Date.UTC(2026, 0, 1);

describe('PostgreSQL failover: a primary and its standby', { timeout: 60_000 }, () => {
  it('the historian and the users follow a promoted standby; nothing lost, nothing twice', async (t) => {
    const pair = await pgPair(t);
    if (!pair) return;
    const dir = tempDir(t);
    // The standby named first: the writable host is found and taken, with target_session_attrs=read-write as with none.
    for (const attrs of ['?target_session_attrs=read-write', '']) {
      const pool = openPgPool({
        url: `postgres://postgres@127.0.0.1:${pair.standbyPort},127.0.0.1:${pair.primaryPort}/postgres${attrs}`,
        applicationName: 'planta-test',
        max: 2,
        connectTimeoutMs: 1000,
        queryTimeoutMs: 3000,
        what: 'test',
      });
      const port = (await pool.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]?.p;
      await pool.end();
      assert.equal(port, pair.primaryPort, attrs);
      assert.equal(pool.place().node, `127.0.0.1:${pair.primaryPort}`);
    }
    const store = new PostgresStore({ url: pair.url(), schema: 'planta_ha', connectTimeoutMs: 1000, queryTimeoutMs: 3000 });
    const historian = new StoreAndForward(store, {
      path: join(dir, 'buffer.db'),
      retryMs: 50,
    });
    t.after(() => historian.close());
    const users = new PostgresDirectory({ url: `${pair.url()}?schema=planta_auth_ha`, connectTimeoutMs: 1000, auditKeyFile: join(dir, 'audit.key') });
    t.after(() => users.close());
    await users.addUser('olga', 'operator', await hashPassword('correct horse battery'), 1000);

    let n = 0;
    let writing = true;
    t.after(() => (writing = false));
    const writer = (async () => {
      while (writing) {
        historian.append(historian.tagId('level'), T0 + n * 1000, n, 0);
        n++;
        await historian.flush();
        // A pace, not a wait: a sample every 20 ms.
        await sleep(20);
      }
    })();
    await waitFor('samples stored on the primary', () => historian.buffer().online && n > 20, 10_000);
    const primaryNode = `127.0.0.1:${pair.primaryPort}`;
    assert.equal(store.place().node, primaryNode);

    await pair.stopPrimary('fast');
    const stoppedAt = n;
    await waitFor('samples kept in the buffer while no server takes writes', () => historian.buffer().samples > 10, 10_000);
    await pair.promote();
    const promotedAt = Date.now();
    await waitFor('the buffer forwarded to the promoted standby', () => {
      return historian.buffer().online && historian.buffer().samples === 0 && n > stoppedAt + 40;
    }, 20_000);
    const caughtUpMs = Date.now() - promotedAt;
    writing = false;
    await writer;
    await historian.flush();
    assert.equal(historian.buffer().samples, 0);

    const s = await historian.readRaw('level', T0, T0 + 1e9);
    assert.equal(s.n, n, `every sample once (${n} written)`);
    assert.ok(Array.from(s.v.subarray(0, s.n)).every((v, i) => v === i), 'in order, none missing, none twice');
    const rows = await pair.sql<{ n: string }>(pair.standbyPort, 'SELECT count(*)::text AS n FROM planta_ha.recent');
    assert.ok(rows.length === 1, 'the samples are on the promoted standby');

    // Sign-in: the row read from the new primary (past the cache's 2 s), a session made there, the sign-in audited there.
    await waitFor('olga read again from the promoted standby', async () => {
      const olga = await users.user('olga');
      return olga && (await verifyPassword('correct horse battery', olga.password));
    }, 10_000, 100);
    const session = await users.sessions.create('olga', Date.now());
    assert.equal((await users.sessions.get(session.id))?.user, 'olga');
    assert.ok(await users.audit('olga', 'login', 'olga', null));
    const place = users.place();
    assert.equal(place.node, `127.0.0.1:${pair.standbyPort}`, 'the users now go to the promoted standby');
    assert.equal(place.switches, 1);
    assert.ok(place.switchedAt && place.switchedAt >= promotedAt - 1000);
    const hplace = store.place();
    assert.equal(hplace.node, `127.0.0.1:${pair.standbyPort}`);
    assert.equal(hplace.switches, 1);
    t.diagnostic(`samples: ${n} (${stoppedAt} before the stop); buffer empty ${caughtUpMs} ms after the promotion`);
  });
});
