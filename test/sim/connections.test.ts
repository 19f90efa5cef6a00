/**
 * The simulated PLC's connection limits as a user meets them (issue 28.1):
 * a poller whose connection is evicted reconnects and its values are Good
 * again within one scan; `planta sim` takes the limits as flags, logs each
 * eviction with its reason, and shows the counts on its control interface
 * (`planta sim connections`, /state) and in /metrics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import { ModbusTcpClient } from '../../src/modbus/index.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { TagValue } from '../../src/tags/types.js';
import { RawClient, until } from '../modbus/helpers.js';
import { waitFor } from '../helpers/wait.js';
import { run, startProcess } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const SCAN = 1000;
const EVICT_AFTER = 300;

describe('simulator: connection limits', { timeout: 60_000 }, () => {
  it('a poller whose connection is evicted reconnects, and its values are Good again within one scan', async (t) => {
    const sim = new Simulator({ port: 0, connections: { maxConnections: 3, evictAfter: EVICT_AFTER, frameTimeout: 0 } });
    const { port } = await sim.start();
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 500, connectTimeoutMs: 500, scanGroups: { fast: SCAN, settings: SCAN } });
    const bus = new MemoryBus();
    const poller = new Poller(config, { bus });
    const latest = new Map<string, TagValue>();
    await bus.subscribeValues((batch) => {
      for (const v of batch) latest.set(v.tag, v);
    });
    const allGood = (): boolean => config.tags.every((t) => latest.get(t.name)?.quality === 'Good');
    const raws: RawClient[] = [];
    const locals = new Set<string>();
    const connected: { remote: string; at: number }[] = [];
    sim.server.on('connection', (remote) => connected.push({ remote, at: performance.now() }));
    const closed: { remote: string; reason: string }[] = [];
    sim.server.on('closed', (e) => closed.push(e));
    // Clients that each asked once, then went quiet: connections that never asked would go before the poller's.
    const raw = async (): Promise<RawClient> => {
      const r = await RawClient.connect(port);
      locals.add(`127.0.0.1:${r.socket.localPort}`);
      raws.push(r);
      r.send(Buffer.from('000100000006010300000001', 'hex'));
      await r.read(11, 3000);
      return r;
    };
    try {
      await poller.start();
      await until(allGood, 5000, 'every tag Good');
      // Right after a scan, two clients fill the server (3 connections) and go quiet.
      const before = sim.server.stats.requests;
      await until(() => sim.server.stats.requests > before, 3000, 'a scan');
      // The scan over: the poller's connection (the only one) has been idle for a moment; its next scan is a second away.
      await until(() => (sim.server.connectionList()[0]?.idleMs ?? 0) >= 50, 3000, 'the end of the scan');
      await raw();
      await raw();
      // All three idle past the grace, as the server sees them; the poller's last request came before the idle clients connected.
      await until(() => {
        const open = sim.server.connectionList();
        return open.length === 3 && open.every((c) => c.idleMs > EVICT_AFTER);
      }, 3000, 'three connections idle past the grace');
      await raw();
      await until(() => closed.length > 0, 2000, 'an eviction');
      const evictedAt = performance.now();
      assert.equal(closed[0]!.reason, 'evicted');
      assert.equal(locals.has(closed[0]!.remote), false, 'the poller was the one idle longest');
      await until(() => latest.get('reactor.level')?.quality === 'Bad_NoCommunication', 2000, 'the values marked as lost');
      // It reconnects (taking an idle client's place) and reads again at its next scan.
      await until(() => connected.some((c) => !locals.has(c.remote) && c.remote !== closed[0]!.remote), 5000, 'the poller reconnected');
      const reconnectedAt = connected.find((c) => !locals.has(c.remote) && c.remote !== closed[0]!.remote)!.at;
      await until(allGood, SCAN + 3000, 'every tag Good again');
      const ms = performance.now() - reconnectedAt;
      assert.ok(ms <= SCAN + 750, `Good again ${ms.toFixed(0)} ms after reconnecting (scan ${SCAN} ms)`);
      t.diagnostic(`the poller evicted: reconnected ${Math.round(reconnectedAt - evictedAt)} ms after the eviction, every value Good ${Math.round(ms)} ms after reconnecting (scan ${SCAN} ms)`);
      assert.ok(sim.server.stats.evicted >= 2, 'the poller made room by evicting an idle client');
    } finally {
      await poller.stop();
      await Promise.all(raws.map((r) => r.destroy()));
      await sim.stop();
    }
  });

  it('planta sim: limits as flags, each eviction logged, counts in `planta sim connections`, /state and /metrics', async () => {
    const s = await startProcess(
      process.execPath,
      [planta, 'sim', '--port', '0', '--no-autostart', '--max-connections', '2', '--evict-after', '200ms', '--idle-timeout', '30s', '--frame-timeout', '500ms', '--metrics', '0'],
      /makes room\n/,
      { env: { ...process.env, PLANTA_LOG_FORMAT: 'json' } },
    );
    const held: RawClient[] = [];
    try {
      const out = s.output();
      const port = Number(/Modbus\/TCP\s+127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const control = /control\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      assert.match(out, /connections at most 2; idle ones closed after 30000 ms, half-sent frames after 500 ms; at the limit the one idle longest \(≥ 200 ms\) makes room/);
      for (let i = 0; i < 2; i++) held.push(await RawClient.connect(port));
      held[1]!.send([0, 1, 0]);
      // Both idle past the 200 ms grace, as the simulator sees them (and the half-sent frame not timed out yet, 500 ms).
      await waitFor('two connections idle past the grace', async () => {
        const { open } = (await (await fetch(`${control}/connections`)).json()) as { open: { idleMs: number }[] };
        return open.length === 2 && open.every((c) => c.idleMs > 200);
      }, 3000, 10);
      const client = new ModbusTcpClient({ host: '127.0.0.1', port, reconnect: false, timeout: 1000 });
      const t0 = performance.now();
      assert.equal((await client.readCoils(29, 1)).length, 1);
      assert.ok(performance.now() - t0 < 1000);
      await client.close();
      await until(() => held[1]!.closed, 3000, 'the half-sent frame closed');
      await until(() => /PLANTA_SIM_CONNECTION_EVICTED/.test(s.output()), 3000, 'the eviction logged');
      assert.match(s.output(), /evicted for 127\.0\.0\.1:\d+: the connection limit was reached and it was idle longest/);
      await until(() => /PLANTA_SIM_CONNECTION_FRAME_TIMEOUT/.test(s.output()), 3000, 'the frame timeout logged');

      const shown = await run(process.execPath, [planta, 'sim', 'connections', '--control', control]);
      assert.equal(shown.code, 0, shown.stderr);
      const c = JSON.parse(shown.stdout) as { limits: Record<string, number>; counts: Record<string, number>; open: unknown[] };
      assert.deepEqual(c.limits, { maxConnections: 2, maxConnectionsPerAddress: 0, idleTimeout: 30_000, frameTimeout: 500, evictAfter: 200 });
      assert.equal(c.counts.evicted, 1);
      assert.equal(c.counts.frameTimeouts, 1);
      assert.equal(c.counts.accepted, 3);
      assert.equal(c.open.length, 0);
      const state = (await (await fetch(`${control}/state`)).json()) as { connections: number; connectionCounts: Record<string, number> };
      assert.equal(state.connectionCounts.evicted, 1);

      const metrics = await (await fetch(/metrics\s+(http:\S+)/.exec(s.output())![1]!)).text();
      assert.match(metrics, /^planta_sim_modbus_connections_evicted_total 1$/m);
      assert.match(metrics, /^planta_sim_modbus_connections_frame_timeouts_total 1$/m);
      assert.match(metrics, /^planta_sim_modbus_connections_max 2$/m);
      assert.match(metrics, /^planta_sim_modbus_connections 0$/m);

      const bad = await run(process.execPath, [planta, 'sim', '--port', '0', '--max-connections', '0']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--max-connections "0" is not a whole number in 1\.\.100000/);
    } finally {
      await Promise.all(held.map((r) => r.destroy()));
      await s.stop();
    }
  });
});
