/**
 * Who is asking, and may they: sessions in HttpOnly SameSite=Strict cookies
 * (idle and absolute timeouts), a CSRF token on every state-changing request,
 * read-only API tokens, viewer access without login only where configured
 * (never decided from a request header), sign-in attempts limited by
 * exponential backoff per account and per address (src/auth/attempts.ts)
 * with password hashing bounded, security headers on every response, and
 * the audit trail.
 *
 *   POST /api/login {user, password}      GET /api/session      POST /api/logout
 *   GET /api/users  POST /api/users  POST /api/users/:name      (admin)
 *   GET /api/tokens POST /api/tokens DELETE /api/tokens/:name   (admin; tokens are read-only)
 *   GET /api/audit?before&limit&q                               (engineer)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AttemptBudget, type BackoffRule, type BudgetKey, DEFAULT_LOCKOUT, type LockoutRules, sqliteAttempts } from '../auth/attempts.js';
import { DUMMY_HASH, HasherBusyError, type HashTicket, PasswordHasher, WeakPasswordError, checkStrength, hashPassword, verifyPassword } from '../auth/passwords.js';
import { type UserDirectory, sqliteDirectory } from '../auth/directory.js';
import type { AuditEntry, AuditQuery, AuthStore, UserRecord } from '../auth/store.js';
import type { Identity } from '../commands/prepare.js';
import { ROLES, type Role } from '../config/schema.js';
import { PlantaError } from '../errors.js';
import { boundedText, queryParam } from './fields.js';
import { BODY_LIMITS } from './limits.js';

export type Anonymous = 'none' | 'local' | 'any';

/** Who may view without signing in, in words (the start banner): behind a trusted proxy, "local" lets nobody in. */
export function anonymousViewing(security: { anonymous: Anonymous; trustProxy: readonly string[] }): string {
  if (security.anonymous === 'any') return 'viewing without sign-in from anywhere';
  if (security.anonymous === 'none') return 'everyone must sign in';
  return security.trustProxy.length > 0
    ? 'everyone must sign in (anonymous: local lets nobody in behind the proxies of security.trustProxy)'
    : 'viewing without sign-in from this machine only';
}

/**
 * Where users, their sessions, API tokens and the audit trail are
 * (`directory`), and where sign-in attempts are counted (`attempts`): all in
 * a web node's SQLite `store` (its attempts there unless given), or a
 * directory shared by web nodes (PostgreSQL) with attempts in Redis.
 */
export type AuthStores = { store: AuthStore; attempts?: AttemptBudget } | { directory: UserDirectory; attempts: AttemptBudget };

export type AuthOptions = AuthStores & {
  /** Viewer access without login: nobody, requests from this machine, or anyone. */
  anonymous: Anonymous;
  idleMs?: number;
  absoluteMs?: number;
  /** Mark cookies Secure (served over TLS). */
  secure?: boolean;
  /** The account's backoff (its fields, or some of them; DEFAULT_LOCKOUT otherwise), and the client address's under `address`. */
  lockout?: Partial<BackoffRule> & { address?: Partial<BackoffRule> };
  /** Bounds password hashing (default: 2 at once, 8 waiting). */
  hasher?: PasswordHasher;
  now?: () => number;
  /** This web node's name (host:port), recorded with sign-ins: web nodes may share one audit trail. */
  node?: () => string;
};

export type Via = 'session' | 'token' | 'anonymous';
export interface RequestIdentity extends Identity {
  via: Via;
  csrf?: string;
}

