/** The history routes through fastify inject: trends, export, cycles, status; errors and who may read. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AuthStore } from '../../src/auth/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { Role } from '../../src/config/schema.js';
import { loadConfig } from '../../src/config/load.js';
import { openHistorian } from '../../src/historian/index.js';
import { createAuth } from '../../src/web/auth.js';
import type { HistoryPayload } from '../../src/web/history.js';
import { createWebServer } from '../../src/web/server.js';
import { createRegistry } from '../../src/util/metrics.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const T0 = Date.UTC(2026, 10, 1);

async function setup(t: TestContext, o: { historian?: boolean; auth?: boolean } = {}) {
  let now = T0 + 2 * 3_600_000;
  const { historian, cycles } = openHistorian(config, { path: ':memory:', now: () => now });
  // Two hours of level every second, with a bad-quality minute in the middle.
  for (let i = 0; i < 7200; i++) {
    const ts = T0 + i * 1000;
    const bad = i >= 3600 && i < 3660;
    historian.ingest([
      { tag: 'reactor.level', value: bad ? null : 50 + (i % 100) / 10, quality: bad ? 'Bad_NoCommunication' : 'Good', sourceTs: ts, serverTs: ts },
      { tag: 'phase.fill', value: i % 2 === 0, quality: 'Good', sourceTs: ts, serverTs: ts },
    ]);
  }
  await historian.flush();
  now = T0 + 2 * 3_600_000 + 10_000;
  await historian.rollup();
  const bus = new MemoryBus();
  const registry = createRegistry();
  let auth;
  let users: AuthStore | undefined;
  if (o.auth) {
    users = new AuthStore(':memory:');
    auth = createAuth({ store: users, anonymous: 'none' });
  }
  const { app } = await createWebServer({
    bus,
    config,
    registry,
    ...(o.historian === false ? {} : { historian, ...(cycles ? { cycles } : {}) }),
    ...(auth ? { auth } : {
      identify: (req) => {
        const h = req.headers['x-test-user'];
        return typeof h === 'string' && h ? { user: h.split(':')[0]!, role: h.split(':')[1] as Role } : undefined;
      },
    }),
  });
  t.after(async () => {
    await app.close();
    await historian.close();
    users?.close();
  });
  const get = async (url: string, user = 'vic:viewer', headers: Record<string, string> = {}) => {
    const res = await app.inject({ method: 'GET', url, headers: { ...(user ? { 'x-test-user': user } : {}), ...headers } });
    return { status: res.statusCode, headers: res.headers, body: res.body, json: () => res.json() as unknown };
  };
  return { get, historian, users, now: () => now };
}

const code = (r: { json: () => unknown }): string => (r.json() as { error: { code: string } }).error.code;

describe('history over HTTP', { timeout: 30_000 }, () => {
  it('GET /api/history: series with unit, resolution, times ascending, bools as 0/1, the bad minute as a gap', async (t) => {
    const { get } = await setup(t);
    const r = await get(`/api/history?tags=reactor.level,phase.fill&from=${T0}&to=${new Date(T0 + 7_200_000).toISOString()}&points=4000`);
    assert.equal(r.status, 200);
    const p = r.json() as HistoryPayload;
    assert.equal(p.from, T0);
    assert.equal(p.to, T0 + 7_200_000);
    const [level, fill] = p.series;
    assert.equal(level!.tag, 'reactor.level');
    assert.equal(level!.unit, '%');
    assert.equal(level!.resolution, 'raw');
    assert.ok(level!.t.every((x, i) => i === 0 || x >= level!.t[i - 1]!), 'ascending');
    assert.equal(level!.t.length, level!.v.length);
    assert.equal(level!.t.length, level!.q.length);
    const gap = level!.t.findIndex((x, i) => x >= T0 + 3_600_000 && x < T0 + 3_660_000 && level!.v[i] === null);
    assert.ok(gap >= 0, 'the bad minute is a gap');
    assert.equal(level!.q[gap], 'bad');
    assert.ok(level!.v.filter((v) => v !== null).every((v) => v! >= 50 && v! <= 60));
    assert.deepEqual(new Set(fill!.v), new Set([0, 1]));
  });

  it('errors: unknown tag, bad range, too many tags, bad points, anonymous; 503 without a historian', async (t) => {
    const { get } = await setup(t);
    const unknown = await get(`/api/history?tags=reactor.level,nope&from=${T0}&to=${T0 + 1000}`);
    assert.deepEqual([unknown.status, code(unknown)], [404, 'PLANTA_TAG_UNKNOWN']);
    const inverted = await get(`/api/history?tags=reactor.level&from=${T0 + 1000}&to=${T0}`);
    assert.deepEqual([inverted.status, code(inverted)], [400, 'PLANTA_HISTORY_BAD_RANGE']);
    const garbage = await get(`/api/history?tags=reactor.level&from=yesterday`);
    assert.deepEqual([garbage.status, code(garbage)], [400, 'PLANTA_HISTORY_BAD_RANGE']);
    const many = config.tags.slice(0, 17).map((x) => x.name).join(',');
    const tooMany = await get(`/api/history?tags=${many}&from=${T0}&to=${T0 + 1000}`);
    assert.deepEqual([tooMany.status, code(tooMany)], [400, 'PLANTA_HISTORY_BAD_QUERY']);
    for (const points of ['0', '10001', 'abc']) {
      const bad = await get(`/api/history?tags=reactor.level&from=${T0}&to=${T0 + 1000}&points=${points}`);
      assert.deepEqual([bad.status, code(bad)], [400, 'PLANTA_HISTORY_BAD_QUERY'], points);
    }
    const none = await get(`/api/history?from=${T0}&to=${T0 + 1000}`);
    assert.deepEqual([none.status, code(none)], [400, 'PLANTA_HISTORY_BAD_QUERY']);
    const anon = await get(`/api/history?tags=reactor.level&from=${T0}&to=${T0 + 1000}`, '');
    assert.deepEqual([anon.status, code(anon)], [401, 'PLANTA_AUTH_REQUIRED']);

    const without = await setup(t, { historian: false });
    for (const url of [`/api/history?tags=reactor.level`, '/api/history/export?tags=reactor.level', '/api/cycles', '/api/cycles.csv', '/api/historian/status']) {
      const r = await without.get(url);
      assert.deepEqual([r.status, code(r)], [503, 'PLANTA_HISTORIAN_UNAVAILABLE'], url);
    }
  });

  it('a store that stops answering (its database went away): 503 PLANTA_HISTORIAN_UNAVAILABLE without the failure in the body; refusals stay as they are', async (t) => {
    const { get, historian } = await setup(t);
    const failure = (): Promise<never> => Promise.reject(new Error('Connection terminated unexpectedly (10.0.0.7:5432, /var/lib/secret)'));
    Object.assign(historian, { query: failure, status: failure });
    for (const url of [`/api/history?tags=reactor.level&from=${T0}&to=${T0 + 1000}`, '/api/historian/status']) {
      const r = await get(url);
      assert.deepEqual([r.status, code(r)], [503, 'PLANTA_HISTORIAN_UNAVAILABLE'], url);
      assert.doesNotMatch(r.body, /10\.0\.0\.7|secret|Connection terminated/, 'no detail of the failure');
    }
    const inverted = await get(`/api/history?tags=reactor.level&from=${T0 + 1000}&to=${T0}`);
    assert.deepEqual([inverted.status, code(inverted)], [400, 'PLANTA_HISTORY_BAD_RANGE']);
  });

  it('with real authentication: anonymous refused, a read-only token (viewer) reads', async (t) => {
    const { get, users } = await setup(t, { auth: true });
    const url = `/api/history?tags=reactor.level&from=${T0}&to=${T0 + 60_000}`;
    const anon = await get(url, '');
    assert.deepEqual([anon.status, code(anon)], [401, 'PLANTA_AUTH_REQUIRED']);
    const token = users!.addToken('grafana', 'admin', Date.now());
    const ok = await get(url, '', { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200);
    assert.equal((ok.json() as HistoryPayload).series[0]!.tag, 'reactor.level');
    const status = await get('/api/historian/status', '', { authorization: `Bearer ${token}` });
    assert.equal(status.status, 200);
  });

  it('GET /api/history/export: CSV with names, units, quality columns, ISO times, range header', async (t) => {
    const { get } = await setup(t);
    const r = await get(`/api/history/export?tags=reactor.level,phase.fill&from=${T0}&to=${T0 + 10_000}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/csv; charset=utf-8');
    assert.match(String(r.headers['content-disposition']), /^attachment; filename="planta-20261101T000000Z-20261101T000010Z\.csv"$/);
    assert.equal(r.headers['x-planta-range'], `${T0}-${T0 + 10_000}`);
    const lines = r.body.trim().split('\r\n');
    assert.equal(lines[0], 'time,reactor.level [%],reactor.level quality,phase.fill,phase.fill quality');
    assert.equal(lines.length, 11);
    assert.equal(lines[1], '2026-11-01T00:00:00.000Z,50,Good,1,Good');
    assert.equal(lines[2], '2026-11-01T00:00:01.000Z,50.1,Good,0,Good');
  });

  it('GET /api/historian/status and /metrics', async (t) => {
    const { get } = await setup(t);
    const s = (await get('/api/historian/status')).json() as { bytes: number; samples: number; oldest: number; retention: Record<string, string> };
    assert.ok(s.bytes > 0);
    assert.ok(s.samples >= 7200, `${s.samples}`);
    assert.equal(s.oldest, T0);
    assert.deepEqual(s.retention, { raw: '90d', minute: '2y', hour: 'forever' });
    const m = (await get('/metrics')).body;
    assert.match(m, /^planta_historian_committed_total \d+/m);
    assert.match(m, /^planta_historian_queue_depth 0/m);
    assert.match(m, /^planta_historian_disk_bytes [1-9]/m);
  });

  it('GET /api/cycles and /api/cycles.csv answer (no cycle in this data)', async (t) => {
    const { get } = await setup(t);
    const r = await get(`/api/cycles?from=${T0}&to=${T0 + 7_200_000}`);
    assert.equal(r.status, 200);
    assert.ok(Array.isArray((r.json() as { cycles: unknown[] }).cycles));
    const csv = await get(`/api/cycles.csv?from=${T0}&to=${T0 + 7_200_000}`);
    assert.equal(csv.status, 200);
    assert.match(csv.body, /^start,end,program,Aerated fill planned \[s\]/);
  });
});
