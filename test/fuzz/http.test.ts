/**
 * Fuzzing the HTTP API's JSON inputs: random and mutated bodies, queries
 * and ids on every route that takes input. Never a 5xx, never a stack trace;
 * every refusal is JSON with a stable PLANTA_ code. And every spelling of
 * every protected route's path, without a session, over a real socket:
 * never data. `npm run fuzz` runs it longer (PLANTA_FUZZ_RUNS).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import { createAuth } from '../../src/web/auth.js';
import type { RouteAccess } from '../../src/web/access.js';
import { createWebServer } from '../../src/web/server.js';
import { rawRequest } from '../helpers/raw-http.js';
import { INDEX_HTML, wiredServer } from '../web/wired.js';

const RUNS = Number(process.env.PLANTA_FUZZ_RUNS ?? 150);
const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);

describe('HTTP fuzzing', { timeout: 300_000 }, () => {
  let app: FastifyInstance;
  let headers: Record<string, string>;
  const submitted: unknown[] = [];
  const cleanup: (() => Promise<void> | void)[] = [];

  before(async () => {
    const bus = new MemoryBus();
    await bus.subscribeCommands((c) => submitted.push(c));
    const users = new AuthStore(':memory:');
    users.addUser('eve', 'admin', await hashPassword('fuzzing-admin-pass'));
    const store = new AlarmStore(':memory:');
    const alarms = new AlarmEngine({ bus, config, store });
    await alarms.start();
    ({ app } = await createWebServer({ bus, config, alarms, auth: createAuth({ store: users, anonymous: 'none', lockout: { max: 1e9, windowMs: 1, lockMs: 1 } }) }));
    const login = await app.inject({ method: 'POST', url: '/api/login', payload: { user: 'eve', password: 'fuzzing-admin-pass' } });
    headers = { cookie: (login.headers['set-cookie'] as string).split(';')[0]!, 'x-csrf-token': login.json().csrf, 'content-type': 'application/json' };
    cleanup.push(() => app.close(), () => alarms.stop(), () => store.close(), () => users.close());
  });
  after(async () => {
    for (const c of cleanup) await c();
  });

  const check = (res: { statusCode: number; body: string }, what: string): void => {
    assert.ok(res.statusCode < 500, `${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    assert.doesNotMatch(res.body, /node_modules|\/work\/|at \w+ \(/, `${what}: leaks internals`);
    if (res.statusCode >= 400) assert.match((JSON.parse(res.body) as { error: { code: string } }).error.code, /^PLANTA_[A-Z_]+$/, what);
  };

  const json = fc.jsonValue({ maxDepth: 3 });
  const commandLike = fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9_-]{8,20}$/), json),
      command: fc.oneof(fc.constantFrom(...Object.keys(config.commands), '__proto__', 'constructor', 'toString'), json),
      params: fc.oneof(
        fc.dictionary(fc.constantFrom('program', 'fill', 'aeration', 'settling', 'discharge', 'oxygen_min', 'oxygen_max', 'turbidity_max', '__proto__', 'x'), fc.oneof(fc.double(), fc.integer(), json)),
        json,
      ),
      token: fc.oneof(fc.string(), json),
      password: fc.oneof(fc.string(), json),
    },
    { requiredKeys: [] },
  );

  it('POST bodies: commands, select, operate, alarms, users, tokens, login', async () => {
    const routes = ['/api/commands', '/api/commands/select', '/api/commands/operate', '/api/alarms/ack', '/api/alarms/estop/shelve', '/api/alarms/estop/out-of-service', '/api/users', '/api/users/eve', '/api/tokens', '/api/login'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(commandLike, json), async (url, body) => {
        const res = await app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body) });
        check(res, `POST ${url} ${JSON.stringify(body).slice(0, 120)}`);
      }),
      { numRuns: RUNS },
    );
    assert.ok(submitted.every((c) => typeof c === 'object'), 'whatever reached the bus is a resolved command');
  });

  it('raw bytes as JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/commands', '/api/alarms/ack', '/api/login'), fc.string({ maxLength: 300 }), async (url, text) => {
        check(await app.inject({ method: 'POST', url, headers, payload: text }), `POST ${url} raw`);
      }),
      { numRuns: RUNS },
    );
  });

  it('paths and queries', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('..', '%2e%2e', '%00', '__proto__', 'estop', 'reactor.level'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/tags/', '/api/commands/', '/api/drawings/', '/api/journal?from=', '/api/journal?kinds=', '/api/alarms/rates?from=', '/api/audit?before=', '/api/journal?q='),
        segment,
        async (prefix, s) => {
          const url = prefix + encodeURIComponent(s);
          check(await app.inject({ method: 'GET', url, headers }), `GET ${url}`);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** A path that reaches `url`'s handler: parameters filled with names that exist. */
