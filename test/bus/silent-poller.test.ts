/**
 * A poller that falls silent with no standby (killed with SIGKILL: its lease
 * is left to expire, and Redis still holds its last values marked Good): the
 * web node shows its device's values as last usable values and the device as
 * down, naming why, within the lease time plus the grace; a poller started
 * again makes them Good again. As processes on the test Redis.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { plantProcesses } from './plant-processes.js';
import { needRedis } from './redis-helpers.js';

const LEASE_MS = 1000;
interface TagRow {
  name: string;
  quality: string;
  sourceTs: number;
}
interface DeviceRow {
  name: string;
  status: { state: string; lastError: { code: string; message: string } | null } | null;
}

describe('a poller fallen silent, seen from a web node', { timeout: 120_000 }, () => {
  it("marks the device's values as last usable values and the device down, then Good again when a poller reports", async (t) => {
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'silent');
    const { config } = plant;
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
    const pollArgs = ['poll', '--config', config, '--lease', `${LEASE_MS}ms`];
    const poller = await plant.start(pollArgs, /planta poll: polling/);
    const web = await plant.start(['web', '--config', config, '--port', '0', '--db', plant.db], /planta web: http:\/\/localhost:(\d+)/);
    const url = `http://127.0.0.1:${web.match[1]}`;
    const level = async (): Promise<TagRow | undefined> => ((await (await fetch(`${url}/api/tags`)).json()) as TagRow[]).find((r) => r.name === 'reactor.level');
    const device = async (): Promise<DeviceRow['status']> => ((await (await fetch(`${url}/api/devices`)).json()) as DeviceRow[]).find((d) => d.name === 'plc')?.status ?? null;
    await waitFor('a good level', async () => (await level())?.quality === 'Good', 20_000, 100);

    poller.child.kill('SIGKILL');
    const killed = Date.now();
    const last = await waitFor('the level marked as a last usable value', async () => {
      const l = await level();
      return l?.quality === 'Uncertain_LastUsableValue' ? l : undefined;
    }, 15_000, 50);
    const markedMs = Date.now() - killed;
    assert.ok(last.sourceTs <= killed, 'the time it was read, not a newer one');
    const down = await device();
    assert.equal(down?.state, 'down');
    assert.equal(down?.lastError?.code, 'PLANTA_POLLER_SILENT');
    assert.match(down?.lastError?.message ?? '', /^no report from its poller for \d+ s$/);
    assert.ok(markedMs >= LEASE_MS, `not before the lease time: ${markedMs} ms`);

    await plant.start(pollArgs, /planta poll: polling/);
    await waitFor('the level good again', async () => (await level())?.quality === 'Good', 20_000, 100);
    await waitFor('the device connected again', async () => (await device())?.state === 'connected', 10_000, 100);
    t.diagnostic(`values marked ${markedMs} ms after the poller was killed (lease ${LEASE_MS} ms + 3 s grace)`);
  });
});
