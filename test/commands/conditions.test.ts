/**
 * One rule for what a value is, at the level an operator meets it (issue
 * 20.3), over HTTP against the simulated PLC through the poller:
 * - relations between values (oxygen minimum below its maximum, a cycle of at
 *   most 24 h) refused with a stable code naming the relation, against the
 *   values the PLC holds merged with the command's; refused when a value
 *   they need is not Good;
 * - preconditions: a start during an emergency stop never writes anything,
 *   refused by the web on the live values, and by the poller on values read
 *   right before writing (even when the web's values were not yet up to date),
 *   the refusal published and audited;
 * - unknown top-level fields refused, named, per route;
 * - read-back values on the bus as soon as they are read, long before the
 *   settings scan group would have brought them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandOutcome } from '../../src/bus/types.js';
import type { TagValue } from '../../src/tags/types.js';
import { MemoryAuditLog, auditCommands } from '../../src/commands/audit.js';
import { CommandPreparer } from '../../src/commands/prepare.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import type { Role } from '../../src/config/schema.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { createWebServer } from '../../src/web/server.js';
import { waitFor } from '../helpers/wait.js';

let seq = 0;
const newId = (): string => `cond-${Date.now().toString(36)}-${seq++}`;
/** The settings group (limits, programs) is read this seldom: read-back values must not wait for it. */
const SETTINGS_MS = 5000;

