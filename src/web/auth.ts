/**
 * Who is asking, and may they: sessions in HttpOnly SameSite=Strict cookies
 * (idle and absolute timeouts), a CSRF token on every state-changing request,
 * read-only API tokens, viewer access without login only where configured
 * (never decided from a request header), login rate limiting with a
 * temporary lockout, security headers on every response, and the audit trail.
 *
 *   POST /api/login {user, password}      GET /api/session      POST /api/logout
 *   GET /api/users  POST /api/users  POST /api/users/:name      (admin)
 *   GET /api/tokens POST /api/tokens DELETE /api/tokens/:name   (admin; tokens are read-only)
 *   GET /api/audit?before&limit&q                               (engineer)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DUMMY_HASH, WeakPasswordError, checkStrength, hashPassword, verifyPassword } from '../auth/passwords.js';
import { type UserDirectory, sqliteDirectory } from '../auth/directory.js';
import { type SessionStore, sqliteSessions } from '../auth/sessions.js';
import type { AuditQuery, AuthStore } from '../auth/store.js';
import type { Identity } from '../commands/prepare.js';
import { ROLES, type Role } from '../config/schema.js';
import { boundedText, queryParam } from './fields.js';
import { BODY_LIMITS } from './limits.js';

export type Anonymous = 'none' | 'local' | 'any';

/**
 * Where users, API tokens and the audit trail are (`directory`), and where
 * sessions and login lockouts are (`sessions`): both in a web node's SQLite
 * `store`, or elsewhere (PostgreSQL and Redis, shared by web nodes).
 */
export type AuthStores = { store: AuthStore; sessions?: SessionStore } | { directory: UserDirectory; sessions: SessionStore };

export type AuthOptions = AuthStores & {
  /** Viewer access without login: nobody, requests from this machine, or anyone. */
  anonymous: Anonymous;
  idleMs?: number;
  absoluteMs?: number;
  /** Mark cookies Secure (served over TLS). */
  secure?: boolean;
  lockout?: { max: number; windowMs: number; lockMs: number };
  now?: () => number;
  /** This web node's name (host:port), recorded with sign-ins: web nodes may share one audit trail. */
  node?: () => string;
};

export type Via = 'session' | 'token' | 'anonymous';
export interface RequestIdentity extends Identity {
  via: Via;
  csrf?: string;
}

export class AuthError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const COOKIE = 'planta_session';
const rank = (r: Role): number => ROLES.indexOf(r);
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{1,31}$/;
/** Longest search of the audit trail. */
const AUDIT_SEARCH_MAX = 200;

