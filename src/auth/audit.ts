/**
 * The audit trail's chain, as SQLite and PostgreSQL keep it alike.
 *
 * Each entry is chained to the one before by a hash over its fields and the
 * previous hash. Entries written since the trail got its key are chained by
 * HMAC-SHA256 with a key kept in a file outside the database (created on
 * first run, 0600): whoever can write to the database but not read the key
 * cannot rewrite an entry and chain the rest again. Entries from before the
 * key (plain SHA-256, `key_id` NULL) keep verifying by their own rule, and
 * a marker in the trail's meta table — itself authenticated by the key —
 * says from which entry on every entry must be keyed, so an unkeyed tail
 * after keyed entries is never accepted.
 *
 *   key file:  one line, the 32-byte key in base64url
 *   key id:    HMAC(key, "planta-audit-key-id"), 16 hex digits (stored with each keyed entry)
 *   marker:    {"since": first keyed seq, "keyId", "mac": HMAC(key, ["planta-audit-keyed-since", since, keyId])}
 *
 * Cutting entries off the end leaves a valid chain: what proves it did not
 * happen is a head (seq and hash) kept elsewhere, which must still be an
 * entry of the verified chain (`planta audit verify --head`).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ErrorCode, PlantaError } from '../errors.js';

export interface AuditEntry {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
  prevHash: string;
  hash: string;
  /** The key that chained it; null for an entry from before the trail had one. */
  keyId: string | null;
}

/** An audit entry as a table holds it (SQLite and PostgreSQL alike). */
export interface AuditRow extends Omit<AuditEntry, 'prevHash' | 'keyId'> {
  prev_hash: string;
  key_id: string | null;
}

export const auditEntry = (r: AuditRow): AuditEntry => ({
  seq: r.seq, ts: r.ts, actor: r.actor, action: r.action, target: r.target, detail: r.detail, prevHash: r.prev_hash, hash: r.hash, keyId: r.key_id ?? null,
});

export interface AuditQuery {
  before?: number;
  /** Entries with from ≤ ts ≤ to (epoch ms): a replay's window. */
  from?: number;
  to?: number;
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
  if (q.from !== undefined) where.push(`ts >= ${bind(q.from)}`);
  if (q.to !== undefined) where.push(`ts <= ${bind(q.to)}`);
  for (const word of (q.search ?? '').split(/\s+/).filter(Boolean)) {
    const pattern = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(`(${['actor', 'action', 'target', 'detail'].map((c) => `${c} ${like} ${bind(pattern)} ESCAPE '\\'`).join(' OR ')})`);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args, limit: Math.min(Math.max(1, q.limit ?? 200), 5000) };
}

// ------------------------------------------------------------ bounded fields

/** The longest actor, action and target kept (characters); longer ones are cut and marked with "…". */
export const AUDIT_LIMITS = { actor: 128, action: 64, target: 256, detail: 4096 } as const;

// Control characters (C0, DEL, C1), line/paragraph separators and bidi overrides: what can move a cursor or hide text.
const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** Control characters spelled as escapes (\u001b): text that cannot move a terminal's cursor. */
export const escapeControls = (s: string): string => s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * An entry's fields as the trail keeps them, whatever reached it (a name
 * typed at a sign-in, a command from the bus): names escaped and bounded,
 * the detail as JSON of at most AUDIT_LIMITS.detail characters (a longer
 * one is kept as its start, marked truncated).
 */
export function boundedAuditFields(actor: string, action: string, target: string, detail: unknown): { actor: string; action: string; target: string; detail: string } {
  let json = JSON.stringify(detail ?? null) ?? 'null';
  if (json.length > AUDIT_LIMITS.detail) json = JSON.stringify({ truncated: true, length: json.length, start: json.slice(0, 1024) });
  return {
    actor: cut(escapeControls(String(actor)), AUDIT_LIMITS.actor),
    action: cut(escapeControls(String(action)), AUDIT_LIMITS.action),
    target: cut(escapeControls(String(target)), AUDIT_LIMITS.target),
    detail: json,
  };
}

// ------------------------------------------------------------ the key

/** The key file is missing, another trail's, unreadable or readable by others. */
export class AuditKeyError extends PlantaError<Extract<ErrorCode, `PLANTA_AUDIT_KEY_${string}`>> {
  constructor(code: Extract<ErrorCode, `PLANTA_AUDIT_KEY_${string}`>, message: string) {
    super(code, message);
    this.name = 'AuditKeyError';
  }
}

export interface AuditKey {
  /** 16 hex digits naming the key (stored with each entry it chained). */
  id: string;
  secret: Buffer;
  /** Where it is kept; undefined for a key in memory (a database in memory). */
  file?: string;
}

