/**
 * Planta as separate processes on the Redis bus: the simulated PLC, `planta
 * poll` and `planta web` as child processes. The web shows the poller's live
 * values; a command sent through the web is executed by the poller and its
 * outcome reaches the web's event stream.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { type Started, run, startProcess } from '../helpers/process.js';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { REDIS_URL, needRedis, testPrefix } from './redis-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');

describe('distributed mode on Redis', { timeout: 120_000 }, () => {
  it('simulator + planta poll + planta web: live values in /api/tags, a command executed by the poller, its outcome on the web stream', async (t) => {
    if (!(await needRedis(t))) return;
    const dir = mkdtempSync(join(tmpdir(), 'planta-distributed-'));
    const children: Started[] = [];
    t.after(async () => {
      for (const c of children.reverse()) await c.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    // After the processes stopped (hooks run in order): their keys are deleted last.
    const prefix = testPrefix(t, 'distributed');
    const modbus = await freePort();
    const control = await freePort();
    const config = join(dir, 'plant.yaml');
    const text = readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8').replace('port: 5020', `port: ${modbus}`);
    writeFileSync(config, `${text}\nbus: { kind: redis, url: '${REDIS_URL}', prefix: '${prefix}' }\n`);
    copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
    const db = join(dir, 'web.db');
    const env: NodeJS.ProcessEnv = { ...process.env, PLANTA_LOG_LEVEL: 'warn', PLANTA_LOG_FORMAT: 'json' };
    delete env.PLANTA_BUS_URL;
    const password = 'distributed-test-password-1';
    const user = await run(process.execPath, [planta, 'user', 'add', 'olga', '--role', 'operator', '--db', db, '--password-stdin'], { input: `${password}\n` });
    assert.equal(user.code, 0, user.stderr);

    const started = Date.now();
    children.push(await startProcess(process.execPath, [planta, 'sim', '--port', String(modbus), '--control-port', String(control)], /Modbus\/TCP/, { env }));
    children.push(await startProcess(process.execPath, [planta, 'poll', '--config', config], /planta poll: polling/, { env, timeoutMs: 30_000 }));
    const web = await startProcess(process.execPath, [planta, 'web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/, { env, timeoutMs: 30_000 });
    children.push(web);
    const port = Number(web.match[1]);
    const url = `http://127.0.0.1:${port}`;

    const level = await waitFor('a good reactor level through the web', async () => {
      const tags = (await (await fetch(`${url}/api/tags`)).json()) as { name: string; quality: string; value: unknown }[];
      return tags.find((x) => x.name === 'reactor.level' && x.quality === 'Good');
    }, 20_000, 100);
    assert.equal(typeof level.value, 'number');
    const liveMs = Date.now() - started;

    const stream = await openStream(port);
    t.after(() => stream.close());
    const login = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'olga', password }) });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrf } = (await login.json()) as { csrf: string };
    const id = `dist-${Date.now()}`;
    const sentAt = Date.now();
    const res = await fetch(`${url}/api/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
      body: JSON.stringify({ id, command: 'silence_horn', params: {} }),
    });
    assert.equal(res.status, 202, await res.text());
    const final = await waitFor('the outcome on the web stream', () =>
      stream.events
        .filter((e) => e.event === 'command')
        .map((e) => JSON.parse(e.data) as { id: string; status: string; code?: string; reason?: string })
        .find((o) => o.id === id && o.status !== 'queued'), 15_000, 20);
    assert.equal(final.status, 'confirmed', JSON.stringify(final));
    const roundTrip = Date.now() - sentAt;
    // The simulated PLC saw exactly one write of the horn's coil.
    const { writes } = (await (await fetch(`http://127.0.0.1:${control}/writes`)).json()) as { writes: unknown[] };
    assert.equal(writes.length, 1, JSON.stringify(writes));
    const byId = (await (await fetch(`${url}/api/commands/${id}`, { headers: { cookie } })).json()) as { status: string };
    assert.equal(byId.status, 'confirmed');
    t.diagnostic(`live values in the web ${liveMs} ms after starting the processes; command round trip through Redis ${roundTrip} ms`);
  });
});
