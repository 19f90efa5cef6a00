/**
 * Resource limits (issue 19, item 5) over real sockets: a body sent slowly
 * and a connection that sends nothing are dropped within their timeouts;
 * live streams and connections are capped per client and in all, with a
 * clear 429/503, a stable code and a metric; bodies are bounded per route.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { BODY_LIMITS } from '../../src/web/limits.js';
import { closedWithin, idleConnection, parseResponse, rawRequest } from '../helpers/raw-http.js';
import { type SseConnection, openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { plantConfig, wiredServer } from './wired.js';

/** One sample of the Prometheus text, e.g. sample(text, 'planta_http_refused_total{limit="body"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('resource limits', { timeout: 120_000 }, () => {
  it('a request body sent slowly is dropped once the request timeout passes; so is a connection that sends nothing', async (t) => {
    const config = plantConfig({ limits: { headersTimeout: 1000, requestTimeout: 2000 } });
    const w = await wiredServer(t, { config });
    const port = await w.listen();
    const slow = net.connect(port, '127.0.0.1');
    await new Promise((r) => slow.once('connect', r));
    const closed = closedWithin(slow);
    let answer = '';
    slow.on('data', (d) => (answer += d.toString()));
    slow.write('POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    // One byte every 200 ms: it would take 200 s to finish.
    const drip = setInterval(() => slow.writable && slow.write(' '), 200);
    t.after(() => clearInterval(drip));
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 15_000))]);
    clearInterval(drip);
    assert.ok(ms < 8000, `dropped after ${ms} ms (request timeout 2 s)`);
    const refusal = parseResponse(answer);
    assert.equal(refusal.status, 408, answer.slice(0, 80));
    assert.match(refusal.body, /^\{"error":\{"code":"PLANTA_HTTP_TIMEOUT","message":"the request was not sent in time/, 'a stable code, as every refusal');
    assert.match(answer, /\r\nconnection: close\r\n/i);

    // Headers dripped a line at a time: the header timeout, answered and counted likewise.
    const dripper = net.connect(port, '127.0.0.1');
    await new Promise((r) => dripper.once('connect', r));
    let dripped = '';
    dripper.on('data', (d) => (dripped += d.toString()));
    const drippedClosed = closedWithin(dripper);
    dripper.write('GET /healthz HTTP/1.1\r\n');
    const lines = setInterval(() => dripper.writable && dripper.write('x-pad: y\r\n'), 200);
    t.after(() => clearInterval(lines));
    assert.ok((await Promise.race([drippedClosed, new Promise<number>((r) => setTimeout(() => r(Infinity), 15_000))])) < 8000);
    clearInterval(lines);
    assert.match(dripped, /^HTTP\/1\.1 408 [^]*"code":"PLANTA_HTTP_TIMEOUT"/);
    const metrics = (await w.app.inject({ url: '/metrics', headers: await w.as('viewer') })).body;
    assert.equal(sample(metrics, 'planta_http_refused_total{limit="timeout"}'), 2, metrics.slice(0, 200));

    const idle = await idleConnection(port);
    t.after(() => idle.destroy());
    const idleMs = await Promise.race([closedWithin(idle), new Promise<number>((r) => setTimeout(() => r(Infinity), 15_000))]);
    assert.ok(idleMs < 8000, `an idle connection dropped after ${idleMs} ms (header timeout 1 s)`);
    assert.equal(w.app.server.requestTimeout, 2000);
    assert.equal(w.app.server.headersTimeout, 1000);
  });

  it('live streams: N from one client, the next refused with 429 and a stable code; the total cap answers 503; both counted', async (t) => {
    const config = plantConfig({ anonymous: 'any', trustProxy: ['127.0.0.1'], limits: { streamsPerIp: 3, streams: 5 } });
    const w = await wiredServer(t, { config, anonymous: 'any' });
    const port = await w.listen();
    const open: SseConnection[] = [];
    t.after(() => open.forEach((s) => s.close()));
    const stream = async (client: string): Promise<SseConnection> => {
      const s = await openStream(port, { headers: { 'x-forwarded-for': client } });
      open.push(s);
      await waitFor(`an answer to ${client}`, () => s.raw().includes('\r\n\r\n'));
      return s;
    };
    for (let i = 0; i < 3; i++) assert.match((await stream('10.0.0.1')).raw(), /^HTTP\/1\.1 200/);
    const refused = parseResponse((await stream('10.0.0.1')).raw());
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '10');
    assert.equal(JSON.parse(refused.body).error.code, 'PLANTA_LIMIT_STREAMS_PER_CLIENT');
    for (let i = 0; i < 2; i++) assert.match((await stream('10.0.0.2')).raw(), /^HTTP\/1\.1 200/, 'another client still gets its streams');
    const full = parseResponse((await stream('10.0.0.3')).raw());
    assert.deepEqual([full.status, JSON.parse(full.body).error.code], [503, 'PLANTA_LIMIT_STREAMS']);
    // A stream closed frees its place.
    open[0]!.close();
    await waitFor('a place free again', async () => /^HTTP\/1\.1 200/.test((await stream('10.0.0.3')).raw()));
    const metrics = (await w.app.inject({ url: '/metrics', headers: await w.as('viewer') })).body;
    assert.ok(sample(metrics, 'planta_http_refused_total{limit="streams_per_client"}')! >= 1, metrics.slice(0, 200));
    assert.ok(sample(metrics, 'planta_http_refused_total{limit="streams"}')! >= 1);
  });

  it('a flood of streams from one address (no proxy trusted, forged X-Forwarded-For): of 200, the configured 16 served', async (t) => {
    const w = await wiredServer(t, { anonymous: 'any', config: plantConfig({ anonymous: 'any', limits: { streamsPerIp: 16 } }) });
    const port = await w.listen();
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        openStream(port, { headers: { 'x-forwarded-for': `10.1.${Math.floor(Math.random() * 250)}.1` } }).then(async (s) => {
          t.after(() => s.close());
          await waitFor('an answer', () => s.raw().includes('\r\n\r\n'), 20_000);
          return parseResponse(s.raw()).status;
        }),
      ),
    );
    assert.equal(answers.filter((s) => s === 200).length, 16, 'a forged X-Forwarded-For does not make more clients');
    assert.equal(answers.filter((s) => s === 429).length, 200 - 16);
  });

  it('connections: per client and in all, answered 429/503 with Connection: close; a trusted proxy counts towards the total only', async (t) => {
    const w = await wiredServer(t, { config: plantConfig({ limits: { connectionsPerIp: 3, connections: 50, streams: 50 } }) });
    const port = await w.listen();
    const held = await Promise.all([0, 1, 2].map(() => idleConnection(port)));
    t.after(() => held.forEach((s) => s.destroy()));
    const refused = await rawRequest(port, '/healthz');
    assert.equal(refused.status, 429, refused.raw.slice(0, 200));
    assert.equal(JSON.parse(refused.body).error.code, 'PLANTA_LIMIT_CONNECTIONS_PER_CLIENT');
    assert.equal(refused.headers.connection, 'close');
    held.pop()!.destroy();
    await waitFor('a place free again', async () => (await rawRequest(port, '/healthz')).status === 200);

    const proxied = await wiredServer(t, { config: plantConfig({ trustProxy: ['127.0.0.1'], limits: { connectionsPerIp: 2, connections: 4, streams: 4, streamsPerIp: 2 } }) });
    const proxyPort = await proxied.listen();
    const behind = await Promise.all([0, 1, 2].map(() => idleConnection(proxyPort)));
    t.after(() => behind.forEach((s) => s.destroy()));
    assert.equal((await rawRequest(proxyPort, '/healthz')).status, 200, 'the proxy is not one client');
    behind.push(await idleConnection(proxyPort));
    const full = await rawRequest(proxyPort, '/healthz');
    assert.deepEqual([full.status, JSON.parse(full.body).error.code], [503, 'PLANTA_LIMIT_CONNECTIONS']);
    const metrics = (await proxied.app.inject({ url: '/metrics', headers: await proxied.as('viewer') })).body;
    assert.ok(sample(metrics, 'planta_http_refused_total{limit="connections"}')! >= 1);
  });

  it('bodies are bounded per route: sign-in small, ordinary routes as configured, commands and acknowledgements larger', async (t) => {
    const w = await wiredServer(t, { config: plantConfig({ limits: { bodyBytes: 8 * 1024 } }) });
    const op = await w.as('operator');
    const admin = await w.as('admin');
    const post = (url: string, bytes: number, headers: Record<string, string> = {}) =>
      w.app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(bytes) }) });
    const tooLarge = async (url: string, bytes: number, headers?: Record<string, string>) => {
      const res = await post(url, bytes, headers);
      return res.statusCode === 413 && res.json().error.code === 'PLANTA_LIMIT_BODY';
    };
    assert.ok(await tooLarge('/api/login', BODY_LIMITS.signIn), 'sign-in: 4 KiB');
    assert.ok(!(await tooLarge('/api/login', 1000)));
    assert.ok(await tooLarge('/api/users', 9 * 1024, admin), 'an ordinary route: security.limits.bodyBytes');
    assert.ok(!(await tooLarge('/api/users', 7 * 1024, admin)));
    assert.ok(!(await tooLarge('/api/commands', 15 * 1024, op)), 'a command: 16 KiB');
    assert.ok(await tooLarge('/api/commands', BODY_LIMITS.command, op));
    assert.ok(!(await tooLarge('/api/alarms/ack', 120 * 1024, op)), 'an acknowledgement of many alarms: 128 KiB');
    assert.ok(await tooLarge('/api/alarms/ack', BODY_LIMITS.acknowledge, op));
    // A body announced larger than the limit is refused before it is read.
    const port = await w.listen();
    const announced = await rawRequest(port, '/api/login', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) } });
    assert.equal(announced.status, 413);
    const metrics = (await w.app.inject({ url: '/metrics', headers: admin })).body;
    assert.ok(sample(metrics, 'planta_http_refused_total{limit="body"}')! >= 4);
  });

  it('limits are checked when the configuration is loaded', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    const yaml = (limits: string) => `security:\n  limits: ${limits}\ndevices:\n  plc: { host: 127.0.0.1 }\ntags:\n  level: { area: input, address: 0 }\n`;
    assert.throws(() => parseConfig(yaml('{ streams: 10, streamsPerIp: 20 }'), 'p.yaml'), /p\.yaml:2:\d+ security\.limits\.streamsPerIp: must not exceed streams \(10\)/);
    assert.throws(() => parseConfig(yaml('{ headersTimeout: 1m, requestTimeout: 10s }'), 'p.yaml'), /security\.limits\.headersTimeout: must not exceed requestTimeout/);
    assert.throws(() => parseConfig(yaml('{ bodyBytes: 10 }'), 'p.yaml'), /security\.limits\.bodyBytes: expected a size of at least 1KiB/);
    assert.throws(() => parseConfig(yaml('{ sockets: 5 }'), 'p.yaml'), /sockets/);
    const ok = parseConfig(yaml('{ bodyBytes: 64KiB, idleTimeout: 2m }'), 'p.yaml');
    assert.deepEqual([ok.security.limits.bodyBytes, ok.security.limits.idleTimeout, ok.security.limits.streamsPerIp], [65536, 120_000, 16]);
  });
});
