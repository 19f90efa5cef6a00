/**
 * Users, read-only API tokens and the audit trail in PostgreSQL (the `pg`
 * client), shared by every web node of a plant: a user added on one node
 * signs in on all of them, a token revoked on one is refused by all, and the
 * trail is one hash chain that every node appends to.
 *
 * One schema per installation (default planta_auth, created if missing):
 *   users (name, role, password, disabled, created_at)
 *   api_tokens (id = sha256 of the token, name, created_by, created_at, revoked_at)
 *   audit (seq, ts, actor, action, target, detail, prev_hash, hash, ref UNIQUE): append-only (triggers)
 *   meta (key, value): the directory's id, naming the web nodes' consumer group of the trail
 * An append takes a transaction-level advisory lock, reads the last entry and
 * chains to it, so nodes appending at once still make one chain.
 *
 * A user or token looked up is kept for 2 s, and its last known row is
 * answered while PostgreSQL is unreachable: signed-in operators keep working
 * through an outage (their sessions live in Redis, and anything that would
 * change a user needs PostgreSQL). Anything else fails with 503
 * PLANTA_AUTH_STORE_UNAVAILABLE.
 */
import type pg from 'pg';
import type { Role } from '../config/schema.js';
import type { Logger } from '../util/log.js';
import { openPgPool } from '../util/pg.js';
import { redactUrl } from '../util/url.js';
import { DirectoryError, type UserDirectory } from './directory.js';
import {
  type AuditCheck,
  type AuditEntry,
  type AuditQuery,
  type AuditRow,
  ChainCheck,
  type TokenInfo,
  type User,
  type UserRecord,
  auditEntry,
  auditFilter,
  digest,
  newSecret,
  nextAuditEntry,
} from './store.js';

export const DEFAULT_AUTH_SCHEMA = 'planta_auth';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const FRESH_MS = 2000;

/** A postgres:// URL with an optional `schema=` parameter (which is Planta's, not the driver's). */
export function directoryUrl(text: string): { url: string; schema: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new DirectoryError('PLANTA_AUTH_STORE_BAD_URL', `"${text}": expected postgres://USER@HOST:PORT/DATABASE[?schema=NAME]`, 500);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new DirectoryError('PLANTA_AUTH_STORE_BAD_URL', `"${text}": expected postgres://…`, 500);
  const schema = u.searchParams.get('schema') ?? DEFAULT_AUTH_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) throw new DirectoryError('PLANTA_AUTH_STORE_BAD_URL', `schema "${schema}": lower-case letters, digits and _ (at most 63)`, 500);
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
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
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private ready: Promise<void> | undefined;
  private readonly userCache = new Map<string, Cached<UserRecord | undefined>>();
  private readonly tokenCache = new Map<string, Cached<string | undefined>>();

  constructor(o: { url: string; log?: Logger; connectTimeoutMs?: number }) {
    const { url, schema } = directoryUrl(o.url);
    this.schema = schema;
    this.where = `PostgreSQL ${redactUrl(url)} schema ${schema}`;
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
        CREATE TABLE IF NOT EXISTS ${this.t('api_tokens')} (
          id text PRIMARY KEY, name text NOT NULL UNIQUE, created_by text NOT NULL, created_at bigint NOT NULL, revoked_at bigint
        );
        CREATE TABLE IF NOT EXISTS ${this.t('meta')} (key text PRIMARY KEY, value text NOT NULL);
        INSERT INTO ${this.t('meta')} (key, value) VALUES ('id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING;
        CREATE TABLE IF NOT EXISTS ${this.t('audit')} (
          seq bigint PRIMARY KEY, ts bigint NOT NULL, actor text NOT NULL, action text NOT NULL, target text NOT NULL,
          detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL, ref text UNIQUE
        );
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
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    try {
      await c.query('BEGIN');
      const out = await f(c);
      await c.query('COMMIT');
      c.release();
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release(err as Error);
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
      cache.set(key, { value, at: Date.now() });
      return value;
    } catch (err) {
      if (hit && err instanceof DirectoryError && err.code === 'PLANTA_AUTH_STORE_UNAVAILABLE') return hit.value;
      throw err;
    }
  }

  private forget(name: string): void {
    this.userCache.delete(name);
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

  /** A password or role change also moves changed_at: the user's sessions from before are refused. */
  private async updateUser(name: string, column: 'password' | 'role' | 'disabled', value: string | boolean, now?: number): Promise<void> {
    const changed = now === undefined ? '' : ', changed_at = $3';
    await this.query(`UPDATE ${this.t('users')} SET ${column} = $1${changed} WHERE name = $2`, now === undefined ? [value, name] : [value, name, now]);
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

  // ------------------------------------------------------------ audit trail

  audit(actor: string, action: string, target: string, detail: unknown, now = Date.now(), ref?: string): Promise<AuditEntry | undefined> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-audit:${this.schema}`]);
      if (ref !== undefined && (await c.query(`SELECT 1 FROM ${this.t('audit')} WHERE ref = $1`, [ref])).rowCount) return undefined;
      const last = (await c.query<{ seq: number; hash: string }>(`SELECT seq, hash FROM ${this.t('audit')} ORDER BY seq DESC LIMIT 1`)).rows[0];
      const e = nextAuditEntry(last, { ts: now, actor, action, target, detail: JSON.stringify(detail ?? null) });
      await c.query(`INSERT INTO ${this.t('audit')} (seq, ts, actor, action, target, detail, prev_hash, hash, ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
        e.seq, e.ts, e.actor, e.action, e.target, e.detail, e.prevHash, e.hash, ref ?? null,
      ]);
      return e;
    });
  }

  async auditEntries(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const { where, args, limit } = auditFilter(q, (n) => `$${n}`, 'ILIKE');
    return (await this.query<AuditRow>(`SELECT * FROM ${this.t('audit')} ${where} ORDER BY seq DESC LIMIT ${limit}`, args)).rows.map(auditEntry);
  }

  async verifyAudit(): Promise<AuditCheck> {
    const check = new ChainCheck();
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

/** A failure to reach PostgreSQL (or a statement it refused) as the directory's error; a DirectoryError passes as it is. */
function unavailable(err: unknown): Error {
  if (err instanceof DirectoryError) return err;
  const e = err as { code?: string; message?: string };
  // SQLSTATE class 23: integrity (a duplicate name): a caller's mistake, said as such.
  if (typeof e.code === 'string' && e.code.startsWith('23')) return new DirectoryError('PLANTA_AUTH_STORE_CONFLICT', e.message ?? 'conflict', 409);
  return new DirectoryError('PLANTA_AUTH_STORE_UNAVAILABLE', `the users' database does not answer: ${e.message ?? String(err)}`, 503);
}
