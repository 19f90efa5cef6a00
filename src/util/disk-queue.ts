/**
 * A queue on local disk, one SQLite file: what a process could not hand on
 * (a poller's samples while Redis is away, the historian's commits while its
 * database is away) waits here, in order, until it is forwarded. An entry
 * appended is durable: it survives a kill -9 (WAL, synchronous=NORMAL).
 *
 * An entry is bytes under a key (entries are taken in order per key; a
 * queue with one stream of entries uses one key), with an optional number
 * beside them (`mark`, e.g. a time). The file may also keep the names that
 * ids in its entries stand for (`names`), written with the entry that first
 * uses them.
 *
 * Past `maxBytes` (the bytes of the entries) the OLDEST entries are dropped,
 * whatever their key, and reported to the caller: after a long outage the
 * recent data (the state the plant is in, what led to the outage's end) is
 * worth more than its first hours, and the history keeps one gap instead of
 * a gap that reaches to the present. Once drained, the file gives its space
 * back (incremental vacuum): it is as large as an outage needed only while
 * the outage's data waits.
 *
 * Layout: queue (seq INTEGER PRIMARY KEY, key TEXT, mark INTEGER, data BLOB);
 * names (id INTEGER PRIMARY KEY, name TEXT UNIQUE). Files of earlier
 * versions — a poller's outbox (`entries`: seq, device, up_to, v TEXT) and
 * the historian's buffer (`chunks`: seq, data; `tags`: id, name) — are
 * migrated on open, their entries kept in order.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export interface QueueEntry {
  seq: number;
  key: string;
  mark: number | null;
  data: Buffer;
}

/** What an append or a drop removed. */
export interface Dropped {
  entries: number;
  bytes: number;
}

export interface DiskQueueOptions {
  /** One process at a time (SQLite's exclusive locking mode): a second one opening the file gets SQLITE_BUSY at once. */
  exclusive?: boolean;
}

export class DiskQueue {
  private readonly db: Database.Database;
  private readonly stmt: Record<'insert' | 'insertName' | 'oldest' | 'firstRows' | 'removeUpTo' | 'removeKeyUpTo' | 'sizeUpTo' | 'sizeOf' | 'removeKey', Database.Statement>;
  private bytesHeld = 0;
  private readonly perKey = new Map<string, number>();

