/**
 * Users, sessions, API tokens, login lockouts and the audit trail, in
 * SQLite. Secrets are never stored: passwords as scrypt hashes, session ids
 * and tokens as SHA-256 digests (the browser holds the only copy).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Role } from '../config/schema.js';

export interface User {
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: number;
}

export interface SessionRow {
  user: string;
  role: Role;
  csrf: string;
  createdAt: number;
  lastSeen: number;
}

/** A user as the stores hold it: with the password's hash, and when their password or role last changed (sessions from before are ended). */
export interface UserRecord extends User {
  password: string;
  changedAt: number;
}

export interface TokenInfo {
  name: string;
  createdBy: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface AuditEntry {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
  prevHash: string;
  hash: string;
}

export const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** The hash chaining an audit entry to the one before: editing or deleting any entry breaks every later hash. */
export function chainHash(prevHash: string, e: Pick<AuditEntry, 'seq' | 'ts' | 'actor' | 'action' | 'target' | 'detail'>): string {
  return createHash('sha256')
    .update(JSON.stringify([prevHash, e.seq, e.ts, e.actor, e.action, e.target, e.detail]))
    .digest('hex');
}

const GENESIS = '0'.repeat(64);

/** An audit entry as a table holds it (SQLite and PostgreSQL alike). */
export interface AuditRow extends Omit<AuditEntry, 'prevHash'> {
  prev_hash: string;
}

export const auditEntry = (r: AuditRow): AuditEntry => ({
  seq: r.seq, ts: r.ts, actor: r.actor, action: r.action, target: r.target, detail: r.detail, prevHash: r.prev_hash, hash: r.hash,
});

export interface AuditQuery {
  before?: number;
  limit?: number;
  /** Words that must all appear (case-insensitive) in the actor, action, target or detail. */
  search?: string;
}

/** The WHERE clause and arguments of an audit query; `param(n)` spells the placeholder of the n-th argument (1-based). */
export function auditFilter(q: AuditQuery, param: (n: number) => string, like: 'LIKE' | 'ILIKE'): { where: string; args: (string | number)[]; limit: number } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const bind = (v: string | number): string => param(args.push(v));
  if (q.before !== undefined) where.push(`seq < ${bind(q.before)}`);
  for (const word of (q.search ?? '').split(/\s+/).filter(Boolean)) {
    const pattern = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(`(${['actor', 'action', 'target', 'detail'].map((c) => `${c} ${like} ${bind(pattern)} ESCAPE '\\'`).join(' OR ')})`);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args, limit: Math.min(Math.max(1, q.limit ?? 200), 5000) };
}

export type AuditCheck = { ok: true; entries: number } | { ok: false; seq: number; why: string };

/** Recomputes the chain entry by entry (in seq order); stops at the first broken one. */
export class ChainCheck {
  private prev = GENESIS;
  private n = 0;
  private broken: AuditCheck | undefined;

  /** Takes the next entry; false once the chain is broken. */
  next(r: AuditRow): boolean {
    const expected = this.n + 1;
    if (r.seq !== expected) this.broken = { ok: false, seq: expected, why: `entry ${expected} is missing` };
    else if (r.prev_hash !== this.prev) this.broken = { ok: false, seq: r.seq, why: 'it does not follow the entry before it' };
    else if (chainHash(this.prev, r) !== r.hash) this.broken = { ok: false, seq: r.seq, why: 'its content does not match its hash (edited)' };
    if (this.broken) return false;
    this.prev = r.hash;
    this.n++;
    return true;
  }

  result(): AuditCheck {
    return this.broken ?? { ok: true, entries: this.n };
  }
}

/** The entry after `last` (undefined: the first), chained to it. */
export function nextAuditEntry(last: { seq: number; hash: string } | undefined, e: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>): AuditEntry {
  const entry = { seq: (last?.seq ?? 0) + 1, ...e };
  const prevHash = last?.hash ?? GENESIS;
  return { ...entry, prevHash, hash: chainHash(prevHash, entry) };
}

