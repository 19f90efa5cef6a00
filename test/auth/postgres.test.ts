/**
 * Users, tokens and the audit trail on the machine's PostgreSQL, as two web
 * nodes share them: what one writes the other reads, appends from both make
 * one intact chain, an entry delivered twice is kept once, the trail cannot
 * be edited, and an outage answers with a stable code (signed-in users keep
 * their last known rows).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DirectoryError } from '../../src/auth/directory.js';
import { PostgresDirectory, directoryUrl } from '../../src/auth/postgres.js';
import { PG_URL, pgProxy, needPostgres, sql, testSchema } from '../historian/pg-helpers.js';

// The audit key of each schema, as a web node keeps it (one file per schema, shared by the test's two nodes).
const keys = mkdtempSync(join(tmpdir(), 'planta-keys-'));
after(() => rmSync(keys, { recursive: true, force: true }));

const open = (t: { after: (f: () => Promise<void>) => void }, url: string): PostgresDirectory => {
  const d = new PostgresDirectory({ url, connectTimeoutMs: 1000, auditKeyFile: join(keys, `${directoryUrl(url).schema}.key`) });
  t.after(() => d.close());
  return d;
};
const withSchema = (url: string, schema: string): string => `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;

describe('users on PostgreSQL', { timeout: 60_000 }, () => {
  it('the schema comes from the URL (not passed to the driver); a bad one is refused with a stable code', () => {
    assert.deepEqual(directoryUrl('postgres://u@h:5432/db?schema=plant_a'), { url: 'postgres://u@h:5432/db', schema: 'plant_a' });
    assert.equal(directoryUrl('postgres://u@h/db').schema, 'planta_auth');
    for (const bad of ['postgres://u@h/db?schema=Robert;DROP', 'mysql://h/db', 'not a url']) {
      assert.throws(() => directoryUrl(bad), (e: unknown) => e instanceof DirectoryError && e.code === 'PLANTA_AUTH_STORE_BAD_URL', bad);
    }
  });

  it('two nodes: a user or token added on one is known to the other; a revoked token is refused by both; a password change moves changedAt', async (t) => {
    if (!(await needPostgres(t))) return;
    const url = withSchema(PG_URL, testSchema(t));
    const [a, b] = [open(t, url), open(t, url)];
    await a.addUser('olga', 'operator', 'hash-1', 1000);
    assert.equal((await b.user('olga'))?.role, 'operator');
    assert.match(await a.trailName(), /^audit@[0-9a-f-]{36}$/);
    assert.equal(await b.trailName(), await a.trailName(), "the nodes follow the bus into the trail under one name");
    assert.equal(await b.countUsers(), 1);
    await assert.rejects(b.addUser('olga', 'admin', 'x'), (e: unknown) => e instanceof DirectoryError && e.code === 'PLANTA_AUTH_STORE_CONFLICT' && e.statusCode === 409);
    const token = await a.addToken('grafana', 'olga');
    assert.equal(await b.tokenName(token), 'grafana');
    assert.equal(await b.tokenName(`${token}x`), undefined);
    assert.equal(await a.revokeToken('grafana'), true);
    assert.equal(await a.revokeToken('grafana'), false, 'once');
    // b's answer is fresh for 2 s at most: 2.1 s later on a clock of the test's own (Date only; timers and sockets run as ever).
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    t.mock.timers.tick(2100);
    assert.equal(await b.tokenName(token), undefined);
    t.mock.timers.reset();
    assert.deepEqual((await b.tokens()).map((x) => [x.name, x.revokedAt !== null]), [['grafana', true]]);
    await a.setPassword('olga', 'hash-2', 5000);
    await a.setDisabled('olga', true);
    const olga = await a.user('olga');
    assert.deepEqual([olga?.password, olga?.changedAt, olga?.disabled], ['hash-2', 5000, true]);
    assert.deepEqual((await b.users()).map((u) => Object.keys(u).sort()), [['createdAt', 'disabled', 'name', 'role']], 'no hash in the list');
  });

  it('the audit trail: appends from two nodes at once make one intact chain; a ref is recorded once; no entry can be changed or removed; an edit is found', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const url = withSchema(PG_URL, schema);
    const [a, b] = [open(t, url), open(t, url)];
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).audit(`user${i}`, 'login', `user${i}`, { i }, 1000 + i)));
    assert.deepEqual(await b.verifyAudit(), { ok: true, entries: 40 });
    const first = await a.audit('olga', 'command-confirmed', 'start', { id: 'c1' }, 2000, 'command:c1:confirmed');
    assert.equal(first?.seq, 41);
    assert.equal(await b.audit('olga', 'command-confirmed', 'start', { id: 'c1' }, 2000, 'command:c1:confirmed'), undefined, 'delivered twice, kept once');
    assert.equal((await a.auditEntries({ search: 'c1' })).length, 1);
    assert.equal((await a.auditEntries({ search: 'USER3' })).length, 11, 'case-insensitive words: user3, user30..39');
    assert.deepEqual((await a.auditEntries({ before: 3 })).map((e) => e.seq), [2, 1]);
    for (const statement of [`UPDATE "${schema}".audit SET actor = 'mallory' WHERE seq = 2`, `DELETE FROM "${schema}".audit WHERE seq = 41`, `TRUNCATE "${schema}".audit`]) {
      await assert.rejects(sql(statement), /append-only/, statement);
    }
    // The owner of the database can still go around the triggers: the chain tells.
    await sql(`ALTER TABLE "${schema}".audit DISABLE TRIGGER audit_append_only`);
    await sql(`UPDATE "${schema}".audit SET detail = '{"i":99}' WHERE seq = 7`);
    assert.deepEqual(await a.verifyAudit(), { ok: false, seq: 7, why: 'its content does not match its hash (edited)' });
  });

  it('PostgreSQL unreachable: 503 PLANTA_AUTH_STORE_UNAVAILABLE, while a user looked up before keeps their last known row; back: it answers again', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const proxy = await pgProxy(t);
    const d = open(t, withSchema(proxy.url, schema));
    await d.addUser('olga', 'operator', 'hash', 1000);
    assert.equal((await d.user('olga'))?.name, 'olga');
    await proxy.stop();
    // Past the 2 s its answer is fresh, on a clock of the test's own (Date only): it asks PostgreSQL again, in vain.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    t.mock.timers.tick(2100);
    assert.equal((await d.user('olga'))?.role, 'operator', 'the last known row');
    t.mock.timers.reset();
    const down = (e: unknown): boolean => e instanceof DirectoryError && e.code === 'PLANTA_AUTH_STORE_UNAVAILABLE' && e.statusCode === 503;
    await assert.rejects(d.user('ana'), down);
    await assert.rejects(d.audit('olga', 'login', 'olga', null), down);
    await proxy.start();
    assert.equal((await d.audit('olga', 'login', 'olga', null))?.seq, 1);
  });
});
