/**
 * Users, read-only API tokens and the audit trail in PostgreSQL (the `pg`
 * client), shared by every web node of a plant: a user added on one node
 * signs in on all of them, a token revoked on one is refused by all, and the
 * trail is one hash chain that every node appends to.
 *
 * One schema per installation (default planta_auth, created if missing):
 *   users (name, role, password, disabled, created_at, changed_at)
 *   sessions (id = sha256 of the session id, user_name, csrf, created_at, last_seen)
 *   api_tokens (id = sha256 of the token, name, created_by, created_at, revoked_at)
 *   audit (seq, ts, actor, action, target, detail, prev_hash, hash, ref UNIQUE, key_id): append-only (triggers)
 *   meta (key, value): the directory's id, naming the web nodes' consumer group
 *     of the trail; audit_key, where the trail's keyed entries begin (src/auth/audit.ts)
 * An append takes a transaction-level advisory lock, reads the last entry and
 * chains to it, so nodes appending at once still make one chain. The trail's
 * key is a file on each web node (the same key on all of them).
 *
 * A user, token or session looked up is kept for 2 s, and its last known row
 * is answered while PostgreSQL is unreachable: signed-in operators keep
 * working through an outage (anything that would change a user needs
 * PostgreSQL). Anything else fails with 503 PLANTA_AUTH_STORE_UNAVAILABLE.
 */
import { join } from 'node:path';
import type pg from 'pg';
import type { Role } from '../config/schema.js';
import type { Logger } from '../util/log.js';
import { inTransaction, openPgPool, type PgPlace, type PgPool } from '../util/pg.js';
import { redactUrl } from '../util/url.js';
import {
  type AuditCheck,
  type AuditEntry,
  type AuditHead,
  AuditKeyError,
  type AuditKey,
  type AuditQuery,
  type AuditRow,
  ChainCheck,
  auditEntry,
  auditFilter,
  boundedAuditFields,
  checkTrailKey,
  createAuditKey,
  discardAuditKey,
  newKeyMarker,
  nextAuditEntry,
  parseKeyMarker,
  readAuditKey,
} from './audit.js';
import { DirectoryError, type UserDirectory } from './directory.js';
import type { SessionStore, StoredSession } from './sessions.js';
import { type TokenInfo, type User, type UserRecord, digest, newSecret } from './store.js';

export const DEFAULT_AUTH_SCHEMA = 'planta_auth';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const FRESH_MS = 2000;
/** Rows kept per cache (users, tokens, sessions): names and cookies come from requests, so the caches are bounded. */
const CACHE_MAX = 10_000;

/** The key file of a PostgreSQL directory on a web node: PLANTA_AUDIT_KEY_FILE, else data/planta-audit-<schema>.key. */
export const pgAuditKeyFile = (schema: string, env: NodeJS.ProcessEnv = process.env): string => env.PLANTA_AUDIT_KEY_FILE || join('data', `planta-audit-${schema}.key`);