  /** `path` ':memory:' keeps the queue in memory (tests). */
  constructor(
    readonly path: string,
    readonly maxBytes: number,
    o: DiskQueueOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, o.exclusive ? { timeout: 0 } : {});
    try {
      this.db.pragma('journal_mode = WAL');
      if (o.exclusive) {
        this.db.pragma('locking_mode = EXCLUSIVE');
        // The lock is taken by the first write: take it now, so a second process fails here and not later.
        this.db.exec('BEGIN IMMEDIATE; COMMIT;');
      }
      this.db.pragma('synchronous = NORMAL');
      useIncrementalVacuum(this.db);
      this.db.transaction(() => this.createAndMigrate())();
    } catch (err) {
      this.db.close();
      throw err;
    }
    const p = (sql: string): Database.Statement => this.db.prepare(sql);
    this.stmt = {
      insert: p('INSERT INTO queue (key, mark, data) VALUES (?, ?, ?)'),
      insertName: p('INSERT OR IGNORE INTO names (id, name) VALUES (?, ?)'),
      oldest: p('SELECT seq, key, mark, data FROM queue WHERE key = ? ORDER BY seq LIMIT ?'),
      firstRows: p('SELECT seq, key, length(data) AS bytes FROM queue ORDER BY seq LIMIT 256'),
      removeUpTo: p('DELETE FROM queue WHERE seq <= ?'),
      removeKeyUpTo: p('DELETE FROM queue WHERE key = ? AND seq <= ?'),
      sizeUpTo: p('SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes FROM queue WHERE key = ? AND seq <= ?'),
      sizeOf: p('SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes FROM queue WHERE key = ?'),
      removeKey: p('DELETE FROM queue WHERE key = ?'),
    };
    this.recount();
    // A file left large by an earlier run.
    this.reclaimWhenDrained();
  }

  private createAndMigrate(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, mark INTEGER, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    `);
    const has = (table: string): boolean => this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    if (has('entries')) this.db.exec('INSERT INTO queue (seq, key, mark, data) SELECT seq, device, up_to, CAST(v AS BLOB) FROM entries; DROP TABLE entries;');
    if (has('chunks')) this.db.exec("INSERT INTO queue (seq, key, mark, data) SELECT seq, '', NULL, data FROM chunks; DROP TABLE chunks;");
    if (has('tags')) this.db.exec('INSERT OR IGNORE INTO names (id, name) SELECT id, name FROM tags; DROP TABLE tags;');
  }

  /**
   * The queue's connection, for a companion keeping tables of its own (named
   * unlike `queue` and `names`) in the same file, so that its writes and the
   * queue's can share one transaction (`transaction`).
   */
  get connection(): Database.Database {
    return this.db;
  }

  /**
   * Runs `f` in one transaction: what it appends and what it writes through
   * `connection` are kept together, or neither. A failure rolls back and is
   * thrown; the counts of the entries are read again from the file.
   */
  transaction<T>(f: () => T): T {
    try {
      return this.db.transaction(f)();
    } catch (err) {
      this.recount();
      throw err;
    }
  }

  private recount(): void {
    this.perKey.clear();
    this.bytesHeld = 0;
    for (const r of this.db.prepare('SELECT key, count(*) AS n, sum(length(data)) AS bytes FROM queue GROUP BY key').all() as { key: string; n: number; bytes: number }[]) {
      this.perKey.set(r.key, r.n);
      this.bytesHeld += r.bytes;
    }
  }

  /** Bytes of the entries waiting. */
  get bytes(): number {
    return this.bytesHeld;
  }

  /** Entries waiting, under one key or under all. */
  pending(key?: string): number {
    if (key !== undefined) return this.perKey.get(key) ?? 0;
    let n = 0;
    for (const k of this.perKey.values()) n += k;
    return n;
  }

  /** The keys with entries waiting. */
  keys(): string[] {
    return [...this.perKey.keys()];
  }

  /** The names the file keeps, by id. */
  names(): Map<number, string> {
    const out = new Map<number, string>();
    for (const r of this.db.prepare('SELECT id, name FROM names').all() as { id: number; name: string }[]) out.set(r.id, r.name);
    return out;
  }

  /**
   * Appends an entry (and names not kept yet) in one transaction, first
   * dropping the oldest entries past maxBytes; an entry larger than the
   * whole queue is dropped too. Returns what was dropped.
   */
  append(key: string, data: Uint8Array, o: { mark?: number | null; names?: Iterable<readonly [number, string]> } = {}): Dropped {
    const size = data.length;
    const dropped: Dropped = { entries: 0, bytes: 0 };
    this.db.transaction(() => {
      for (const [id, name] of o.names ?? []) this.stmt.insertName.run(id, name);
      while (this.bytesHeld + size > this.maxBytes && this.bytesHeld > 0) {
        let upTo = -1;
        for (const r of this.stmt.firstRows.all() as { seq: number; key: string; bytes: number }[]) {
          if (this.bytesHeld + size <= this.maxBytes) break;
          upTo = r.seq;
          this.bytesHeld -= r.bytes;
          this.count(r.key, -1);
          dropped.entries++;
          dropped.bytes += r.bytes;
        }
        if (upTo < 0) break;
        this.stmt.removeUpTo.run(upTo);
      }
      if (size > this.maxBytes) {
        dropped.entries++;
        dropped.bytes += size;
        return;
      }
      this.stmt.insert.run(key, o.mark ?? null, data);
      this.bytesHeld += size;
      this.count(key, 1);
    })();
    return dropped;
  }

  /** The oldest entries under a key, at most `max`. */
  oldest(key: string, max: number): QueueEntry[] {
    return this.stmt.oldest.all(key, max) as QueueEntry[];
  }

  /** Removes a key's entries up to and including `seq` (forwarded). */
  remove(key: string, seq: number): void {
    const { n, bytes } = this.stmt.sizeUpTo.get(key, seq) as { n: number; bytes: number };
    this.stmt.removeKeyUpTo.run(key, seq);
    this.bytesHeld -= bytes;
    this.count(key, -n);
    this.reclaimWhenDrained();
  }

  /** Drops every entry under a key; returns what was dropped. */
  drop(key: string): Dropped {
    const { n, bytes } = this.stmt.sizeOf.get(key) as { n: number; bytes: number };
    if (n === 0) return { entries: 0, bytes: 0 };
    this.stmt.removeKey.run(key);
    this.bytesHeld -= bytes;
    this.perKey.delete(key);
    this.reclaimWhenDrained();
    return { entries: n, bytes };
  }

  /** Bytes of the file and its write-ahead log. */
  fileBytes(): number {
    let n = 0;
    for (const f of [this.path, `${this.path}-wal`]) {
      try {
        n += statSync(f).size;
      } catch {
        // not there (yet), or in memory
      }
    }
    return n;
  }

  /** Returns the file's free pages to the file system and empties its write-ahead log, once drained (little is left to move). */
  private reclaimWhenDrained(): void {
    if (this.perKey.size > 0) return;
    this.db.pragma('incremental_vacuum');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private count(key: string, delta: number): void {
    const n = (this.perKey.get(key) ?? 0) + delta;
    if (n > 0) this.perKey.set(key, n);
    else this.perKey.delete(key);
  }

  close(): void {
    this.db.close();
  }
}

const INCREMENTAL = 2;

/**
 * auto_vacuum=INCREMENTAL, so freed pages can be returned later (SQLite
 * otherwise keeps them inside the file for reuse, and a queue would stay at
 * its peak size for good). A new file takes it at once; a file made before
 * (auto_vacuum NONE) is rebuilt once with VACUUM — as long as copying what
 * it holds.
 */
function useIncrementalVacuum(db: Database.Database): void {
  if (db.pragma('auto_vacuum', { simple: true }) === INCREMENTAL) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
}