export const SECURITY_HEADERS: Record<string, string> = {
  // No inline script, nothing from elsewhere; inline styles are allowed for the mimic drawings.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

function cookies(req: FastifyRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

const isLoopback = (a: string | undefined): boolean => a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1';

export interface Auth {
  /** The user behind a request, once resolved (sessions only for acting; tokens and anonymous are viewers). */
  identify(req: FastifyRequest): RequestIdentity | undefined;
  /** Finds who makes a request (once; the access gate of src/web/access.ts asks for every route that is not public). */
  resolve(req: FastifyRequest): Promise<RequestIdentity | undefined>;
  /** Checks the password of the request's user again (re-authentication for critical commands). */
  reauthenticate(req: FastifyRequest, password: unknown): Promise<void>;
  /** Adds the security headers and the routes; `proxied`: the server believes forwarded headers from a proxy (security.trustProxy). */
  register(app: FastifyInstance, o: { proxied: boolean }): void;
}

export function createAuth(o: AuthOptions): Auth {
  const store = 'directory' in o ? o.directory : sqliteDirectory(o.store);
  const sessions = 'store' in o ? (o.sessions ?? sqliteSessions(o.store)) : o.sessions;
  const now = o.now ?? Date.now;
  const idleMs = o.idleMs ?? 30 * 60_000;
  const absoluteMs = o.absoluteMs ?? 12 * 3_600_000;
  const lockout = o.lockout ?? { max: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
  const known = new WeakMap<FastifyRequest, RequestIdentity | null>();
  // Behind a proxy every request's socket is the proxy's: "this machine" cannot be told from the socket (set by register).
  let proxied = true;

  /** Where a sign-in came from, and through which web node. */
  const signIn = (req: FastifyRequest): { from: string | undefined; node?: string } => ({ from: req.socket.remoteAddress, ...(o.node ? { node: o.node() } : {}) });

  const cookie = (value: string, maxAgeS: number): string =>
    `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${o.secure ? '; Secure' : ''}`;

  /**
   * Finds who is asking (a session, an API token, or anonymous viewing) once
   * per request, before any route runs: the session store may be remote.
   */
  const resolve = async (req: FastifyRequest): Promise<RequestIdentity | undefined> => {
    const cached = known.get(req);
    if (cached !== undefined) return cached ?? undefined;
    let id: RequestIdentity | undefined;
    const sid = cookies(req).get(COOKIE);
    if (sid) {
      const s = await sessions.get(sid);
      const user = s ? await store.user(s.user) : undefined;
      const t = now();
      // A session from before its user's password or role changed (on any node, or by the CLI) is over.
      const over = s !== undefined && (!user || t - s.lastSeen > idleMs || t - s.createdAt > absoluteMs || s.createdAt < user.changedAt);
      if (s && user && !user.disabled && !over) {
        if (t - s.lastSeen > 30_000) await sessions.touch(sid, t);
        id = { user: user.name, role: user.role, via: 'session', csrf: s.csrf };
      } else if (over) {
        await sessions.end(sid);
      }
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!id && bearer) {
      const name = await store.tokenName(bearer);
      if (name) id = { user: `token:${name}`, role: 'viewer', via: 'token' };
    }
    if (!id && (o.anonymous === 'any' || (o.anonymous === 'local' && !proxied && isLoopback(req.socket.remoteAddress)))) {
      id = { user: 'anonymous', role: 'viewer', via: 'anonymous' };
    }
    known.set(req, id ?? null);
    return id;
  };

  /** Who is asking; resolved by the access gate for every route that is not public (elsewhere: nobody). */
  const identify = (req: FastifyRequest): RequestIdentity | undefined => known.get(req) ?? undefined;

  const need = (req: FastifyRequest, role: Role): RequestIdentity => {
    const id = identify(req);
    if (!id) throw new AuthError(401, 'PLANTA_AUTH_REQUIRED', 'sign in first');
    if (rank(id.role) < rank(role)) throw new AuthError(403, 'PLANTA_AUTH_FORBIDDEN', `${id.user} (${id.role}) may not do this: it needs ${role}`);
    return id;
  };

  const body = (req: FastifyRequest): Record<string, unknown> => {
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new AuthError(400, 'PLANTA_AUTH_BAD_BODY', 'expected a JSON object');
    return b as Record<string, unknown>;
  };

  const reauthenticate = async (req: FastifyRequest, password: unknown): Promise<void> => {
    const id = identify(req);
    if (!id || id.via !== 'session') throw new AuthError(401, 'PLANTA_AUTH_REQUIRED', 'sign in first');
    const user = await store.user(id.user);
    const ok = typeof password === 'string' && user !== undefined && (await verifyPassword(password, user.password));
    await store.audit(id.user, ok ? 'reauth' : 'reauth-failed', id.user, null, now());
    if (!ok) throw new AuthError(403, 'PLANTA_AUTH_REAUTH', 'password: this command needs your password again, and it was not right');
  };

  const register = (app: FastifyInstance, r: { proxied: boolean }): void => {
    proxied = r.proxied;
    app.addHook('onSend', async (req, reply) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
      if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    });

    app.post('/api/login', { config: { access: 'public' }, bodyLimit: BODY_LIMITS.signIn }, async (req, reply: FastifyReply) => {
      const b = body(req);
      const name = typeof b.user === 'string' ? b.user : '';
      const password = typeof b.password === 'string' ? b.password : '';
      const t = now();
      const keys = [`user:${name.toLowerCase()}`, `ip:${req.socket.remoteAddress ?? ''}`];
      const locked = Math.max(...(await Promise.all(keys.map((k) => sessions.lockedUntil(k)))).map((l) => l ?? 0));
      if (locked > t) {
        reply.header('retry-after', String(Math.ceil((locked - t) / 1000)));
        throw new AuthError(429, 'PLANTA_AUTH_LOCKED', `too many failed sign-ins: try again after ${new Date(locked).toISOString()}`);
      }
      const user = await store.user(name);
      // Verify against a dummy hash for unknown users: the answer takes as long either way.
      const ok = (await verifyPassword(password, user?.password ?? DUMMY_HASH)) && user !== undefined && !user.disabled;
      if (!ok) {
        for (const k of keys) await sessions.recordFailure(k, t, lockout.windowMs, lockout.max, lockout.lockMs);
        await store.audit(name || '?', 'login-failed', name, signIn(req), t);
        throw new AuthError(401, 'PLANTA_AUTH_FAILED', 'wrong user or password');
      }
      for (const k of keys) await sessions.clearFailures(k);
      const { id, csrf } = await sessions.create(user.name, t);
      await store.audit(user.name, 'login', user.name, signIn(req), t);
      reply.header('set-cookie', cookie(id, Math.floor(absoluteMs / 1000)));
      return { user: user.name, role: user.role, csrf };
    });

    app.post('/api/logout', { config: { access: 'user' } }, async (req, reply) => {
      const sid = cookies(req).get(COOKIE);
      const id = identify(req);
      if (sid) await sessions.end(sid);
      if (id) await store.audit(id.user, 'logout', id.user, null, now());
      reply.header('set-cookie', cookie('', 0));
      return { signedOut: true };
    });

    app.get('/api/session', { config: { access: 'public' } }, async (req, reply) => {
      const id = await resolve(req);
      // Whether anyone can sign in yet, so a fresh installation's sign-in page can say how to create the first admin.
      // (A hint for the sign-in page only: with the users' database out of reach, say there are users.)
      if (!id) return reply.status(401).send({ error: { code: 'PLANTA_AUTH_REQUIRED', message: 'sign in first' }, usersExist: (await store.countUsers().catch(() => 1)) > 0 });
      // reauth: critical commands ask for the password again.
      return { user: id.user, role: id.role, via: id.via, ...(id.csrf ? { csrf: id.csrf } : {}), usersExist: id.via === 'session' || (await store.countUsers().catch(() => 1)) > 0, reauth: true };
    });

    app.get('/api/users', { config: { access: 'admin' } }, async (req) => {
      need(req, 'admin');
      return await store.users();
    });

    app.post('/api/users', { config: { access: 'admin' } }, async (req) => {
      const admin = need(req, 'admin');
      const b = body(req);
      const name = String(b.name ?? '');
      const role = String(b.role ?? '') as Role;
      if (!NAME.test(name)) throw new AuthError(400, 'PLANTA_AUTH_BAD_NAME', 'name: 2..32 letters, digits, ".", "_" or "-", starting with a letter');
      if (!ROLES.includes(role)) throw new AuthError(400, 'PLANTA_AUTH_BAD_ROLE', `role: one of ${ROLES.join(', ')}`);
      if (await store.user(name)) throw new AuthError(409, 'PLANTA_AUTH_USER_EXISTS', `user ${name} exists`);
      const password = String(b.password ?? '');
      try {
        checkStrength(password, name);
      } catch (err) {
        if (err instanceof WeakPasswordError) throw new AuthError(400, err.code, `password: ${err.message}`);
        throw err;
      }
      await store.addUser(name, role, await hashPassword(password), now());
      await store.audit(admin.user, 'user-add', name, { role }, now());
      return { name, role };
    });

    app.post<{ Params: { name: string } }>('/api/users/:name', { config: { access: 'admin' } }, async (req) => {
      const admin = need(req, 'admin');
      const b = body(req);
      const name = req.params.name;
      if (!(await store.user(name))) throw new AuthError(404, 'PLANTA_AUTH_NO_USER', `no user ${name}`);
      if (b.role !== undefined) {
        if (!ROLES.includes(b.role as Role)) throw new AuthError(400, 'PLANTA_AUTH_BAD_ROLE', `role: one of ${ROLES.join(', ')}`);
        await store.setRole(name, b.role as Role, now());
        await sessions.endAllOf(name);
        await store.audit(admin.user, 'user-role', name, { role: b.role }, now());
      }
      if (typeof b.disabled === 'boolean') {
        await store.setDisabled(name, b.disabled);
        if (b.disabled) await sessions.endAllOf(name);
        await store.audit(admin.user, b.disabled ? 'user-disable' : 'user-enable', name, null, now());
      }
      if (typeof b.password === 'string') {
        try {
          checkStrength(b.password, name);
        } catch (err) {
          if (err instanceof WeakPasswordError) throw new AuthError(400, err.code, `password: ${err.message}`);
          throw err;
        }
        await store.setPassword(name, await hashPassword(b.password), now());
        await sessions.endAllOf(name);
        await store.audit(admin.user, 'user-password', name, null, now());
      }
      return { name, ...(await store.users()).find((u) => u.name === name) };
    });

    app.get('/api/tokens', { config: { access: 'admin' } }, async (req) => {
      need(req, 'admin');
      return await store.tokens();
    });

    app.post('/api/tokens', { config: { access: 'admin' } }, async (req) => {
      const admin = need(req, 'admin');
      const name = String(body(req).name ?? '');
      if (!NAME.test(name)) throw new AuthError(400, 'PLANTA_AUTH_BAD_NAME', 'name: 2..32 letters, digits, ".", "_" or "-", starting with a letter');
      if ((await store.tokens()).some((t) => t.name === name)) throw new AuthError(409, 'PLANTA_AUTH_TOKEN_EXISTS', `token ${name} exists`);
      const token = await store.addToken(name, admin.user, now());
      await store.audit(admin.user, 'token-add', name, null, now());
      return { name, token, readOnly: true, note: 'shown once: keep it; send it as "Authorization: Bearer <token>"' };
    });

    app.delete<{ Params: { name: string } }>('/api/tokens/:name', { config: { access: 'admin' } }, async (req) => {
      const admin = need(req, 'admin');
      const revoked = await store.revokeToken(req.params.name, now());
      if (!revoked) throw new AuthError(404, 'PLANTA_AUTH_NO_TOKEN', `no active token ${req.params.name}`);
      await store.audit(admin.user, 'token-revoke', req.params.name, null, now());
      return { revoked };
    });

    app.get('/api/audit', { config: { access: 'engineer' } }, async (req) => {
      need(req, 'engineer');
      const param = (field: string): string | undefined => queryParam(req.query, field, 'PLANTA_AUDIT_BAD_QUERY');
      const num = (v: string | undefined): number | undefined => (v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined);
      const query: AuditQuery = {};
      const before = num(param('before'));
      const limit = num(param('limit'));
      const search = param('q');
      if (before !== undefined) query.before = before;
      if (limit !== undefined) query.limit = limit;
      if (search) query.search = boundedText(search, 'q', AUDIT_SEARCH_MAX);
      return await store.auditEntries(query);
    });
  };

  return { identify, resolve, reauthenticate, register };
}
