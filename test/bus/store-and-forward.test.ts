/**
 * Store-and-forward with the plant as processes: the simulated PLC, `planta
 * poll` (with a lease), `planta historian` on PostgreSQL and `planta web`,
 * on a private redis-server. Three faults in a row, each while the plant
 * runs: Redis stopped and started again empty, the historian's PostgreSQL
 * out of reach (a TCP proxy stopped), the historian killed with SIGKILL and
 * started again. Throughout, the poller keeps polling; the live view is
 * back within 2 s of Redis; and every sample the poller published (recorded
 * by a witness reading the same samples under its own consumer group) is in
 * PostgreSQL afterwards, at its time, with its value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.js';
import type { SampleBatch } from '../../src/bus/types.js';
import { loadConfig } from '../../src/config/load.js';
import { PostgresStore } from '../../src/historian/postgres.js';
import { PG_URL, dropSchemaAfter, needPostgres, pgProxy, schemaName } from '../historian/pg-helpers.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { plantProcesses } from './plant-processes.js';
import { privateRedis } from './redis-helpers.js';

const TAG = 'reactor.level';

/** The poller's Modbus requests to the PLC so far, from its /metrics. */
async function requests(metrics: string): Promise<number> {
  const text = await (await fetch(`${metrics}/metrics`)).text();
  return Number(/^planta_modbus_request_duration_seconds_count\{device="plc"\} (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('store-and-forward, the plant as processes', { timeout: 180_000 }, () => {
  it('Redis restarted empty, PostgreSQL out of reach, the historian killed: polling goes on, the live view comes back, no sample is lost', async (t) => {
    if (!(await needPostgres(t))) return;
    const redis = await privateRedis(t, { persist: false });
    if (!redis) return;
    const schema = schemaName();
    const proxy = await pgProxy(t);
    const plant = await plantProcesses(t, 'forward', { redisUrl: redis.url, historian: { url: proxy.url, schema } });
    // After the processes stopped (hooks run in order).
    dropSchemaAfter(t, schema);
    const { config, modbus, control, dir } = plant;
    const metricsPort = await freePort();

    // The witness: every samples batch the poller publishes, under a consumer group of its own.
    const plantConfig = loadConfig(config);
    const witness = await RedisBus.connect({ url: redis.url, prefix: plant.prefix, consumer: 'witness', tagDevices: new Map(plantConfig.tags.map((x) => [x.name, x.device])), blockMs: 200 });
    t.after(() => witness.close());
    const published = new Map<number, number>();
    const reports: number[] = [];
    let last = '';
    const seen = (b: SampleBatch): void => {
      if (b.upTo !== undefined) reports.push(b.upTo);
      for (const v of b.values) {
        if (v.tag !== TAG) continue;
        // What the historian records: changes of value or quality (a value published again unchanged is not a new sample).
        const key = `${String(v.value)} ${v.quality}`;
        if (key !== last && v.quality === 'Good' && typeof v.value === 'number') published.set(v.sourceTs, v.value);
        last = key;
      }
    };
    const w = await witness.subscribeSamples(seen, { durable: 'witness' });
    const acker = setInterval(() => void w.acknowledge(w.position()).catch(() => undefined), 200);
    t.after(() => clearInterval(acker));

    await plant.start(['sim', '--port', String(modbus), '--control-port', String(control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', config, '--lease', '2s', '--metrics', `127.0.0.1:${metricsPort}`], /planta poll: metrics at/);
    const historianArgs = ['historian', '--config', config, '--db', `${dir}/history.db`];
    const historian = await plant.start(historianArgs, /planta historian: recording/);
    const web = await plant.start(['web', '--config', config, '--port', '0', '--db', plant.db], /planta web: http:\/\/localhost:(\d+)/);
    const url = `http://127.0.0.1:${web.match[1]}`;
    const level = async (): Promise<{ quality: string; sourceTs: number } | undefined> =>
      ((await (await fetch(`${url}/api/tags`)).json()) as { name: string; quality: string; sourceTs: number }[]).find((x) => x.name === TAG);
    await waitFor('a good level on the web', async () => (await level())?.quality === 'Good', 20_000, 100);
    const from = Date.now();
    await waitFor('the witness seeing samples', () => published.size >= 4, 10_000, 100);

    // 1. Redis stopped for 4 s, then started again empty.
    await redis.stop();
    const before = await requests(`http://127.0.0.1:${metricsPort}`);
    // The fault's length, not a wait for anything: twice the poller's lease (2 s).
    await sleep(4000);
    const during = await requests(`http://127.0.0.1:${metricsPort}`);
    assert.ok(during >= before + 5, `the poller kept polling while Redis was down (${before} → ${during} requests)`);
    await redis.start();
    const backAt = Date.now();
    await waitFor('a fresh good level on the web', async () => {
      const l = await level();
      return l?.quality === 'Good' && l.sourceTs >= backAt;
    }, 10_000, 50);
    const liveMs = Date.now() - backAt;
    const store = new PostgresStore({ url: PG_URL, schema, readOnly: true });
    t.after(() => store.close());
    /** Whether the historian has stored a sample of the level read since `since`: it records (again). */
    const storedSince = async (since: number): Promise<boolean> => (await store.readRaw(TAG, since, Date.now() + 1000)).n > 0;
    await waitFor('the historian storing samples read after Redis came back', () => storedSince(backAt), 20_000, 200);

    // 2. PostgreSQL out of reach of the historian for 4 s (the fault's length, not a wait for anything).
    await proxy.stop();
    await sleep(4000);
    await proxy.start();
    const reachableAt = Date.now();
    await waitFor('the historian storing samples read after PostgreSQL answered again', () => storedSince(reachableAt), 20_000, 200);

    // 3. The historian killed and started again, after 1.5 s without one (the fault's length).
    historian.child.kill('SIGKILL');
    await sleep(1500);
    await plant.start(historianArgs, /planta historian: recording/);
    const restartedAt = Date.now();
    await waitFor('the restarted historian storing samples read since', () => storedSince(restartedAt), 20_000, 200);
    const to = Date.now() - 1000;

    // Every sample published in [from, to) is in PostgreSQL with its value.
    const expected = [...published].filter(([ts]) => ts >= from && ts < to).sort((a, b) => a[0] - b[0]);
    const stored = await waitFor('every published sample in PostgreSQL', async () => {
      const s = await store.readRaw(TAG, from, to);
      const have = new Map<number, number>();
      for (let i = 0; i < s.n; i++) have.set(s.ts[i]!, s.v[i]!);
      const missing = expected.filter(([ts, v]) => Math.abs((have.get(ts) ?? NaN) - v) > 1e-9);
      return missing.length === 0 ? s : undefined;
    }, 20_000, 500).catch(async (err: unknown) => {
      const s = await store.readRaw(TAG, from, to);
      const have = new Set(Array.from(s.ts.subarray(0, s.n)));
      const missing = expected.filter(([ts]) => !have.has(ts)).map(([ts]) => new Date(ts).toISOString());
      throw new Error(`${(err as Error).message}: ${missing.length} of ${expected.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`);
    });
    assert.ok(expected.length >= 20, `${expected.length} level samples published`);
    // The poller reported its scans the whole time: no hole in what it knew, Redis down or not.
    const window = reports.filter((u) => u >= from && u < to).sort((a, b) => a - b);
    const widest = Math.max(...window.slice(1).map((u, i) => u - window[i]!));
    assert.ok(widest <= 1600, `longest stretch without a scan report ${widest} ms`);
    assert.ok(liveMs < 2000, `live view back ${liveMs} ms after Redis`);
    t.diagnostic(`${expected.length} level samples published in ${((to - from) / 1000).toFixed(0)} s, all ${stored.n >= expected.length ? 'stored' : '?'} (${stored.n} stored); polling during the Redis outage: ${during - before} requests in 4 s; live view back ${liveMs} ms after Redis; longest gap between scan reports ${widest} ms`);
  });
});
