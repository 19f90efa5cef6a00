/**
 * At most once, ever, as a user meets it: `planta` processes restarted and
 * killed around a command, the simulated PLC (`planta sim`, a process of
 * its own) counting every write it receives.
 *
 * - all in one (`planta start`): the same id after a restart is answered
 *   with its recorded outcome, and the PLC sees no second write; a crash
 *   (kill -9) between writing and reading back is reported "unknown" at the
 *   next start, never "not sent" or nothing;
 * - distributed (`planta poll` + `planta web` on a Redis of the test's own):
 *   the same after restarting the web node, the poller, and Redis itself
 *   (without persistence).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandOutcome } from '../../src/bus/types.js';
import { type PlantProcesses, plantProcesses } from '../bus/plant-processes.js';
import { privateRedis } from '../bus/redis-helpers.js';
import { run } from '../helpers/process.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

interface Write {
  seq: number;
  fc: number;
  address: number;
}

/** A signed-in operator of one web server. */
async function operator(url: string, plant: PlantProcesses) {
  const login = await waitFor('a sign-in', async () => {
    const r = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: plant.user, password: plant.password }) });
    return r.status === 200 ? r : undefined;
  }, 15_000, 200);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const { csrf } = (await login.json()) as { csrf: string };
  const send = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> & { error?: { code: string }; outcome?: CommandOutcome } };
  };
  return {
    send,
    outcome: async (id: string) => (await send('GET', `/api/commands/${id}`)).json as unknown as CommandOutcome,
    final: (id: string) =>
      waitFor(`the outcome of ${id}`, async () => {
        const r = await send('GET', `/api/commands/${id}`);
        const o = r.json as unknown as CommandOutcome;
        return r.status === 200 && o.status !== 'queued' ? o : undefined;
      }, 20_000, 50),
    /** Select, then operate with the password: a critical command. */
    critical: async (id: string, command: string, params: object) => {
      const sel = await send('POST', '/api/commands/select', { command, params });
      assert.equal(sel.status, 200, JSON.stringify(sel.json));
      return send('POST', '/api/commands/operate', { id, token: sel.json.token, command, params, password: plant.password });
    },
  };
}

async function writes(plant: PlantProcesses): Promise<Write[]> {
  return ((await (await fetch(`http://127.0.0.1:${plant.control}/writes`)).json()) as { writes: Write[] }).writes;
}

const connected = (url: string) =>
  waitFor('the PLC connected', async () => {
    const devices = (await (await fetch(`${url}/api/devices`)).json()) as { status: { state: string } | null }[];
    return devices[0]?.status?.state === 'connected';
  }, 20_000, 100);

/**
 * The test needs a command that is written and whose read-back then waits:
 * a start during an emergency stop, which the PLC's own interlock refuses.
 * Planta refuses that start before writing (its `requires:`), so this
 * configuration copy leaves the preconditions out, as test/commands/api.test.ts does.
 */
function withoutStartPreconditions(plant: PlantProcesses): void {
  const text = readFileSync(plant.config, 'utf8');
  const stripped = text.replace(/\n {4}requires:\n( {6}\S+: \{[^\n]*\}\n)+/, '\n');
  assert.notEqual(stripped, text, 'the preconditions of start_program were found');
  writeFileSync(plant.config, stripped);
}

/** The PLC's start pulse (coil 31) arrived: the command is being written; its read-back waits for the PLC, which an emergency stop keeps from starting. */
const startPulse = (plant: PlantProcesses) => waitFor('the start pulse at the PLC', async () => (await writes(plant)).find((w) => w.fc === 5 && w.address === 31), 10_000, 5);