const COOKIE = 'planta_session';
const rank = (r: Role): number => ROLES.indexOf(r);
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{1,31}$/;
/** Longest search of the audit trail. */
const AUDIT_SEARCH_MAX = 200;
/** What a sign-in may name: 1..64 printable characters (no control, format or unassigned ones). */
const LOGIN_NAME = /^[^\p{C}]{1,64}$/u;
const MAX_PASSWORD_BYTES = 1024;
/** How often sign-ins also delete expired sessions and forgotten attempts (the web node prunes every 10 minutes besides). */
const PRUNE_EVERY_MS = 60_000;

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
  /**
   * Whether what a request was let in with still holds — its session not
   * ended (signed out, idle, past its absolute timeout, its user disabled or
   * changed), its API token not revoked — without counting as use. A live
   * stream asks every few seconds and ends when it no longer does.
   */
  stillValid(req: FastifyRequest): Promise<boolean>;
  /** Checks the password of the request's user again (re-authentication for critical commands), within the same attempts' budget as a sign-in. */
  reauthenticate(req: FastifyRequest, password: unknown): Promise<void>;
  /** Adds the security headers and the routes; `proxied`: the server believes forwarded headers from a proxy (security.trustProxy). */
  register(app: FastifyInstance, o: { proxied: boolean }): void;
  /** Deletes expired sessions and forgotten sign-in attempts. */
  prune(): Promise<void>;
  /** The audit trail, newest first (for replay, to those who may read it: GET /api/audit's rule). */
  auditTrail?(q: AuditQuery): Promise<AuditEntry[]>;
}