const hmac = (secret: Buffer, text: string): string => createHmac('sha256', secret).update(text).digest('hex');
const keyOf = (secret: Buffer, file?: string): AuditKey => ({ id: hmac(secret, 'planta-audit-key-id').slice(0, 16), secret, ...(file ? { file } : {}) });

/** A key that lives as long as its database in memory. */
export const memoryAuditKey = (): AuditKey => keyOf(randomBytes(32));

/** The key in `file`, or undefined when there is no such file. */
export function readAuditKey(file: string): AuditKey | undefined {
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new AuditKeyError('PLANTA_AUDIT_KEY_PERMISSIONS', `the audit key ${file} can be read by others than its owner: chmod 600 ${file}`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof AuditKeyError) throw err;
    throw new AuditKeyError('PLANTA_AUDIT_KEY_UNREADABLE', `the audit key ${file} cannot be read: ${(err as Error).message}`);
  }
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length !== 32) throw new AuditKeyError('PLANTA_AUDIT_KEY_UNREADABLE', `the audit key ${file} is not a key (expected 32 bytes in base64url on one line)`);
  return keyOf(secret, file);
}

/** A new key in `file` (0600); if another process made one there first, that one. */
export function createAuditKey(file: string): { key: AuditKey; created: boolean } {
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new AuditKeyError('PLANTA_AUDIT_KEY_UNREADABLE', `cannot create the audit key ${file}: ${(err as Error).message}`);
    return { key: readAuditKey(file)!, created: false };
  }
  return { key: readAuditKey(file)!, created: true };
}

/** Where keyed entries begin, as the trail's meta table keeps it (JSON). */
export interface KeyMarker {
  since: number;
  keyId: string;
  mac: string;
}

const markerMac = (key: AuditKey, since: number, keyId: string): string => hmac(key.secret, JSON.stringify(['planta-audit-keyed-since', since, keyId]));

export function newKeyMarker(key: AuditKey, since: number): KeyMarker {
  return { since, keyId: key.id, mac: markerMac(key, since, key.id) };
}

export function parseKeyMarker(text: string | undefined): KeyMarker | undefined {
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Partial<KeyMarker>;
    if (typeof m.since === 'number' && typeof m.keyId === 'string' && typeof m.mac === 'string') return { since: m.since, keyId: m.keyId, mac: m.mac };
  } catch {
    // An unreadable marker is reported by the check.
  }
  return { since: 0, keyId: '?', mac: '' };
}

/**
 * The key to append with, checked against what the trail says: its marker,
 * whether it holds keyed entries, how many entries it has. Undefined when
 * the trail is not keyed yet and there is no key file: the caller creates
 * one. Whenever the trail has no marker yet, the caller writes one.
 */
export function checkTrailKey(file: string | undefined, key: AuditKey | undefined, trail: { marker: KeyMarker | undefined; keyedRows: boolean; entries: number }): AuditKey | undefined {
  const { marker } = trail;
  const where = file ?? 'the key in memory';
  if (!marker && !trail.keyedRows) {
    // A key file, and entries that no marker covers: the marker was removed, or the file was copied in before this trail was keyed.
    if (key?.file && trail.entries > 0) {
      throw new AuditKeyError(
        'PLANTA_AUDIT_KEY_UNMARKED',
        `the audit trail has ${trail.entries} entries and no record of where its keyed entries begin, though the key ${where} exists: if that record was removed, the trail was tampered with (planta audit verify); if this trail never had a key, move ${where} away and a new key is made`,
      );
    }
    return key;
  }
  if (!key) {
    throw new AuditKeyError(
      'PLANTA_AUDIT_KEY_MISSING',
      `the audit trail is keyed${marker ? ` (from entry ${marker.since} on, key ${marker.keyId})` : ''} but its key ${where} is missing: restore it from your backup or copy it from a web node that has it (PLANTA_AUDIT_KEY_FILE names another place)`,
    );
  }
  if (marker && marker.keyId !== key.id) {
    throw new AuditKeyError('PLANTA_AUDIT_KEY_MISMATCH', `the audit trail is keyed with key ${marker.keyId}, but ${where} holds key ${key.id}: copy the trail's key file here`);
  }
  return key;
}

/** Removes a key file this process has just created and never used (another node's key won). */
export function discardAuditKey(key: AuditKey): void {
  if (key.file) unlinkSync(key.file);
}

// ------------------------------------------------------------ the chain

