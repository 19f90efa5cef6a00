/**
 * Sign-in attempts as an attacker makes them: parallel guesses never get a
 * password checked past the limit (each attempt is counted before it is
 * hashed), a flood of sign-ins leaves the rest of the server answering
 * (hashing is bounded), an attacker hammering the admin from one address
 * does not keep the admin out from another, re-entered passwords count
 * against the same budget, and what a sign-in names is bounded. Each budget
 * on both of its stores: the web node's SQLite file and Redis.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type AttemptBudget, DEFAULT_LOCKOUT, RedisAttempts, backoffMs } from '../../src/auth/attempts.js';
import { PasswordHasher, hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import type { Role } from '../../src/config/schema.js';
import { createAuth } from '../../src/web/auth.js';
import { createWebServer } from '../../src/web/server.js';
import { REDIS_URL, needRedis, testPrefix } from '../bus/redis-helpers.js';
import { waitFor } from '../helpers/wait.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const PASSWORD = 'a-long-and-unusual-pass';
/** The account's rule of these tests: 3 free failures, then 2 s doubling to 5 min. */
const LOCKOUT = { max: 3, lockMs: 2000, maxLockMs: 300_000, windowMs: 900_000 };

type Budget = 'sqlite' | 'redis';

async function setup(t: TestContext, budget: Budget, o: { hmiDir?: string; lockout?: Parameters<typeof createAuth>[0]['lockout']; hasher?: PasswordHasher } = {}) {
  let now = 1_800_000_000_000;
  const store = new AuthStore(':memory:');
  const hash = await hashPassword(PASSWORD);
  for (const r of ['viewer', 'operator', 'engineer', 'admin'] as Role[]) store.addUser(r, r, hash);
  let attempts: AttemptBudget | undefined;
  if (budget === 'redis') {
    const a = await RedisAttempts.connect({ url: REDIS_URL, prefix: testPrefix(t, 'attempts') });
    t.after(() => a.close());
    attempts = a;
  }
  const auth = createAuth({ store, ...(attempts ? { attempts } : {}), ...(o.hasher ? { hasher: o.hasher } : {}), anonymous: 'none', now: () => now, lockout: o.lockout ?? LOCKOUT });
  const { app } = await createWebServer({ bus: new MemoryBus(), config, auth, ...(o.hmiDir ? { hmiDir: o.hmiDir } : {}) });
  t.after(async () => {
    await app.close();
    store.close();
  });
  const login = async (user: string, password: string, remoteAddress = '10.0.0.1') => {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { user, password }, remoteAddress });
    return { status: res.statusCode, json: res.json() as { csrf?: string; error?: { code: string; message: string; field?: string } }, cookie: (res.headers['set-cookie'] as string | undefined)?.split(';')[0], retryAfter: Number(res.headers['retry-after'] ?? 0) };
  };
  return { app, store, login, advance: (ms: number) => (now += ms) };
}

async function budgets(t: TestContext, run: (t: TestContext, budget: Budget) => Promise<void>): Promise<void> {
  await t.test('SQLite', (t) => run(t, 'sqlite'));
  await t.test('Redis', async (t) => {
    if (await needRedis(t)) await run(t, 'redis');
  });
}

