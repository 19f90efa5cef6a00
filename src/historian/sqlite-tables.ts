/**
 * The SQLite historian's tables (sqlite.ts explains the layout): tags, per-tag
 * time blocks, the journal of unsealed samples, meta, and the minute and hour
 * rollups. Created if missing.
 */
import type Database from 'better-sqlite3';

export function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS blocks (
      tag_id INTEGER NOT NULL, t_start INTEGER NOT NULL, t_end INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
      PRIMARY KEY (tag_id, t_start)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS blocks_end ON blocks (t_end);
    CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, data BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  for (const r of ['minute', 'hour']) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${r} (
        tag_id INTEGER NOT NULL, t INTEGER NOT NULL, first REAL, min REAL, max REAL, last REAL, avg REAL, twa REAL,
        count INTEGER NOT NULL, good REAL NOT NULL, PRIMARY KEY (tag_id, t)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ${r}_t ON ${r} (t);
    `);
  }
}
