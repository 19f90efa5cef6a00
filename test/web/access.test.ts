/**
 * Deny by default, decided on the route that matched (issue 19, item 1):
 * every registered route declares its access, an undeclared one is refused,
 * and no spelling of a path — percent-encoded, doubled slashes, dot
 * segments, absolute-form — reaches a protected route without a session.
 * Spellings go out over a real socket too: fastify's inject normalises some.
 * (The property over every spelling of every route: test/fuzz/http.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framed, generatedPart } from '../../scripts/generated-docs.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { ACCESS_LEVELS, type RouteAccess, isAccess, targetProblem } from '../../src/web/access.js';
import { createWebServer } from '../../src/web/server.js';
import { rawRequest } from '../helpers/raw-http.js';
import { ASSET, INDEX_HTML, plantConfig, wiredServer } from './wired.js';

/** "METHOD url" of every route in fastify's own printout (a second opinion on the recorded table). */
function printedRoutes(text: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^([│├└─ ]*)(.+?) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4 - 1;
    stack.length = depth;
    stack.push(depth === 0 && !m[2]!.startsWith('/') ? `/${m[2]}` : m[2]!);
    for (const method of m[3]!.split(', ')) out.push(`${method} ${stack.join('')}`);
  }
  return out.sort();
}

/** The access table of docs/security.md, from the routes as registered (HEAD rows folded into GET). */
function accessTable(routes: RouteAccess[]): string {
  const rows = new Map<string, { url: string; access: string; methods: string[] }>();
  for (const r of routes) {
    if (r.method === 'HEAD') continue;
    const key = `${r.url} ${r.access}`;
    const row = rows.get(key) ?? { url: r.url, access: r.access ?? 'NONE', methods: [] };
    row.methods.push(r.method);
    rows.set(key, row);
  }
  const lines = [...rows.values()]
    .sort((a, b) => a.url.localeCompare(b.url) || ACCESS_LEVELS.indexOf(a.access as never) - ACCESS_LEVELS.indexOf(b.access as never))
    .map((r) => `| ${r.methods.sort().join(', ')} | \`${r.url}\` | ${r.access} |`);
  return ['| method | route | access |', '|---|---|---|', ...lines].join('\n');
}

