/**
 * The store-and-forward buffer of a remote historian store: an append-only
 * SQLite file of journal chunks (codec.ts: every sample of one commit, all
 * tags, arrival order) waiting to be forwarded, oldest first, plus the names
 * of the tag ids they use. A chunk appended here is acknowledged: it
 * survives a kill -9 (WAL, synchronous=NORMAL).
 *
 * Past `maxBytes` the OLDEST chunks are dropped to make room: after a long
 * outage the most recent data (the state the plant is in, what led to the
 * outage's end) is worth more than its first hours, and the history keeps one
 * gap instead of a gap that reaches to the present. Dropped samples are
 * counted and reported to the caller, which logs and exports them. Once
 * drained, the file gives its space back (incremental vacuum).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { reclaimSpace, sqliteFileBytes, useIncrementalVacuum } from '../util/sqlite-space.js';
import { CHUNK_BYTES_PER_SAMPLE } from './codec.js';

export interface BufferedChunk {
  seq: number;
  data: Buffer;
}

export class DiskBuffer {
  readonly path: string;
  readonly maxBytes: number;
  private readonly db: Database.Database;
  private readonly stmt: Record<'insert' | 'oldest' | 'remove' | 'insertTag' | 'firstN', Database.Statement>;
  private bytesHeld = 0;
  private chunksHeld = 0;
  /** Samples dropped since this buffer was opened (oldest first, past maxBytes). */
  dropped = 0;

  constructor(path: string, maxBytes: number) {
    this.path = path;
    this.maxBytes = maxBytes;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    useIncrementalVacuum(this.db);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS chunks (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    `);
    this.stmt = {
      insert: this.db.prepare('INSERT INTO chunks (data) VALUES (?)'),
      oldest: this.db.prepare('SELECT seq, data FROM chunks ORDER BY seq LIMIT ?'),
      remove: this.db.prepare('DELETE FROM chunks WHERE seq <= ?'),
      insertTag: this.db.prepare('INSERT OR IGNORE INTO tags (id, name) VALUES (?, ?)'),
      firstN: this.db.prepare('SELECT seq, length(data) AS bytes FROM chunks ORDER BY seq LIMIT ?'),
    };
    const s = this.db.prepare('SELECT count(*) AS c, coalesce(sum(length(data)), 0) AS b FROM chunks').get() as { c: number; b: number };
    this.chunksHeld = s.c;
    this.bytesHeld = s.b;
    // A file left large by an earlier run.
    if (this.chunksHeld === 0) reclaimSpace(this.db);
  }

  /** The tag names the buffered chunks use, by id. */
  tags(): Map<number, string> {
    const out = new Map<number, string>();
    for (const r of this.db.prepare('SELECT id, name FROM tags').all() as { id: number; name: string }[]) out.set(r.id, r.name);
    return out;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  get samples(): number {
    return this.bytesHeld / CHUNK_BYTES_PER_SAMPLE;
  }

  get chunks(): number {
    return this.chunksHeld;
  }

  /** Bytes of the file and its write-ahead log. */
  fileBytes(): number {
    return sqliteFileBytes(this.path);
  }

  /** Appends one chunk (and the names of new tags) in one transaction; resolves with the samples dropped to make room. */
  append(data: Buffer, newTags: readonly (readonly [number, string])[]): number {
    let dropped = 0;
    this.db.transaction(() => {
      for (const [id, name] of newTags) this.stmt.insertTag.run(id, name);
      if (data.length > this.maxBytes) {
        // Larger than the whole buffer: it cannot be kept.
        dropped += data.length / CHUNK_BYTES_PER_SAMPLE;
        return;
      }
      let over = this.bytesHeld + data.length - this.maxBytes;
      if (over > 0) {
        let upTo = -1;
        let freed = 0;
        for (const r of this.stmt.firstN.all(this.chunksHeld) as { seq: number; bytes: number }[]) {
          if (over <= 0) break;
          upTo = r.seq;
          freed += r.bytes;
          over -= r.bytes;
          this.chunksHeld--;
        }
        this.stmt.remove.run(upTo);
        this.bytesHeld -= freed;
        dropped += freed / CHUNK_BYTES_PER_SAMPLE;
      }
      this.stmt.insert.run(data);
      this.bytesHeld += data.length;
      this.chunksHeld++;
    })();
    this.dropped += dropped;
    return dropped;
  }

  /** The oldest chunks, at most `max`. */
  oldest(max: number): BufferedChunk[] {
    return this.stmt.oldest.all(max) as BufferedChunk[];
  }

  /** Removes every chunk up to `seq` (forwarded). */
  removeUpTo(seq: number, bytes: number, chunks: number): void {
    this.stmt.remove.run(seq);
    this.bytesHeld -= bytes;
    this.chunksHeld -= chunks;
    if (this.chunksHeld === 0) reclaimSpace(this.db);
  }

  close(): void {
    this.db.close();
  }
}
