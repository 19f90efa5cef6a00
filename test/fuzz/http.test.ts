/**
 * Fuzzing the HTTP API's JSON inputs: random and mutated bodies, queries
 * and ids on every route that takes input. Never a 5xx, never a stack trace;
 * every refusal is JSON with a stable PLANTA_ code. `npm run fuzz` runs it
 * longer (PLANTA_FUZZ_RUNS).
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
import { createWebServer } from '../../src/web/server.js';

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
