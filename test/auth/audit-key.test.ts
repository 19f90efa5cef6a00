/**
 * The keyed audit trail, as an attacker with the database (but not the key
 * file) meets it: the key is made on first run (0600, beside the SQLite
 * file or on the web node for PostgreSQL); rewriting entries and chaining
 * them again without the key is found; cutting entries off the end is found
 * against a head kept elsewhere (`planta audit verify --head`); a trail from
 * before keys keeps verifying its old entries, and an unkeyed tail after
 * keyed ones is never accepted; without its key (or with another node's)
 * nothing appends and `planta web` does not start; what the CLI prints
 * cannot move the terminal's cursor; the head is logged and measured.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { AuditKeyError, type AuditRow, chainHash } from '../../src/auth/audit.js';
import { reportAuditHead } from '../../src/auth/head.js';
import { PostgresDirectory } from '../../src/auth/postgres.js';
import { AuthStore } from '../../src/auth/store.js';
import type { Logger } from '../../src/util/log.js';
import { run } from '../helpers/process.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { PG_URL, needPostgres, sql, testSchema } from '../historian/pg-helpers.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const sbr = new URL('../../config/sbr-plant.yaml', import.meta.url).pathname;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'planta-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const cli = (...args: string[]) => run(process.execPath, [planta, ...args]);
const keyError = (code: string) => (e: unknown) => e instanceof AuditKeyError && e.code === code;

type Row = AuditRow;

/** Rechains rows from `from` on with plain SHA-256, as someone without the key would, returning the new rows. */
function rechain(rows: Row[], from: number): Row[] {
  let prev = rows.find((r) => r.seq === from - 1)?.hash ?? '0'.repeat(64);
  return rows
    .filter((r) => r.seq >= from)
    .map((r) => {
      const hash = chainHash(prev, r);
      const out = { ...r, prev_hash: prev, hash };
      prev = hash;
      return out;
    });
}

