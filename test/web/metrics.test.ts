/**
 * GET /metrics with the simulator, poller, alarms and web in one process, as
 * `planta start` runs them; label values come only from the configuration.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { createRegistry } from '../../src/util/metrics.js';
import { createWebServer } from '../../src/web/server.js';
import { waitFor } from '../helpers/wait.js';

/** The value of one sample of the Prometheus text, e.g. metric('planta_tags{device="plc",quality="Good"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', { timeout: 30_000 }, () => {
  it('reports devices, tags by quality, stream clients, commands, alarms and the process', async (t) => {
    const sim = new Simulator({ port: 0, autostart: false });
    const { port } = await sim.start();
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, scanGroups: { fast: 50, settings: 200 } });
    const bus = new MemoryBus();
    const registry = createRegistry();
    const store = new AlarmStore(':memory:');
    const alarms = new AlarmEngine({ bus, config, store });
    await alarms.start();
    const poller = new Poller(config, { bus, registry });
    await poller.start();
    const { app } = await createWebServer({ bus, config, alarms, registry, identify: () => ({ user: 'ana', role: 'operator' }) });
    t.after(async () => {
      await app.close();
      await poller.stop();
      await alarms.stop();
      store.close();
      await sim.stop();
    });
    const scrape = async () => {
      const res = await app.inject('/metrics');
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/plain/);
      return res.body;
    };
    await waitFor('every tag good', async () => sample(await scrape(), 'planta_tags{device="plc",quality="Good"}') === 57, 5000, 50);
    const id = `metrics-${Date.now()}`;
    await app.inject({ method: 'POST', url: '/api/commands', payload: { id, command: 'silence_horn' } });
    await waitFor('the command counted', async () => sample(await scrape(), 'planta_commands_total{command="silence_horn",status="confirmed"}') === 1, 5000, 50);
    const text = await scrape();
    assert.ok(sample(text, 'planta_modbus_requests_total{device="plc"}')! > 0);
    assert.equal(sample(text, 'planta_device_connected{device="plc"}'), 1);
    assert.equal(sample(text, 'planta_modbus_errors_total{device="plc",kind="timeout"}'), 0);
    assert.ok(sample(text, 'planta_modbus_request_duration_seconds_count{device="plc"}')! > 0);
    assert.ok(sample(text, 'planta_scan_lateness_seconds_count{device="plc"}')! > 0);
    assert.equal(sample(text, 'planta_sse_clients'), 0);
    assert.equal(sample(text, 'planta_alarms{state="normal",priority="critical"}'), 1);
    assert.equal(sample(text, 'planta_alarm_rate_10m'), 0);
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 0);
    assert.ok(text.includes('nodejs_eventloop_lag_p99_seconds'));

    sim.misbehaviour = { mode: 'exception', code: 6 };
    await waitFor('exceptions counted', async () => (sample(await scrape(), 'planta_modbus_exceptions_total{device="plc",code="6"}') ?? 0) > 0, 5000, 50);
    assert.ok(sample(await scrape(), 'planta_tags{device="plc",quality="Bad_DeviceFailure"}')! > 0);
  });

  it('label values come from the configuration, never from a request: a forged command name is "other", and /metrics stays small', async (t) => {
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    const bus = new MemoryBus();
    const registry = createRegistry();
    const { app } = await createWebServer({ bus, config, registry, identify: () => ({ user: 'ana', role: 'operator' }) });
    t.after(() => app.close());
    const before = (await app.inject('/metrics')).body.length;
    const huge = 'x'.repeat(15_000);
    // Through the API (a refused command), and straight on the bus (whatever publishes an outcome).
    const refused = await app.inject({ method: 'POST', url: '/api/commands', payload: { id: `metrics-${Date.now()}`, command: huge } });
    assert.equal(refused.statusCode, 404);
    for (const command of [`${huge}y`, 'launch_rocket', 'silence_horn']) {
      await bus.publishCommandOutcome({ id: `forged-${command.length}`, command, device: '', user: 'eve', params: {}, status: 'rejected', createdAt: 1, at: 1 });
    }
    await bus.publishCommandOutcome({ id: 'forged-status', command: 'silence_horn', device: '', user: 'eve', params: {}, status: 'hacked' as never, createdAt: 1, at: 1 });
    await bus.publishAlarmStates([{ id: 'x', message: '', priority: 'urgent' as never, source: 'x', state: `${huge}z` as never, active: true, acked: false, activeSince: 1, changedAt: 1, value: true }]);
    const text = await waitFor('the outcomes counted', async () => {
      const m = (await app.inject('/metrics')).body;
      return sample(m, 'planta_commands_total{command="silence_horn",status="other"}') === 1 ? m : undefined;
    });
    assert.doesNotMatch(text, /xxxxxxxxxx|launch_rocket|hacked|urgent/);
    assert.ok(text.length < before + 4000, `/metrics grew from ${before} to ${text.length} bytes`);
    assert.ok(sample(text, 'planta_commands_total{command="other",status="rejected"}')! >= 2);
    assert.equal(sample(text, 'planta_commands_total{command="silence_horn",status="rejected"}'), 1);
    assert.equal(sample(text, 'planta_alarms{state="other",priority="other"}'), 1, 'a forged alarm state and priority');
    for (const line of text.split('\n').filter((l) => l.startsWith('planta_commands_total{'))) {
      const name = /command="([^"]*)"/.exec(line)![1]!;
      assert.ok(name === 'other' || Object.hasOwn(config.commands, name), line);
    }
  });
});
