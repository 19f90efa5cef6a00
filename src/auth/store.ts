/**
 * Users, sessions, API tokens, sign-in attempts and the audit trail, in
 * SQLite. Secrets are never stored: passwords as scrypt hashes, session ids
 * and tokens as SHA-256 digests (the browser holds the only copy); the
 * audit trail's key is in a file beside the database (src/auth/audit.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Role } from '../config/schema.js';
import { type BudgetKey, type Reservation, backoffMs } from './attempts.js';
import {
  type AuditCheck,
  type AuditEntry,
  type AuditHead,
  type AuditKey,
  type AuditQuery,
  type AuditRow,
  ChainCheck,
  auditEntry,
  auditFilter,
  boundedAuditFields,
  checkTrailKey,
  createAuditKey,
  memoryAuditKey,
  newKeyMarker,
  nextAuditEntry,
  parseKeyMarker,
  readAuditKey,
} from './audit.js';

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

export const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');
export const newSecret = (): string => randomBytes(32).toString('base64url');

export type { AuditCheck, AuditEntry, AuditQuery } from './audit.js';

/** The key file of an SQLite users' file: PLANTA_AUDIT_KEY_FILE, else beside it. */
export const sqliteAuditKeyFile = (db: string, env: NodeJS.ProcessEnv = process.env): string => env.PLANTA_AUDIT_KEY_FILE || `${db}.audit-key`;

export class AuthStore {
  readonly db: Database.Database;
  /** The audit key's file; undefined for a database in memory, whose key lives in memory too. */
  readonly auditKeyFile: string | undefined;
  private readonly memoryKey: AuditKey | undefined;
  private key: AuditKey | undefined;

