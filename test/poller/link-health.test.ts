/**
 * A dead link is always announced: against the SBR simulator, a PLC that
 * accepts and never answers, answers too late, closes every connection,
 * answers garbage or noise, or closes right after the connect is down once
 * no valid reply came for the link-loss time, whatever TCP does. The
 * comm.plc alarm is raised within 2 × the timeout + the scan period of the
 * last valid reply, holds while the TCP connection flaps, and returns only
 * once valid replies resume; GET /api/devices says down and since when. A
 * PLC answering Modbus exceptions is alive. A poller that gives its device
 * up with no standby announces it at once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { AlarmState, DeviceStatus } from '../../src/bus/types.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { linkLossMs } from '../../src/poller/device-poller.js';
import { Poller } from '../../src/poller/poller.js';
import { parseMisbehaviour } from '../../src/sim/misbehaviour.js';
import { Simulator } from '../../src/sim/simulator.js';
import { StallClock } from '../../src/util/stalls.js';
import type { DeviceInfo } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';

const TIMEOUT = 300;
const FAST = 100;
/** The bound the issue names: the alarm within 2 × the timeout + the scan period of the last valid reply. */
const BOUND = 2 * TIMEOUT + FAST;
/**
 * What timers on a loaded machine may add to it (as the poller's own "every tag bad within 2× the timeout" test allows),
 * beside the time the process could not run at all, which the poller does not count as the device's silence.
 */
const SLACK = 250;

function config(port: number): PlantConfig {
  const c = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
  Object.assign(c.devices[0]!, { port, timeoutMs: TIMEOUT, connectTimeoutMs: 500, scanGroups: { fast: FAST, settings: 400 } });
  return c;
}

const OPERATOR = { user: 'ana', role: 'operator' } as const;

