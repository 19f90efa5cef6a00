/**
 * Two `planta web` nodes sharing users, their sessions, tokens and the
 * audit trail on the machine's PostgreSQL (`--db postgres://…?schema=…`):
 * a user an admin adds on node A signs in on node B, a token made on A
 * reads on B and stops once revoked, a password changed by the CLI ends the
 * user's sessions on every node, and every command outcome is in the trail
 * once (not once per node) — also the outcomes that came while one node's
 * link to PostgreSQL was cut, where signed-in users kept working.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { run } from '../helpers/process.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { PG_URL, pgProxy, dropSchemaAfter, needPostgres, schemaName } from '../historian/pg-helpers.js';
import { planta, plantProcesses } from './plant-processes.js';
import { REDIS_URL, needRedis } from './redis-helpers.js';

const json = { 'content-type': 'application/json' };

/** A signed-in user of one web node. */
async function signIn(url: string, user: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/api/login`, { method: 'POST', headers: json, body: JSON.stringify({ user, password }) });
  assert.equal(res.status, 200, `${user} on ${url}: ${await res.clone().text()}`);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await res.json()) as { csrf: string }).csrf };
}

const post = (url: string, path: string, who: { cookie: string; csrf: string }, body: unknown): Promise<Response> =>
  fetch(`${url}${path}`, { method: 'POST', headers: { ...json, cookie: who.cookie, 'x-csrf-token': who.csrf }, body: JSON.stringify(body) });

interface Entry {
  seq: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

describe('web nodes sharing users on PostgreSQL', { timeout: 180_000 }, () => {
  it('a user, a token and a password change made on one node hold on the other; each command outcome is audited once, also through one node\'s PostgreSQL outage', async (t) => {
    if (!(await needRedis(t)) || !(await needPostgres(t))) return;
    // The web nodes' audit key (one machine: one file for both), in the test's folder; the processes inherit the environment.
    const keys = mkdtempSync(join(tmpdir(), 'planta-key-'));
    t.after(() => rmSync(keys, { recursive: true, force: true }));
    process.env.PLANTA_AUDIT_KEY_FILE = join(keys, 'audit.key');
    t.after(() => delete process.env.PLANTA_AUDIT_KEY_FILE);
    const schema = schemaName();
    const usersUrl = `${PG_URL}?schema=${schema}`;
    // Node A reaches PostgreSQL through a proxy that can be cut; node B directly.
    const proxy = await pgProxy(t);
    const plant = await plantProcesses(t, 'shared-users', { usersUrl });
    dropSchemaAfter(t, schema);
    const { config, control, modbus, password } = plant;
    const admin = 'root-admin';
    const adminPassword = 'shared-users-admin-pass-1';
    await plant.addUser(admin, 'admin', adminPassword);

    await plant.start(['sim', '--port', String(modbus), '--control-port', String(control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', config], /planta poll: polling/);
    const web = async (db: string): Promise<string> =>
      `http://127.0.0.1:${(await plant.start(['web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/)).match[1]}`;
    const a = await web(`${proxy.url}?schema=${schema}`);
    const b = await web(usersUrl);

    // An admin on A adds an engineer and a token; both work on B.
    const root = await signIn(a, admin, adminPassword);
    const ivanPassword = 'correct-horse-battery-42';
    const addIvan = await post(a, '/api/users', root, { name: 'ivan', role: 'engineer', password: ivanPassword });
    assert.equal(addIvan.status, 200, await addIvan.text());
    const ivan = await signIn(b, 'ivan', ivanPassword);
    const { token } = (await (await post(a, '/api/tokens', root, { name: 'scada-report' })).json()) as { token: string };
    const bearer = { authorization: `Bearer ${token}` };
    // Guests from this machine may view (security.anonymous: local): the session says who the token is.
    const via = async (): Promise<string> => ((await (await fetch(`${b}/api/session`, { headers: bearer })).json()) as { user: string }).user;
    assert.equal(await via(), 'token:scada-report', 'the token is known on B');
    const revoked = await fetch(`${a}/api/tokens/scada-report`, { method: 'DELETE', headers: { cookie: root.cookie, 'x-csrf-token': root.csrf } });
    assert.equal(revoked.status, 200);
    await waitFor('the revoked token refused on B', async () => (await via()) === 'anonymous', 5000, 100);

    // The operator's commands: through A, then through B while A cannot reach PostgreSQL.
    const olgaA = await signIn(a, plant.user, password);
    const olgaB = await signIn(b, plant.user, password);
    const command = async (url: string, who: { cookie: string; csrf: string }, id: string): Promise<void> => {
      const res = await post(url, '/api/commands', who, { id, command: 'silence_horn', params: {} });
      assert.equal(res.status, 202, await res.text());
      await waitFor(`${id} confirmed`, async () => ((await (await fetch(`${url}/api/commands/${id}`, { headers: { cookie: who.cookie } })).json()) as { status: string }).status === 'confirmed', 15_000, 50);
    };
    const stamp = Date.now();
    await command(a, olgaA, `shared-a-${stamp}`);
    await proxy.stop();
    await command(b, olgaB, `shared-b-${stamp}`);
    // Signed in on A at every moment of the outage, for 2.5 s: past the 2 s A keeps an answer fresh, so
    // the last checks are served by the last known session, PostgreSQL being asked in vain.
    await assertThroughout(2500, async () => {
      const session = await fetch(`${a}/api/session`, { headers: { cookie: olgaA.cookie } });
      assert.equal(((await session.json()) as { user: string }).user, plant.user, 'a signed-in operator keeps working on A through the outage');
    }, 100);
    const refused = await fetch(`${a}/api/login`, { method: 'POST', headers: json, body: JSON.stringify({ user: 'ivan', password: ivanPassword }) });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'PLANTA_AUTH_STORE_UNAVAILABLE');
    await command(b, olgaB, `shared-c-${stamp}`);
    await command(a, olgaA, `shared-d-${stamp}`);
    await proxy.start();

    // Every outcome once in the one trail, whichever node wrote it (A writes what it held once it reaches PostgreSQL again).
    const trail = async (): Promise<Entry[]> => (await (await fetch(`${b}/api/audit?limit=1000`, { headers: { cookie: ivan.cookie } })).json()) as Entry[];
    const outcomes = (entries: Entry[]): string[] =>
      entries
        .filter((e) => e.action.startsWith('command-') && e.detail.includes(String(stamp)))
        .map((e) => `${(JSON.parse(e.detail) as { id: string }).id.replace(`-${stamp}`, '')} ${e.action}`)
        .sort();
    const expected = ['a', 'b', 'c', 'd'].flatMap((x) => [`shared-${x} command-confirmed`, `shared-${x} command-queued`]).sort();
    const entries = await waitFor('every outcome in the trail', async () => {
      const e = await trail();
      return outcomes(e).length >= expected.length ? e : undefined;
    }, 40_000, 200);
    assert.deepEqual(outcomes(entries), expected, 'each outcome once');
    // One consumer group for both nodes, though they reach PostgreSQL by different URLs: each entry is written by one of them.
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    const groups = ((await redis.sendCommand(['XINFO', 'GROUPS', `${plant.prefix}outcomes`])) as { name: string }[]).map((g) => g.name);
    await redis.close();
    assert.equal(groups.filter((g) => g.startsWith('audit@')).length, 1, groups.join(', '));
    assert.ok(entries.some((e) => e.action === 'user-add' && e.target === 'ivan' && e.actor === admin), 'the admin on A, in the trail read on B');
    const signedInOn = (url: string): string => `${hostname()}:${new URL(url).port}`;
    const ivanIn = entries.find((e) => e.action === 'login' && e.actor === 'ivan')!;
    assert.equal((JSON.parse(ivanIn.detail) as { node: string }).node, signedInOn(b), 'a sign-in names its web node');
    assert.ok(entries.some((e) => e.action === 'login' && e.actor === admin && (JSON.parse(e.detail) as { node: string }).node === signedInOn(a)));

    // The CLI changes olga's password: her sessions end on both nodes.
    const changed = await run(process.execPath, [planta, 'user', 'passwd', plant.user, '--db', usersUrl, '--password-stdin'], { input: 'sunlit-gravel-lantern-7\n' });
    assert.equal(changed.code, 0, changed.stderr);
    for (const [url, who] of [[a, olgaA], [b, olgaB]] as const) {
      const user = async (): Promise<string> => ((await (await fetch(`${url}/api/session`, { headers: { cookie: who.cookie } })).json()) as { user: string }).user;
      await waitFor(`olga's session over on ${url}`, async () => (await user()) === 'anonymous', 5000, 100);
    }
    const verify = await run(process.execPath, [planta, 'audit', 'verify', '--db', usersUrl]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /audit trail intact: \d+ entries/);
  });
});
