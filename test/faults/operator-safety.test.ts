/**
 * Fault injection end to end, as an operator meets it: `planta sim` and
 * `planta start` as processes, the faults injected with `planta sim mode` and
 * `planta sim fault`, everything seen through the HTTP API and counted at the
 * simulator (`/writes`). Two devices: the SBR PLC on Modbus/TCP and a meter,
 * unit 2 of the same simulator, behind an RTU-over-TCP converter.
 *
 * - each dead link (silent, slower than the timeout, closing every
 *   connection on a request or right after the connect, garbage) raises comm.<device> within 2 × timeout + scan of
 *   the last valid reply, keeps it while TCP flaps, says since when on
 *   /api/devices, and returns it only on valid replies;
 * - a start during an emergency stop, a minimum above the maximum, a cycle
 *   longer than a day, a value the register cannot hold, an unknown field:
 *   refused, named, audited, nothing written;
 * - a setting confirmed is the tag's value at once.
 *
 * Restarts and crashes around a command: test/commands/restart.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { CommandOutcome, DeviceStatus } from '../../src/bus/types.js';
import { planta, plantProcesses } from '../bus/plant-processes.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/process.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

/** The SBR configuration's PLC: timeout 1 s, fastest scan 500 ms. The meter: timeout 500 ms, scan 1 s. */
const BOUND = { plc: 2 * 1000 + 500, meter: 2 * 500 + 1000 };
/** What timers, the bus and a loaded machine add (the poller also does not count time its process could not run). */
const SLACK = 1500;

interface Alarm {
  id: string;
  active: boolean;
  state: string;
  activeSince: number | null;
  changedAt: number;
}