describe('sign-in attempts', { timeout: 120_000 }, () => {
  it('40 parallel guesses, the right password last: only the first 3 are checked, the rest (the right one too) answer 429', async (t) => {
    await budgets(t, async (t, budget) => {
      const { login, store } = await setup(t, budget);
      const guesses = [...Array.from({ length: 39 }, (_, i) => `wrong-guess-${i}`), PASSWORD];
      const answers = await Promise.all(guesses.map((p) => login('admin', p)));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((s) => s === 401).length, LOCKOUT.max, statuses.join(' '));
      assert.equal(statuses.filter((s) => s === 429).length, guesses.length - LOCKOUT.max, statuses.join(' '));
      assert.equal(statuses.at(-1), 429, 'the right password, after the limit, is not accepted');
      assert.ok(answers.filter((a) => a.status === 429).every((a) => a.json.error?.code === 'PLANTA_AUTH_LOCKED' && a.retryAfter > 0));
      assert.equal(store.auditEntries({ search: 'login-failed' }).length, LOCKOUT.max, 'only the checked guesses are failures');
    });
  });

  it('an attacker hammering the admin from one address is held back after its 10th failure; the admin, from another address, gets in within the backoff those failures caused', async (t) => {
    // The longest the admin can be kept out: the account's waits after the failures the attacker's address may make.
    let bound = 0;
    for (let n = LOCKOUT.max; n <= DEFAULT_LOCKOUT.address.max; n++) bound += backoffMs(LOCKOUT, n) / 1000;
    await budgets(t, async (t, budget) => {
      const { login, advance } = await setup(t, budget);
      // One guess a second for a minute; then the admin tries every second too, always just after the attacker.
      let attackerHeld = -1;
      for (let s = 0; s < 60; s++, advance(1000)) await login('admin', `guess-${s}`, '203.0.113.66');
      let waited = 0;
      let signedIn = false;
      const retryAfters: number[] = [];
      for (; waited <= 2 * bound && !signedIn; waited++, advance(1000)) {
        const attack = await login('admin', `guess-late-${waited}`, '203.0.113.66');
        if (attackerHeld < 0 && attack.status === 429 && /from this address/.test(attack.json.error?.message ?? '')) attackerHeld = waited;
        const admin = await login('admin', PASSWORD, '198.51.100.7');
        if (admin.status === 429) retryAfters.push(admin.retryAfter);
        signedIn = admin.status === 200;
      }
      assert.ok(signedIn && waited <= bound, `the admin got in while the attacker went on, within ${bound} s (waited ${waited} s)`);
      assert.ok(attackerHeld >= 0, 'the attacker\'s address is held back');
      assert.ok(retryAfters.every((r) => r <= LOCKOUT.maxLockMs / 1000), `Retry-After within the cap: ${retryAfters.join(' ')}`);
      t.diagnostic(`${budget}: the admin got in after ${waited} s of trying; the attacker's address held back from ${attackerHeld} s`);
    });
  });

  it('a password re-entered for a critical command counts against the account\'s budget', async (t) => {
    await budgets(t, async (t, budget) => {
      const { app, login, store } = await setup(t, budget);
      const l = await login('engineer', PASSWORD);
      assert.equal(l.status, 200);
      const headers = { cookie: l.cookie!, 'x-csrf-token': l.json.csrf! };
      const params = { oxygen_min: 2, oxygen_max: 8, turbidity_max: 10 };
      const operate = async (password: string, n: number) => {
        const sel = await app.inject({ method: 'POST', url: '/api/commands/select', headers, payload: { command: 'edit_limits', params } });
        return app.inject({ method: 'POST', url: '/api/commands/operate', headers, remoteAddress: '10.0.0.1', payload: { id: `reauth-${budget}-${n}`, token: sel.json().token, command: 'edit_limits', params, password } });
      };
      for (let i = 0; i < LOCKOUT.max; i++) assert.equal((await operate(`wrong-${i}`, i)).statusCode, 403);
      const locked = await operate(PASSWORD, 99);
      assert.deepEqual([locked.statusCode, locked.json().error.code], [429, 'PLANTA_AUTH_LOCKED'], 'the right password, past the budget, is not checked');
      assert.equal((await login('engineer', PASSWORD, '10.9.9.9')).status, 429, 'a sign-in of that account waits as well');
      assert.equal(store.auditEntries({ search: 'reauth-failed' }).length, LOCKOUT.max);
    });
  });

  it('what a sign-in names is bounded: an overlong or unprintable user name or an overlong password is refused (400) before any hashing, and never reaches the trail', async (t) => {
    const { login, store } = await setup(t, 'sqlite');
    const cases: [string, string, string][] = [
      ['x'.repeat(65), PASSWORD, 'user'],
      ['x'.repeat(3000), PASSWORD, 'user'],
      ['admin\u001b[2J', PASSWORD, 'user'],
      ['admin\r\nforged', PASSWORD, 'user'],
      ['admin', 'p'.repeat(1025), 'password'],
      ['admin', 'é'.repeat(513), 'password'],
    ];
    for (const [user, password, field] of cases) {
      const r = await login(user, password);
      assert.deepEqual([r.status, r.json.error?.code, r.json.error?.field], [400, 'PLANTA_AUTH_BAD_LOGIN', field], JSON.stringify(user.slice(0, 20)));
    }
    // Past the sign-in's body limit (src/web/limits.ts) the request is refused before it is even parsed.
    const huge = await login('x'.repeat(200_000), PASSWORD);
    assert.deepEqual([huge.status, huge.json.error?.code], [413, 'PLANTA_LIMIT_BODY']);
    assert.equal(store.auditEntries().length, 0, 'nothing audited');
    assert.equal((await login('x'.repeat(64), 'p'.repeat(1024))).status, 401, 'the longest allowed are checked');
    const [entry] = store.auditEntries();
    assert.equal(entry?.target, 'x'.repeat(64));
  });

  it('the trail bounds and escapes whatever reaches it (a command name from the bus, a comment)', () => {
    const store = new AuthStore(':memory:');
    const e = store.audit('\u001b[2Jmallory', 'command-rejected', `${'c'.repeat(100_000)}\r`, { text: 'y'.repeat(100_000) })!;
    assert.equal(e.actor, '\\u001b[2Jmallory');
    assert.ok(e.target.length <= 256 && e.target.endsWith('…'));
    assert.ok(e.detail.length < 2000 && (JSON.parse(e.detail) as { truncated: boolean }).truncated);
    assert.deepEqual(store.verifyAudit(), { ok: true, entries: 1 });
    store.close();
  });

  it('expired sessions and forgotten attempts are deleted: a sign-in prunes them', async (t) => {
    const { login, store, advance } = await setup(t, 'sqlite');
    const count = (): number => (store.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
    const attempts = (): string[] => (store.db.prepare('SELECT key FROM login_attempts ORDER BY key').all() as { key: string }[]).map((r) => r.key);
    for (const u of ['viewer', 'operator']) assert.equal((await login(u, PASSWORD)).status, 200);
    assert.equal((await login('mallory', 'a-guess', '10.0.0.2')).status, 401);
    assert.equal(count(), 2);
    assert.deepEqual(attempts(), ['account:mallory', 'address:10.0.0.1', 'address:10.0.0.2']);
    advance(31 * 60_000);
    assert.equal((await login('admin', PASSWORD)).status, 200);
    assert.equal(count(), 1, 'the two idle sessions are gone, the new one stays');
    assert.deepEqual(attempts(), ['address:10.0.0.1', 'address:10.0.0.2'], 'the account\'s failure is forgotten after its window (the addresses\' window is an hour)');
  });

  it('200 sign-ins at once: /healthz and the HMI\'s page keep answering within 1 s; beyond the hasher\'s queue, 429 PLANTA_AUTH_BUSY at once', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-static-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>HMI</title>');
    // An address rule out of the way: this is about hashing.
    const hasher = new PasswordHasher();
    const { app, login } = await setup(t, 'sqlite', { hmiDir: dir, hasher, lockout: { ...LOCKOUT, address: { max: 1e6 } } });
    assert.equal((await login('viewer', PASSWORD)).status, 200, 'a warm server');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    for (const path of ['/healthz', '/']) assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 200, `${path}, served once before`);
    // Raw sockets, so that the flood costs this process (which also serves) next to nothing; the server closes each after its answer.
    const logins = Array.from({ length: 200 }, (_, i) => rawPost(port, '/api/login', JSON.stringify({ user: `user${i}`, password: `guess-${i}` })));
    // Measured in the thick of it: the hasher's queue full.
    await waitFor('the hasher full', () => hasher.full(), 5000, 1);
    const timed = async (path: string): Promise<number> => {
      const start = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.equal(res.status, 200, path);
      await res.text();
      return performance.now() - start;
    };
    const healthz = await timed('/healthz');
    const page = await timed('/');
    const answers = await Promise.all(logins);
    t.diagnostic(`during 200 sign-ins: /healthz ${healthz.toFixed(0)} ms, / ${page.toFixed(0)} ms; ${answers.filter((a) => a.status === 401).length} checked, ${answers.filter((a) => a.status === 429).length} refused busy`);
    assert.ok(healthz < 1000, `/healthz took ${healthz.toFixed(0)} ms`);
    assert.ok(page < 1000, `/ took ${page.toFixed(0)} ms`);
    const busy = answers.filter((a) => a.status === 429);
    assert.ok(busy.length > 0 && busy.every((a) => /"code":"PLANTA_AUTH_BUSY"/.test(a.body) && /\r\nretry-after: 1\r\n/i.test(a.head)), 'refused busy, with Retry-After');
    assert.ok(answers.every((a) => a.status === 401 || a.status === 429), answers.map((a) => a.status).join(' '));
  });
});

/** A POST on its own connection, written and read as bytes. */
function rawPost(port: number, path: string, body: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString();
      const [head = '', rest = ''] = text.split('\r\n\r\n', 2);
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), head: `${head}\r\n`, body: rest });
    });
  });
}