export class AuthStore {
  readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL, last_seen INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS api_tokens (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL, revoked_at INTEGER
      );
      CREATE TABLE IF NOT EXISTS login_failures (
        key TEXT PRIMARY KEY, count INTEGER NOT NULL, first_at INTEGER NOT NULL, locked_until INTEGER
      );
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
      );
      CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    `);
    // changed_at: sessions from before a password or role change are refused, wherever they are kept (Redis).
    if (!(this.db.pragma('table_info(users)') as { name: string }[]).some((c) => c.name === 'changed_at')) this.db.exec('ALTER TABLE users ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0');
    // ref: what an entry records (a command's outcome, an alarm action), so that one delivered twice is kept once.
    if (!(this.db.pragma('table_info(audit)') as { name: string }[]).some((c) => c.name === 'ref')) this.db.exec('ALTER TABLE audit ADD COLUMN ref TEXT');
    this.db.exec('CREATE UNIQUE INDEX IF NOT EXISTS audit_ref ON audit (ref)');
  }

  close(): void {
    this.db.close();
  }

  // ------------------------------------------------------------ users

  countUsers(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  addUser(name: string, role: Role, passwordHash: string, now = Date.now()): void {
    this.db.prepare('INSERT INTO users (name, role, password, created_at) VALUES (?, ?, ?, ?)').run(name, role, passwordHash, now);
  }

  user(name: string): UserRecord | undefined {
    const r = this.db.prepare('SELECT name, role, password, disabled, created_at, changed_at FROM users WHERE name = ?').get(name) as
      | { name: string; role: Role; password: string; disabled: number; created_at: number; changed_at: number }
      | undefined;
    return r && { name: r.name, role: r.role, password: r.password, disabled: r.disabled === 1, createdAt: r.created_at, changedAt: r.changed_at };
  }

  users(): User[] {
    return (this.db.prepare('SELECT name, role, disabled, created_at FROM users ORDER BY name').all() as { name: string; role: Role; disabled: number; created_at: number }[]).map(
      (r) => ({ name: r.name, role: r.role, disabled: r.disabled === 1, createdAt: r.created_at }),
    );
  }

  setPassword(name: string, passwordHash: string, now = Date.now()): void {
    this.db.prepare('UPDATE users SET password = ?, changed_at = ? WHERE name = ?').run(passwordHash, now, name);
    this.endSessionsOf(name);
  }

  setRole(name: string, role: Role, now = Date.now()): void {
    this.db.prepare('UPDATE users SET role = ?, changed_at = ? WHERE name = ?').run(role, now, name);
    this.endSessionsOf(name);
  }

  setDisabled(name: string, disabled: boolean): void {
    this.db.prepare('UPDATE users SET disabled = ? WHERE name = ?').run(disabled ? 1 : 0, name);
    if (disabled) this.endSessionsOf(name);
  }

  // ------------------------------------------------------------ sessions

  /** Returns the session id (for the cookie) and its CSRF token; only a digest of the id is kept. */
  createSession(user: string, now = Date.now()): { id: string; csrf: string } {
    const id = newSecret();
    const csrf = newSecret();
    this.db.prepare('INSERT INTO sessions (id, user, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)').run(digest(id), user, csrf, now, now);
    return { id, csrf };
  }

  session(id: string): SessionRow | undefined {
    const r = this.db
      .prepare('SELECT s.user, u.role, s.csrf, s.created_at, s.last_seen, u.disabled FROM sessions s JOIN users u ON u.name = s.user WHERE s.id = ?')
      .get(digest(id)) as { user: string; role: Role; csrf: string; created_at: number; last_seen: number; disabled: number } | undefined;
    if (!r || r.disabled) return undefined;
    return { user: r.user, role: r.role, csrf: r.csrf, createdAt: r.created_at, lastSeen: r.last_seen };
  }

  touchSession(id: string, now = Date.now()): void {
    this.db.prepare('UPDATE sessions SET last_seen = ? WHERE id = ?').run(now, digest(id));
  }

  endSession(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id = ?').run(digest(id));
  }

  endSessionsOf(user: string): void {
    this.db.prepare('DELETE FROM sessions WHERE user = ?').run(user);
  }

  pruneSessions(idleBefore: number, createdBefore: number): void {
    this.db.prepare('DELETE FROM sessions WHERE last_seen < ? OR created_at < ?').run(idleBefore, createdBefore);
  }

  // ------------------------------------------------------------ read-only API tokens

  addToken(name: string, createdBy: string, now = Date.now()): string {
    const token = `planta_${newSecret()}`;
    this.db.prepare('INSERT INTO api_tokens (id, name, created_by, created_at) VALUES (?, ?, ?, ?)').run(digest(token), name, createdBy, now);
    return token;
  }

  tokenName(token: string): string | undefined {
    const r = this.db.prepare('SELECT name FROM api_tokens WHERE id = ? AND revoked_at IS NULL').get(digest(token)) as { name: string } | undefined;
    return r?.name;
  }

  tokens(): TokenInfo[] {
    return (this.db.prepare('SELECT name, created_by, created_at, revoked_at FROM api_tokens ORDER BY name').all() as {
      name: string;
      created_by: string;
      created_at: number;
      revoked_at: number | null;
    }[]).map((r) => ({ name: r.name, createdBy: r.created_by, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  revokeToken(name: string, now = Date.now()): boolean {
    return this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now, name).changes > 0;
  }

  // ------------------------------------------------------------ login failures

  lockedUntil(key: string): number | undefined {
    const r = this.db.prepare('SELECT locked_until FROM login_failures WHERE key = ?').get(key) as { locked_until: number | null } | undefined;
    return r?.locked_until ?? undefined;
  }

  /** Counts a failure within `windowMs`; after `max` of them the key is locked for `lockMs`. Returns the lock's end, if any. */
  recordFailure(key: string, now: number, windowMs: number, max: number, lockMs: number): number | undefined {
    const r = this.db.prepare('SELECT count, first_at FROM login_failures WHERE key = ?').get(key) as { count: number; first_at: number } | undefined;
    const fresh = !r || now - r.first_at > windowMs;
    const count = fresh ? 1 : r.count + 1;
    const locked = count >= max ? now + lockMs : null;
    this.db
      .prepare('INSERT INTO login_failures (key, count, first_at, locked_until) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at, locked_until = excluded.locked_until')
      .run(key, count, fresh ? now : r.first_at, locked);
    return locked ?? undefined;
  }

  clearFailures(key: string): void {
    this.db.prepare('DELETE FROM login_failures WHERE key = ?').run(key);
  }

  // ------------------------------------------------------------ audit trail

  /** Appends an entry; with `ref`, only if no entry has that ref yet (undefined then). */
  audit(actor: string, action: string, target: string, detail: unknown, now = Date.now(), ref?: string): AuditEntry | undefined {
    return this.db.transaction(() => {
      if (ref !== undefined && this.db.prepare('SELECT 1 FROM audit WHERE ref = ?').get(ref)) return undefined;
      const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
      const e = nextAuditEntry(last, { ts: now, actor, action, target, detail: JSON.stringify(detail ?? null) });
      this.db
        .prepare('INSERT INTO audit (seq, ts, actor, action, target, detail, prev_hash, hash, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(e.seq, e.ts, actor, action, target, e.detail, e.prevHash, e.hash, ref ?? null);
      return e;
    })();
  }

  auditEntries(q: AuditQuery = {}): AuditEntry[] {
    const { where, args, limit } = auditFilter(q, () => '?', 'LIKE');
    const rows = this.db.prepare(`SELECT * FROM audit ${where} ORDER BY seq DESC LIMIT ${limit}`).all(...args) as AuditRow[];
    return rows.map(auditEntry);
  }

  verifyAudit(): AuditCheck {
    const check = new ChainCheck();
    for (const r of this.db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditRow>) if (!check.next(r)) break;
    return check.result();
  }
}
