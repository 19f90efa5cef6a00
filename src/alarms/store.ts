/**
 * Where the journal and the alarms' states survive restarts: SQLite (WAL),
 * one file. Writes are few (transitions, acknowledgements, events) and each
 * is committed before it is published, so nothing a browser saw is lost.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { JournalEntry, JournalKind } from '../bus/alarm-messages.js';
import type { PersistedAlarm } from './machine.js';

export interface JournalQuery {
  from?: number;
  to?: number;
  /** Words that must all appear in the text or the source (case-insensitive). */
  search?: string;
  kinds?: JournalKind[];
  /** Entries with a seq below this (paging back), newest first. */
  before?: number;
  limit?: number;
}

interface Row {
  seq: number;
  ts: number;
  kind: JournalKind;
  source: string;
  text: string;
  priority: string | null;
  user: string | null;
}

function toEntry(r: Row): JournalEntry {
  const e: JournalEntry = { seq: r.seq, ts: r.ts, kind: r.kind, source: r.source, text: r.text };
  if (r.priority) e.priority = r.priority as JournalEntry['priority'];
  if (r.user) e.user = r.user;
  return e;
}

export class AlarmStore {
  private readonly db: Database.Database;
  private readonly insertJournal: Database.Statement;
  private readonly upsertState: Database.Statement;

  /** `path` ':memory:' keeps everything in memory (tests). */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        text TEXT NOT NULL,
        priority TEXT,
        user TEXT
      );
      CREATE INDEX IF NOT EXISTS journal_ts ON journal (ts);
      CREATE TABLE IF NOT EXISTS alarm_state (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL
      );
    `);
    this.insertJournal = this.db.prepare('INSERT INTO journal (ts, kind, source, text, priority, user) VALUES (?, ?, ?, ?, ?, ?)');
    this.upsertState = this.db.prepare('INSERT INTO alarm_state (id, state) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state');
  }

  /** Appends entries (one transaction) and returns them with their sequence numbers. */
  append(entries: Omit<JournalEntry, 'seq'>[]): JournalEntry[] {
    const out: JournalEntry[] = [];
    this.db.transaction(() => {
      for (const e of entries) {
        const r = this.insertJournal.run(e.ts, e.kind, e.source, e.text, e.priority ?? null, e.user ?? null);
        out.push({ ...e, seq: Number(r.lastInsertRowid) });
      }
    })();
    return out;
  }

  saveStates(states: [string, PersistedAlarm][]): void {
    this.db.transaction(() => {
      for (const [id, s] of states) this.upsertState.run(id, JSON.stringify(s));
    })();
  }

  loadStates(): Map<string, PersistedAlarm> {
    const rows = this.db.prepare('SELECT id, state FROM alarm_state').all() as { id: string; state: string }[];
    return new Map(rows.map((r) => [r.id, JSON.parse(r.state) as PersistedAlarm]));
  }

  /** Newest first. */
  query(q: JournalQuery = {}): JournalEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (clause: string, ...values: (string | number)[]): void => {
      where.push(clause);
      args.push(...values);
    };
    if (q.from !== undefined) add('ts >= ?', q.from);
    if (q.to !== undefined) add('ts <= ?', q.to);
    if (q.before !== undefined) add('seq < ?', q.before);
    if (q.kinds?.length) add(`kind IN (${q.kinds.map(() => '?').join(', ')})`, ...q.kinds);
    for (const word of (q.search ?? '').split(/\s+/).filter(Boolean)) {
      const like = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      add("(text LIKE ? ESCAPE '\\' OR source LIKE ? ESCAPE '\\')", like, like);
    }
    const limit = Math.min(Math.max(1, q.limit ?? 200), 5000);
    const sql = `SELECT * FROM journal ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${limit}`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toEntry);
  }

  /** Activation times (ts, source, priority) in a period, oldest first, for the alarm-rate figures. */
  activations(from: number, to: number): { ts: number; source: string; priority: string }[] {
    return this.db
      .prepare("SELECT ts, source, priority FROM journal WHERE kind = 'alarm' AND ts >= ? AND ts <= ? ORDER BY ts")
      .all(from, to) as { ts: number; source: string; priority: string }[];
  }

  close(): void {
    this.db.close();
  }
}
