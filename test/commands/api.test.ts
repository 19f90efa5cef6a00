/**
 * Operator commands end to end: HTTP → validation → bus → poller → simulated
 * PLC → read-back → outcome, with every rejection path, the PLC's interlock,
 * select-before-operate, expiry, at-most-once and the audit log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandOutcome } from '../../src/bus/types.js';
import { MemoryAuditLog, auditCommands } from '../../src/commands/audit.js';
import { CommandPreparer } from '../../src/commands/prepare.js';
import type { Role } from '../../src/config/schema.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { CommandInfo } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

let seq = 0;
const newId = (): string => `test-${Date.now().toString(36)}-${seq++}`;

describe('operator commands', { timeout: 120_000 }, () => {
  let sim: Simulator;
  let port: number;
  let config: PlantConfig;
  let bus: MemoryBus;
  let poller: Poller;
  let app: FastifyInstance;
  const audit = new MemoryAuditLog();

  before(async () => {
    sim = new Simulator({ port: 0, speed: 60, scanMs: 20, autostart: false });
    port = (await sim.start()).port;
    config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 300, connectTimeoutMs: 300, scanGroups: { fast: 50, settings: 200 } });
    bus = new MemoryBus();
    await auditCommands(bus, audit);
    poller = new Poller(config, { bus });
    await poller.start();
    ({ app } = await createWebServer({
      bus,
      config,
      selectValidityMs: 1500,
      // Tests name the user and role in a header; real sign-in arrives with the security issue.
      identify: (req) => {
        const h = req.headers['x-test-user'];
        if (typeof h !== 'string') return undefined;
        const [user, role] = h.split(':') as [string, Role];
        return { user, role };
      },
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    await waitFor('the poller connected', () => poller.devices[0]!.status().state === 'connected', 5000);
  });
  after(async () => {
    await app.close();
    await poller.stop();
    await sim.stop();
  });

  const call = async (method: string, url: string, payload?: unknown, user = 'ana:operator') => {
    const res = await app.inject({ method: method as 'POST', url, headers: { 'x-test-user': user }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, json: res.json() as Record<string, unknown> & { error?: { code: string; field?: string; message: string } } };
  };
  const final = (id: string): Promise<CommandOutcome> =>
    waitFor(`the outcome of ${id}`, async () => {
      const r = await call('GET', `/api/commands/${id}`);
      const o = r.json as unknown as CommandOutcome;
      return r.status === 200 && o.status !== 'queued' ? o : undefined;
    }, 10_000, 20);
  /** select then operate; returns the operate response. */
  const selectOperate = async (command: string, params: object, user = 'ana:operator') => {
    const sel = await call('POST', '/api/commands/select', { command, params }, user);
    assert.equal(sel.status, 200, JSON.stringify(sel.json));
    const id = newId();
    const op = await call('POST', '/api/commands/operate', { id, token: sel.json.token, command, params }, user);
    return { id, sel, op };
  };
  const writesSince = (n: number) => sim.writes.list(n);
  const lastSeq = () => sim.writes.list().at(-1)?.seq ?? 0;

  it('lists the commands with their parameters, ranges and roles', async () => {
    const r = await call('GET', '/api/commands');
    const list = r.json as unknown as CommandInfo[];
    assert.deepEqual(list.map((c) => c.name), ['start_program', 'stop_cycle', 'silence_horn', 'reset_partial_volume', 'edit_program', 'edit_limits']);
    const edit = list.find((c) => c.name === 'edit_limits')!;
    assert.deepEqual(edit.params.oxygen_min, { label: 'Oxygen minimum (mg/L)', integer: false, unit: 'mg/L', decimals: 2, type: 'number', min: 0.01, max: 99.99, tag: 'limits.oxygen_min' });
    const start = list.find((c) => c.name === 'start_program')!;
    assert.equal(start.params.program!.tag, 'program.current', 'a parameter set by a step names that tag');
    assert.deepEqual(start.tags, ['program.current', 'cmd.start', 'phase.stopped']);
    assert.deepEqual(list.find((c) => c.name === 'edit_program')!.params.fill!.tag, 'program{program}.fill');
    assert.equal(edit.role, 'engineer');
    assert.equal(edit.critical, true);
    assert.equal(edit.device, 'plc');
  });

  it('rejects, with a stable code and the field at fault, before anything reaches the PLC', async () => {
    const mark = lastSeq();
    const cases: [unknown, string, number, string, string?][] = [
      [{ id: newId(), command: 'launch_rocket' }, 'ana:operator', 404, 'PLANTA_COMMAND_UNKNOWN', 'command'],
      [{ id: newId(), command: 'silence_horn' }, 'vic:viewer', 403, 'PLANTA_COMMAND_FORBIDDEN', 'command'],
      [{ id: newId(), command: 'edit_limits', params: { oxygen_min: 2, oxygen_max: 8, turbidity_max: 10 } }, 'ana:operator', 403, 'PLANTA_COMMAND_FORBIDDEN'],
      [{ id: 'short', command: 'silence_horn' }, 'ana:operator', 400, 'PLANTA_COMMAND_BAD_ID', 'id'],
      [{ id: newId(), command: 'silence_horn', params: { loud: 1 } }, 'ana:operator', 400, 'PLANTA_COMMAND_UNKNOWN_PARAM', 'params.loud'],
      [{ id: newId(), command: 'start_program', params: { program: 2 } }, 'ana:operator', 409, 'PLANTA_COMMAND_SELECT_REQUIRED'],
    ];
    for (const [payload, user, status, code, field] of cases) {
      const r = await call('POST', '/api/commands', payload, user);
      assert.equal(r.status, status, `${code}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error?.code, code);
      if (field) assert.equal(r.json.error?.field, field);
    }
    const selects: [object, string, number, string, string][] = [
      [{ command: 'start_program', params: { program: 4 } }, 'ana:operator', 400, 'PLANTA_COMMAND_OUT_OF_RANGE', 'params.program'],
      [{ command: 'start_program', params: { program: '2' } }, 'ana:operator', 400, 'PLANTA_COMMAND_BAD_TYPE', 'params.program'],
      [{ command: 'start_program', params: {} }, 'ana:operator', 400, 'PLANTA_COMMAND_MISSING_PARAM', 'params.program'],
      [{ command: 'edit_program', params: { program: 3, fill: 0, aeration: 5, settling: 5, discharge: 5 } }, 'eve:engineer', 400, 'PLANTA_COMMAND_OUT_OF_RANGE', 'params.fill'],
      [{ command: 'edit_limits', params: { oxygen_min: 2.005, oxygen_max: 8, turbidity_max: 10 } }, 'eve:engineer', 400, 'PLANTA_COMMAND_OUT_OF_RANGE', 'params.oxygen_min'],
    ];
    for (const [payload, user, status, code, field] of selects) {
      const r = await call('POST', '/api/commands/select', payload, user);
      assert.equal(r.status, status, `${code}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error?.code, code);
      assert.equal(r.json.error?.field, field);
    }
    const anonymous = await app.inject({ method: 'POST', url: '/api/commands', payload: { id: newId(), command: 'silence_horn' } });
    assert.equal(anonymous.statusCode, 401);
    assert.equal((anonymous.json() as { error: { code: string } }).error.code, 'PLANTA_AUTH_REQUIRED');
    const notJson = await app.inject({ method: 'POST', url: '/api/commands', headers: { 'x-test-user': 'ana:operator', 'content-type': 'application/json' }, payload: '[1,2]' });
    assert.equal(notJson.statusCode, 400);
    await waitFor("vic's refusal audited", () => audit.entries.some((e) => e.status === 'rejected' && e.code === 'PLANTA_COMMAND_FORBIDDEN' && e.user === 'vic'));
    // Something that must NOT happen: a refused request reaching the PLC, within longer than a command takes here.
    await assertThroughout(200, () => assert.deepEqual(writesSince(mark), [], 'no write reached the PLC'));
  });

  it('silences the horn: one pulse, cleared by the PLC, confirmed; a retry with the same id is refused', async () => {
    const mark = lastSeq();
    const id = newId();
    const r = await call('POST', '/api/commands', { id, command: 'silence_horn' });
    assert.equal(r.status, 202);
    assert.deepEqual(r.json.status, 'queued');
    const o = await final(id);
    assert.equal(o.status, 'confirmed', o.reason);
    const again = await call('POST', '/api/commands', { id, command: 'silence_horn' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error?.code, 'PLANTA_COMMAND_DUPLICATE');
    // Something that must NOT happen: a second write for the retry, within longer than a command takes here.
    await assertThroughout(200, () => {
      const writes = writesSince(mark);
      assert.deepEqual(writes.map((w) => [w.fc, w.address, w.values, w.outcome]), [[5, 23, [true], 'ok']], 'exactly one write');
    });
  });

  it('starts program 2 with select-before-operate; the phase starts; the outcome reaches the stream', async () => {
    const port = (app.server.address() as { port: number }).port;
    const stream = await openStream(port);
    try {
      await stream.waitEvents(1);
      const { id, sel, op } = await selectOperate('start_program', { program: 2 });
      assert.equal(sel.json.confirmation, 'Start program 2 on the SBR reactor?');
      assert.deepEqual(Object.keys(sel.json.current as object).sort(), ['cmd.start', 'phase.stopped', 'program.current']);
      assert.equal(op.status, 202);
      const o = await final(id);
      assert.equal(o.status, 'confirmed', o.reason);
      assert.equal(o.before?.['program.current'], 1);
      assert.equal(o.after?.['program.current'], 2);
      assert.equal(sim.plant!.state().running, true);
      assert.equal(sim.plant!.words.get(8), 2);
      const events = await waitFor('queued and confirmed on the stream', () => {
        const mine = stream.events.filter((e) => e.event === 'command' && e.data.includes(id)).map((e) => (JSON.parse(e.data) as CommandOutcome).status);
        return mine.includes('confirmed') ? mine : undefined;
      }, 5000);
      assert.deepEqual(events, ['queued', 'confirmed']);
    } finally {
      stream.close();
    }
  });

  it('stop, then edit program 3 and read the values back', async () => {
    const stop = await selectOperate('stop_cycle', {});
    assert.equal((await final(stop.id)).status, 'confirmed');
    const { id } = await selectOperate('edit_program', { program: 3, fill: 35, aeration: 50, settling: 25, discharge: 15 }, 'eve:engineer');
    const o = await final(id);
    assert.equal(o.status, 'confirmed', o.reason);
    assert.deepEqual(o.after, { 'program3.fill': 35, 'program3.aeration': 50, 'program3.settling': 25, 'program3.discharge': 15 });
    assert.deepEqual(Array.from(sim.plant!.words.registers.slice(17, 21)), [35, 50, 25, 15]);
    const fc16 = sim.writes.list().filter((w) => w.fc === 16).at(-1)!;
    assert.deepEqual([fc16.address, fc16.values], [17, [35, 50, 25, 15]], 'one FC16 of four registers');
    const limits = await selectOperate('edit_limits', { oxygen_min: 2.5, oxygen_max: 7.25, turbidity_max: 12 }, 'eve:engineer');
    const lo = await final(limits.id);
    assert.equal(lo.status, 'confirmed', lo.reason);
    assert.deepEqual(Array.from(sim.plant!.words.registers.slice(5, 8)), [250, 725, 12]);
  });

  it('an emergency stop: start is refused before anything is written; without that precondition the PLC\'s interlock still refuses it (written, not accepted)', async () => {
    const estopOnBus = (on: boolean) => waitFor(`alarm.estop ${on} on the bus`, async () => (await bus.snapshot()).find((v) => v.tag === 'alarm.estop')?.value === on, 5000);
    sim.plant!.setFault(1, true);
    try {
      await estopOnBus(true);
      const mark = lastSeq();
      const sel = await call('POST', '/api/commands/select', { command: 'start_program', params: { program: 1 } });
      assert.equal(sel.status, 409);
      assert.equal(sel.json.error?.code, 'PLANTA_COMMAND_PRECONDITION');
      assert.equal(sel.json.error?.field, 'requires.no_emergency_stop');
      assert.deepEqual(writesSince(mark), [], 'nothing reached the PLC');

      // A configuration without the precondition: the PLC is still the last word.
      const bare = structuredClone(config);
      bare.commands.start_program!.requires = {};
      const cmd = new CommandPreparer(bare).prepare({ id: newId(), command: 'start_program', params: { program: 1 } }, { user: 'ana', role: 'operator' });
      await bus.submitCommand(cmd);
      const o = await final(cmd.id);
      assert.equal(o.status, 'not-accepted');
      assert.equal(o.code, 'PLANTA_COMMAND_NOT_ACCEPTED');
      assert.match(o.reason!, /phase\.stopped is true, not false/);
      assert.equal(sim.plant!.state().running, false);
      assert.deepEqual(writesSince(mark).map((w) => [w.fc, w.address]), [[6, 8], [5, 31]], 'the program and the start pulse, nothing else');
    } finally {
      sim.plant!.setFault(1, false);
      await estopOnBus(false);
    }
  });

  it('select-before-operate: one holder per device; tokens are single-use, bound to the user and the values, and expire', async () => {
    const a = await call('POST', '/api/commands/select', { command: 'start_program', params: { program: 1 } }, 'ana:operator');
    const b = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} }, 'bob:operator');
    assert.equal(b.status, 409);
    assert.equal(b.json.error?.code, 'PLANTA_COMMAND_DEVICE_SELECTED');
    assert.match(b.json.error!.message, /selected by ana for "start_program"/);
    const stolen = await call('POST', '/api/commands/operate', { id: newId(), token: a.json.token, command: 'start_program', params: { program: 1 } }, 'bob:operator');
    assert.equal(stolen.json.error?.code, 'PLANTA_COMMAND_TOKEN_USER');
    const changed = await call('POST', '/api/commands/operate', { id: newId(), token: a.json.token, command: 'start_program', params: { program: 3 } });
    assert.equal(changed.json.error?.code, 'PLANTA_COMMAND_TOKEN_MISMATCH');
    const id = newId();
    const ok = await call('POST', '/api/commands/operate', { id, token: a.json.token, command: 'start_program', params: { program: 1 } });
    assert.equal(ok.status, 202);
    const reuse = await call('POST', '/api/commands/operate', { id: newId(), token: a.json.token, command: 'start_program', params: { program: 1 } });
    assert.equal(reuse.json.error?.code, 'PLANTA_COMMAND_BAD_TOKEN');
    assert.equal((await final(id)).status, 'confirmed');
    const late = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} });
    await waitFor('the token expired', () => Date.now() > (late.json.expiresAt as number), 5000);
    const expired = await call('POST', '/api/commands/operate', { id: newId(), token: late.json.token, command: 'stop_cycle', params: {} });
    assert.equal(expired.json.error?.code, 'PLANTA_COMMAND_TOKEN_EXPIRED');
  });

  it('a command queued while the PLC link is down expires, and is never written when the link returns', async () => {
    sim.misbehaviour = { mode: 'close' };
    await waitFor('the link down', () => poller.devices[0]!.status().state !== 'connected', 5000);
    const id = newId();
    const r = await call('POST', '/api/commands', { id, command: 'reset_partial_volume' });
    assert.equal(r.status, 202);
    const o = await final(id);
    assert.ok(o.status === 'expired' || o.status === 'failed', o.status);
    const mark = lastSeq();
    sim.misbehaviour = { mode: 'normal' };
    await waitFor('the link back', () => poller.devices[0]!.status().state === 'connected', 10_000);
    // Something that must NOT happen: the expired command written once the link is back, within half a second of it.
    await assertThroughout(500, () => assert.deepEqual(writesSince(mark), [], 'no late write'));
    assert.ok(audit.entries.some((e) => e.id === id && (e.status === 'expired' || e.status === 'failed')));
  });

  it('audits every request and outcome with who, what and when', async () => {
    const mine = audit.entries.filter((e) => e.command === 'edit_program' && e.status === 'confirmed');
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.user, 'eve');
    assert.deepEqual(mine[0]!.params, { program: 3, fill: 35, aeration: 50, settling: 25, discharge: 15 });
    assert.deepEqual(mine[0]!.before, { 'program3.fill': 30, 'program3.aeration': 45, 'program3.settling': 30, 'program3.discharge': 20 });
    const queued = audit.entries.find((e) => e.id === mine[0]!.id && e.status === 'queued')!;
    assert.match(queued.confirmation!, /^Set program 3 to fill 35 min/);
  });
});