describe('operator safety, end to end (processes, HTTP, the simulator)', { timeout: 300_000 }, () => {
  it('dead links alarm per device within the bound; unsafe or malformed commands never reach the PLC; settings on screen at once', async (t) => {
    const plant = await plantProcesses(t, 'safety');
    const rtu = await freePort();
    const text = readFileSync(plant.config, 'utf8')
      .replace(/\n {4}area: /g, '\n    device: plc\n    area: ')
      .replace('\ndevices:\n', `\nlinks:\n  converter: { rtuOverTcp: '127.0.0.1:${rtu}' }\n\ndevices:\n  meter: { link: converter, unitId: 2, timeout: 500ms, scanGroups: { fast: 1s } }\n`)
      .replace('\ntags:\n', '\ntags:\n  meter.level: { device: meter, area: input, address: 0, scan: fast }\n');
    writeFileSync(plant.config, text);
    await plant.addUser('erin', 'engineer', 'safety-engineer-password-1');
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control), '--units', '1,2', '--rtu-over-tcp', String(rtu), '--no-autostart'], /Modbus\/TCP/);
    const started = await plant.start(
      ['start', '--no-sim', '--bus', 'memory', '--config', plant.config, '--port', '0', '--db', plant.db, '--history', `${plant.dir}/history.db`],
      /Planta is running: http:\/\/localhost:(\d+)/,
      60_000,
    );
    const url = `http://127.0.0.1:${started.match[1]}`;
    const control = `http://127.0.0.1:${plant.control}`;
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T;
    const status = async (device: string): Promise<DeviceStatus> => (await get<{ name: string; status: DeviceStatus }[]>('/api/devices')).find((d) => d.name === device)!.status;
    const comm = async (device: string): Promise<Alarm> => (await get<Alarm[]>('/api/alarms')).find((a) => a.id === `comm.${device}`)!;
    const writes = async (): Promise<number> => ((await (await fetch(`${control}/writes`)).json()) as { writes: unknown[] }).writes.length;
    const sim = async (...args: string[]): Promise<void> => {
      const r = await run(process.execPath, [planta, 'sim', ...args, '--control', control]);
      assert.equal(r.code, 0, r.stderr);
    };
    for (const d of ['plc', 'meter']) await waitFor(`${d} connected`, async () => (await status(d))?.state === 'connected', 30_000, 100);

    // ---- a dead link is always announced, per device
    /** `unit` undefined: every unit (the simulator's connections themselves misbehave: hangup closes them at the connect). */
    const dead = async (device: 'plc' | 'meter', unit: string | undefined, mode: string): Promise<number> => {
      const which = unit === undefined ? [] : ['--unit', unit];
      await sim('mode', mode, ...which);
      const raised = await waitFor(`comm.${device} raised (${mode})`, async () => {
        const a = await comm(device);
        return a.active ? a : undefined;
      }, 20_000, 50);
      const down = await status(device);
      assert.equal(down.state, 'down', `${device} down (${mode})`);
      assert.equal(down.noReplySince, down.lastValidReplyAt, 'since the last valid reply');
      const after = raised.activeSince! - down.lastValidReplyAt!;
      assert.ok(after >= down.linkLossMs! - 50 && after <= BOUND[device] + SLACK, `${device} ${mode}: raised ${after} ms after the last valid reply (bound ${BOUND[device]} ms)`);
      // Whatever TCP does meanwhile (reconnects, closes), the link stays down and the alarm active.
      await assertThroughout(1500, async () => {
        assert.equal((await comm(device)).active, true, `comm.${device} stays active (${mode})`);
        assert.equal((await status(device)).state, 'down');
      }, 100);
      const healedAt = Date.now();
      await sim('mode', 'normal', ...which);
      const back = await waitFor(`comm.${device} returned (${mode})`, async () => {
        const a = await comm(device);
        return a.active ? undefined : a;
      }, 20_000, 50);
      const up = await status(device);
      assert.ok(up.lastValidReplyAt! >= healedAt - 50 && back.changedAt >= healedAt - 50, `returned on valid replies (${mode})`);
      return after;
    };
    const figures: string[] = [];
    for (const mode of ['silent', 'slow:1500', 'close', 'garbage']) figures.push(`plc ${mode} ${await dead('plc', '1', mode)} ms`);
    figures.push(`plc hangup ${await dead('plc', undefined, 'hangup')} ms`);
    for (const mode of ['silent', 'garbage']) figures.push(`meter ${mode} ${await dead('meter', '2', mode)} ms`);
    t.diagnostic(`comm alarm after the last valid reply: ${figures.join(', ')} (bounds plc ${BOUND.plc} ms, meter ${BOUND.meter} ms)`);

    // ---- commands: refused before the first write
    const login = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'erin', password: 'safety-engineer-password-1' }) });
    assert.equal(login.status, 200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrf } = (await login.json()) as { csrf: string };
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify(body) });
      return { status: r.status, json: (await r.json()) as { token?: string; error?: { code: string; field?: string } } };
    };
    const refused = async (path: string, body: unknown, status: number, code: string, field: string): Promise<void> => {
      const r = await post(path, body);
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.deepEqual([r.json.error?.code, r.json.error?.field], [code, field]);
    };
    await waitFor('the settings read', async () => (await get<{ quality: string }>('/api/tags/limits.oxygen_max')).quality === 'Good', 20_000, 100);
    const before = await writes();

    await sim('fault', 'set', 'estop');
    await waitFor('the emergency stop seen', async () => (await get<{ value: unknown }>('/api/tags/alarm.estop')).value === true, 10_000, 50);
    await refused('/api/commands/select', { command: 'start_program', params: { program: 2 } }, 409, 'PLANTA_COMMAND_PRECONDITION', 'requires.no_emergency_stop');
    await sim('fault', 'clear', 'estop');
    const limits = { oxygen_min: 3, oxygen_max: 2, turbidity_max: 50 };
    await refused('/api/commands/select', { command: 'edit_limits', params: limits }, 409, 'PLANTA_COMMAND_RELATION', 'relations.oxygen_limits');
    const day = { program: 1, fill: 600, aeration: 600, settling: 200, discharge: 100 };
    await refused('/api/commands/select', { command: 'edit_program', params: day }, 409, 'PLANTA_COMMAND_RELATION', 'relations.cycle_within_a_day');
    await refused('/api/commands/select', { command: 'edit_limits', params: { ...limits, oxygen_min: 1.500000001, oxygen_max: 3 } }, 400, 'PLANTA_COMMAND_OUT_OF_RANGE', 'params.oxygen_min');
    await refused('/api/commands', { id: 'safety-field-1', command: 'silence_horn', params: {}, force: true }, 400, 'PLANTA_COMMAND_UNKNOWN_FIELD', 'force');
    await refused('/api/commands/select', { command: 'stop_cycle', params: {}, priority: 1 }, 400, 'PLANTA_COMMAND_UNKNOWN_FIELD', 'priority');
    await refused('/api/commands/operate', { id: 'safety-field-2', token: 'x', command: 'stop_cycle', params: {}, password: 'p', when: 'now' }, 400, 'PLANTA_COMMAND_UNKNOWN_FIELD', 'when');
    assert.equal(await writes(), before, 'nothing written by a refused command');

    // ---- a setting confirmed is on screen at once, long before the settings group scans again
    const good = { oxygen_min: 1.51, oxygen_max: 3.07, turbidity_max: 50 };
    const sel = await post('/api/commands/select', { command: 'edit_limits', params: good });
    assert.equal(sel.status, 200, JSON.stringify(sel.json));
    const id = `safety-${Date.now()}`;
    assert.equal((await post('/api/commands/operate', { id, token: sel.json.token, command: 'edit_limits', params: good, password: 'safety-engineer-password-1' })).status, 202);
    const done = await waitFor('the outcome', async () => {
      const o = await get<CommandOutcome>(`/api/commands/${id}`);
      return o.status === 'queued' ? undefined : o;
    }, 20_000, 20);
    assert.equal(done.status, 'confirmed', done.reason);
    const shown = await get<{ value: number; sourceTs: number }>('/api/tags/limits.oxygen_max');
    assert.equal(shown.value, 3.07, 'the new setting is the tag value when the command is confirmed');
    assert.ok(shown.sourceTs <= done.at, 'read by the command, not by a later scan');

    // ---- every refusal is in the audit trail, with who
    const audit = await run(process.execPath, [planta, 'audit', 'list', '--limit', '100', '--db', plant.db]);
    for (const code of ['PLANTA_COMMAND_PRECONDITION', 'PLANTA_COMMAND_RELATION', 'PLANTA_COMMAND_OUT_OF_RANGE', 'PLANTA_COMMAND_UNKNOWN_FIELD']) {
      assert.match(audit.stdout, new RegExp(`erin +command-rejected .*${code}`), `${code} audited`);
    }
    assert.match(audit.stdout, new RegExp(`erin +command-confirmed +edit_limits .*"id":"${id}"`));
  });
});