  constructor(path: string, o: { auditKeyFile?: string } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.auditKeyFile = o.auditKeyFile ?? (path === ':memory:' ? undefined : sqliteAuditKeyFile(path));
    this.memoryKey = this.auditKeyFile ? undefined : memoryAuditKey();
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
      CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
      CREATE TABLE IF NOT EXISTS api_tokens (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL, revoked_at INTEGER
      );
      DROP TABLE IF EXISTS login_failures;
      CREATE TABLE IF NOT EXISTS login_attempts (
        key TEXT PRIMARY KEY, count INTEGER NOT NULL, last_at INTEGER NOT NULL, forget_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        target TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
      );
      CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    `);
    const columns = (table: string): string[] => (this.db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
    // changed_at: sessions from before a password or role change are refused.
    if (!columns('users').includes('changed_at')) this.db.exec('ALTER TABLE users ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0');
    // ref: what an entry records (a command's outcome, an alarm action), so that one delivered twice is kept once.
    if (!columns('audit').includes('ref')) this.db.exec('ALTER TABLE audit ADD COLUMN ref TEXT');
    // key_id: the key that chained an entry (NULL: from before the trail had one).
    if (!columns('audit').includes('key_id')) this.db.exec('ALTER TABLE audit ADD COLUMN key_id TEXT');
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

  /** Deletes the sessions idle since before `idleBefore` or made before `createdBefore`; returns how many. */
  pruneSessions(idleBefore: number, createdBefore: number): number {
    return this.db.prepare('DELETE FROM sessions WHERE last_seen < ? OR created_at < ?').run(idleBefore, createdBefore).changes;
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

  // ------------------------------------------------------------ sign-in attempts (src/auth/attempts.ts)

  /** Counts an attempt on every key, or on none when one still waits; one transaction, so parallel attempts are counted one by one. */
  reserveAttempt(keys: BudgetKey[], now: number): Reservation {
    return this.db.transaction((): Reservation => {
      const counts: number[] = [];
      for (const { key, rule } of keys) {
        const r = this.db.prepare('SELECT count, last_at FROM login_attempts WHERE key = ?').get(key) as { count: number; last_at: number } | undefined;
        const until = r ? r.last_at + backoffMs(rule, r.count) : 0;
        if (r && now < until) return { ok: false, key, until };
        counts.push(r && now <= until + rule.windowMs ? r.count + 1 : 1);
      }
      keys.forEach(({ key, rule }, i) => {
        const count = counts[i]!;
        this.db
          .prepare('INSERT INTO login_attempts (key, count, last_at, forget_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at, forget_at = excluded.forget_at')
          .run(key, count, now, now + backoffMs(rule, count) + rule.windowMs);
      });
      return { ok: true };
    }).immediate();
  }

  releaseAttempts(keys: BudgetKey[]): void {
    for (const { key } of keys) this.db.prepare('UPDATE login_attempts SET count = count - 1 WHERE key = ? AND count > 0').run(key);
  }

  forgetAttempts({ key }: BudgetKey): void {
    this.db.prepare('DELETE FROM login_attempts WHERE key = ?').run(key);
  }

  pruneAttempts(now: number): void {
    this.db.prepare('DELETE FROM login_attempts WHERE forget_at < ?').run(now);
  }

  // ------------------------------------------------------------ audit trail

  private meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private trailState(): { marker: ReturnType<typeof parseKeyMarker>; keyedRows: boolean; entries: number; last: { seq: number; hash: string } | undefined } {
    const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    return {
      marker: parseKeyMarker(this.meta('audit_key')),
      keyedRows: this.db.prepare('SELECT 1 FROM audit WHERE key_id IS NOT NULL LIMIT 1').get() !== undefined,
      entries: last?.seq ?? 0,
      last,
    };
  }

  private fileKey(): AuditKey | undefined {
    return this.auditKeyFile ? readAuditKey(this.auditKeyFile) : this.memoryKey;
  }

  /**
   * The trail's key, checked against the trail (AuditKeyError when it is
   * missing or another); on first run made (0600), and where keyed entries
   * begin recorded. `created`: the key file was made now (back it up).
   */
  prepareAuditKey(): { key: AuditKey; created: boolean } {
    if (this.key) return { key: this.key, created: false };
    const out = this.db.transaction(() => {
      const trail = this.trailState();
      let key = checkTrailKey(this.auditKeyFile, this.fileKey(), trail);
      let created = false;
      if (!key) ({ key, created } = createAuditKey(this.auditKeyFile!));
      if (!trail.marker && !trail.keyedRows) this.db.prepare("INSERT INTO meta (key, value) VALUES ('audit_key', ?)").run(JSON.stringify(newKeyMarker(key, trail.entries + 1)));
      return { key, created };
    }).immediate();
    this.key = out.key;
    return out;
  }

  /** Appends an entry (its fields bounded); with `ref`, only if no entry has that ref yet (undefined then). */
  audit(actor: string, action: string, target: string, detail: unknown, now = Date.now(), ref?: string): AuditEntry | undefined {
    const { key } = this.prepareAuditKey();
    return this.db.transaction(() => {
      if (ref !== undefined && this.db.prepare('SELECT 1 FROM audit WHERE ref = ?').get(ref)) return undefined;
      const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
      const e = nextAuditEntry(last, { ts: now, ...boundedAuditFields(actor, action, target, detail) }, key);
      this.db
        .prepare('INSERT INTO audit (seq, ts, actor, action, target, detail, prev_hash, hash, ref, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(e.seq, e.ts, e.actor, e.action, e.target, e.detail, e.prevHash, e.hash, ref ?? null, e.keyId);
      return e;
    }).immediate();
  }

  auditEntries(q: AuditQuery = {}): AuditEntry[] {
    const { where, args, limit } = auditFilter(q, () => '?', 'LIKE');
    const rows = this.db.prepare(`SELECT * FROM audit ${where} ORDER BY seq DESC LIMIT ${limit}`).all(...args) as AuditRow[];
    return rows.map(auditEntry);
  }

  /** Checks the chain (and that `head`, kept elsewhere, is still one of its entries); AuditKeyError when its key is missing or another. */
  verifyAudit(head?: AuditHead): AuditCheck {
    const trail = this.trailState();
    const key = this.fileKey();
    if (trail.marker || trail.keyedRows) checkTrailKey(this.auditKeyFile, key, trail);
    const check = new ChainCheck({ ...(key ? { key } : {}), ...(trail.marker ? { marker: trail.marker } : {}), ...(head ? { head } : {}) });
    for (const r of this.db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<AuditRow>) if (!check.next(r)) break;
    return check.result();
  }
}