function concrete(url: string): string {
  const values: Record<string, string> = { name: 'reactor.level', id: 'estop', page: 'mimic', token: 'abcdefgh12345678' };
  return url.replace(/:(\w+)/g, (_, p: string) => values[p] ?? 'x');
}

describe('paths spelled every way (security.anonymous: none)', { timeout: 300_000 }, () => {
  it('every spelling of every protected route, without a session, gets 400, 401 or 404 — never data', async (t) => {
    const w = await wiredServer(t);
    const port = await w.listen();
    const protectedRoutes = w.routes().filter((r) => r.access !== 'public' && r.method !== 'HEAD');
    assert.ok(protectedRoutes.length > 30);
    const hex = (c: string, lower: boolean): string => {
      const h = c.charCodeAt(0).toString(16).padStart(2, '0');
      return `%${lower ? h : h.toUpperCase()}`;
    };
    // One way to write each character of the path, then up to three extras at slashes, a tail, perhaps the absolute form.
    const spelling = fc.record({
      route: fc.constantFrom(...protectedRoutes),
      encode: fc.array(fc.constantFrom('keep', 'keep', 'upper', 'lower'), { minLength: 64, maxLength: 64 }),
      extras: fc.array(fc.record({ slash: fc.constantFrom('//', '/./', '/x/../', '/%2f', '/%2F', '/%2e/', '/%2E%2E/x/', '/;p/', '\\'), at: fc.nat() }), { maxLength: 3 }),
      tail: fc.constantFrom('', '?', '?x=1', '#', '#x', ';p', ';p=1', '/', '%00', '%20', '/.', '/..'),
      absolute: fc.constantFrom('', '', 'http://127.0.0.1', 'http://evil.example', 'https://127.0.0.1:1', 'HTTP://127.0.0.1'),
    });
    const write = (s: { route: RouteAccess; encode: string[]; extras: { slash: string; at: number }[]; tail: string; absolute: string }): string => {
      let path = [...concrete(s.route.url)].map((c, i) => (c === '/' || s.encode[i % 64] === 'keep' ? c : hex(c, s.encode[i % 64] === 'lower'))).join('');
      for (const { slash, at } of s.extras) {
        const slashes = [...path.matchAll(/\//g)].map((m) => m.index);
        const i = slashes[at % slashes.length]!;
        path = path.slice(0, i) + slash + path.slice(i + 1);
      }
      return s.absolute + path + s.tail;
    };
    const served = (status: number, body: string): boolean => [400, 401, 404].includes(status) || (status === 200 && body === INDEX_HTML);
    await fc.assert(
      fc.asyncProperty(spelling, async (s) => {
        const target = write(s);
        const res = await rawRequest(port, target, { method: s.route.method, ...(s.route.method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
        assert.ok(served(res.status, res.body), `${s.route.method} ${target}: ${res.status} ${res.body.slice(0, 160)}`);
        if (s.absolute === '' && s.route.method === 'GET') {
          const injected = await w.app.inject({ url: target });
          assert.ok(served(injected.statusCode, injected.body), `inject ${target}: ${injected.statusCode} ${injected.body.slice(0, 160)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
