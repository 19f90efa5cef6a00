/**
 * Users, their sessions, read-only API tokens and the audit trail, as the
 * web and the CLI use them: in a web node's SQLite file (src/auth/store.ts),
 * or in PostgreSQL (src/auth/postgres.ts), shared by every web node of a plant.
 */
import { hostname } from 'node:os';
import type { Role } from '../config/schema.js';
import { type ErrorCode, PlantaError } from '../errors.js';
import type { AuditHead, AuditKey } from './audit.js';
import { type SessionStore, sqliteSessions } from './sessions.js';
import type { AuditCheck, AuditEntry, AuditQuery, AuthStore, TokenInfo, User, UserRecord } from './store.js';

/** The users' database is unreachable, refused a duplicate, or its URL is wrong. */
export class DirectoryError extends PlantaError<Extract<ErrorCode, `PLANTA_AUTH_STORE_${string}`>> {
  constructor(code: Extract<ErrorCode, `PLANTA_AUTH_STORE_${string}`>, message: string) {
    super(code, message);
    this.name = 'DirectoryError';
  }
}

export interface UserDirectory {
  /** Where it is, for logs and messages (no password). */
  readonly where: string;
  /** The durable name under which the web nodes sharing this directory follow the bus into its audit trail. */
  trailName(): Promise<string>;
  countUsers(): Promise<number>;
  addUser(name: string, role: Role, passwordHash: string, now?: number): Promise<void>;
  user(name: string): Promise<UserRecord | undefined>;
  users(): Promise<User[]>;
  /** Also refuses the user's sessions from before (see UserRecord.changedAt). */
  setPassword(name: string, passwordHash: string, now?: number): Promise<void>;
  setRole(name: string, role: Role, now?: number): Promise<void>;
  setDisabled(name: string, disabled: boolean): Promise<void>;
  /** Returns the token (shown once); only its digest is kept. */
  addToken(name: string, createdBy: string, now?: number): Promise<string>;
  /** The name of an active token. */
  tokenName(token: string): Promise<string | undefined>;
  tokens(): Promise<TokenInfo[]>;
  revokeToken(name: string, now?: number): Promise<boolean>;
  /** The users' sessions, kept where the users are. */
  readonly sessions: SessionStore;
  /** The audit key, checked against the trail; made on first run (`created`). Throws AuditKeyError when it is missing or another. */
  prepareAuditKey(): Promise<{ key: AuditKey; created: boolean }>;
  /** Appends an entry to the keyed hash chain (fields bounded); with `ref`, only if no entry has that ref yet (undefined then). */
  audit(actor: string, action: string, target: string, detail: unknown, now?: number, ref?: string): Promise<AuditEntry | undefined>;
  auditEntries(q?: AuditQuery): Promise<AuditEntry[]>;
  /** The chain checked from its first entry; with `head` (kept elsewhere), also that it is still an entry of the chain. */
  verifyAudit(head?: AuditHead): Promise<AuditCheck>;
  close(): Promise<void>;
}

/** The SQLite store as a directory. */
export function sqliteDirectory(store: AuthStore, where = 'SQLite'): UserDirectory {
  return {
    where,
    sessions: sqliteSessions(store),
    prepareAuditKey: async () => store.prepareAuditKey(),
    // The file's web nodes are on this machine (the name predates shared directories: a new one would read the trail again).
    trailName: async () => `audit@${hostname()}:${where}`,
    countUsers: async () => store.countUsers(),
    addUser: async (name, role, hash, now) => store.addUser(name, role, hash, now),
    user: async (name) => store.user(name),
    users: async () => store.users(),
    setPassword: async (name, hash, now) => store.setPassword(name, hash, now),
    setRole: async (name, role, now) => store.setRole(name, role, now),
    setDisabled: async (name, disabled) => store.setDisabled(name, disabled),
    addToken: async (name, createdBy, now) => store.addToken(name, createdBy, now),
    tokenName: async (token) => store.tokenName(token),
    tokens: async () => store.tokens(),
    revokeToken: async (name, now) => store.revokeToken(name, now),
    audit: async (actor, action, target, detail, now, ref) => store.audit(actor, action, target, detail, now, ref),
    auditEntries: async (q) => store.auditEntries(q),
    verifyAudit: async (head) => store.verifyAudit(head),
    close: async () => store.close(),
  };
}
