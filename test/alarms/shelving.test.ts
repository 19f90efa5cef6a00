/**
 * Shelving critical alarms (issue 19.8): by default an emergency-stop alarm
 * is shelved only by an engineer, for an hour at most; the rules per
 * priority come from the configuration (`shelving:`); refusals carry stable
 * codes, at the engine and over HTTP, and /api/plant tells the HMI the rules.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AlarmActionError, AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import type { Role } from '../../src/config/schema.js';
import type { PlantInfo } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';

const sbr = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const H = 3_600_000;

async function setup(t: TestContext, config: PlantConfig = sbr) {
  const bus = new MemoryBus();
  const store = new AlarmStore(':memory:');
  const engine = new AlarmEngine({ bus, config, store });
  await engine.start();
  const { app } = await createWebServer({
    bus,
    config,
    alarms: engine,
    identify: (req) => {
      const h = req.headers['x-test-user'];
      return typeof h === 'string' ? { user: h.split(':')[0]!, role: h.split(':')[1] as Role } : undefined;
    },
  });
  t.after(async () => {
    await app.close();
    await engine.stop();
    store.close();
  });
  const shelve = async (id: string, minutes: number, user: string) => {
    const res = await app.inject({ method: 'POST', url: `/api/alarms/${id}/shelve`, headers: { 'x-test-user': user }, payload: { reason: 'testing the rule', minutes } });
    return { status: res.statusCode, json: res.json() as { state?: string; error?: { code: string; message: string } } };
  };
  return { app, engine, shelve };
}

const refused = (code: string, message: RegExp) => (err: unknown) => err instanceof AlarmActionError && err.code === code && message.test(err.message);

describe('shelving critical alarms', { timeout: 20_000 }, () => {
  it('the engine: an operator may not shelve the emergency stop; an engineer may, for an hour at most; other alarms as before', async (t) => {
    const { engine } = await setup(t);
    const ana = { user: 'ana', role: 'operator' as const };
    const eve = { user: 'eve', role: 'engineer' as const };
    assert.throws(() => engine.shelve(ana, 'estop', 'nuisance', 24 * H), refused('PLANTA_ALARM_SHELVE_FORBIDDEN', /ana \(operator\) may not shelve a critical alarm: it needs engineer/));
    assert.throws(() => engine.shelve(ana, 'estop', 'nuisance', 15 * 60_000), refused('PLANTA_ALARM_SHELVE_FORBIDDEN', /needs engineer/));
    assert.throws(() => engine.shelve(eve, 'estop', 'wiring check', 24 * H), refused('PLANTA_ALARM_SHELVE_TOO_LONG', /a critical alarm may be shelved for 1 h at most/));
    assert.throws(() => engine.shelve(eve, 'estop', 'wiring check', H + 60_000), refused('PLANTA_ALARM_SHELVE_TOO_LONG', /1 h at most/));
    assert.equal(engine.shelve(eve, 'estop', 'wiring check', H).state, 'shelved');
    // High, medium and low: an operator, up to a day, as before.
    assert.equal(engine.shelve(ana, 'discharge_valve', 'valve in repair', 24 * H).state, 'shelved');
    assert.equal(engine.shelve(ana, 'foam_valve', 'valve in repair', 24 * H).state, 'shelved');
    assert.throws(() => engine.shelve(ana, 'foam_valve', 'x', 48 * H), refused('PLANTA_ALARM_BAD_DURATION', /between 1 minute and 24 hours/));
  });

  it('shelving again before it came back never pushes its return past the maximum, counted from the first shelving; once back, it may be shelved afresh', async (t) => {
    let now = Date.UTC(2026, 0, 1, 8);
    const bus = new MemoryBus();
    const store = new AlarmStore(':memory:');
    const engine = new AlarmEngine({ bus, config: sbr, store, now: () => now });
    await engine.start();
    t.after(async () => {
      await engine.stop();
      store.close();
    });
    const eve = { user: 'eve', role: 'engineer' as const };
    const ana = { user: 'ana', role: 'operator' as const };
    const first = now;
    assert.equal(engine.shelve(eve, 'estop', 'wiring check', H).shelved?.until, first + H);
    now += 50 * 60_000;
    // Renewed every 50 minutes, the emergency stop would never come back: refused beyond an hour from the first shelving.
    assert.throws(() => engine.shelve(eve, 'estop', 'still wiring', H), refused('PLANTA_ALARM_SHELVE_TOO_LONG', /shelved since 2026-01-01T08:00:00.000Z.*1 h at most in all: 10 min more at most/));
    const again = engine.shelve(eve, 'estop', 'still wiring', 10 * 60_000);
    assert.deepEqual([again.shelved?.until, again.shelved?.since, again.shelved?.reason], [first + H, first, 'still wiring']);
    now += 9 * 60_000;
    assert.throws(() => engine.shelve(eve, 'estop', 'more', 2 * 60_000), refused('PLANTA_ALARM_SHELVE_TOO_LONG', /: 1 min more at most/));
    now += 30_000;
    assert.throws(() => engine.shelve(eve, 'estop', 'more', 60_000), refused('PLANTA_ALARM_SHELVE_TOO_LONG', /it comes back first, then it may be shelved again/));
    // A day for the others, likewise.
    engine.shelve(ana, 'foam_valve', 'valve in repair', 24 * H);
    now += 23 * H;
    assert.throws(() => engine.shelve(ana, 'foam_valve', 'valve in repair', 2 * H), refused('PLANTA_ALARM_SHELVE_TOO_LONG', /a low alarm may stay shelved 24 h at most in all/));
    // Back (the hour passed): shelved afresh, for up to an hour again.
    engine.tick();
    assert.notEqual(engine.states().find((a) => a.id === 'estop')?.state, 'shelved');
    const fresh = engine.shelve(eve, 'estop', 'wiring check, day two', H);
    assert.deepEqual([fresh.shelved?.until, fresh.shelved?.since], [now + H, undefined]);
  });

  it('over HTTP: 403 and 400 with stable codes; /api/plant tells the HMI the rules', async (t) => {
    const { app, shelve } = await setup(t);
    const op = await shelve('estop', 24 * 60, 'ana:operator');
    assert.equal(op.status, 403);
    assert.equal(op.json.error?.code, 'PLANTA_ALARM_SHELVE_FORBIDDEN');
    const long = await shelve('estop', 24 * 60, 'eve:engineer');
    assert.equal(long.status, 400);
    assert.equal(long.json.error?.code, 'PLANTA_ALARM_SHELVE_TOO_LONG');
    const ok = await shelve('estop', 60, 'eve:engineer');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.state, 'shelved');
    const plant = (await app.inject({ method: 'GET', url: '/api/plant' })).json() as PlantInfo;
    assert.deepEqual(plant.shelving, {
      critical: { maxMinutes: 60, role: 'engineer' },
      high: { maxMinutes: 1440, role: 'operator' },
      medium: { maxMinutes: 1440, role: 'operator' },
      low: { maxMinutes: 1440, role: 'operator' },
    });
  });

  it('the rules come from the configuration: per priority, what is left out keeps its default; bad values are refused at their line', async (t) => {
    const device = 'devices:\n  plc: { host: 127.0.0.1 }\ntags:\n  estop: { area: coil, address: 1 }\n  pump: { area: coil, address: 2 }\n';
    const alarms = 'alarms:\n  estop: { tag: estop, priority: critical, message: E-stop }\n  pump: { tag: pump, priority: high, message: Pump }\n';
    const config = parseConfig(`${device}${alarms}shelving:\n  critical: { max: 30m, role: admin }\n  high: { max: 8h }\n`, 'x.yaml');
    assert.deepEqual(config.shelving, {
      critical: { maxMs: 30 * 60_000, role: 'admin' },
      high: { maxMs: 8 * H, role: 'operator' },
      medium: { maxMs: 24 * H, role: 'operator' },
      low: { maxMs: 24 * H, role: 'operator' },
    });
    const { shelve } = await setup(t, config);
    assert.equal((await shelve('estop', 30, 'eve:engineer')).json.error?.code, 'PLANTA_ALARM_SHELVE_FORBIDDEN');
    assert.equal((await shelve('estop', 31, 'root:admin')).json.error?.code, 'PLANTA_ALARM_SHELVE_TOO_LONG');
    assert.equal((await shelve('estop', 30, 'root:admin')).status, 200);
    assert.equal((await shelve('pump', 9 * 60, 'ana:operator')).json.error?.code, 'PLANTA_ALARM_SHELVE_TOO_LONG');

    assert.throws(
      () => parseConfig(`${device}${alarms}shelving:\n  critical: { max: 2d, role: viewer }\n  urgent: { max: 1h }\n`, 'x.yaml'),
      (err: ConfigError) =>
        err instanceof ConfigError &&
        err.problems.map((p) => `${p.line} ${p.path}: ${p.message}`).join('\n') ===
          ['10 shelving.critical.max: expected a duration between 1m and 24h', '10 shelving.critical.role: expected one of operator, engineer, admin', '11 shelving.urgent: unknown field'].join('\n'),
    );
  });
});
