/**
 * The notifications' outbox: what is to be sent waits on disk (the SQLite
 * queue of src/util/disk-queue.ts, one key per channel, so each channel
 * keeps its order and one channel's outage holds up no other) until its
 * channel took it. A restart or an outage of a mail server delays
 * notifications, never drops them; only an outbox grown past its size drops
 * its oldest (logged, counted). Beside the queue, in the same file, the log
 * of what was sent and what failed (the HMI's Notifications page), the
 * escalations already sent, and what the policy holds for a digest or a
 * flood message (written with the notices it queues, in one transaction, so
 * a crash delays these summaries and never drops them).
 *
 * Delivery is at least once: a crash between a channel's acceptance and the
 * removal from the queue sends that notification again at the next start.
 */
import Database from 'better-sqlite3';
import { DiskQueue } from '../util/disk-queue.js';
import type { EscalationMemory, HeldMemory } from './policy.js';
import type { Notice } from './notice.js';
import type { LogRow } from './status.js';

/** The log keeps this many rows (the newest). */
const LOG_ROWS = 5000;

export class NotifyOutbox implements EscalationMemory, HeldMemory {
  private readonly queue: DiskQueue;
  private readonly db: Database.Database;
  private readonly stmt: Record<'log' | 'prune' | 'hasEsc' | 'addEsc' | 'pruneEsc' | 'held' | 'hold' | 'release', Database.Statement>;

  constructor(readonly path: string, maxBytes: number) {
    this.queue = new DiskQueue(path, maxBytes);
    // The queue's connection: what the policy holds is written in one transaction with the notices it queues.
    this.db = this.queue.connection;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS notify_log (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, alarm TEXT,
        subject TEXT NOT NULL, outcome TEXT NOT NULL, error TEXT, attempt INTEGER NOT NULL, late INTEGER NOT NULL, queued_at INTEGER NOT NULL, target TEXT NOT NULL DEFAULT '');
      CREATE TABLE IF NOT EXISTS notify_escalated (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS notify_held (key TEXT PRIMARY KEY, data TEXT NOT NULL);
    `);
    // An outbox of an earlier version has no target column: its rows say to whom as ''.
    if (!(this.db.prepare('PRAGMA table_info(notify_log)').all() as { name: string }[]).some((c) => c.name === 'target')) this.db.exec("ALTER TABLE notify_log ADD COLUMN target TEXT NOT NULL DEFAULT ''");
    const p = (sql: string): Database.Statement => this.db.prepare(sql);
    this.stmt = {
      log: p('INSERT INTO notify_log (at, channel, target, kind, alarm, subject, outcome, error, attempt, late, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      prune: p('DELETE FROM notify_log WHERE id <= (SELECT max(id) FROM notify_log) - ?'),
      hasEsc: p('SELECT 1 FROM notify_escalated WHERE key = ?'),
      addEsc: p('INSERT OR IGNORE INTO notify_escalated (key, at) VALUES (?, ?)'),
      pruneEsc: p('DELETE FROM notify_escalated WHERE at < ?'),
      held: p('SELECT key, data FROM notify_held'),
      hold: p('INSERT OR REPLACE INTO notify_held (key, data) VALUES (?, ?)'),
      release: p('DELETE FROM notify_held WHERE key = ?'),
    };
  }

  /** Queues a notification; returns how many of the oldest were dropped to make room (0 but after a very long outage). */
  enqueue(n: Notice): number {
    return this.queue.append(n.channel, Buffer.from(JSON.stringify(n)), { mark: n.at }).entries;
  }

  /** The oldest notification waiting for a channel. */
  next(channel: string): { seq: number; notice: Notice } | undefined {
    const [e] = this.queue.oldest(channel, 1);
    return e ? { seq: e.seq, notice: JSON.parse(e.data.toString('utf8')) as Notice } : undefined;
  }

  /** Takes a sent (or refused) notification off the queue. */
  done(channel: string, seq: number): void {
    this.queue.remove(channel, seq);
  }

  pending(channel?: string): number {
    return this.queue.pending(channel);
  }

  log(r: Omit<LogRow, 'id'>): void {
    const info = this.stmt.log.run(r.at, r.channel, r.to, r.kind, r.alarm, r.subject, r.outcome, r.error, r.attempt, r.late ? 1 : 0, r.queuedAt);
    if (Number(info.lastInsertRowid) % 100 === 0) this.stmt.prune.run(LOG_ROWS);
  }

  /** The log, newest first; `before` an id for older pages. */
  recent(limit: number, before?: number): LogRow[] {
    const rows = this.db
      .prepare(`SELECT id, at, channel, target AS "to", kind, alarm, subject, outcome, error, attempt, late, queued_at AS queuedAt FROM notify_log ${before !== undefined ? 'WHERE id < ?' : ''} ORDER BY id DESC LIMIT ?`)
      .all(...(before !== undefined ? [before, limit] : [limit])) as (Omit<LogRow, 'late'> & { late: number })[];
    return rows.map((r) => ({ ...r, late: r.late === 1 }));
  }

  has(key: string): boolean {
    return this.stmt.hasEsc.get(key) !== undefined;
  }

  add(key: string): void {
    const now = Date.now();
    this.stmt.addEsc.run(key, now);
    // An activation escalates within days at most; older keys only take room.
    this.stmt.pruneEsc.run(now - 30 * 86_400_000);
  }

  held(): Map<string, unknown> {
    const rows = this.stmt.held.all() as { key: string; data: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.data) as unknown]));
  }

  keep(changes: ReadonlyMap<string, unknown>, queue: () => void): void {
    this.queue.transaction(() => {
      for (const [key, value] of changes) {
        if (value === undefined) this.stmt.release.run(key);
        else this.stmt.hold.run(key, JSON.stringify(value));
      }
      queue();
    });
  }

  close(): void {
    this.queue.close();
  }
}
