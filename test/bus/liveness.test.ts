/**
 * The silent-poller watch on the in-memory bus: a device with no status for
 * its lease time plus the grace has its Good values handed on as last usable
 * values (not its Bad ones) and its status as down; a device still reporting
 * is left alone; the next status or values from the device restore them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUS_UNREACHABLE, LivenessWatch, POLLER_SILENT } from '../../src/bus/liveness.js';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import type { DeviceStatus } from '../../src/bus/types.js';
import type { TagValue } from '../../src/tags/types.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { status, value } from './contract.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const leased = (device: string): DeviceStatus => ({ ...status(device, 'connected'), poller: { id: `p-${device}`, since: Date.now(), leaseMs: 100 } });

describe('the silent-poller watch', () => {
  it('marks a silent device, leaves a reporting one alone, and restores the values when the device reports again', async (t) => {
    const inner = new MemoryBus();
    const watch = new LivenessWatch(inner, { tagDevices: new Map([['a.level', 'a'], ['a.pump', 'a'], ['b.level', 'b']]), graceMs: 200, checkMs: 20 });
    t.after(() => watch.bus.close());
    await inner.publishDeviceStatus(leased('a'));
    await inner.publishDeviceStatus(leased('b'));
    await inner.publishValues([value('a.level', 1), value('a.pump', null, 'Bad_Timeout'), value('b.level', 2)]);
    await watch.start();
    const batches: TagValue[][] = [];
    const statuses: DeviceStatus[] = [];
    await watch.bus.subscribeValues((v) => void batches.push(v));
    await watch.bus.subscribeDeviceStatus((s) => void statuses.push(s));
    // b keeps reporting; a falls silent.
    const b = setInterval(() => void inner.publishDeviceStatus(leased('b')), 50);
    t.after(() => clearInterval(b));
    const marked = await waitFor('a marked', () => batches.find((b) => b.some((v) => v.quality === 'Uncertain_LastUsableValue')), 2000);
    assert.deepEqual(watch.silentDevices, ['a']);
    assert.deepEqual(marked.map((v) => [v.tag, v.quality]), [['a.level', 'Uncertain_LastUsableValue'], ['a.pump', 'Bad_Timeout']]);
    const down = statuses.filter((s) => s.device === 'a').at(-1)!;
    assert.equal(down.state, 'down');
    assert.equal(down.lastError?.code, POLLER_SILENT);
    const snapshot = new Map((await watch.bus.snapshot()).map((v) => [v.tag, v.quality]));
    assert.deepEqual([...snapshot], [['a.level', 'Uncertain_LastUsableValue'], ['a.pump', 'Bad_Timeout'], ['b.level', 'Good']]);
    assert.equal((await watch.bus.deviceStatuses()).find((s) => s.device === 'a')?.state, 'down');
    // Other calls reach the bus underneath.
    assert.equal(await watch.bus.deviceLeaseHolder('a'), null);

    batches.length = 0;
    // Marked once: no second batch for 100 ms, five checks (every 20 ms) of a device still silent.
    await assertThroughout(100, () => assert.equal(batches.length, 0, 'marked once'));
    // The device reports values again: all of its values as they are.
    await inner.publishValues([value('a.pump', true)]);
    assert.deepEqual(watch.silentDevices, []);
    // That batch as it is, then the device's other values as Redis has them.
    await waitFor('the level restored', () => batches.length >= 2);
    assert.deepEqual(batches.map((b) => b.map((v) => [v.tag, v.value, v.quality])), [[['a.pump', true, 'Good']], [['a.level', 1, 'Good']]]);
    // Silent again, then a status brings it back.
    await waitFor('a marked again', () => watch.silentDevices.includes('a'), 2000);
    batches.length = 0;
    await inner.publishDeviceStatus(leased('a'));
    await waitFor('the values restored', () => batches.length >= 1);
    assert.deepEqual(batches.map((b) => b.map((v) => [v.tag, v.quality])), [[['a.level', 'Good'], ['a.pump', 'Good']]]);
    assert.equal(statuses.at(-1)?.state, 'connected');
  });

  it('a poller gone with nobody to take its device over: the communication alarm of a process watching the bus is raised once its lease and the grace have passed', async (t) => {
    const inner = new MemoryBus();
    const watch = new LivenessWatch(inner, { tagDevices: new Map(config.tags.map((x) => [x.name, x.device])), graceMs: 200, checkMs: 20 });
    const store = new AlarmStore(':memory:');
    const engine = new AlarmEngine({ bus: watch.bus, config, store, tickMs: 20 });
    t.after(async () => {
      await engine.stop();
      store.close();
      await watch.bus.close();
    });
    const plc = (): DeviceStatus => ({ ...leased('plc'), lastValidReplyAt: Date.now() });
    await inner.publishDeviceStatus(plc());
    await watch.start();
    await engine.start();
    let lastReport = 0;
    const reporting = setInterval(() => {
      lastReport = Date.now();
      void inner.publishDeviceStatus(plc());
    }, 50);
    // Normal throughout 300 ms of reports every 50 ms: lease (100 ms) + grace (200 ms), the time in which
    // a device whose reports went unheeded would have raised its alarm.
    await assertThroughout(300, () => assert.equal(engine.states().find((a) => a.id === 'comm.plc')?.state, 'normal'));
    clearInterval(reporting);
    const raised = await waitFor('comm.plc raised', () => engine.states().find((a) => a.id === 'comm.plc' && a.state === 'unack'), 3000, 10);
    const after = raised.activeSince! - lastReport;
    // Lease 100 ms + grace 200 ms, checked every 20 ms, plus the probe of the bus (which answers here).
    assert.ok(after >= 295 && after < 300 + 250, `raised ${after} ms after the last report`);
  });

  it('a bus that does not answer (Redis down, or the link cut): the device is down with PLANTA_BUS_UNREACHABLE, and its values are not read from the bus; the bus back but the device still silent: PLANTA_POLLER_SILENT', async (t) => {
    /** A memory bus that stops answering reads, as a Redis client with no answer does. */
    class Deaf extends MemoryBus {
      deaf = false;
      reads = 0;
      override async deviceStatuses(): Promise<DeviceStatus[]> {
        return this.deaf ? new Promise(() => undefined) : super.deviceStatuses();
      }
      override async snapshot(): Promise<TagValue[]> {
        this.reads++;
        return this.deaf ? new Promise(() => undefined) : super.snapshot();
      }
    }
    const inner = new Deaf();
    const watch = new LivenessWatch(inner, { tagDevices: new Map([['a.level', 'a']]), graceMs: 100, checkMs: 20, reprobeMs: 300 });
    t.after(() => watch.bus.close());
    await inner.publishDeviceStatus(leased('a'));
    await inner.publishValues([value('a.level', 1)]);
    await watch.start();
    const statuses: DeviceStatus[] = [];
    await watch.bus.subscribeDeviceStatus((s) => void statuses.push(s));
    inner.deaf = true;
    const reads = inner.reads;
    const down = await waitFor('a down', () => statuses.find((s) => s.state === 'down'), 3000);
    assert.equal(down.lastError?.code, BUS_UNREACHABLE);
    assert.match(down.lastError?.message ?? '', /^no answer from Redis here: nothing heard from this device for \d+ s \(its poller may be fine\)$/);
    assert.equal(inner.reads, reads, 'no read left waiting for the bus');
    // The bus answers again, and still nothing of a: now it is its poller that is silent.
    inner.deaf = false;
    const poller = await waitFor('a silent for its poller', () => statuses.find((s) => s.lastError?.code === POLLER_SILENT), 3000);
    assert.equal(poller.state, 'down');
    await inner.publishDeviceStatus(leased('a'));
    await waitFor('a connected again', () => statuses.at(-1)?.state === 'connected');
    assert.deepEqual(watch.silentDevices, []);
  });
});