describe('what a value is: relations, preconditions, request fields, read-back', { timeout: 120_000 }, () => {
  let sim: Simulator;
  let config: PlantConfig;
  let bus: MemoryBus;
  let poller: Poller;
  let app: FastifyInstance;
  const audit = new MemoryAuditLog();
  const published: TagValue[] = [];

  before(async () => {
    sim = new Simulator({ port: 0, speed: 60, scanMs: 20, autostart: false });
    const { port } = await sim.start();
    config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 300, connectTimeoutMs: 300, scanGroups: { fast: 100, settings: SETTINGS_MS } });
    // A command that writes one limit only: the relation needs the PLC's other limit.
    config.commands.set_oxygen_min = {
      label: 'Set the oxygen minimum',
      description: '',
      confirmation: 'Set the oxygen minimum to {value} mg/L?',
      role: 'engineer',
      critical: false,
      expiry: 5000,
      params: { value: { tag: 'limits.oxygen_min', integer: false } },
      steps: [{ set: 'limits.oxygen_min', value: '$value' }],
      requires: {},
      relations: {},
    };
    bus = new MemoryBus();
    await auditCommands(bus, audit);
    await bus.subscribeValues((b) => published.push(...b));
    poller = new Poller(config, { bus });
    await poller.start();
    ({ app } = await createWebServer({
      bus,
      config,
      identify: (req) => {
        const h = req.headers['x-test-user'];
        if (typeof h !== 'string') return undefined;
        const [user, role] = h.split(':') as [string, Role];
        return { user, role };
      },
    }));
    await waitFor('every tag read', async () => (await bus.snapshot()).every((v) => v.quality === 'Good'), 10_000);
  });
  after(async () => {
    await app.close();
    await poller.stop();
    await sim.stop();
  });

  const call = async (method: string, url: string, payload?: unknown, user = 'eve:engineer') => {
    const res = await app.inject({ method: method as 'POST', url, headers: { 'x-test-user': user }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, json: res.json() as Record<string, unknown> & { error?: { code: string; field?: string; message: string } } };
  };
  const final = (id: string): Promise<CommandOutcome> =>
    waitFor(`the outcome of ${id}`, async () => {
      const o = audit.entries.filter((e) => e.id === id && e.status !== 'queued').at(-1);
      return o;
    }, 10_000, 10);
  const lastSeq = (): number => sim.writes.list().at(-1)?.seq ?? 0;
  const onBus = (tag: string, value: unknown) => waitFor(`${tag} = ${String(value)} on the bus`, async () => (await bus.snapshot()).find((v) => v.tag === tag)?.value === value, 5000);

  it('a relation broken by the new values alone: oxygen minimum above the maximum is refused, named, nothing written', async () => {
    const mark = lastSeq();
    const r = await call('POST', '/api/commands/select', { command: 'edit_limits', params: { oxygen_min: 8, oxygen_max: 5, turbidity_max: 10 } });
    assert.equal(r.status, 409, JSON.stringify(r.json));
    assert.equal(r.json.error?.code, 'PLANTA_COMMAND_RELATION');
    assert.equal(r.json.error?.field, 'relations.oxygen_limits');
    assert.equal(r.json.error!.message, 'the dissolved-oxygen minimum must stay below its maximum — relation oxygen_limits (limits.oxygen_min < limits.oxygen_max) does not hold with limits.oxygen_min = 8, limits.oxygen_max = 5');
    // Equal is not below either; a command's own relation: a cycle of at most 24 h.
    assert.equal((await call('POST', '/api/commands/select', { command: 'edit_limits', params: { oxygen_min: 5, oxygen_max: 5, turbidity_max: 10 } })).json.error?.code, 'PLANTA_COMMAND_RELATION');
    const long = await call('POST', '/api/commands/select', { command: 'edit_program', params: { program: 2, fill: 600, aeration: 600, settling: 200, discharge: 41 } });
    assert.equal(long.json.error?.code, 'PLANTA_COMMAND_RELATION');
    assert.equal(long.json.error?.field, 'relations.cycle_within_a_day');
    assert.match(long.json.error!.message, /^a cycle lasts at most 24 h \(1440 min\) — relation cycle_within_a_day .* with program2\.fill = 600, program2\.aeration = 600, program2\.settling = 200, program2\.discharge = 41$/);
    assert.equal((await call('POST', '/api/commands/select', { command: 'edit_program', params: { program: 2, fill: 600, aeration: 600, settling: 200, discharge: 40 } })).status, 200);
    await call('DELETE', `/api/commands/select/${String((await call('POST', '/api/commands/select', { command: 'edit_limits', params: { oxygen_min: 2, oxygen_max: 7, turbidity_max: 10 } })).json.token)}`);
    assert.deepEqual(sim.writes.list(mark), []);
  });

  it('a relation against what the PLC holds: a new minimum above the PLC\'s maximum is refused; unknown values refuse too', async () => {
    const plcMax = (await bus.snapshot()).find((v) => v.tag === 'limits.oxygen_max')!.value as number;
    const mark = lastSeq();
    const above = await call('POST', '/api/commands', { id: newId(), command: 'set_oxygen_min', params: { value: plcMax + 1 } });
    assert.equal(above.status, 409);
    assert.equal(above.json.error?.code, 'PLANTA_COMMAND_RELATION');
    assert.match(above.json.error!.message, new RegExp(`limits\\.oxygen_max = ${plcMax}`));
    const ok = await call('POST', '/api/commands', { id: newId(), command: 'set_oxygen_min', params: { value: plcMax - 1 } });
    assert.equal(ok.status, 202);
    assert.equal((await final(ok.json.id as string)).status, 'confirmed');
    assert.deepEqual(sim.writes.list(mark).map((w) => [w.fc, w.address, w.values]), [[6, 5, [(plcMax - 1) * 100]]]);
    // The PLC's maximum not Good (the link is down): no decision on a value nobody knows.
    sim.misbehaviour = { mode: 'silent' };
    try {
      await waitFor('limits.oxygen_max no longer Good', async () => (await bus.snapshot()).find((v) => v.tag === 'limits.oxygen_max')?.quality !== 'Good', 10_000);
      const unknown = await call('POST', '/api/commands', { id: newId(), command: 'set_oxygen_min', params: { value: 1 } });
      assert.equal(unknown.status, 409);
      assert.equal(unknown.json.error?.code, 'PLANTA_COMMAND_STATE_UNKNOWN');
      assert.equal(unknown.json.error?.field, 'relations.oxygen_limits');
    } finally {
      sim.misbehaviour = { mode: 'normal' };
      await waitFor('every tag Good again', async () => (await bus.snapshot()).every((v) => v.quality === 'Good'), 15_000);
    }
  });

  it('an emergency stop: a start is refused before its first write — by the web, and by the poller on values read just before writing', async () => {
    sim.plant!.setFault(1, true);
    const mark = lastSeq();
    try {
      await onBus('alarm.estop', true);
      const sel = await call('POST', '/api/commands/select', { command: 'start_program', params: { program: 2 } }, 'ana:operator');
      assert.equal(sel.status, 409);
      assert.equal(sel.json.error?.code, 'PLANTA_COMMAND_PRECONDITION');
      assert.equal(sel.json.error?.field, 'requires.no_emergency_stop');
      assert.equal(sel.json.error!.message, 'the emergency stop is pressed; release it first — precondition no_emergency_stop (alarm.estop == false) does not hold with alarm.estop = true');
    } finally {
      sim.plant!.setFault(1, false);
      await onBus('alarm.estop', false);
    }
    // The web saw no emergency stop; it is pressed before the poller's turn: the poller reads it and writes nothing.
    const cmd = new CommandPreparer(config).prepare({ id: newId(), command: 'start_program', params: { program: 2 } }, { user: 'ana', role: 'operator' });
    new CommandPreparer(config).checkState(cmd, await bus.snapshot());
    sim.plant!.setFault(1, true);
    try {
      await bus.submitCommand(cmd);
      const o = await final(cmd.id);
      assert.equal(o.status, 'rejected');
      assert.equal(o.code, 'PLANTA_COMMAND_PRECONDITION');
      assert.equal(o.field, 'requires.no_emergency_stop');
      assert.match(o.reason!, /^not sent: the emergency stop is pressed; release it first — precondition no_emergency_stop \(alarm\.estop == false\) does not hold with alarm\.estop = true$/);
      assert.equal(o.user, 'ana', 'the attempt is audited with who asked');
    } finally {
      sim.plant!.setFault(1, false);
      await onBus('alarm.estop', false);
    }
    assert.deepEqual(sim.writes.list(mark), [], 'zero writes at the simulated PLC');
    assert.equal(sim.plant!.words.get(8), 1, 'program.current unchanged');
    assert.equal(sim.plant!.state().running, false);
    // Released: the start goes through. Then, with a cycle running, a start (its program number would change the running cycle) is refused.
    const sel = await call('POST', '/api/commands/select', { command: 'start_program', params: { program: 1 } }, 'ana:operator');
    assert.equal(sel.status, 200, JSON.stringify(sel.json));
    const op = await call('POST', '/api/commands/operate', { id: newId(), token: sel.json.token, command: 'start_program', params: { program: 1 } }, 'ana:operator');
    assert.equal((await final(op.json.id as string)).status, 'confirmed');
    await onBus('phase.stopped', false);
    const again = await call('POST', '/api/commands/select', { command: 'start_program', params: { program: 3 } }, 'ana:operator');
    assert.equal(again.json.error?.code, 'PLANTA_COMMAND_PRECONDITION');
    assert.equal(again.json.error?.field, 'requires.reactor_stopped');
    assert.deepEqual(sim.writes.list(mark).map((w) => w.address), [8, 31], 'only the start that was allowed');
  });

  it('unknown top-level fields are refused with their name, per route', async () => {
    const mark = lastSeq();
    const direct = await call('POST', '/api/commands', { id: newId(), command: 'silence_horn', params: {}, priority: 'urgent' }, 'ana:operator');
    assert.equal(direct.status, 400);
    assert.equal(direct.json.error?.code, 'PLANTA_COMMAND_UNKNOWN_FIELD');
    assert.equal(direct.json.error?.field, 'priority');
    assert.match(direct.json.error!.message, /^priority: not a field of this request \(fields: id, command, params\)/);
    const token = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {}, token: 'x' }, 'ana:operator');
    assert.equal(token.json.error?.field, 'token');
    const id = await call('POST', '/api/commands/select', { id: newId(), command: 'stop_cycle', params: {} }, 'ana:operator');
    assert.equal(id.json.error?.code, 'PLANTA_COMMAND_UNKNOWN_FIELD');
    assert.equal(id.json.error?.field, 'id');
    const sel = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} }, 'ana:operator');
    assert.equal(sel.status, 200);
    const extra = await call('POST', '/api/commands/operate', { id: newId(), token: sel.json.token, command: 'stop_cycle', params: {}, password: 'x', confirm: true }, 'ana:operator');
    assert.equal(extra.json.error?.field, 'confirm');
    const long = await call('POST', '/api/commands', { id: newId(), command: 'silence_horn', ['\u001b[2J' + 'x'.repeat(5000)]: 1 }, 'ana:operator');
    assert.equal(long.json.error?.code, 'PLANTA_COMMAND_UNKNOWN_FIELD');
    assert.ok(long.json.error!.field!.length <= 65 && !long.json.error!.field!.includes('\u001b'), 'the name shown back is short and printable');
    const op = await call('POST', '/api/commands/operate', { id: newId(), token: sel.json.token, command: 'stop_cycle', params: {}, password: 'x' }, 'ana:operator');
    assert.equal(op.status, 202, JSON.stringify(op.json));
    await final(op.json.id as string);
    assert.deepEqual(sim.writes.list(mark).map((w) => w.address), [30], 'only the stop');
  });

  it('read-back values are on the bus as soon as they are read, long before the settings group scans again', async () => {
    await onBus('limits.turbidity_max', sim.plant!.words.get(7));
    const sel = await call('POST', '/api/commands/select', { command: 'edit_limits', params: { oxygen_min: 1.25, oxygen_max: 6.5, turbidity_max: 17 } });
    assert.equal(sel.status, 200, JSON.stringify(sel.json));
    const from = published.length;
    const t0 = Date.now();
    const op = await call('POST', '/api/commands/operate', { id: newId(), token: sel.json.token, command: 'edit_limits', params: { oxygen_min: 1.25, oxygen_max: 6.5, turbidity_max: 17 } });
    const o = await final(op.json.id as string);
    const decided = Date.now();
    assert.equal(o.status, 'confirmed', o.reason);
    const seen = published.slice(from).filter((v) => v.tag.startsWith('limits.'));
    const want: Record<string, number> = { 'limits.oxygen_min': 1.25, 'limits.oxygen_max': 6.5, 'limits.turbidity_max': 17 };
    for (const [tag, value] of Object.entries(want)) {
      const v = seen.find((x) => x.tag === tag && x.value === value);
      assert.ok(v, `${tag} = ${value} published`);
      assert.equal(v.quality, 'Good');
      // Read during the command, published with its read time, by the time the outcome is decided (plus a margin).
      assert.ok(v.sourceTs >= t0 && v.sourceTs <= o.at, `${tag} read at ${v.sourceTs - t0} ms, outcome at ${o.at - t0} ms`);
      assert.ok(v.serverTs <= decided + 200, `${tag} published ${v.serverTs - t0} ms after the request`);
      assert.ok(v.serverTs - t0 < SETTINGS_MS / 2, 'well before the settings group period');
    }
    assert.equal((await bus.snapshot()).find((v) => v.tag === 'limits.oxygen_max')!.value, 6.5);
  });
});