describe('link health: no valid reply for the link-loss time is a dead link', { timeout: 120_000 }, () => {
  let sim: Simulator;
  let port: number;
  const bus = new MemoryBus();
  const store = new AlarmStore(':memory:');
  let engine: AlarmEngine;
  let poller: Poller;
  let web: Awaited<ReturnType<typeof createWebServer>>;
  const alarms: AlarmState[] = [];
  const statuses: DeviceStatus[] = [];
  const stalls = new StallClock();

  before(async () => {
    stalls.start();
    sim = new Simulator({ port: 0 });
    port = (await sim.start()).port;
    const c = config(port);
    engine = new AlarmEngine({ bus, config: c, store, tickMs: 50 });
    await engine.start();
    await bus.subscribeAlarmStates((s) => alarms.push(...s.filter((a) => a.id === 'comm.plc')));
    await bus.subscribeDeviceStatus((s) => statuses.push(s));
    poller = new Poller(c, { bus, statusIntervalMs: 200 });
    await poller.start();
    web = await createWebServer({ bus, config: c });
  });
  after(async () => {
    await web.app.close();
    await poller.stop();
    await engine.stop();
    store.close();
    await sim.stop();
    stalls.stop();
  });

  const comm = (): AlarmState | undefined => engine.states().find((a) => a.id === 'comm.plc');
  const device = async (): Promise<DeviceInfo> => ((await web.app.inject('/api/devices')).json() as DeviceInfo[])[0]!;

  async function healthy(): Promise<void> {
    await waitFor('valid replies, the link up', async () => (await device()).status?.state === 'connected', 10_000);
    const c = comm();
    if (c?.state === 'rtn-unack') engine.acknowledge(OPERATOR, ['comm.plc']);
    await waitFor('comm.plc normal', () => comm()?.state === 'normal', 2000);
  }

  /**
   * Makes the device misbehave (`fault`) for a while, then heals it (`heal`); asserts the alarm within the bound of
   * the last valid reply, held while the fault lasts, back only after valid replies resumed.
   */
  async function dead(what: string, fault: () => Promise<void>, heal: () => Promise<void>): Promise<{ after: number; stalled: number }> {
    await healthy();
    const seen = alarms.length;
    const from = statuses.length;
    const faultAt = Date.now();
    const stalledBefore = stalls.stalledMs;
    await fault();
    const raised = await waitFor(`comm.plc raised (${what})`, () => (comm()?.state === 'unack' ? comm() : undefined), 10_000, 5);
    const stalled = Math.round(stalls.stalledMs - stalledBefore);
    const down = statuses.slice(from).find((s) => s.state === 'down')!;
    assert.ok(down, `a status saying down (${what})`);
    const last = down.lastValidReplyAt!;
    assert.ok(last !== null && last <= faultAt + TIMEOUT, `the last valid reply came before the fault (${what})`);
    assert.equal(down.noReplySince, last, `down since the last valid reply (${what})`);
    assert.equal(down.linkLossMs, BOUND);
    const after = raised.activeSince! - last;
    assert.ok(after >= BOUND, `not before the link-loss time: ${after} ms (${what})`);
    assert.ok(after <= BOUND + SLACK + stalled, `raised ${after} ms after the last valid reply, bound ${BOUND} ms, the process stalled ${stalled} ms (${what})`);

    // Seen from HTTP: down, since the last valid reply, whatever the TCP connection does.
    const api = await device();
    assert.equal(api.status?.state, 'down', what);
    assert.equal(api.status?.noReplySince, last, what);
    assert.ok(['connected', 'connecting', 'closed'].includes(api.status?.tcp ?? ''), what);

    // Something that must NOT happen: the alarm returning, or the device up, while the fault lasts. Reconnections and
    // retries go on meanwhile (TCP flaps), each a chance to take a mere connection or a reply for a living device. The
    // window holds at least one more reconnection cycle (two timeouts, or a close and the 100 ms back-off), with time
    // for what it caused to reach the status and the alarm.
    await assertThroughout(3 * BOUND, async () => {
      assert.equal(comm()?.state, 'unack', `still active ${Date.now() - raised.activeSince!} ms after it was raised (${what})`);
      assert.deepEqual(alarms.slice(seen).map((a) => a.state).filter((s) => s !== 'unack'), [], `no return while faulty (${what})`);
      assert.equal((await device()).status?.state, 'down', what);
    });

    const healedAt = Date.now();
    await heal();
    const back = await waitFor(`comm.plc returned (${what})`, () => (comm()?.state === 'rtn-unack' ? comm() : undefined), 10_000, 5);
    assert.ok(back.changedAt >= healedAt, `returned only after the device was healed (${what})`);
    const up = (await device()).status!;
    assert.ok(up.lastValidReplyAt! >= healedAt && up.lastValidReplyAt! <= back.changedAt, `returned on a valid reply (${what})`);
    return { after, stalled };
  }

  const mode = (m: string) => async (): Promise<void> => void (sim.misbehaviour = parseMisbehaviour(m));

  for (const m of ['silent', 'slow:1500', 'close', 'hangup', 'garbage', 'noise']) {
    it(`${m}: the alarm within 2 × timeout + scan period of the last valid reply, back only with valid replies`, async (t) => {
      const { after, stalled } = await dead(m, mode(m), mode('normal'));
      t.diagnostic(`${m}: comm.plc raised ${after} ms after the last valid reply (timeout ${TIMEOUT} ms, scan ${FAST} ms, bound ${BOUND} ms; this process stalled ${stalled} ms meanwhile)`);
    });
  }

  it('a device that closes every connection right after the connect is dead too', async (t) => {
    let closer: net.Server | undefined;
    const { after, stalled } = await dead(
      'closed after connect',
      async () => {
        await sim.stop();
        closer = net.createServer((s) => s.destroy());
        await new Promise<void>((r) => closer!.listen(port, '127.0.0.1', r));
      },
      async () => {
        await new Promise<void>((r) => closer!.close(() => r()));
        sim = new Simulator({ port });
        await sim.start();
      },
    );
    t.diagnostic(`closed after connect: comm.plc raised ${after} ms after the last valid reply (this process stalled ${stalled} ms meanwhile)`);
  });

  it('a poller process that could not run for a while (a loaded machine, a long pause) does not blame the device', async () => {
    await healthy();
    const from = statuses.length;
    // The whole process stalls for twice the link-loss time: the PLC's answers wait in the sockets.
    const until = performance.now() + 2 * BOUND;
    while (performance.now() < until) {
      // busy
    }
    const resumed = Date.now();
    // Any link timer due during the stall fires now; a "down" it announced would be published before the status
    // that reports the first valid reply after the stall.
    await waitFor('a status with a valid reply after the stall', () => statuses.slice(from).some((s) => (s.lastValidReplyAt ?? 0) > resumed), 5000);
    assert.deepEqual(statuses.slice(from).filter((s) => s.state === 'down'), [], 'never down');
    assert.equal(comm()?.state, 'normal');
  });

  it('a device answering Modbus exceptions is alive: its tags are bad, its link is up, no alarm', async () => {
    await healthy();
    sim.misbehaviour = parseMisbehaviour('exception:4');
    // Something that must NOT happen: the link down, the alarm raised. Were exceptions no valid replies, both would
    // come within the link-loss time of the last other answer (plus the slack the alarm may take): the window is longer.
    await assertThroughout(3 * BOUND, async () => {
      assert.equal((await device()).status?.state, 'connected');
      assert.equal(comm()?.state, 'normal');
    });
    await waitFor('every tag a device failure', async () => (await device()).status!.qualities.Bad_DeviceFailure === 57, 5000);
    const s = (await device()).status!;
    assert.equal(s.state, 'connected');
    assert.ok(Date.now() - s.lastValidReplyAt! < BOUND);
    assert.equal(comm()?.state, 'normal');
    assert.equal(s.qualities.Bad_DeviceFailure, 57);
    sim.misbehaviour = { mode: 'normal' };
  });
});

