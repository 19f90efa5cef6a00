/** /metrics of the processes without a web server: `planta poll --metrics PORT` and the endpoint itself. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { parseListen, serveMetrics } from '../../src/cli/metrics-endpoint.js';
import type { Stops } from '../../src/cli/wiring.js';
import { freePort } from '../helpers/ports.js';
import { startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const root = new URL('../..', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');

describe('metrics endpoint', { timeout: 90_000 }, () => {
  it('parses PORT and HOST:PORT, refuses anything else with a usage error', () => {
    assert.deepEqual(parseListen('9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseListen('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
    for (const bad of ['', 'x', '70000', 'host:', ':']) assert.throws(() => parseListen(bad), /expected PORT or HOST:PORT/);
  });

  it('serves GET /metrics from the registry, 404 with a JSON error elsewhere, closes with the process', async () => {
    const registry = new Registry();
    new Counter({ name: 'planta_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    const stops: Stops = [];
    const url = await serveMetrics(registry, '127.0.0.1:0', stops);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^planta_test_total 3$/m);
    const other = await fetch(url.replace('/metrics', '/elsewhere'));
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'PLANTA_HTTP_NOT_FOUND');
    for (const stop of stops) await stop();
    await assert.rejects(fetch(url));
  });

  it('planta poll --metrics: the device figures of a poller running alone', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-metrics-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const sim = await startProcess(process.execPath, [planta, 'sim', '--port', '0', '--no-autostart'], /Modbus\/TCP\s+127\.0\.0\.1:(\d+)/);
    t.after(() => sim.stop());
    const config = join(dir, 'plant.yaml');
    writeFileSync(config, readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8').replace('port: 5020', `port: ${sim.match[1]}`));
    copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
    const port = await freePort();
    const poll = await startProcess(process.execPath, [planta, 'poll', '--config', config, '--bus', 'memory', '--metrics', `127.0.0.1:${port}`], /metrics at (http:\S+)/, {
      timeoutMs: 30_000,
      env: { ...process.env, PLANTA_LOG_LEVEL: 'error' },
    });
    t.after(() => poll.stop());
    // Connected, and its first requests answered and counted.
    const text = await waitFor('the poller connected and reading', async () => {
      const body = await (await fetch(poll.match[1]!)).text();
      return /^planta_device_connected\{device="plc"\} 1$/m.test(body) && /^planta_modbus_request_duration_seconds_count\{device="plc".*\} [1-9]/m.test(body) ? body : undefined;
    }, 15_000, 200);
    assert.match(text, /^process_resident_memory_bytes /m);
  });
});