export function createAuth(o: AuthOptions): Auth {
  const store = 'directory' in o ? o.directory : sqliteDirectory(o.store);
  const sessions = store.sessions;
  const attempts = 'store' in o ? (o.attempts ?? sqliteAttempts(o.store)) : o.attempts;
  const now = o.now ?? Date.now;
  const idleMs = o.idleMs ?? 30 * 60_000;
  const absoluteMs = o.absoluteMs ?? 12 * 3_600_000;
  const { address: addressRule, ...accountRule } = o.lockout ?? {};
  const rules: LockoutRules = { account: { ...DEFAULT_LOCKOUT.account, ...accountRule }, address: { ...DEFAULT_LOCKOUT.address, ...addressRule } };
  const hasher = o.hasher ?? new PasswordHasher();
  const known = new WeakMap<FastifyRequest, RequestIdentity | null>();
  // Behind a proxy every request's socket is the proxy's: "this machine" cannot be told from the socket (set by register).
  let proxied = true;

  /** Where a sign-in came from, and through which web node. */
  const signIn = (req: FastifyRequest): { from: string; node?: string } => ({ from: req.ip, ...(o.node ? { node: o.node() } : {}) });

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

  const stillValid = async (req: FastifyRequest): Promise<boolean> => {
    const id = known.get(req);
    if (!id) return false;
    // Anonymous viewing is the configuration's, fixed for the process.
    if (id.via === 'anonymous') return true;
    try {
      if (id.via === 'token') {
        const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
        return bearer !== undefined && (await store.tokenName(bearer)) !== undefined;
      }
      const sid = cookies(req).get(COOKIE);
      const s = sid ? await sessions.get(sid) : undefined;
      const user = s ? await store.user(s.user) : undefined;
      const t = now();
      return !!s && !!user && !user.disabled && user.role === id.role && t - s.lastSeen <= idleMs && t - s.createdAt <= absoluteMs && s.createdAt >= user.changedAt;
    } catch {
      // The users' store out of reach says nothing about the session: the stream goes on.
      return true;
    }
  };

  /** Who is asking; resolved by the access gate for every route that is not public (elsewhere: nobody). */
  const identify = (req: FastifyRequest): RequestIdentity | undefined => known.get(req) ?? undefined;

  const need = (req: FastifyRequest, role: Role): RequestIdentity => {
    const id = identify(req);
    if (!id) throw new PlantaError('PLANTA_AUTH_REQUIRED', 'sign in first');
    if (rank(id.role) < rank(role)) throw new PlantaError('PLANTA_AUTH_FORBIDDEN', `${id.user} (${id.role}) may not do this: it needs ${role}`);
    return id;
  };

  /** The request's JSON object; a field the route does not take is refused by name (a misspelt `disable` must not pass as done). */
  const body = (req: FastifyRequest, fields: readonly string[]): Record<string, unknown> => {
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new PlantaError('PLANTA_AUTH_BAD_BODY', 'expected a JSON object');
    const unknown = Object.keys(b).filter((k) => !fields.includes(k));
    if (unknown.length > 0) {
      throw new PlantaError('PLANTA_AUTH_BAD_BODY', `unknown field ${JSON.stringify(unknown[0]!.slice(0, 32))}; this request takes ${fields.join(', ')}`);
    }
    return b as Record<string, unknown>;
  };

  /** A place to hash a password, or 429 PLANTA_AUTH_BUSY at once. */
  const admit = (reply: FastifyReply | undefined): HashTicket => {
    try {
      return hasher.admit();
    } catch (err) {
      if (!(err instanceof HasherBusyError)) throw err;
      reply?.header('retry-after', String(err.retryAfterS));
      throw err;
    }
  };

  const boundedPassword = (password: unknown): string => {
    if (typeof password !== 'string' || Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new PlantaError('PLANTA_AUTH_BAD_LOGIN', `password: a string of at most ${MAX_PASSWORD_BYTES} bytes`, { field: 'password' });
    return password;
  };

  /**
   * Whether `password` is the user's, within the budgets of the account and
   * of the client's address: the attempt is counted before the password is
   * hashed (refused with 429 while either waits), and the hash waits its
   * turn in the bounded hasher (refused with 429 at once when it is full,
   * the attempt handed back). A right password forgets the account's
   * failures. `name` need not exist: the answer takes as long either way.
   */
  const checkPassword = async (req: FastifyRequest, reply: FastifyReply | undefined, name: string, password: string): Promise<UserRecord | undefined> => {
    // A flood is refused before it costs a lookup or a write.
    if (hasher.full()) admit(reply);
    const user = await store.user(name);
    const account: BudgetKey = { key: `account:${name.toLowerCase()}`, rule: rules.account };
    const address: BudgetKey = { key: `address:${req.ip}`, rule: rules.address };
    const t = now();
    const reserved = await attempts.reserve([address, account], t);
    if (!reserved.ok) {
      reply?.header('retry-after', String(Math.max(1, Math.ceil((reserved.until - t) / 1000))));
      const from = reserved.key === address.key ? ' from this address' : '';
      throw new PlantaError('PLANTA_AUTH_LOCKED', `too many failed sign-ins${from}: try again after ${new Date(reserved.until).toISOString()}`);
    }
    let ticket: HashTicket;
    try {
      ticket = admit(reply);
    } catch (err) {
      await attempts.release([address, account]);
      throw err;
    }
    // Verify against a dummy hash for unknown users: the answer takes as long either way.
    const ok = (await ticket.run(() => verifyPassword(password, user?.password ?? DUMMY_HASH))) && user !== undefined && !user.disabled;
    if (!ok) return undefined;
    await attempts.forget(account);
    await attempts.release([address]);
    return user;
  };

  const reauthenticate = async (req: FastifyRequest, password: unknown): Promise<void> => {
    const id = identify(req);
    if (!id || id.via !== 'session') throw new PlantaError('PLANTA_AUTH_REQUIRED', 'sign in first');
    const refused = new PlantaError('PLANTA_AUTH_REAUTH', 'password: this command needs your password again, and it was not right');
    // No password given: nothing was guessed, nothing counted.
    if (typeof password !== 'string' || password === '') throw refused;
    const ok = (await checkPassword(req, undefined, id.user, boundedPassword(password))) !== undefined;
    await store.audit(id.user, ok ? 'reauth' : 'reauth-failed', id.user, null, now());
    if (!ok) throw refused;
  };

  let prunedAt = 0;
  const prune = async (): Promise<void> => {
    const t = now();
    prunedAt = t;
    await sessions.prune(t - idleMs, t - absoluteMs);
    await attempts.prune(t);
  };

  /** An admin's new password for `name`, hashed within the hasher's bounds. */
  const newPasswordHash = async (reply: FastifyReply, name: string, password: string): Promise<string> => {
    try {
      checkStrength(boundedPassword(password), name);
    } catch (err) {
      if (err instanceof WeakPasswordError) throw new PlantaError(err.code, `password: ${err.message}`, { field: 'password' });
      throw err;
    }
    return admit(reply).run(() => hashPassword(password));
  };

  const register = (app: FastifyInstance, r: { proxied: boolean }): void => {
    proxied = r.proxied;
    app.addHook('onSend', async (req, reply) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
      if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    });

    app.post('/api/login', { config: { access: 'public' }, bodyLimit: BODY_LIMITS.signIn }, async (req, reply: FastifyReply) => {
      const b = body(req, ['user', 'password']);
      // Bounded before anything else: an overlong or unprintable name is never hashed nor written to the trail.
      if (typeof b.user !== 'string' || !LOGIN_NAME.test(b.user)) throw new PlantaError('PLANTA_AUTH_BAD_LOGIN', 'user: 1 to 64 printable characters', { field: 'user' });
      const name = b.user;
      const user = await checkPassword(req, reply, name, boundedPassword(b.password ?? ''));
      const t = now();
      if (!user) {
        await store.audit(name, 'login-failed', name, signIn(req), t);
        throw new PlantaError('PLANTA_AUTH_FAILED', 'wrong user or password');
      }
      const { id, csrf } = await sessions.create(user.name, t);
      await store.audit(user.name, 'login', user.name, signIn(req), t);
      if (t - prunedAt >= PRUNE_EVERY_MS) await prune().catch(() => undefined);
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

    app.post('/api/users', { config: { access: 'admin' } }, async (req, reply) => {
      const admin = need(req, 'admin');
      const b = body(req, ['name', 'role', 'password']);
      const name = String(b.name ?? '');
      const role = String(b.role ?? '') as Role;
      if (!NAME.test(name)) throw new PlantaError('PLANTA_AUTH_BAD_NAME', 'name: 2..32 letters, digits, ".", "_" or "-", starting with a letter');
      if (!ROLES.includes(role)) throw new PlantaError('PLANTA_AUTH_BAD_ROLE', `role: one of ${ROLES.join(', ')}`);
      if (await store.user(name)) throw new PlantaError('PLANTA_AUTH_USER_EXISTS', `user ${name} exists`);
      await store.addUser(name, role, await newPasswordHash(reply, name, String(b.password ?? '')), now());
      await store.audit(admin.user, 'user-add', name, { role }, now());
      return { name, role };
    });

    app.post<{ Params: { name: string } }>('/api/users/:name', { config: { access: 'admin' } }, async (req, reply) => {
      const admin = need(req, 'admin');
      const b = body(req, ['role', 'disabled', 'password']);
      const name = req.params.name;
      if (!NAME.test(name) || !(await store.user(name))) throw new PlantaError('PLANTA_AUTH_NO_USER', `no user ${NAME.test(name) ? name : 'of that name'}`);
      if (b.disabled !== undefined && typeof b.disabled !== 'boolean') throw new PlantaError('PLANTA_AUTH_BAD_BODY', 'disabled: true or false');
      if (b.password !== undefined && typeof b.password !== 'string') throw new PlantaError('PLANTA_AUTH_BAD_BODY', 'password: a string');
      if (b.role !== undefined) {
        if (!ROLES.includes(b.role as Role)) throw new PlantaError('PLANTA_AUTH_BAD_ROLE', `role: one of ${ROLES.join(', ')}`);
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
        await store.setPassword(name, await newPasswordHash(reply, name, b.password), now());
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
      const name = String(body(req, ['name']).name ?? '');
      if (!NAME.test(name)) throw new PlantaError('PLANTA_AUTH_BAD_NAME', 'name: 2..32 letters, digits, ".", "_" or "-", starting with a letter');
      if ((await store.tokens()).some((t) => t.name === name)) throw new PlantaError('PLANTA_AUTH_TOKEN_EXISTS', `token ${name} exists`);
      const token = await store.addToken(name, admin.user, now());
      await store.audit(admin.user, 'token-add', name, null, now());
      return { name, token, readOnly: true, note: 'shown once: keep it; send it as "Authorization: Bearer <token>"' };
    });

    app.delete<{ Params: { name: string } }>('/api/tokens/:name', { config: { access: 'admin' } }, async (req) => {
      const admin = need(req, 'admin');
      const revoked = NAME.test(req.params.name) && (await store.revokeToken(req.params.name, now()));
      if (!revoked) throw new PlantaError('PLANTA_AUTH_NO_TOKEN', `no active token ${NAME.test(req.params.name) ? req.params.name : 'of that name'}`);
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

  return { identify, resolve, stillValid, reauthenticate, register, prune, auditTrail: async (q) => store.auditEntries(q) };
}
