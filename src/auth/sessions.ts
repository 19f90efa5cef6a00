/**
 * Where sessions and login lockouts live: the web node's SQLite file (one
 * web process), or Redis (several web nodes behind a load balancer: a session
 * created on one is accepted by every other, and a lockout counts the
 * failures made on all of them). Users, roles and the audit trail stay in
 * the SQLite file; a session names its user, whose role and state are read
 * there on each request.
 */
import type { createClient } from 'redis';
import { LINK_OPTIONS } from '../bus/redis.js';
import { type AuthStore, digest, newSecret } from './store.js';

export interface StoredSession {
  user: string;
  csrf: string;
  createdAt: number;
  lastSeen: number;
}

export interface SessionStore {
  /** Returns the session id (for the cookie) and its CSRF token; only a digest of the id is kept. */
  create(user: string, now: number): Promise<{ id: string; csrf: string }>;
  get(id: string): Promise<StoredSession | undefined>;
  touch(id: string, now: number): Promise<void>;
  end(id: string): Promise<void>;
  /** Ends every session of a user (role or password changed, user disabled). */
  endAllOf(user: string): Promise<void>;
  lockedUntil(key: string): Promise<number | undefined>;
  /** Counts a failure within `windowMs`; after `max` of them the key is locked for `lockMs`. Returns the lock's end, if any. */
  recordFailure(key: string, now: number, windowMs: number, max: number, lockMs: number): Promise<number | undefined>;
  clearFailures(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Sessions in the web node's own SQLite file (src/auth/store.ts). */
export function sqliteSessions(store: AuthStore): SessionStore {
  return {
    create: async (user, now) => store.createSession(user, now),
    get: async (id) => store.session(id),
    touch: async (id, now) => store.touchSession(id, now),
    end: async (id) => store.endSession(id),
    endAllOf: async (user) => store.endSessionsOf(user),
    lockedUntil: async (key) => store.lockedUntil(key),
    recordFailure: async (key, now, windowMs, max, lockMs) => store.recordFailure(key, now, windowMs, max, lockMs),
    clearFailures: async (key) => store.clearFailures(key),
    close: async () => undefined,
  };
}

const FAILURE = `local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
local first = tonumber(redis.call('HGET', KEYS[1], 'first') or '0')
local now, window, max, lock = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if count == 0 or now - first > window then count = 1; first = now else count = count + 1 end
local locked = ''
if count >= max then locked = tostring(now + lock) end
redis.call('HSET', KEYS[1], 'count', count, 'first', first, 'locked', locked)
redis.call('PEXPIRE', KEYS[1], window + lock)
return locked`;

/**
 * Sessions and lockouts in Redis, under the plant's prefix P:
 *   P session:<sha256 of the id>   hash user, csrf, createdAt, lastSeen; expires at the absolute timeout
 *   P user-sessions:<user>         set of that user's session digests (to end them all)
 *   P login-failures:<key>         hash count, first, locked; expires after the window and the lock
 */
// The client library is loaded when sessions first go to Redis (≈ 24 MB a process on the in-memory bus does without).
const newClient = (create: typeof createClient, url: string, name: string) => create({ url, name, ...LINK_OPTIONS });

export class RedisSessions implements SessionStore {
  private constructor(
    private readonly c: ReturnType<typeof newClient>,
    private readonly prefix: string,
    private readonly absoluteMs: number,
  ) {}

  static async connect(o: { url: string; prefix: string; absoluteMs: number; name?: string }): Promise<RedisSessions> {
    const c = newClient((await import('redis')).createClient, o.url, `${o.prefix}${o.name ?? 'web'}:sessions`.replace(/\s/g, '_'));
    c.on('error', () => undefined);
    await c.connect();
    return new RedisSessions(c, o.prefix, o.absoluteMs);
  }

  private sessionKey(id: string): string {
    return `${this.prefix}session:${digest(id)}`;
  }

  private userKey(user: string): string {
    return `${this.prefix}user-sessions:${user}`;
  }

  async create(user: string, now: number): Promise<{ id: string; csrf: string }> {
    const id = newSecret();
    const csrf = newSecret();
    const key = this.sessionKey(id);
    await this.c
      .multi()
      .hSet(key, { user, csrf, createdAt: String(now), lastSeen: String(now) })
      .pExpire(key, this.absoluteMs)
      .sAdd(this.userKey(user), digest(id))
      .pExpire(this.userKey(user), this.absoluteMs)
      .exec();
    return { id, csrf };
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const h = await this.c.hGetAll(this.sessionKey(id));
    if (!h.user || !h.csrf) return undefined;
    return { user: h.user, csrf: h.csrf, createdAt: Number(h.createdAt), lastSeen: Number(h.lastSeen) };
  }

  async touch(id: string, now: number): Promise<void> {
    // Only an existing session: a touch racing with a sign-out must not bring it back.
    await this.c.sendCommand(['EVAL', "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastSeen', ARGV[1]) end return 0", '1', this.sessionKey(id), String(now)]);
  }

  async end(id: string): Promise<void> {
    const key = this.sessionKey(id);
    const user = await this.c.hGet(key, 'user');
    const m = this.c.multi().del(key);
    if (user) m.sRem(this.userKey(user), digest(id));
    await m.exec();
  }

  async endAllOf(user: string): Promise<void> {
    const digests = await this.c.sMembers(this.userKey(user));
    await this.c.del([...digests.map((d) => `${this.prefix}session:${d}`), this.userKey(user)]);
  }

  async lockedUntil(key: string): Promise<number | undefined> {
    const v = await this.c.hGet(`${this.prefix}login-failures:${key}`, 'locked');
    return v ? Number(v) : undefined;
  }

  async recordFailure(key: string, now: number, windowMs: number, max: number, lockMs: number): Promise<number | undefined> {
    const v = String(await this.c.sendCommand(['EVAL', FAILURE, '1', `${this.prefix}login-failures:${key}`, String(now), String(windowMs), String(max), String(lockMs)]));
    return v ? Number(v) : undefined;
  }

  async clearFailures(key: string): Promise<void> {
    await this.c.del(`${this.prefix}login-failures:${key}`);
  }

  async close(): Promise<void> {
    if (this.c.isReady) await this.c.close().catch(() => this.c.destroy());
    else if (this.c.isOpen) this.c.destroy();
  }
}
