/**
 * Operators stay signed in through a Redis restart: a `planta web` with its
 * users (and so their sessions) on PostgreSQL, on a redis-server of this
 * test without persistence, killed with SIGKILL and started again empty.
 * The same session cookie still works: a command posted right after the
 * restart is never answered 401, and one posted once the poller reads
 * again is confirmed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { waitFor } from '../helpers/wait.js';
import { PG_URL, dropSchemaAfter, needPostgres, schemaName } from '../historian/pg-helpers.js';
import { plantProcesses } from './plant-processes.js';
import { privateRedis } from './redis-helpers.js';

const json = { 'content-type': 'application/json' };

describe('sessions through a Redis restart', { timeout: 180_000 }, () => {
  it('Redis without persistence killed -9 and started again: the same cookie is still signed in; a command after the restart is accepted, not 401', async (t) => {
    const redis = await privateRedis(t, { persist: false });
    if (!redis || !(await needPostgres(t))) return;
    const keys = mkdtempSync(join(tmpdir(), 'planta-key-'));
    t.after(() => rmSync(keys, { recursive: true, force: true }));
    // The web node's audit key, in the test's folder (the processes inherit the environment).
    process.env.PLANTA_AUDIT_KEY_FILE = join(keys, 'audit.key');
    t.after(() => delete process.env.PLANTA_AUDIT_KEY_FILE);
    const schema = schemaName();
    const plant = await plantProcesses(t, 'session-restart', { redisUrl: redis.url, usersUrl: `${PG_URL}?schema=${schema}` });
    dropSchemaAfter(t, schema);
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', plant.config], /planta poll: polling/);
    const web = await plant.start(['web', '--config', plant.config, '--port', '0', '--db', plant.db], /planta web: http:\/\/localhost:(\d+)/);
    const url = `http://127.0.0.1:${web.match[1]}`;

    const login = await fetch(`${url}/api/login`, { method: 'POST', headers: json, body: JSON.stringify({ user: plant.user, password: plant.password }) });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrf } = (await login.json()) as { csrf: string };
    const who = async (): Promise<string> => ((await (await fetch(`${url}/api/session`, { headers: { cookie } })).json()) as { user: string }).user;
    assert.equal(await who(), plant.user);

    // kill -9 this test's redis-server, then start it again on the same port: empty. "Empty" is proven
    // by a key of the test's own, not by the size of the database: the running poller and web node
    // reconnect the moment Redis is back and recreate their keys and streams, so a count taken after
    // the restart races with them. A key nobody else writes is gone exactly when the data was lost.
    const marker = `planta-test:session-restart-${process.pid}-${Date.now()}`;
    const before = createClient({ url: redis.url });
    await before.connect();
    await before.set(marker, 'written before the crash');
    assert.equal(await before.get(marker), 'written before the crash');
    assert.ok((await before.dbSize()) > 1, 'the plant had written to Redis before the crash');
    before.destroy();
    await redis.kill();
    await redis.start();
    const after = createClient({ url: redis.url });
    await after.connect();
    assert.equal(await after.exists(marker), 0, 'Redis came back without its data');
    after.destroy();

    assert.equal(await who(), plant.user, 'still signed in');
    const command = (id: string): Promise<Response> =>
      fetch(`${url}/api/commands`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ id, command: 'silence_horn', params: {} }) });
    // At once: whatever the bus can do with it yet, the request is the operator's, never refused for want of a session.
    const first = await command(`restart-a-${Date.now()}`);
    // Its body read once, here: the assertion's message and the id further down both need it.
    const firstBody = await first.text();
    assert.ok(first.status !== 401 && first.status !== 403, `${first.status} ${firstBody}`);
    // Once the poller reads again (its lease taken again on the empty Redis), a command is confirmed.
    const restartedAt = Date.now();
    await waitFor('fresh values after the restart', async () => {
      const tags = (await (await fetch(`${url}/api/tags`, { headers: { cookie } })).json()) as { name: string; quality: string; sourceTs: number }[];
      return tags.some((x) => x.name === 'reactor.level' && x.quality === 'Good' && x.sourceTs > restartedAt);
    }, 30_000, 200);
    const id = `restart-b-${Date.now()}`;
    const second = await command(id);
    assert.equal(second.status, 202, await second.text());
    await waitFor('the command confirmed', async () => ((await (await fetch(`${url}/api/commands/${id}`, { headers: { cookie } })).json()) as { status: string }).status === 'confirmed', 30_000, 100);
    if (first.status === 202) {
      // Accepted while the poller was still taking its lease again: it is never left "queued" — run, or expired, within its expiry.
      const firstId = (JSON.parse(firstBody) as { id: string }).id;
      const settled = await waitFor('the first command settled', async () => {
        const o = (await (await fetch(`${url}/api/commands/${firstId}`, { headers: { cookie } })).json()) as { status: string };
        return o.status !== 'queued' ? o.status : undefined;
      }, 20_000, 100);
      assert.ok(['confirmed', 'expired'].includes(settled), settled);
    }
    assert.equal(await who(), plant.user, 'still signed in after all that');
    t.diagnostic(`first command after the restart answered ${first.status}`);
  });
});
