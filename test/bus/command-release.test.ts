/**
 * A command the poller may not write yet (its lease not trusted, as right
 * after Redis restarted empty) is handed back to the bus, not kept: once the
 * poller may write again, a reclaim delivers it again and it is executed —
 * or reported expired — within its expiry. Before, the poller kept it as
 * "being executed here", skipped it at every reclaim, and the operator saw
 * it queued for good.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandOutcome } from '../../src/bus/types.js';
import { CommandPreparer } from '../../src/commands/prepare.js';
import { loadConfig } from '../../src/config/load.js';
import { DevicePoller } from '../../src/poller/device-poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { needRedis, redisBus, testPrefix } from './redis-helpers.js';

describe('a command refused for want of the lease', { timeout: 60_000 }, () => {
  it('is delivered again once the poller may write, and settles within its expiry', async (t) => {
    if (!(await needRedis(t))) return;
    const sim = new Simulator({ port: 0, speed: 60, scanMs: 20, autostart: false });
    const port = (await sim.start()).port;
    t.after(() => sim.stop());
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 300, connectTimeoutMs: 300, scanGroups: { fast: 100, settings: 500 } });
    const prefix = testPrefix(t, 'release');
    const tagDevices = new Map(config.tags.map((x) => [x.name, x.device]));
    const bus = await redisBus(t, { prefix, consumer: 'poller', devices: ['plc'], blockMs: 200, reclaimMs: 500, tagDevices });
    let mayWrite = false;
    const poller = new DevicePoller(config.devices[0]!, config.tags, { bus, allowed: () => mayWrite });
    await poller.start();
    t.after(() => poller.stop());
    const outcomes: CommandOutcome[] = [];
    t.after(await bus.subscribeCommandOutcomes((o) => void outcomes.push(o)));
    t.after(await bus.subscribeCommands((c) => void poller.execute(c), { devices: ['plc'] }));
    await waitFor('the PLC connected', () => poller.status().state === 'connected', 10_000);

    const cmd = new CommandPreparer(config).prepare({ id: `release-${Date.now()}`, command: 'silence_horn', params: {} }, { user: 'ana', role: 'operator' });
    await bus.submitCommand(cmd);
    // Delivered and refused here (not this poller's to write now), reported to nobody.
    await waitFor('the command delivered', () => sim.writes.list().length === 0 && poller.status().scans > 0, 5000);
    // Nothing reported and nothing written for 600 ms: longer than reclaimMs (500), so a reclaim has
    // delivered it again within the window and that delivery, too, was refused without a word.
    await assertThroughout(600, () => {
      assert.deepEqual(outcomes.filter((o) => o.id === cmd.id), []);
      assert.deepEqual(sim.writes.list(), []);
    });
    mayWrite = true;
    const settled = await waitFor('the command settled', () => outcomes.find((o) => o.id === cmd.id && o.status !== 'queued'), cmd.expiresAt - Date.now() + 3000, 20);
    assert.equal(settled.status, 'confirmed', JSON.stringify(settled));
    assert.equal(sim.writes.list().filter((w) => w.fc === 5 && w.address === 23).length, 1, 'the horn silenced once');
  });
});