/** A postgres:// URL with an optional `schema=` parameter (which is Planta's, not the driver's). */
export function directoryUrl(text: string): { url: string; schema: string } {
  // Several hosts (h1:5432,h2:5432: a primary and its standbys, src/util/pg.ts) are not a URL to `URL`: the first host stands for them here.
  const hosts = /^(postgres(?:ql)?:\/\/(?:[^@/]*@)?)([^/?#]*,[^/?#]*)(.*)$/.exec(text);
  let u: URL;
  try {
    u = new URL(hosts ? `${hosts[1]}${hosts[2]!.split(',')[0]}${hosts[3]}` : text);
  } catch {
    throw new DirectoryError('PLANTA_AUTH_STORE_BAD_URL', `"${text}": expected postgres://USER@HOST:PORT[,HOST:PORT…]/DATABASE[?schema=NAME]`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new DirectoryError('PLANTA_AUTH_STORE_BAD_URL', `"${text}": expected postgres://…`);
  const schema = u.searchParams.get('schema') ?? DEFAULT_AUTH_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) throw new DirectoryError('PLANTA_AUTH_STORE_BAD_URL', `schema "${schema}": lower-case letters, digits and _ (at most 63)`);
  u.searchParams.delete('schema');
  if (!hosts) return { url: u.toString(), schema };
  const first = `${u.hostname}${u.port ? `:${u.port}` : ''}`;
  const one = u.toString();
  const at = one.indexOf(first, one.indexOf('//') + 2);
  return { url: `${one.slice(0, at)}${hosts[2]}${one.slice(at + first.length)}`, schema };
}

interface UserRow {
  name: string;
  role: Role;
  password: string;
  disabled: boolean;
  created_at: number;
  changed_at: number;
}
interface Cached<V> {
  value: V;
  at: number;
}

const toUser = (r: UserRow): UserRecord => ({ name: r.name, role: r.role, password: r.password, disabled: r.disabled, createdAt: r.created_at, changedAt: r.changed_at });

export class PostgresDirectory implements UserDirectory {
  readonly where: string;
  private readonly pool: PgPool;
  private readonly schema: string;
  private ready: Promise<void> | undefined;
  private readonly userCache = new Map<string, Cached<UserRecord | undefined>>();
  private readonly tokenCache = new Map<string, Cached<string | undefined>>();
  private readonly sessionCache = new Map<string, Cached<StoredSession | undefined>>();
  /** Sessions ended while PostgreSQL did not answer: refused here, deleted there once it answers. */
  private readonly pendingEnds = new Set<string>();
  private auditKey: Promise<{ key: AuditKey; created: boolean }> | undefined;
  readonly auditKeyFile: string;
  private readonly log: Logger | undefined;
  /** The sessions of every web node sharing this directory. */
  readonly sessions: SessionStore;

  constructor(o: { url: string; log?: Logger; connectTimeoutMs?: number; auditKeyFile?: string }) {
    const { url, schema } = directoryUrl(o.url);
    this.schema = schema;
    this.where = `PostgreSQL ${redactUrl(url)} schema ${schema}`;
    this.auditKeyFile = o.auditKeyFile ?? pgAuditKeyFile(schema);
    this.log = o.log;
    this.sessions = this.sessionStore();
    this.pool = openPgPool({
      url,
      applicationName: 'planta-users',
      max: 4,
      connectTimeoutMs: o.connectTimeoutMs ?? 3000,
      // Shorter than the historian's: a sign-in waits on it.
      queryTimeoutMs: 5000,
      what: 'users',
      ...(o.log ? { log: o.log } : {}),
    });
  }

  /** The PostgreSQL server its connections go to, and when that last changed (a failover). */
  place(): PgPlace {
    return this.pool.place();
  }

  private t(name: string): string {
    return `"${this.schema}".${name}`;
  }

  /** Creates the schema and tables if missing; tried again after a failure. */
  private setup(): Promise<void> {
    this.ready ??= this.doSetup().catch((err: unknown) => {
      this.ready = undefined;
      throw unavailable(err);
    });
    return this.ready;
  }

  private async doSetup(): Promise<void> {
    await this.transaction(async (c) => {
      // Two nodes starting at once: one creates, the other waits.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-users:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t('users')} (
          name text PRIMARY KEY, role text NOT NULL, password text NOT NULL,
          disabled boolean NOT NULL DEFAULT false, created_at bigint NOT NULL, changed_at bigint NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS ${this.t('sessions')} (
          id text PRIMARY KEY, user_name text NOT NULL, csrf text NOT NULL, created_at bigint NOT NULL, last_seen bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sessions_user ON ${this.t('sessions')} (user_name);
        CREATE TABLE IF NOT EXISTS ${this.t('api_tokens')} (
          id text PRIMARY KEY, name text NOT NULL UNIQUE, created_by text NOT NULL, created_at bigint NOT NULL, revoked_at bigint
        );
        CREATE TABLE IF NOT EXISTS ${this.t('meta')} (key text PRIMARY KEY, value text NOT NULL);
        INSERT INTO ${this.t('meta')} (key, value) VALUES ('id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING;
        CREATE TABLE IF NOT EXISTS ${this.t('audit')} (
          seq bigint PRIMARY KEY, ts bigint NOT NULL, actor text NOT NULL, action text NOT NULL, target text NOT NULL,
          detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL, ref text UNIQUE
        );
        ALTER TABLE ${this.t('audit')} ADD COLUMN IF NOT EXISTS key_id text;
        CREATE OR REPLACE FUNCTION ${this.t('audit_append_only')}() RETURNS trigger LANGUAGE plpgsql AS
          $$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
        CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${this.t('audit')}
          FOR EACH STATEMENT EXECUTE FUNCTION ${this.t('audit_append_only')}();
      `);
    }, false);
  }

  /** Runs `f` in a transaction on one connection; failures to reach PostgreSQL become PLANTA_AUTH_STORE_UNAVAILABLE. */
  private async transaction<T>(f: (c: pg.PoolClient) => Promise<T>, setup = true): Promise<T> {
    if (setup) await this.setup();
    try {
      return await inTransaction(this.pool, f);
    } catch (err) {
      throw unavailable(err);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    await this.setup();
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** A cached answer while fresh; a fresh one otherwise, or the last known while PostgreSQL does not answer. */
  private async cached<V>(cache: Map<string, Cached<V>>, key: string, load: () => Promise<V>): Promise<V> {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < FRESH_MS) return hit.value;
    try {
      const value = await load();
      remember(cache, key, value);
      return value;
    } catch (err) {
      if (hit && isUnavailable(err)) return hit.value;
      throw err;
    }
  }

  private forget(name: string): void {
    this.userCache.delete(name);
    for (const [id, hit] of this.sessionCache) if (hit.value?.user === name) this.sessionCache.delete(id);
  }

  /** Named after the directory's own id (made when its schema was): the same whatever URL a node reaches it by. */
  async trailName(): Promise<string> {
    return `audit@${(await this.query<{ value: string }>(`SELECT value FROM ${this.t('meta')} WHERE key = 'id'`)).rows[0]!.value}`;
  }

  // ------------------------------------------------------------ users

  async countUsers(): Promise<number> {
    return (await this.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t('users')}`)).rows[0]!.n;
  }

  async addUser(name: string, role: Role, passwordHash: string, now = Date.now()): Promise<void> {
    await this.query(`INSERT INTO ${this.t('users')} (name, role, password, created_at) VALUES ($1, $2, $3, $4)`, [name, role, passwordHash, now]);
    this.forget(name);
  }

  user(name: string): Promise<UserRecord | undefined> {
    return this.cached(this.userCache, name, async () => {
      const r = (await this.query<UserRow>(`SELECT * FROM ${this.t('users')} WHERE name = $1`, [name])).rows[0];
      return r && toUser(r);
    });
  }

  async users(): Promise<User[]> {
    const rows = (await this.query<Omit<UserRow, 'password' | 'changed_at'>>(`SELECT name, role, disabled, created_at FROM ${this.t('users')} ORDER BY name`)).rows;
    return rows.map((r) => ({ name: r.name, role: r.role, disabled: r.disabled, createdAt: r.created_at }));
  }

  /** A password or role change also moves changed_at: the user's sessions from before are refused (and ended, as when disabled). */
  private async updateUser(name: string, column: 'password' | 'role' | 'disabled', value: string | boolean, now?: number): Promise<void> {
    const changed = now === undefined ? '' : ', changed_at = $3';
    await this.transaction(async (c) => {
      await c.query(`UPDATE ${this.t('users')} SET ${column} = $1${changed} WHERE name = $2`, now === undefined ? [value, name] : [value, name, now]);
      if (column !== 'disabled' || value === true) await c.query(`DELETE FROM ${this.t('sessions')} WHERE user_name = $1`, [name]);
    });
    this.forget(name);
  }

  setPassword(name: string, passwordHash: string, now = Date.now()): Promise<void> {
    return this.updateUser(name, 'password', passwordHash, now);
  }

  setRole(name: string, role: Role, now = Date.now()): Promise<void> {
    return this.updateUser(name, 'role', role, now);
  }

  setDisabled(name: string, disabled: boolean): Promise<void> {
    return this.updateUser(name, 'disabled', disabled);
  }

  // ------------------------------------------------------------ read-only API tokens

  async addToken(name: string, createdBy: string, now = Date.now()): Promise<string> {
    const token = `planta_${newSecret()}`;
    await this.query(`INSERT INTO ${this.t('api_tokens')} (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)`, [digest(token), name, createdBy, now]);
    return token;
  }

  tokenName(token: string): Promise<string | undefined> {
    const id = digest(token);
    return this.cached(this.tokenCache, id, async () => {
      const r = (await this.query<{ name: string }>(`SELECT name FROM ${this.t('api_tokens')} WHERE id = $1 AND revoked_at IS NULL`, [id])).rows[0];
      return r?.name;
    });
  }

  async tokens(): Promise<TokenInfo[]> {
    const rows = (
      await this.query<{ name: string; created_by: string; created_at: number; revoked_at: number | null }>(
        `SELECT name, created_by, created_at, revoked_at FROM ${this.t('api_tokens')} ORDER BY name`,
      )
    ).rows;
    return rows.map((r) => ({ name: r.name, createdBy: r.created_by, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  async revokeToken(name: string, now = Date.now()): Promise<boolean> {
    const r = await this.query(`UPDATE ${this.t('api_tokens')} SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, [now, name]);
    this.tokenCache.clear();
    return (r.rowCount ?? 0) > 0;
  }

  // ------------------------------------------------------------ sessions

  private sessionStore(): SessionStore {
    const row = (r: { user_name: string; csrf: string; created_at: number; last_seen: number }): StoredSession => ({ user: r.user_name, csrf: r.csrf, createdAt: r.created_at, lastSeen: r.last_seen });
    return {
      create: async (user, now) => {
        const id = newSecret();
        const csrf = newSecret();
        await this.query(`INSERT INTO ${this.t('sessions')} (id, user_name, csrf, created_at, last_seen) VALUES ($1, $2, $3, $4, $4)`, [digest(id), user, csrf, now]);
        remember(this.sessionCache, digest(id), { user, csrf, createdAt: now, lastSeen: now });
        return { id, csrf };
      },
      get: async (id) => {
        const d = digest(id);
        if (this.pendingEnds.has(d)) return undefined;
        const s = await this.cached(this.sessionCache, d, async () => {
          const r = (await this.query<{ user_name: string; csrf: string; created_at: number; last_seen: number }>(`SELECT * FROM ${this.t('sessions')} WHERE id = $1`, [d])).rows[0];
          return r && row(r);
        });
        // Only sessions are kept: forged cookies must not push them out of the cache.
        if (!s) this.sessionCache.delete(d);
        return s;
      },
      touch: async (id, now) => {
        const d = digest(id);
        const hit = this.sessionCache.get(d);
        if (hit?.value) hit.value = { ...hit.value, lastSeen: now };
        // While PostgreSQL is away the last known session serves (and is touched here): an operator keeps working.
        await this.query(`UPDATE ${this.t('sessions')} SET last_seen = $1 WHERE id = $2`, [now, d]).catch((err: unknown) => {
          if (!isUnavailable(err)) throw err;
        });
      },
      end: async (id) => {
        const d = digest(id);
        this.sessionCache.delete(d);
        try {
          await this.query(`DELETE FROM ${this.t('sessions')} WHERE id = $1`, [d]);
        } catch (err) {
          if (!isUnavailable(err)) throw err;
          // Signed out all the same: refused here now, deleted there when PostgreSQL answers (prune).
          this.pendingEnds.add(d);
          this.log?.warn({ err: (err as Error).message }, 'sessions: a session ended while the users\' database does not answer; it is deleted there once it answers');
        }
      },
      endAllOf: async (user) => {
        await this.query(`DELETE FROM ${this.t('sessions')} WHERE user_name = $1`, [user]);
        this.forget(user);
      },
      prune: async (idleBefore, createdBefore) => {
        if (this.pendingEnds.size > 0) {
          const ids = [...this.pendingEnds];
          await this.query(`DELETE FROM ${this.t('sessions')} WHERE id = ANY($1)`, [ids]);
          for (const d of ids) this.pendingEnds.delete(d);
        }
        const r = await this.query(`DELETE FROM ${this.t('sessions')} WHERE last_seen < $1 OR created_at < $2`, [idleBefore, createdBefore]);
        return r.rowCount ?? 0;
      },
    };
  }

  // ------------------------------------------------------------ audit trail

  /**
   * The trail's key, checked against the trail (AuditKeyError when it is
   * missing or another node's); on first run made (0600), and where keyed
   * entries begin recorded. `created`: the key file was made now (back it
   * up, copy it to the other web nodes).
   */
  prepareAuditKey(): Promise<{ key: AuditKey; created: boolean }> {
    this.auditKey ??= this.loadAuditKey().catch((err: unknown) => {
      this.auditKey = undefined;
      throw err;
    });
    return this.auditKey;
  }

  private async loadAuditKey(): Promise<{ key: AuditKey; created: boolean }> {
    let made: AuditKey | undefined;
    try {
      return await this.transaction(async (c) => {
        // With the appends' lock: two nodes starting at once on a trail without a key record one key (the other is told to copy it).
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-audit:${this.schema}`]);
        const trail = await this.trailState(c);
        let key = checkTrailKey(this.auditKeyFile, readAuditKey(this.auditKeyFile), trail);
        let created = false;
        if (!key) {
          ({ key, created } = createAuditKey(this.auditKeyFile));
          if (created) made = key;
        }
        if (!trail.marker && !trail.keyedRows) await c.query(`INSERT INTO ${this.t('meta')} (key, value) VALUES ('audit_key', $1)`, [JSON.stringify(newKeyMarker(key, trail.entries + 1))]);
        return { key, created };
      });
    } catch (err) {
      // A key made for a trail that did not take it (PostgreSQL failed meanwhile) must not be left to look like the trail's.
      if (made) discardAuditKey(made);
      throw err;
    }
  }

  /** The trail's marker, whether it holds keyed entries, and how many it holds; within the transaction `c`, if given. */
  private async trailState(c?: pg.PoolClient): Promise<{ marker: ReturnType<typeof parseKeyMarker>; keyedRows: boolean; entries: number }> {
    const text = `SELECT (SELECT value FROM ${this.t('meta')} WHERE key = 'audit_key') AS marker,
                         EXISTS (SELECT 1 FROM ${this.t('audit')} WHERE key_id IS NOT NULL) AS keyed,
                         (SELECT max(seq) FROM ${this.t('audit')}) AS entries`;
    type Row = { marker: string | null; keyed: boolean; entries: number | null };
    const r = (c ? await c.query<Row>(text) : await this.query<Row>(text)).rows[0]!;
    return { marker: parseKeyMarker(r.marker ?? undefined), keyedRows: r.keyed, entries: r.entries ?? 0 };
  }

  async audit(actor: string, action: string, target: string, detail: unknown, now = Date.now(), ref?: string): Promise<AuditEntry | undefined> {
    const { key } = await this.prepareAuditKey();
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-audit:${this.schema}`]);
      if (ref !== undefined && (await c.query(`SELECT 1 FROM ${this.t('audit')} WHERE ref = $1`, [ref])).rowCount) return undefined;
      const last = (await c.query<{ seq: number; hash: string }>(`SELECT seq, hash FROM ${this.t('audit')} ORDER BY seq DESC LIMIT 1`)).rows[0];
      const e = nextAuditEntry(last, { ts: now, ...boundedAuditFields(actor, action, target, detail) }, key);
      await c.query(`INSERT INTO ${this.t('audit')} (seq, ts, actor, action, target, detail, prev_hash, hash, ref, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
        e.seq, e.ts, e.actor, e.action, e.target, e.detail, e.prevHash, e.hash, ref ?? null, e.keyId,
      ]);
      return e;
    });
  }

  async auditEntries(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const { where, args, limit } = auditFilter(q, (n) => `$${n}`, 'ILIKE');
    return (await this.query<AuditRow>(`SELECT * FROM ${this.t('audit')} ${where} ORDER BY seq DESC LIMIT ${limit}`, args)).rows.map(auditEntry);
  }

  /** Checks the chain (and that `head`, kept elsewhere, is still one of its entries); AuditKeyError when this node's key is missing or another. */
  async verifyAudit(head?: AuditHead): Promise<AuditCheck> {
    const trail = await this.trailState();
    const key = readAuditKey(this.auditKeyFile);
    if (trail.marker || trail.keyedRows) checkTrailKey(this.auditKeyFile, key, trail);
    const check = new ChainCheck({ ...(key ? { key } : {}), ...(trail.marker ? { marker: trail.marker } : {}), ...(head ? { head } : {}) });
    // In pages, so a long trail is never held in memory at once.
    for (let after = 0; ; ) {
      const rows = (await this.query<AuditRow>(`SELECT * FROM ${this.t('audit')} WHERE seq > $1 ORDER BY seq LIMIT 10000`, [after])).rows;
      for (const r of rows) if (!check.next(r)) return check.result();
      if (rows.length < 10_000) return check.result();
      after = rows[rows.length - 1]!.seq;
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** Keeps `value` as the freshest answer for `key`; the oldest answers go beyond CACHE_MAX. */
function remember<V>(cache: Map<string, Cached<V>>, key: string, value: V): void {
  cache.delete(key);
  cache.set(key, { value, at: Date.now() });
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
}

const isUnavailable = (err: unknown): boolean => err instanceof DirectoryError && err.code === 'PLANTA_AUTH_STORE_UNAVAILABLE';

/** A failure to reach PostgreSQL (or a statement it refused) as the directory's error; a DirectoryError passes as it is. */
function unavailable(err: unknown): Error {
  if (err instanceof DirectoryError || err instanceof AuditKeyError) return err;
  const e = err as { code?: string; message?: string };
  // SQLSTATE class 23: integrity (a duplicate name): a caller's mistake, said as such.
  if (typeof e.code === 'string' && e.code.startsWith('23')) return new DirectoryError('PLANTA_AUTH_STORE_CONFLICT', e.message ?? 'conflict');
  return new DirectoryError('PLANTA_AUTH_STORE_UNAVAILABLE', `the users' database does not answer: ${e.message ?? String(err)}`);
}