describe('devices[].linkLoss', () => {
  const parse = (extra: string): PlantConfig =>
    parseConfig(`devices:\n  plc: { host: 127.0.0.1, timeout: 1s, scanGroups: { fast: 500ms, slow: 2s }${extra} }\ntags:\n  level: { area: input, address: 0 }\n`, 'plant.yaml');

  it('by default 2 × the timeout + the fastest scan period; as configured otherwise; never shorter than the timeout + the fastest scan period', () => {
    assert.equal(linkLossMs(parse('').devices[0]!), 2500);
    assert.equal(linkLossMs(parse(', linkLoss: 10s').devices[0]!), 10_000);
    assert.throws(
      () => parse(', linkLoss: 1400ms'),
      (e: unknown) => e instanceof ConfigError && /devices\.plc\.linkLoss: expected at least the timeout plus the fastest scan period \(1500 ms\)/.test(e.message),
    );
  });
});

describe('a poller that gives its device up', { timeout: 30_000 }, () => {
  it('with no standby: the device is announced at once as polled by nobody, and comm.plc is raised; with a standby: nothing announced', async (t) => {
    const sim = new Simulator({ port: 0 });
    const c = config((await sim.start()).port);
    const bus = new MemoryBus();
    const store = new AlarmStore(':memory:');
    const engine = new AlarmEngine({ bus, config: c, store, tickMs: 50 });
    await engine.start();
    t.after(async () => {
      await engine.stop();
      store.close();
      await sim.stop();
    });
    const statuses: DeviceStatus[] = [];
    await bus.subscribeDeviceStatus((s) => statuses.push(s));
    const comm = (): AlarmState | undefined => engine.states().find((a) => a.id === 'comm.plc');
    const lease = (owner: string) => ({ owner, ttlMs: 300 });

    const a = new Poller(c, { bus, statusIntervalMs: 100, lease: lease('poller-a') });
    const b = new Poller(c, { bus, statusIntervalMs: 100, lease: lease('poller-b') });
    await a.start();
    await waitFor('a polling, the link up', () => statuses.at(-1)?.state === 'connected' && statuses.at(-1)?.poller?.id === 'poller-a', 5000);
    await b.start();
    await waitFor('b standby', () => statuses.at(-1)?.poller?.standby?.includes('poller-b'), 5000);
    let from = statuses.length;
    await a.stop();
    await waitFor('b polling', () => statuses.slice(from).some((s) => s.poller?.id === 'poller-b' && s.state === 'connected'), 5000);
    assert.deepEqual(statuses.slice(from).filter((s) => s.lastError?.code === 'PLANTA_POLLER_STOPPED'), [], 'a standby took over: nothing announced');
    assert.notEqual(comm()?.state, 'unack');

    from = statuses.length;
    const stoppedAt = Date.now();
    await b.stop();
    const announced = statuses.slice(from).find((s) => s.lastError?.code === 'PLANTA_POLLER_STOPPED');
    assert.ok(announced, 'announced before stop() returned');
    assert.equal(announced.state, 'down');
    assert.match(announced.lastError!.message, /^its poller poller-b stopped and no standby poller waits: nobody polls this device$/);
    const raised = await waitFor('comm.plc raised', () => (comm()?.state === 'unack' ? comm() : undefined), 2000, 5);
    t.diagnostic(`comm.plc raised ${raised.activeSince! - stoppedAt} ms after the last poller stopped`);
  });
});