const GENESIS = '0'.repeat(64);
type Hashed = Pick<AuditEntry, 'seq' | 'ts' | 'actor' | 'action' | 'target' | 'detail'>;
const content = (prevHash: string, e: Hashed): string => JSON.stringify([prevHash, e.seq, e.ts, e.actor, e.action, e.target, e.detail]);

/** The hash chaining an entry to the one before: with the key (HMAC-SHA256), or plain SHA-256 for an entry from before the key. */
export function chainHash(prevHash: string, e: Hashed, key?: AuditKey): string {
  return key ? hmac(key.secret, content(prevHash, e)) : createHash('sha256').update(content(prevHash, e)).digest('hex');
}

/** The entry after `last` (undefined: the first), chained to it with the key. */
export function nextAuditEntry(last: { seq: number; hash: string } | undefined, e: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash' | 'keyId'>, key: AuditKey): AuditEntry {
  const entry = { seq: (last?.seq ?? 0) + 1, ...e };
  const prevHash = last?.hash ?? GENESIS;
  return { ...entry, prevHash, hash: chainHash(prevHash, entry, key), keyId: key.id };
}

export type AuditCheck = { ok: true; entries: number } | { ok: false; seq: number; why: string };

/** An entry's seq and hash as kept elsewhere: `HASH` or `SEQ:HASH`. */
export interface AuditHead {
  seq?: number;
  hash: string;
}

export function parseAuditHead(text: string): AuditHead | undefined {
  const m = /^(?:(\d+):)?([0-9a-f]{64})$/i.exec(text.trim());
  if (!m) return undefined;
  return { ...(m[1] ? { seq: Number(m[1]) } : {}), hash: m[2]!.toLowerCase() };
}

export interface ChainCheckOptions {
  /** The trail's key (needed once it holds keyed entries). */
  key?: AuditKey;
  /** Where keyed entries begin, from the trail's meta table. */
  marker?: KeyMarker;
  /** A head kept elsewhere: it must be an entry of the chain. */
  head?: AuditHead;
}

/** Recomputes the chain entry by entry (in seq order); stops at the first broken one. */
export class ChainCheck {
  private prev = GENESIS;
  private n = 0;
  private keyed = false;
  private headSeen = false;
  private broken: AuditCheck | undefined;

  constructor(private readonly o: ChainCheckOptions = {}) {
    const { key, marker } = o;
    if (marker && (!key || marker.keyId !== key.id || markerMac(key, marker.since, marker.keyId) !== marker.mac)) {
      this.broken = { ok: false, seq: marker.since, why: 'the record of where keyed entries begin was altered' };
    }
  }

  /** Takes the next entry; false once the chain is broken. */
  next(r: AuditRow): boolean {
    if (this.broken) return false;
    const expected = this.n + 1;
    const { key, marker } = this.o;
    const mustBeKeyed = this.keyed || (marker !== undefined && r.seq >= marker.since);
    if (r.seq !== expected) this.broken = { ok: false, seq: expected, why: `entry ${expected} is missing` };
    else if (r.prev_hash !== this.prev) this.broken = { ok: false, seq: r.seq, why: 'it does not follow the entry before it' };
    else if (r.key_id === null && mustBeKeyed) this.broken = { ok: false, seq: r.seq, why: 'it is not keyed, where every entry must be (rewritten without the key?)' };
    else if (r.key_id !== null && r.key_id !== key?.id) this.broken = { ok: false, seq: r.seq, why: `it was keyed with another key (${r.key_id})` };
    else if (chainHash(this.prev, r, r.key_id === null ? undefined : key) !== r.hash) this.broken = { ok: false, seq: r.seq, why: 'its content does not match its hash (edited)' };
    if (this.broken) return false;
    if (r.key_id !== null) this.keyed = true;
    if (this.o.head && r.hash === this.o.head.hash && (this.o.head.seq === undefined || this.o.head.seq === r.seq)) this.headSeen = true;
    this.prev = r.hash;
    this.n++;
    return true;
  }

  result(): AuditCheck {
    if (this.broken) return this.broken;
    const { key, marker, head } = this.o;
    // A key file beside a trail with entries but no marker: the marker was removed (and the entries rewritten unkeyed?).
    if (key?.file && !marker && this.n > 0) return { ok: false, seq: 1, why: `the trail has no record of where its keyed entries begin, though its key ${key.file} exists (removed?)` };
    if (head && !this.headSeen) {
      return { ok: false, seq: head.seq ?? this.n + 1, why: `the head ${head.seq !== undefined ? `${head.seq}:` : ''}${head.hash} is not an entry of the trail: entries were cut off the end or rewritten` };
    }
    return { ok: true, entries: this.n };
  }
}
