/**
 * A poller that falls silent with no standby (killed with SIGKILL: its lease
 * is left to expire, and Redis still holds its last values marked Good): the
 * web node shows its device's values as last usable values and the device as
 * down, naming why, within the lease time plus the grace; a poller started
 * again makes them Good again. And the web node's own link to Redis cut
 * (refused, then silent: a pulled cable) while the poller goes on: its
 * browsers get the values as last usable values and the device down with
 * PLANTA_BUS_UNREACHABLE, and Good again once the link carries bytes again
 * (a silent connection is dropped and made again). As processes on the test
 * Redis.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import type { StreamDelta, StreamSnapshot } from '../../src/web/protocol.js';
import { plantProcesses } from './plant-processes.js';
import { needRedis, redisProxy } from './redis-helpers.js';

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

  it('the web node cut off from Redis (refused, then silent) while the poller goes on: its browsers get last usable values and the device down with PLANTA_BUS_UNREACHABLE', async (t) => {
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'web-cut');
    const { config } = plant;
    const proxy = await redisProxy(t);
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', config, '--lease', `${LEASE_MS}ms`], /planta poll: polling/);
    const web = await plant.start(['web', '--config', config, '--port', '0', '--db', plant.db, '--bus', `redis://127.0.0.1:${proxy.port}`], /planta web: http:\/\/localhost:(\d+)/);
    const stream = await openStream(Number(web.match[1]));
    t.after(() => stream.close());
    // The level's quality and the device's error as the browser's stream has them.
    const levelIndex = (): number => {
      const snap = stream.events.find((e) => e.event === 'snapshot');
      return snap ? (JSON.parse(snap.data) as StreamSnapshot).tags.indexOf('reactor.level') : -1;
    };
    const seen = (): { quality: string | undefined; error: string | undefined } => {
      let index = -1;
      let quality: string | undefined;
      let error: string | undefined;
      for (const e of stream.events) {
        if (e.event === 'snapshot') {
          const snap = JSON.parse(e.data) as StreamSnapshot;
          index = snap.tags.indexOf('reactor.level');
          quality = (snap.values[index]?.[2] as string | undefined) ?? 'Good';
        } else if (e.event === 'delta') {
          const v = (JSON.parse(e.data) as StreamDelta).values.find((x) => x[0] === index);
          if (v) quality = (v[2] as string | undefined) ?? 'Good';
        } else if (e.event === 'devices') {
          error = (JSON.parse(e.data) as { device: string; lastError: { code: string } | null }[]).find((d) => d.device === 'plc')?.lastError?.code;
        }
      }
      return { quality, error };
    };
    const good = () => waitFor('a good level on the stream', () => seen().quality === 'Good' && seen().error === undefined, 20_000, 50);
    const cutOff = async (what: string): Promise<number> => {
      const at = Date.now();
      await waitFor(`${what}: the level a last usable value and the device unreachable`, () => seen().quality === 'Uncertain_LastUsableValue' && seen().error === 'PLANTA_BUS_UNREACHABLE', 15_000, 50);
      return Date.now() - at;
    };
    await good();
    await proxy.stop();
    const refusedMs = await cutOff('refused');
    await proxy.start();
    await good();
    proxy.silent = true;
    const silentMs = await cutOff('silent');
    // Bytes pass again: the web node dropped its silent connections (nothing received for 5 s) and makes new ones.
    proxy.silent = false;
    const healed = Date.now();
    await good();
    const backMs = Date.now() - healed;
    // The open connections silenced for good while new ones would pass (a firewall that lost their state): no reset
    // ever comes, and TCP alone would wait minutes; the web node drops them once nothing came for 5 s.
    const silencedAt = Date.now();
    proxy.silenceOpenConnections();
    await waitFor('a fresh good level on the stream again', () => stream.events.some((e) => {
      if (e.event !== 'delta') return false;
      const d = JSON.parse(e.data) as StreamDelta;
      return d.t > silencedAt + 1000 && d.values.some((v) => v[0] === levelIndex() && (v[2] ?? 'Good') === 'Good');
    }), 30_000, 100);
    const freshMs = Date.now() - silencedAt;
    t.diagnostic(`marked ${refusedMs} ms after the link was refused, ${silentMs} ms after it fell silent (lease ${LEASE_MS} ms + 3 s grace + 1 s probe); Good again ${backMs} ms after bytes passed again; fresh values ${freshMs} ms after its open connections were silenced for good`);
  });
});
