/** The REST API through fastify's inject: tags, devices, plant, drawings, health, errors with stable codes. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Bus } from '../../src/bus/types.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { PlantInfo, TagWithState } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);

async function setup(t: TestContext, bus: Bus = new MemoryBus()) {
  const { app } = await createWebServer({ bus, config, readyTimeoutMs: 200 });
  t.after(() => app.close());
  return { app, bus };
}

describe('REST API', { timeout: 10_000 }, () => {
  it('GET /api/tags: every tag with its definition, value and quality (waiting before any read)', async (t) => {
    const { app, bus } = await setup(t);
    await bus.publishValues([{ tag: 'reactor.level', value: 63.2, quality: 'Good', sourceTs: 5, serverTs: 6 }]);
    const res = await app.inject('/api/tags');
    assert.equal(res.statusCode, 200);
    const tags = res.json() as TagWithState[];
    assert.equal(tags.length, 57);
    const level = tags.find((x) => x.name === 'reactor.level')!;
    assert.deepEqual(
      { value: level.value, quality: level.quality, unit: level.unit, decimals: level.decimals, range: level.range, sourceTs: level.sourceTs },
      { value: 63.2, quality: 'Good', unit: '%', decimals: 1, range: [0, 100], sourceTs: 5 },
    );
    const oxygen = tags.find((x) => x.name === 'reactor.oxygen')!;
    assert.equal(oxygen.quality, 'Bad_WaitingForInitialData');
    assert.equal(oxygen.qualityReason, 'not read yet');
    assert.equal(oxygen.value, null);
  });

  it('GET /api/tags/:name: one tag; an unknown one is a 404 with a stable code', async (t) => {
    const { app, bus } = await setup(t);
    await bus.publishValues([{ tag: 'limits.oxygen_min', value: 2, quality: 'Bad_DeviceFailure', exceptionCode: 4, sourceTs: 1, serverTs: 1 }]);
    const res = await app.inject('/api/tags/limits.oxygen_min');
    assert.equal(res.statusCode, 200);
    const tag = res.json() as TagWithState;
    assert.equal(tag.exceptionCode, 4);
    assert.equal(tag.qualityReason, 'the device answered with a Modbus exception (exception 04)');
    assert.deepEqual(tag.writable, { min: 0.01, max: 99.99, roles: ['engineer'] });
    const missing = await app.inject('/api/tags/no.such.tag');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: { code: 'PLANTA_TAG_NOT_FOUND', message: 'no tag "no.such.tag"' } });
  });

  it('GET /api/plant says where each device is: its host, its unit on a serial line, or its unit via a converter or gateway', async (t) => {
    const linked = parseConfig(
      `links:
  rs485: { serial: /dev/ttyUSB0, baud: 19200, parity: none }
  conv: { rtuOverTcp: 10.0.0.7:4001 }
  gw1: { tcp: 10.0.0.8:502 }
devices:
  meter: { link: rs485, unitId: 2 }
  vfd: { link: conv, unitId: 4 }
  dosing: { link: gw1, unitId: 3 }
  plc: { host: 10.0.0.9 }
tags:
  meter.flow: { device: meter, area: input, address: 0 }
`,
      'linked.yaml',
    );
    const { app } = await createWebServer({ bus: new MemoryBus(), config: linked, readyTimeoutMs: 200 });
    t.after(() => app.close());
    const plant = (await app.inject('/api/plant')).json() as PlantInfo;
    assert.deepEqual(
      plant.devices.map((d) => [d.name, d.where]),
      [
        ['meter', 'unit 2 on line rs485 (/dev/ttyUSB0, 19200 8N1)'],
        ['vfd', 'unit 4 via conv (RTU over TCP, 10.0.0.7:4001)'],
        ['dosing', 'unit 3 via gw1 (10.0.0.8:502)'],
        ['plc', '10.0.0.9:502, unit 1'],
      ],
    );
  });

  it('GET /api/plant/texts: the configuration\'s texts in the other language (Spanish), the plain English everywhere else', async (t) => {
    const { app } = await setup(t);
    const plant = (await app.inject('/api/plant')).json() as PlantInfo & { texts?: unknown };
    assert.equal(plant.texts, undefined, 'an English page does not carry them');
    const res = await app.inject('/api/plant/texts');
    assert.equal(res.statusCode, 200);
    const texts = res.json() as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(texts.alarms!.estop, { message: { es: 'Parada de emergencia accionada' } });
    assert.deepEqual(texts.tags!['reactor.level'], { description: { es: 'Nivel del reactor SBR' } });
    assert.deepEqual((texts.pages!.overview as Record<string, unknown>).title, { es: 'Reactor SBR' });
    const tag = (await app.inject('/api/tags/reactor.level')).json() as TagWithState;
    assert.equal(tag.description, 'Level in the SBR reactor');
  });

  it('GET /api/plant, /api/devices and /api/drawings/:page', async (t) => {
    const { app, bus } = await setup(t);
    const plant = (await app.inject('/api/plant')).json() as PlantInfo;
    assert.equal(plant.name, 'SBR wastewater treatment plant');
    assert.equal(plant.timezone, 'America/Argentina/Buenos_Aires');
    assert.deepEqual(Object.keys(plant.pages), ['overview', 'mimic']);
    assert.deepEqual(plant.devices, [{ name: 'plc', description: config.devices[0]!.description, host: '127.0.0.1', port: 5020, unitId: 1, where: '127.0.0.1:5020, unit 1' }]);
    const before = (await app.inject('/api/devices')).json() as { name: string; status: unknown }[];
    assert.equal(before[0]!.status, null);
    await bus.publishDeviceStatus({
      device: 'plc', state: 'connected', connectedSince: 1, lastError: null, requests: 3, responses: 3,
      errors: { timeout: 0, connection: 0, protocol: 0, exception: {} }, latencyMs: { p50: 1, p99: 2 }, reconnects: 0,
      scans: 3, overruns: 0, jitterMs: { p50: 0, p99: 1 }, qualities: { Good: 57 }, updatedAt: 2,
    });
    const after = (await app.inject('/api/devices')).json() as { status: { state: string } }[];
    assert.equal(after[0]!.status.state, 'connected');
    const svg = await app.inject('/api/drawings/mimic');
    assert.equal(svg.statusCode, 200);
    assert.match(svg.headers['content-type'] as string, /^image\/svg\+xml/);
    assert.match(svg.body, /id="reactor-level"/);
    assert.equal((await app.inject('/api/drawings/overview')).json().error.code, 'PLANTA_DRAWING_NOT_FOUND');
  });

  it('/healthz and /readyz; /readyz says 503 when the bus does not answer', async (t) => {
    const { app } = await setup(t);
    assert.equal((await app.inject('/healthz')).json().status, 'ok');
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json().devices, { total: 1, connected: 0, list: [{ name: 'plc', state: 'unknown' }] });

    const stuck = new MemoryBus();
    const { app: app2 } = await setup(t, stuck);
    stuck.deviceStatuses = () => new Promise(() => undefined);
    const notReady = await app2.inject('/readyz');
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().checks.bus.ok, false);
  });

  it('unknown routes and methods are JSON errors with stable codes', async (t) => {
    const { app } = await setup(t);
    const res = await app.inject('/api/nothing');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'PLANTA_HTTP_NOT_FOUND');
    const post = await app.inject({ method: 'POST', url: '/api/tags', payload: '{"x":' , headers: { 'content-type': 'application/json' } });
    assert.ok(post.statusCode >= 400 && post.statusCode < 500);
    assert.match(post.json().error.code, /^PLANTA_HTTP_/);
  });
});
