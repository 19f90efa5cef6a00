/**
 * Users, sessions, roles and the attacks that hit web SCADAs before: every
 * route × role, CSRF, expired and forged sessions, lockout, read-only tokens,
 * a forged header, path traversal, verbose errors, the audit chain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import type { Role } from '../../src/config/schema.js';
import { type Anonymous, createAuth } from '../../src/web/auth.js';
import { createWebServer } from '../../src/web/server.js';
import { run } from '../helpers/process.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const PASSWORD = 'a-long-and-unusual-pass';
const planta = new URL('../../bin/planta.js', import.meta.url).pathname;

async function setup(t: TestContext, { anonymous = 'none' as Anonymous, dbPath = ':memory:', hmiDir }: { anonymous?: Anonymous; dbPath?: string; hmiDir?: string } = {}) {
  let now = 1_800_000_000_000;
  const store = new AuthStore(dbPath);
  const hash = await hashPassword(PASSWORD);
  for (const r of ['viewer', 'operator', 'engineer', 'admin'] as Role[]) store.addUser(r, r, hash);
  const bus = new MemoryBus();
  const alarmStore = new AlarmStore(':memory:');
  const alarms = new AlarmEngine({ bus, config, store: alarmStore });
  await alarms.start();
  const auth = createAuth({ store, anonymous, now: () => now, idleMs: 60_000, absoluteMs: 600_000, lockout: { max: 3, windowMs: 60_000, lockMs: 120_000 } });
  const { app } = await createWebServer({ bus, config, alarms, auth, ...(hmiDir ? { hmiDir } : {}) });
  t.after(async () => {
    await app.close();
    await alarms.stop();
    alarmStore.close();
    store.close();
  });
  const login = async (user: string, password = PASSWORD, remoteAddress = '127.0.0.1') => {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { user, password }, remoteAddress });
    const cookie = (res.headers['set-cookie'] as string | undefined)?.split(';')[0];
    return { status: res.statusCode, json: res.json() as { csrf?: string; role?: string; error?: { code: string; message: string } }, cookie, setCookie: res.headers['set-cookie'] as string | undefined, headers: res.headers };
  };
  const as = async (user: string) => {
    const l = await login(user);
    assert.equal(l.status, 200, JSON.stringify(l.json));
    return { cookie: l.cookie!, csrf: l.json.csrf! };
  };
  return { app, store, login, as, advance: (ms: number) => (now += ms) };
}

describe('security', { timeout: 60_000 }, () => {
  it('every route × role: allowed and denied', async (t) => {
    const { app, as, store } = await setup(t);
    const token = store.addToken('reporting', 'test');
    type Who = 'nobody' | 'token' | Role;
    const who: Who[] = ['nobody', 'token', 'viewer', 'operator', 'engineer', 'admin'];
    const sessions = new Map<Who, { cookie: string; csrf: string }>();
    for (const r of ['viewer', 'operator', 'engineer', 'admin'] as Role[]) sessions.set(r, await as(r));
    const call = async (w: Who, method: 'GET' | 'POST', url: string, payload?: object) => {
      const headers: Record<string, string> = {};
      if (w === 'token') headers.authorization = `Bearer ${token}`;
      const s = sessions.get(w);
      if (s) Object.assign(headers, { cookie: s.cookie, 'x-csrf-token': s.csrf });
      return (await app.inject({ method, url, headers, ...(payload ? { payload } : {}) })).statusCode;
    };
    const rid = () => `rt-${Math.random().toString(36).slice(2, 12)}`;
    // [method, url, body, lowest role allowed ('nobody' = public)]
    const routes: [string, 'GET' | 'POST', string, (() => object) | undefined, Who][] = [
      ['health', 'GET', '/healthz', undefined, 'nobody'],
      ['tags', 'GET', '/api/tags', undefined, 'token'],
      ['stream devices', 'GET', '/api/devices', undefined, 'token'],
      ['journal', 'GET', '/api/journal', undefined, 'token'],
      ['metrics', 'GET', '/api/plant', undefined, 'token'],
      ['audit', 'GET', '/api/audit', undefined, 'engineer'],
      ['users', 'GET', '/api/users', undefined, 'admin'],
      ['tokens', 'GET', '/api/tokens', undefined, 'admin'],
      ['silence (operator command)', 'POST', '/api/commands', () => ({ id: rid(), command: 'silence_horn' }), 'operator'],
      ['edit limits (engineer command)', 'POST', '/api/commands/select', () => ({ command: 'edit_limits', params: { oxygen_min: 2, oxygen_max: 8, turbidity_max: 10 } }), 'engineer'],
      ['acknowledge', 'POST', '/api/alarms/ack', () => ({ ids: ['estop'] }), 'operator'],
      ['out of service', 'POST', '/api/alarms/foam_valve/out-of-service', () => ({ reason: 'test' }), 'engineer'],
      ['add user', 'POST', '/api/users', () => ({ name: `u${Math.random().toString(36).slice(2, 8)}`, role: 'viewer', password: PASSWORD }), 'admin'],
    ];
    const rank: Who[] = ['nobody', 'token', 'viewer', 'operator', 'engineer', 'admin'];
    for (const [label, method, url, body, lowest] of routes) {
      for (const w of who) {
        const allowed = rank.indexOf(w) >= rank.indexOf(lowest) && !(w === 'token' && method === 'POST');
        const status = await call(w, method, url, body?.());
        if (allowed) assert.ok(status < 400 || status === 409, `${label} as ${w}: expected allowed, got ${status}`);
        else assert.ok(status === 401 || status === 403, `${label} as ${w}: expected 401/403, got ${status}`);
      }
    }
  });

  it('CSRF: a state-changing request without the session\'s token, or with another, is refused', async (t) => {
    const { app, as } = await setup(t);
    const op = await as('operator');
    const other = await as('operator');
    for (const headers of [{ cookie: op.cookie }, { cookie: op.cookie, 'x-csrf-token': other.csrf }, { cookie: op.cookie, 'x-csrf-token': '' }]) {
      const res = await app.inject({ method: 'POST', url: '/api/alarms/ack', headers, payload: { ids: ['estop'] } });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().error.code, 'PLANTA_AUTH_CSRF');
    }
  });

  it('sessions: HttpOnly SameSite=Strict cookies; idle and absolute timeouts; logout; a forged cookie', async (t) => {
    const { app, login, as, advance } = await setup(t);
    const l = await login('viewer');
    assert.match(l.setCookie!, /^planta_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=600$/);
    const get = async (cookie: string) => (await app.inject({ url: '/api/session', headers: { cookie } })).statusCode;
    assert.equal(await get(l.cookie!), 200);
    assert.equal(await get('planta_session=forged-value-that-is-not-a-session'), 401);
    advance(59_000);
    assert.equal(await get(l.cookie!), 200, 'used within the idle time');
    advance(61_000);
    assert.equal(await get(l.cookie!), 401, 'idle too long');
    const s = await as('viewer');
    // Used every 50 s (never idle) for 650 s: past the 600 s absolute limit.
    for (let i = 0; i < 13; i++) {
      advance(50_000);
      await get(s.cookie);
    }
    assert.equal(await get(s.cookie), 401, 'past the absolute limit even if used');
    const s2 = await as('viewer');
    await app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: s2.cookie, 'x-csrf-token': s2.csrf } });
    assert.equal(await get(s2.cookie), 401, 'logged out');
  });

  it('login: one message for a wrong user or password; lockout after repeated failures', async (t) => {
    const { login, advance, store } = await setup(t);
    const unknown = await login('mallory', 'whatever');
    const wrong = await login('operator', 'not-the-password');
    assert.deepEqual([unknown.status, unknown.json.error?.message], [401, 'wrong user or password']);
    assert.deepEqual([wrong.status, wrong.json.error?.message], [401, 'wrong user or password']);
    await login('operator', 'again-wrong');
    const third = await login('operator', 'still-wrong', '10.0.0.9');
    assert.equal(third.status, 401);
    const locked = await login('operator', PASSWORD, '10.0.0.9');
    assert.equal(locked.status, 429, 'locked, even with the right password');
    assert.equal(locked.json.error?.code, 'PLANTA_AUTH_LOCKED');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    advance(121_000);
    assert.equal((await login('operator', PASSWORD, '10.0.0.9')).status, 200, 'unlocked after the lockout');
    assert.ok(store.auditEntries({ search: 'login-failed' }).length >= 3, 'failures are audited');
  });

  it('user management refuses a field it does not take, or of the wrong type, and changes nothing', async (t) => {
    const { app, as, login } = await setup(t);
    const admin = await as('admin');
    const post = async (url: string, payload: object) => {
      const res = await app.inject({ method: 'POST', url, headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf }, payload });
      return { status: res.statusCode, json: res.json() as { error?: { code: string; message: string } } };
    };
    // A misspelt "disabled" must not answer 200 as if the operator were locked out.
    const typo = await post('/api/users/operator', { disable: true });
    assert.equal(typo.status, 400);
    assert.equal(typo.json.error?.code, 'PLANTA_AUTH_BAD_BODY');
    assert.match(typo.json.error!.message, /unknown field "disable"/);
    const text = await post('/api/users/operator', { disabled: 'true' });
    assert.equal(text.json.error?.code, 'PLANTA_AUTH_BAD_BODY');
    assert.equal((await login('operator')).status, 200, 'the operator is not disabled');
    assert.equal((await post('/api/users', { name: 'newcomer', role: 'viewer', password: PASSWORD, admin: true })).json.error?.code, 'PLANTA_AUTH_BAD_BODY');
    assert.equal((await post('/api/tokens', { name: 'reports', scope: 'write' })).json.error?.code, 'PLANTA_AUTH_BAD_BODY');
    assert.equal((await app.inject({ method: 'POST', url: '/api/login', payload: { user: 'viewer', password: PASSWORD, role: 'admin' } })).json().error.code, 'PLANTA_AUTH_BAD_BODY');
  });

  it('API tokens are read-only and revocable', async (t) => {
    const { app, store } = await setup(t);
    const token = store.addToken('grafana', 'test');
    const headers = { authorization: `Bearer ${token}` };
    assert.equal((await app.inject({ url: '/api/tags', headers })).statusCode, 200);
    const post = await app.inject({ method: 'POST', url: '/api/alarms/ack', headers, payload: { ids: ['estop'] } });
    assert.deepEqual([post.statusCode, post.json().error.code], [403, 'PLANTA_AUTH_READ_ONLY']);
    store.revokeToken('grafana');
    assert.equal((await app.inject({ url: '/api/tags', headers })).statusCode, 401);
  });

  it('viewing without login only where configured, decided by the socket, never by a header', async (t) => {
    const { app } = await setup(t, { anonymous: 'local' });
    assert.equal((await app.inject({ url: '/api/tags', remoteAddress: '127.0.0.1' })).statusCode, 200);
    const remote = await app.inject({ url: '/api/tags', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' } });
    assert.equal(remote.statusCode, 401, 'X-Forwarded-For is not believed');
    const forged = await app.inject({ url: '/api/users', remoteAddress: '10.0.0.5', headers: { 'x-test-user': 'eve:admin', 'x-planta-user': 'admin', authorization: 'Basic YWRtaW46YWRtaW4=' } });
    assert.equal(forged.statusCode, 401, 'no header names a user');
    const act = await app.inject({ method: 'POST', url: '/api/alarms/ack', remoteAddress: '127.0.0.1', payload: { ids: ['estop'] } });
    assert.equal(act.statusCode, 401, 'anonymous viewers may look, not act');
  });

  it('critical commands need the password again; users need strong passwords', async (t) => {
    const { app, as } = await setup(t);
    const eng = await as('engineer');
    const headers = { cookie: eng.cookie, 'x-csrf-token': eng.csrf };
    const params = { oxygen_min: 2, oxygen_max: 8, turbidity_max: 10 };
    const sel = await app.inject({ method: 'POST', url: '/api/commands/select', headers, payload: { command: 'edit_limits', params } });
    const op = await app.inject({ method: 'POST', url: '/api/commands/operate', headers, payload: { id: 'reauth-test-1', token: sel.json().token, command: 'edit_limits', params, password: 'wrong' } });
    assert.deepEqual([op.statusCode, op.json().error.code], [403, 'PLANTA_AUTH_REAUTH']);
    const ok = await app.inject({ method: 'POST', url: '/api/commands/operate', headers, payload: { id: 'reauth-test-2', token: sel.json().token, command: 'edit_limits', params, password: PASSWORD } });
    assert.equal(ok.statusCode, 202, ok.body);
    const admin = await as('admin');
    const weak = await app.inject({ method: 'POST', url: '/api/users', headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf }, payload: { name: 'newbie', role: 'viewer', password: 'password1234' } });
    assert.deepEqual([weak.statusCode, weak.json().error.code], [400, 'PLANTA_AUTH_WEAK_PASSWORD']);
  });

  it('security headers on API, static and stream responses', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-static-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    const { app } = await setup(t, { anonymous: 'local', hmiDir: dir });
    for (const url of ['/api/tags', '/', '/no-such-page', '/api/nothing']) {
      const res = await app.inject({ url });
      assert.match(res.headers['content-security-policy'] as string, /script-src 'self'; .*frame-ancestors 'none'/, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
    }
    assert.equal((await app.inject('/api/tags')).headers['cache-control'], 'no-store');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/stream`);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    await res.body?.cancel();
  });

  it('path traversal on the static files never reads outside the HMI folder', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-static-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>HMI</title>');
    writeFileSync(join(dir, '..', 'planta-secret.txt'), 'TOP SECRET');
    t.after(() => rmSync(join(dir, '..', 'planta-secret.txt'), { force: true }));
    const { app } = await setup(t, { anonymous: 'local', hmiDir: dir });
    for (const url of ['/../planta-secret.txt', '/..%2fplanta-secret.txt', '/%2e%2e/planta-secret.txt', '/assets/..%2f..%2fplanta-secret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/....//planta-secret.txt', '/assets/%252e%252e/planta-secret.txt']) {
      const res = await app.inject({ url });
      assert.doesNotMatch(res.body, /TOP SECRET|root:x:/, url);
    }
  });

  it('errors say what is wrong, never a stack trace or a path', async (t) => {
    const { app, as } = await setup(t);
    const op = await as('operator');
    const bad = await app.inject({ method: 'POST', url: '/api/alarms/ack', headers: { cookie: op.cookie, 'x-csrf-token': op.csrf, 'content-type': 'application/json' }, payload: '{"ids": [' });
    assert.equal(bad.statusCode, 400);
    assert.doesNotMatch(bad.body, /\/work\/|node_modules|at \w+ \(|Error:/);
    assert.match(bad.json().error.code, /^PLANTA_/);
  });

  it('the audit trail: hash-chained, append-only, and `planta audit verify` finds a tampered entry', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-audit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'planta.db');
    const { as, store } = await setup(t, { dbPath: db });
    await as('operator');
    await as('admin');
    assert.throws(() => store.db.prepare("UPDATE audit SET actor = 'nobody' WHERE seq = 1").run(), /append-only/);
    assert.throws(() => store.db.prepare('DELETE FROM audit WHERE seq = 1').run(), /append-only/);
    const ok = await run(process.execPath, [planta, 'audit', 'verify', '--db', db]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /audit trail intact: 2 entries/);
    // An attacker with the file drops the triggers and edits an entry.
    store.db.exec("DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'nobody' WHERE seq = 1");
    const broken = await run(process.execPath, [planta, 'audit', 'verify', '--db', db]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /audit trail BROKEN at entry 1: its content does not match its hash/);
    store.db.exec("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 1");
    assert.deepEqual(store.verifyAudit(), { ok: false, seq: 1, why: 'entry 1 is missing' });
  });
});
