/**
 * How many password attempts an account and a client address may make:
 * exponential backoff, counted before the password is hashed.
 *
 * Each attempt is reserved — counted as a failure — atomically before its
 * password is checked (an SQLite transaction, a Lua script in Redis), so
 * parallel guesses cannot all pass the check before any is counted; a right
 * password then forgets the account's failures and hands the address's
 * reserved attempt back (both are handed back when the hasher is too busy
 * to check the password at all). A key (an account, or an address) may fail `max`
 * times freely; after its n-th failure (n ≥ max) its next attempt waits
 * min(maxLockMs, lockMs · 2^(n−max)) — a wait, never a lock held for ever;
 * its count is forgotten `windowMs` after its wait ended with no new failure.
 * An attempt is refused (429) without being counted while either of its
 * keys waits: an address held back adds nothing to the account it tries.
 */
import { LINK_OPTIONS } from '../bus/redis/connection.js';
import { RedisLink } from '../bus/redis/link.js';

export interface BackoffRule {
  /** Failures that cost nothing. */
  max: number;
  /** The wait after the max-th failure; each further failure doubles it. */
  lockMs: number;
  /** The longest wait. */
  maxLockMs: number;
  /** The failures are forgotten this long after the wait ended without another. */
  windowMs: number;
}

export interface LockoutRules {
  account: BackoffRule;
  address: BackoffRule;
}

/**
 * One address can add at most address.max failures to an account before it
 * is held back for address.lockMs; with account.maxLockMs < address.lockMs,
 * another address waits at most account.maxLockMs after the attacker's last
 * failure, and the attacker cannot fail again before that.
 */
export const DEFAULT_LOCKOUT: LockoutRules = {
  account: { max: 5, lockMs: 2000, maxLockMs: 5 * 60_000, windowMs: 15 * 60_000 },
  address: { max: 10, lockMs: 10 * 60_000, maxLockMs: 2 * 3_600_000, windowMs: 3_600_000 },
};

/** The wait after a key's `count`-th failure. */
export function backoffMs(rule: BackoffRule, count: number): number {
  return count < rule.max ? 0 : Math.min(rule.maxLockMs, rule.lockMs * 2 ** (count - rule.max));
}

export interface BudgetKey {
  /** `account:<lower-case name>` or `address:<client address>`. */
  key: string;
  rule: BackoffRule;
}

export type Reservation = { ok: true } | { ok: false; key: string; until: number };

export interface AttemptBudget {
  /** Counts an attempt on every key, or on none when one of them still waits (then: which, and until when). */
  reserve(keys: BudgetKey[], now: number): Promise<Reservation>;
  /** Hands back the attempt reserved on each key (its password was not checked, or was right). */
  release(keys: BudgetKey[]): Promise<void>;
  /** Forgets a key's failures (a right password for the account). */
  forget(key: BudgetKey): Promise<void>;
  /** Removes what is forgotten anyway (the SQLite table; Redis keys expire by themselves). */
  prune(now: number): Promise<void>;
  close(): Promise<void>;
}

/** What the web node's SQLite file (src/auth/store.ts) does with attempts. */
interface AttemptTable {
  reserveAttempt(keys: BudgetKey[], now: number): Reservation;
  releaseAttempts(keys: BudgetKey[]): void;
  forgetAttempts(key: BudgetKey): void;
  pruneAttempts(now: number): void;
}

/** The budget in the web node's SQLite file, shared by the web processes using that file. */
export function sqliteAttempts(store: AttemptTable): AttemptBudget {
  return {
    reserve: async (keys, now) => store.reserveAttempt(keys, now),
    release: async (keys) => store.releaseAttempts(keys),
    forget: async (key) => store.forgetAttempts(key),
    prune: async (now) => store.pruneAttempts(now),
    close: async () => undefined,
  };
}

// KEYS: the budgets; ARGV: now, then max, lockMs, maxLockMs, windowMs of each key. The same rule as backoffMs.
const RESERVE = `local now = tonumber(ARGV[1])
local counts = {}
local function wait(n, max, lock, cap) if n < max then return 0 end return math.min(cap, lock * 2 ^ (n - max)) end
for i, key in ipairs(KEYS) do
  local a = 1 + (i - 1) * 4
  local max, lock, cap, window = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local count = tonumber(redis.call('HGET', key, 'count') or '0')
  local untilAt = tonumber(redis.call('HGET', key, 'last') or '0') + wait(count, max, lock, cap)
  if now > untilAt + window then count = 0 elseif now < untilAt then return {i, tostring(untilAt)} end
  counts[i] = count + 1
end
for i, key in ipairs(KEYS) do
  local a = 1 + (i - 1) * 4
  redis.call('HSET', key, 'count', counts[i], 'last', ARGV[1])
  redis.call('PEXPIRE', key, math.floor(wait(counts[i], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])) + tonumber(ARGV[a + 4])) + 1)
end
return {0, ''}`;

const RELEASE = `for _, key in ipairs(KEYS) do
  if tonumber(redis.call('HGET', key, 'count') or '0') > 0 then redis.call('HINCRBY', key, 'count', -1) end
end
return 0`;

// Without the offline queue, an attempt while Redis is away fails at once (503) instead of waiting for it.
const newClient = (url: string, name: string): Promise<RedisLink> => RedisLink.open(url, { name, ...LINK_OPTIONS, disableOfflineQueue: true });

/**
 * The budget in Redis, shared by the web nodes of a plant whose users are
 * on PostgreSQL, under the plant's prefix P:
 *   P login-attempts:<key>   hash count, last; expires once forgotten
 */
export class RedisAttempts implements AttemptBudget {
  private constructor(
    private readonly c: RedisLink,
    private readonly prefix: string,
  ) {}

  static async connect(o: { url: string; prefix: string; name?: string }): Promise<RedisAttempts> {
    // The client library is loaded when attempts first go to Redis (≈ 24 MB a process on the in-memory bus does without).
    const c = await newClient(o.url, `${o.prefix}${o.name ?? 'web'}:attempts`.replace(/\s/g, '_'));
    c.on('error', () => undefined);
    await c.connect();
    return new RedisAttempts(c, o.prefix);
  }

  private k(key: string): string {
    return `${this.prefix}login-attempts:${key}`;
  }

  async reserve(keys: BudgetKey[], now: number): Promise<Reservation> {
    const args = keys.flatMap(({ rule }) => [rule.max, rule.lockMs, rule.maxLockMs, rule.windowMs].map(String));
    const [i, until] = (await this.c.sendCommand(['EVAL', RESERVE, String(keys.length), ...keys.map((b) => this.k(b.key)), String(now), ...args])) as [number, string];
    return i === 0 ? { ok: true } : { ok: false, key: keys[i - 1]!.key, until: Number(until) };
  }

  async release(keys: BudgetKey[]): Promise<void> {
    await this.c.sendCommand(['EVAL', RELEASE, String(keys.length), ...keys.map((b) => this.k(b.key))]);
  }

  async forget(key: BudgetKey): Promise<void> {
    await this.c.del(this.k(key.key));
  }

  async prune(): Promise<void> {}

  async close(): Promise<void> {
    if (this.c.isReady) await this.c.close().catch(() => this.c.destroy());
    else if (this.c.isOpen) this.c.destroy();
  }
}
