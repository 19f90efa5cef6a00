/**
 * Planta as separate processes on the Redis bus: the simulated PLC, `planta
 * poll` and `planta web` as child processes. The web shows the poller's live
 * values; a command sent through the web is executed by the poller and its
 * outcome reaches the web's event stream.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { plantProcesses } from './plant-processes.js';
import { needRedis } from './redis-helpers.js';

describe('distributed mode on Redis', { timeout: 120_000 }, () => {
  it('simulator + planta poll + planta web: live values in /api/tags, a command executed by the poller, its outcome on the web stream', async (t) => {
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'distributed');
    const { config, db, control, modbus, password } = plant;

    const started = Date.now();
    await plant.start(['sim', '--port', String(modbus), '--control-port', String(control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', config], /planta poll: polling/);
    const web = await plant.start(['web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/);
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