describe('a command runs at most once, ever', { timeout: 240_000 }, () => {
  it('planta start: restarted, the same id gets its recorded outcome and no second write; killed between writing and reading back, "unknown"', async (t) => {
    const plant = await plantProcesses(t, 'once-start');
    withoutStartPreconditions(plant);
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control), '--no-autostart'], /Modbus\/TCP/);
    const args = ['start', '--no-sim', '--bus', 'memory', '--config', plant.config, '--port', '0', '--db', plant.db, '--history', `${plant.dir}/history.db`];
    const ready = /Planta is running: http:\/\/localhost:(\d+)/;
    let planta = await plant.start(args, ready, 60_000);
    let url = `http://127.0.0.1:${planta.match[1]}`;
    await connected(url);
    let ana = await operator(url, plant);

    const id = `once-${Date.now()}`;
    assert.equal((await ana.send('POST', '/api/commands', { id, command: 'silence_horn', params: {} })).status, 202);
    const first = await ana.final(id);
    assert.equal(first.status, 'confirmed', first.reason);
    assert.equal((await writes(plant)).length, 1);

    planta.child.kill('SIGKILL');
    planta = await plant.start(args, ready, 60_000);
    url = `http://127.0.0.1:${planta.match[1]}`;
    await connected(url);
    ana = await operator(url, plant);
    assert.deepEqual(await ana.outcome(id), first, 'the outcome, known after the restart');
    const replay = await ana.send('POST', '/api/commands', { id, command: 'silence_horn', params: {} });
    assert.equal(replay.status, 409);
    assert.equal(replay.json.error?.code, 'PLANTA_COMMAND_DUPLICATE');
    assert.deepEqual(replay.json.outcome, first);
    // Something that must NOT happen, so nothing to wait for: a second write, within longer than a command takes here.
    await assertThroughout(500, async () => assert.equal((await writes(plant)).length, 1, 'the PLC saw one write, not two'), 50);

    // Killed while the read-back waits (the emergency stop keeps the reactor from starting).
    await fetch(`http://127.0.0.1:${plant.control}/faults/estop`, { method: 'PUT' });
    const crashed = `crash-${Date.now()}`;
    assert.equal((await ana.critical(crashed, 'start_program', { program: 2 })).status, 202);
    await startPulse(plant);
    planta.child.kill('SIGKILL');
    const written = await writes(plant);
    planta = await plant.start(args, ready, 60_000);
    url = `http://127.0.0.1:${planta.match[1]}`;
    ana = await operator(url, plant);
    const unknown = await ana.outcome(crashed);
    assert.equal(unknown.status, 'unknown', JSON.stringify(unknown));
    assert.equal(unknown.code, 'PLANTA_COMMAND_INTERRUPTED');
    assert.match(unknown.reason!, /check the plant/);
    const again = await ana.send('POST', '/api/commands/operate', { id: crashed, token: 'x', command: 'start_program', params: { program: 2 }, password: plant.password });
    assert.equal(again.json.error?.code, 'PLANTA_COMMAND_DUPLICATE');
    assert.equal(again.json.outcome?.status, 'unknown');
    const journal = (await (await ana.send('GET', '/api/journal?kinds=command')).json) as unknown as { text: string }[];
    assert.ok(journal.some((e) => e.text.startsWith('command start_program (program=2): unknown')), 'on the event list');
    await connected(url);
    // Something that must NOT happen: the interrupted command written again by the restarted process, polling now.
    await assertThroughout(500, async () => assert.deepEqual(await writes(plant), written, 'nothing written after the restart'), 50);

    const audit = await run(process.execPath, [new URL('../../bin/planta.js', import.meta.url).pathname, 'audit', 'list', '--limit', '100', '--db', plant.db]);
    assert.match(audit.stdout, new RegExp(`${plant.user} +command-rejected +silence_horn .*"id":"${id}".*PLANTA_COMMAND_DUPLICATE`), 'the replay is audited, with who sent it');
    assert.match(audit.stdout, new RegExp(`${plant.user} +command-unknown +start_program .*"id":"${crashed}"`));
  });

  it('planta poll + planta web on Redis: the same across a web restart, a poller killed mid-command, and Redis restarted without its data', async (t) => {
    const redis = await privateRedis(t, { persist: false });
    if (!redis) return;
    const plant = await plantProcesses(t, 'once-redis', { redisUrl: redis.url });
    withoutStartPreconditions(plant);
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control), '--no-autostart'], /Modbus\/TCP/);
    const pollArgs = ['poll', '--config', plant.config, '--lease', '1s'];
    const poller = await plant.start(pollArgs, /planta poll: polling/);
    const webArgs = ['web', '--config', plant.config, '--port', '0', '--db', plant.db];
    const webReady = /planta web: http:\/\/localhost:(\d+)/;
    let web = await plant.start(webArgs, webReady);
    let url = `http://127.0.0.1:${web.match[1]}`;
    await connected(url);
    let ana = await operator(url, plant);

    const id = `once-${Date.now()}`;
    assert.equal((await ana.send('POST', '/api/commands', { id, command: 'silence_horn', params: {} })).status, 202);
    const first = await ana.final(id);
    assert.equal(first.status, 'confirmed', first.reason);

    const replayed = async (): Promise<void> => {
      const r = await ana.send('POST', '/api/commands', { id, command: 'silence_horn', params: {} });
      assert.equal(r.status, 409, JSON.stringify(r.json));
      assert.deepEqual(r.json.outcome, first);
      assert.deepEqual(await ana.outcome(id), first);
    };
    web.child.kill('SIGKILL');
    web = await plant.start(webArgs, webReady);
    url = `http://127.0.0.1:${web.match[1]}`;
    ana = await operator(url, plant);
    await replayed();

    await redis.kill();
    await redis.start();
    ana = await operator(url, plant);
    await replayed();
    await connected(url);
    // Something that must NOT happen: the command written again by the poller once Redis is back (and empty).
    await assertThroughout(500, async () => assert.equal((await writes(plant)).length, 1, 'one write for that id, whatever restarted'), 50);

    await fetch(`http://127.0.0.1:${plant.control}/faults/estop`, { method: 'PUT' });
    const crashed = `crash-${Date.now()}`;
    assert.equal((await ana.critical(crashed, 'start_program', { program: 2 })).status, 202);
    await startPulse(plant);
    poller.child.kill('SIGKILL');
    const written = await writes(plant);
    await plant.start(pollArgs, /planta poll: polling/);
    const unknown = await waitFor('the outcome reported by the restarted poller', async () => {
      const o = await ana.outcome(crashed);
      return o.status !== 'queued' ? o : undefined;
    }, 20_000, 100);
    assert.equal(unknown.status, 'unknown', JSON.stringify(unknown));
    await connected(url);
    // Something that must NOT happen: the interrupted command written again by the restarted poller, which has settled
    // it (reported it unknown, above) and polls now.
    await assertThroughout(500, async () => assert.deepEqual(await writes(plant), written, 'nothing written after the restart'), 50);
  });
});