describe('access on the matched route', { timeout: 120_000 }, () => {
  it('every route of a fully wired server declares a valid access; the table in docs/security.md is the same', async (t) => {
    const w = await wiredServer(t);
    await w.app.ready();
    const routes = w.routes();
    assert.deepEqual(routes.map((r) => `${r.method} ${r.url}`).sort(), printedRoutes(w.app.printRoutes({ commonPrefix: false })), 'the recorded table holds every route fastify has');
    for (const r of routes) assert.ok(isAccess(r.access), `${r.method} ${r.url} declares no valid access`);
    for (const url of ['/api/login', '/api/users/:name', '/api/alarms/:id/shelve', '/api/history/export', '/metrics', '/*']) {
      assert.ok(routes.some((r) => r.url === url), `${url} is in the walked table`);
    }
    // Without real sign-in (tests that name their user) the server has its own /api/session.
    const bare = await createWebServer({ bus: new MemoryBus(), config: plantConfig() });
    t.after(() => bare.app.close());
    await bare.app.ready();
    for (const r of bare.routes()) assert.ok(isAccess(r.access), `${r.method} ${r.url} (without sign-in) declares no valid access`);

    const table = accessTable(routes);
    const part = generatedPart('security.md', 'access-table');
    if (process.env.PLANTA_UPDATE_DOCS === '1') part.write(table);
    else assert.equal(part.current, framed(table), 'docs/security.md: the access table differs from the routes (PLANTA_UPDATE_DOCS=1 rewrites it)');
  });

  it('a route that declares no access, or an unknown one, is refused to everyone — a plugin\'s route too', async (t) => {
    const w = await wiredServer(t);
    w.app.get('/api/undeclared', async () => ({ secret: 1 }));
    w.app.get('/api/misdeclared', { config: { access: 'everyone' as never } }, async () => ({ secret: 2 }));
    await w.app.register(async (plugin) => {
      plugin.post('/api/plugin', async () => ({ secret: 3 }));
    });
    const admin = await w.as('admin');
    for (const [method, url] of [['GET', '/api/undeclared'], ['GET', '/api/misdeclared'], ['POST', '/api/plugin']] as const) {
      for (const headers of [{}, admin]) {
        const res = await w.app.inject({ method, url, headers, payload: method === 'POST' ? {} : undefined });
        assert.deepEqual([res.statusCode, res.json().error.code], [403, 'PLANTA_HTTP_ACCESS_UNDECLARED'], `${method} ${url}`);
        assert.doesNotMatch(res.body, /secret/);
      }
    }
    assert.deepEqual(w.routes().filter((r) => !r.access).map((r) => `${r.method} ${r.url}`).sort(), ['GET /api/misdeclared', 'GET /api/undeclared', 'HEAD /api/misdeclared', 'HEAD /api/undeclared', 'POST /api/plugin']);
  });

  it('the bypasses found (issue 19): encoded, absolute-form, doubled and dot-segment paths never serve data without a session', async (t) => {
    const w = await wiredServer(t);
    const port = await w.listen();
    const targets = [
      '/%61pi/tags',
      '/%61pi/journal',
      '/%61pi/stream',
      '/%6detrics',
      '/api/%74ags',
      '/api%2ftags',
      '/api/tags%2F',
      `http://127.0.0.1:${port}/api/tags`,
      'http://evil.example/api/tags',
      'HTTP://127.0.0.1/metrics',
      '//api/tags',
      '/api//tags',
      '/api/./tags',
      '/x/../api/tags',
      '/api/tags/../journal',
      '/api/tags#',
      '/api/tags\\',
      '*',
    ];
    for (const target of targets) {
      const res = await rawRequest(port, target);
      assert.ok([400, 401, 404].includes(res.status), `${target}: ${res.status} ${res.body.slice(0, 120)}`);
      if (res.status === 400) assert.match(res.body, /PLANTA_HTTP_BAD_PATH/, target);
    }
    // The same through inject (which normalises some of them first).
    for (const url of ['/%61pi/tags', '/%6detrics', '/api/%74ags']) {
      const res = await w.app.inject({ url });
      assert.deepEqual([res.statusCode, res.json().error.code], [400, 'PLANTA_HTTP_BAD_PATH'], url);
    }
    // The plain spellings still work for whoever may use them.
    assert.equal((await rawRequest(port, '/api/tags', { headers: { cookie: (await w.as('viewer')).cookie! } })).status, 200);
    assert.equal((await rawRequest(port, '/api/tags?')).status, 401);
  });

  it('the normal form: what is refused and what is not', () => {
    for (const ok of ['/', '/api/tags', '/api/tags/reactor.level?x=%2e%2e', '/api/drawings/Bel%C3%BCftung', '/api/tags/a%25b', '/api/tags/a%3Ab', "/a;b=c/!$&'()*+,:@~"]) {
      assert.equal(targetProblem(ok), undefined, ok);
    }
    for (const bad of ['api/tags', 'http://h/api', '*', '//api', '/api//tags', '/api/./tags', '/api/..', '/%61pi', '/%2e%2e/x', '/a%2fb', '/a%5Cb', '/a%00', '/a%7F', '/a%zz', '/a%4', '/a b', '/a#b', '/a\\b', '/a"b', '/é']) {
      assert.ok(targetProblem(bad), bad);
    }
  });

  it('the HMI loads without a session: its files and client-side routes are public; API misses are JSON 404s', async (t) => {
    const w = await wiredServer(t);
    const port = await w.listen();
    for (const path of ['/', '/index.html', '/trends', '/some/page?x=1']) {
      const res = await rawRequest(port, path);
      assert.deepEqual([res.status, res.body], [200, INDEX_HTML], path);
      assert.match(res.headers['content-type'] ?? '', /^text\/html/, path);
    }
    assert.deepEqual([(await rawRequest(port, '/assets/app.js')).status, (await rawRequest(port, '/assets/app.js')).body], [200, ASSET]);
    assert.equal((await rawRequest(port, '/', { method: 'HEAD' })).status, 200);
    for (const [method, path] of [['GET', '/api/nothing'], ['POST', '/nothing'], ['DELETE', '/api/tags'], ['PUT', '/']] as const) {
      const res = await rawRequest(port, path, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(JSON.parse(res.body).error.code, 'PLANTA_HTTP_NOT_FOUND');
    }
    assert.equal((await rawRequest(port, '/healthz')).status, 200);
    const login = await rawRequest(port, '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'viewer', password: 'wrong-password-here' }) });
    assert.equal(login.status, 401);
  });

  it('levels: /metrics needs a session or an API token; anonymous viewing may view but not read it; a token never acts', async (t) => {
    const w = await wiredServer(t, { anonymous: 'any' });
    const token = w.users.addToken('prometheus', 'test');
    const status = async (url: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET') =>
      (await w.app.inject({ method, url, headers, ...(method === 'POST' ? { payload: { ids: ['estop'] } } : {}) })).statusCode;
    assert.equal(await status('/api/tags'), 200, 'anonymous viewing');
    assert.equal(await status('/metrics'), 401, 'anonymous viewing does not read /metrics');
    assert.equal(await status('/metrics', { authorization: `Bearer ${token}` }), 200, 'an API token does');
    assert.equal(await status('/metrics', await w.as('viewer')), 200, 'a viewer session does');
    assert.equal(await status('/api/audit', { authorization: `Bearer ${token}` }), 403);
    assert.equal(await status('/api/alarms/ack', { authorization: `Bearer ${token}` }, 'POST'), 403);
    assert.equal(await status('/api/alarms/ack', {}, 'POST'), 401);
    const viewer = await w.as('viewer');
    assert.equal(await status('/api/alarms/ack', { cookie: viewer.cookie! }, 'POST'), 403, 'a session without its CSRF token');
  });

  it('query strings: the audit trail\'s search is bounded like the journal\'s; a parameter given twice is refused, not a crash', async (t) => {
    const w = await wiredServer(t);
    const engineer = await w.as('engineer');
    for (const url of ['/api/history?tags=reactor.level&tags=reactor.oxygen', '/api/history/export?tags=reactor.level&from=1&from=2', '/api/cycles?to=1&to=2']) {
      const res = await w.app.inject({ url, headers: engineer });
      assert.deepEqual([res.statusCode, res.json().error.code], [400, 'PLANTA_HISTORY_BAD_QUERY'], url);
    }
    for (const [q, code] of [['q'.repeat(201), 'PLANTA_TEXT_TOO_LONG'], ['%1B%5B2J', 'PLANTA_TEXT_UNPRINTABLE'], ['a&q=b', 'PLANTA_AUDIT_BAD_QUERY']] as const) {
      const res = await w.app.inject({ url: `/api/audit?q=${q}`, headers: engineer });
      assert.deepEqual([res.statusCode, res.json().error.code], [400, code], q.slice(0, 20));
    }
    assert.equal((await w.app.inject({ url: `/api/audit?q=${'q'.repeat(200)}`, headers: engineer })).statusCode, 200);
    // A time past what a date can be is a bad range, not an internal error.
    for (const url of ['/api/cycles.csv?to=99999999999999999999', '/api/cycles?from=-99999999999999999999', '/api/history?tags=reactor.level&to=1e400', '/api/history/export?tags=reactor.level&to=9000000000000000']) {
      const res = await w.app.inject({ url, headers: engineer });
      assert.deepEqual([res.statusCode, res.json().error?.code], [400, 'PLANTA_HISTORY_BAD_RANGE'], url);
    }
    // What is not a tag is named back short and escaped, never echoed whole.
    for (const url of [`/api/history?tags=${'Z'.repeat(6000)}`, `/api/tags/${'Z'.repeat(6000)}`, '/api/history?tags=%1B%5B2J', '/api/tags/%E2%80%AEgpj.exe', '/api/drawings/%E2%80%AEevil']) {
      const res = await w.app.inject({ url, headers: engineer });
      assert.equal(res.statusCode, 404, url.slice(0, 40));
      assert.ok(res.body.length < 300 && !/[\p{Cc}\u202e]/u.test(res.json().error.message), res.body.slice(0, 120));
    }
  });
});