describe('the keyed audit trail', { timeout: 120_000 }, () => {
  it('SQLite: the key is made 0600 beside the file on first run; a rewrite chained again without the key is found, by its hash or because it is no longer keyed', async (t) => {
    const db = join(tempDir(t), 'planta.db');
    const store = new AuthStore(db);
    t.after(() => store.close());
    for (let i = 1; i <= 5; i++) store.audit(`user${i}`, 'login', `user${i}`, { i }, 1000 + i);
    const key = `${db}.audit-key`;
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.ok(store.auditEntries().every((e) => e.keyId === store.prepareAuditKey().key.id));
    assert.deepEqual(store.verifyAudit(), { ok: true, entries: 5 });

    // The attacker edits entry 3 and chains 3..5 again with SHA-256, keeping the key ids.
    store.db.exec('DROP TRIGGER audit_no_update');
    const rows = store.db.prepare('SELECT * FROM audit ORDER BY seq').all() as Row[];
    rows[2]!.actor = 'nobody';
    const update = store.db.prepare('UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?');
    for (const r of rechain(rows, 3)) update.run(r.actor, r.prev_hash, r.hash, r.seq);
    assert.deepEqual(store.verifyAudit(), { ok: false, seq: 3, why: 'its content does not match its hash (edited)' });
    const cliSays = await cli('audit', 'verify', '--db', db);
    assert.equal(cliSays.code, 1);
    assert.match(cliSays.stderr, /audit trail BROKEN at entry 3/);
    // …or marks them unkeyed too: still found (the marker says where keyed entries begin)…
    store.db.exec('DROP TRIGGER audit_no_update'); // made again by the CLI's opening
    store.db.prepare('UPDATE audit SET key_id = NULL WHERE seq >= 3').run();
    assert.deepEqual(store.verifyAudit(), { ok: false, seq: 3, why: 'it is not keyed, where every entry must be (rewritten without the key?)' });
    // …and rewrites the whole trail unkeyed and removes the marker: found, the key file being there.
    for (const r of rechain(rows, 1)) update.run(r.actor, r.prev_hash, r.hash, r.seq);
    store.db.prepare('UPDATE audit SET key_id = NULL').run();
    store.db.prepare("DELETE FROM meta WHERE key = 'audit_key'").run();
    assert.match(JSON.stringify(store.verifyAudit()), /"ok":false,"seq":1,"why":"the trail has no record of where its keyed entries begin/);
    const restarted = new AuthStore(db);
    t.after(() => restarted.close());
    assert.throws(() => restarted.audit('x', 'login', 'x', null), keyError('PLANTA_AUDIT_KEY_UNMARKED'), 'nothing appends to it as if it were fine');
  });

  it('SQLite: entries cut off the end pass a plain verify but not `verify --head` with a head kept before; an earlier head followed by later entries passes', async (t) => {
    const db = join(tempDir(t), 'planta.db');
    const store = new AuthStore(db);
    t.after(() => store.close());
    for (let i = 1; i <= 6; i++) store.audit('olga', 'command-confirmed', 'start', { i }, 1000 + i);
    const kept = await cli('audit', 'verify', '--db', db);
    assert.equal(kept.code, 0, kept.stderr);
    const head = /head (\d+:[0-9a-f]{64})/.exec(kept.stdout)![1]!;
    assert.match(head, /^6:/);
    const early = store.auditEntries({ before: 5, limit: 1 })[0]!;
    for (const h of [head, `${early.seq}:${early.hash}`, early.hash]) {
      const ok = await cli('audit', 'verify', '--db', db, '--head', h);
      assert.equal(ok.code, 0, `${h}: ${ok.stderr}`);
    }
    store.db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 4');
    assert.equal((await cli('audit', 'verify', '--db', db)).code, 0, 'a shorter chain is still a chain');
    const cut = await cli('audit', 'verify', '--db', db, '--head', head);
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /BROKEN at entry 6: the head 6:[0-9a-f]{64} is not an entry of the trail: entries were cut off the end or rewritten/);
    const wrongSeq = await cli('audit', 'verify', '--db', db, '--head', `3:${early.hash}`);
    assert.equal(wrongSeq.code, 1, 'a hash under another seq is not that head');
    const bad = await cli('audit', 'verify', '--db', db, '--head', 'nonsense');
    assert.equal(bad.code, 2);
  });

  it('SQLite: a trail from before keys keeps verifying; new entries are keyed from the marker on; an unkeyed entry after them is refused', async (t) => {
    const db = join(tempDir(t), 'planta.db');
    // The trail as the previous version wrote it: no key_id, plain SHA-256.
    const old = new Database(db);
    old.exec(`CREATE TABLE audit (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
      target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, ref TEXT)`);
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= 3; seq++) {
      const e = { seq, ts: 1000 + seq, actor: 'cli', action: 'user-add', target: `u${seq}`, detail: 'null' };
      const hash = chainHash(prev, e);
      old.prepare('INSERT INTO audit (seq, ts, actor, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(seq, e.ts, e.actor, e.action, e.target, e.detail, prev, hash);
      prev = hash;
    }
    old.close();
    const store = new AuthStore(db);
    t.after(() => store.close());
    assert.deepEqual(store.verifyAudit(), { ok: true, entries: 3 }, 'the old trail, before any key');
    assert.equal(existsSync(`${db}.audit-key`), false, 'reading makes no key');
    store.audit('olga', 'login', 'olga', null, 2000);
    store.audit('olga', 'logout', 'olga', null, 2001);
    assert.deepEqual(store.auditEntries().map((e) => [e.seq, e.keyId !== null]), [[5, true], [4, true], [3, false], [2, false], [1, false]]);
    assert.deepEqual(store.verifyAudit(), { ok: true, entries: 5 });
    // Someone without the key appends as the old version would.
    const last = store.auditEntries({ limit: 1 })[0]!;
    const e = { seq: 6, ts: 3000, actor: 'mallory', action: 'login', target: 'mallory', detail: 'null' };
    store.db.prepare('INSERT INTO audit (seq, ts, actor, action, target, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(6, e.ts, e.actor, e.action, e.target, e.detail, last.hash, chainHash(last.hash, e));
    assert.deepEqual(store.verifyAudit(), { ok: false, seq: 6, why: 'it is not keyed, where every entry must be (rewritten without the key?)' });
  });

  it('SQLite: without its key file (or with a file others can read) nothing appends and `planta web` does not start, saying why', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'planta.db');
    const added = await run(process.execPath, [planta, 'user', 'add', 'root-admin', '--role', 'admin', '--db', db, '--password-stdin'], { input: 'keyed-trail-admin-pass-1\n' });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /made the audit trail's key .*planta\.db\.audit-key: back it up/);
    chmodSync(`${db}.audit-key`, 0o644);
    const loose = await cli('user', 'role', 'root-admin', 'engineer', '--db', db);
    assert.equal(loose.code, 1);
    assert.match(loose.stderr, /can be read by others than its owner: chmod 600 .*\[PLANTA_AUDIT_KEY_PERMISSIONS\]/);
    unlinkSync(`${db}.audit-key`);
    const refused = await cli('user', 'role', 'root-admin', 'engineer', '--db', db);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the audit trail is keyed \(from entry 1 on, key [0-9a-f]{16}\) but its key .*planta\.db\.audit-key is missing.*\[PLANTA_AUDIT_KEY_MISSING\]/);
    assert.equal((await cli('user', 'list', '--db', db)).code, 0, 'reading needs no key');
    const web = await run(process.execPath, [planta, 'web', '--config', sbr, '--port', '0', '--db', db], { timeoutMs: 30_000 });
    assert.notEqual(web.code, 0);
    assert.match(web.stderr, /audit trail: the audit trail is keyed .* is missing.*PLANTA_AUDIT_KEY_MISSING/);
    const verify = await cli('audit', 'verify', '--db', db);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /PLANTA_AUDIT_KEY_MISSING/);
  });

  it('`planta audit list`, `user list` and `token list` print stored control characters escaped: nothing moves the terminal\'s cursor', async (t) => {
    const db = join(tempDir(t), 'planta.db');
    const store = new AuthStore(db);
    t.after(() => store.close());
    store.audit('olga', 'alarm-shelve', 'estop', { text: 'wipe\u001b[2J\rthen \u009b31m red \u202eevil' });
    // Written straight into the file (the CLI and the web refuse such names).
    store.db.prepare("INSERT INTO users (name, role, password, created_at) VALUES (?, 'viewer', 'x', 0)").run('eve\u001b[2J\r');
    store.db.prepare("INSERT INTO api_tokens (id, name, created_by, created_at) VALUES ('d', ?, 'x', 0)").run('tok\u001b]0;pwned\u0007');
    for (const args of [['audit', 'list'], ['user', 'list'], ['token', 'list']]) {
      const out = await cli(...args, '--db', db);
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout, /(?!\n)[\p{Cc}\u202e]/u, `${args.join(' ')}: ${JSON.stringify(out.stdout)}`);
    }
    const list = await cli('audit', 'list', '--db', db);
    assert.match(list.stdout, /wipe\\u001b\[2J\\rthen \\u009b31m red \\u202eevil/);
    assert.match((await cli('user', 'list', '--db', db)).stdout, /eve\\u001b\[2J\\u000d/);
  });

  it('the head is logged when it moved and at shutdown, and measured as planta_audit_head_seq', async (t) => {
    const store = new AuthStore(join(tempDir(t), 'planta.db'));
    t.after(() => store.close());
    const { sqliteDirectory } = await import('../../src/auth/directory.js');
    const lines: string[] = [];
    const log = { info: (o: { auditHead: string }) => lines.push(o.auditHead), warn: () => undefined } as unknown as Logger;
    const registry = new Registry();
    store.audit('olga', 'login', 'olga', null);
    const stop = reportAuditHead(sqliteDirectory(store), { log, registry, everyMs: 50 });
    await waitFor('the first head', () => lines.length === 1);
    const seq = async (): Promise<number> => (await registry.getSingleMetric('planta_audit_head_seq')!.get()).values[0]!.value;
    assert.equal(await seq(), 1);
    store.audit('olga', 'logout', 'olga', null);
    await waitFor('the moved head', () => lines.length === 2);
    // Something that must NOT happen: the head logged again while it stays. The report runs every 50 ms: four chances.
    await assertThroughout(200, () => assert.equal(lines.length, 2, 'not again while it stays'));
    assert.equal(await seq(), 2);
    await stop();
    assert.equal(lines.length, 3);
    const [last] = store.auditEntries({ limit: 1 });
    assert.equal(lines[2], `2:${last!.hash}`);
  });

  it('PostgreSQL: the key is a 0600 file on the node; rechaining without it is found; a cut is found with --head; a node with another key or none refuses', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    const dir = tempDir(t);
    const url = `${PG_URL}?schema=${schema}`;
    const open = (file: string): PostgresDirectory => {
      const d = new PostgresDirectory({ url, connectTimeoutMs: 1000, auditKeyFile: join(dir, file) });
      t.after(() => d.close());
      return d;
    };
    // Two nodes starting at once, each with its own (new) key file: one key wins, the other node is told to copy it.
    const [a, b] = [open('a.key'), open('b.key')];
    const started = await Promise.allSettled([a.prepareAuditKey(), b.prepareAuditKey()]);
    const won = started.findIndex((s) => s.status === 'fulfilled');
    assert.equal(started.filter((s) => s.status === 'fulfilled').length, 1);
    assert.ok(keyError('PLANTA_AUDIT_KEY_MISSING')((started[1 - won] as PromiseRejectedResult).reason));
    const winner = won === 0 ? 'a.key' : 'b.key';
    assert.equal(existsSync(join(dir, won === 0 ? 'b.key' : 'a.key')), false, 'the losing node keeps no key of its own');
    assert.equal(statSync(join(dir, winner)).mode & 0o777, 0o600);
    const node = won === 0 ? a : b;
    for (let i = 1; i <= 6; i++) await node.audit(`user${i}`, 'login', `user${i}`, { i }, 1000 + i);
    assert.deepEqual(await node.verifyAudit(), { ok: true, entries: 6 });
    const [head] = await node.auditEntries({ limit: 1 });
    assert.deepEqual(await node.verifyAudit({ seq: 6, hash: head!.hash }), { ok: true, entries: 6 });
    await assert.rejects(open('none.key').audit('x', 'login', 'x', null), keyError('PLANTA_AUDIT_KEY_MISSING'));
    const elsewhere = join(tempDir(t), 'other.key');
    const { createAuditKey } = await import('../../src/auth/audit.js');
    createAuditKey(elsewhere);
    const other = new PostgresDirectory({ url, connectTimeoutMs: 1000, auditKeyFile: elsewhere });
    t.after(() => other.close());
    await assert.rejects(other.audit('x', 'login', 'x', null), keyError('PLANTA_AUDIT_KEY_MISMATCH'));

    // The owner of the database goes around the triggers: cuts the last two entries…
    await sql(`ALTER TABLE "${schema}".audit DISABLE TRIGGER audit_append_only`);
    await sql(`DELETE FROM "${schema}".audit WHERE seq > 4`);
    assert.deepEqual(await node.verifyAudit(), { ok: true, entries: 4 });
    assert.deepEqual(await node.verifyAudit({ seq: 6, hash: head!.hash }), { ok: false, seq: 6, why: `the head 6:${head!.hash} is not an entry of the trail: entries were cut off the end or rewritten` });
    // …and rewrites entry 2, chaining the rest again without the key.
    const rows = (await sql<Row>(`SELECT * FROM "${schema}".audit ORDER BY seq`)).map((r) => ({ ...r, seq: Number(r.seq), ts: Number(r.ts) }));
    rows[1]!.detail = '{"i":99}';
    for (const r of rechain(rows, 2)) await sql(`UPDATE "${schema}".audit SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4`, [r.detail, r.prev_hash, r.hash, r.seq]);
    assert.deepEqual(await node.verifyAudit(), { ok: false, seq: 2, why: 'its content does not match its hash (edited)' });
    process.env.PLANTA_AUDIT_KEY_FILE = join(dir, winner);
    t.after(() => delete process.env.PLANTA_AUDIT_KEY_FILE);
    const broken = await cli('audit', 'verify', '--db', url);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /BROKEN at entry 2/);
  });
});
