/**
 * A poller's outbox: the samples it could not hand to Redis (Redis down or
 * out of reach) wait here on local disk, in their order, until they are
 * forwarded to the samples streams. An entry appended here survives a
 * kill -9 of the poller (WAL, synchronous=NORMAL).
 *
 * One process owns a file (SQLite's exclusive locking mode): a second poller
 * on the same machine opening it gets PLANTA_BUS_OUTBOX_BUSY and takes
 * another file (`openOutbox`).
 *
 * Past `maxBytes` the OLDEST entries are dropped, counted: after a long
 * outage the recent samples (the state the plant is in) are worth more than
 * its first minutes, and history keeps one gap instead of a gap up to now.
 * Once drained, the file gives its space back (incremental vacuum): it is as
 * large as the outage needed only while the outage's samples wait.
 */
import { mkdirSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import Database from 'better-sqlite3';
import { reclaimSpace, sqliteFileBytes, useIncrementalVacuum } from '../util/sqlite-space.js';
import { BusError } from './errors.js';

export interface OutboxEntry {
  seq: number;
  /** The device: entries are forwarded in order per device. */
  device: string;
  /** The scan's upTo (ScanInfo), or null. */
  upTo: number | null;
  /** The encoded batch (redis-codec.ts encodeBatch). */
  values: string;
}

export class Outbox {
  readonly path: string;
  readonly maxBytes: number;
  private readonly db: Database.Database;
  private readonly stmt: Record<'insert' | 'oldest' | 'remove' | 'firstRows' | 'removeDevice', Database.Statement>;
  private bytesHeld = 0;
  private readonly perDevice = new Map<string, number>();
  /** Entries dropped since this outbox was opened: past maxBytes, or left to another poller that took the device over. */
  dropped = 0;

  constructor(path: string, maxBytes: number) {
    this.path = path;
    this.maxBytes = maxBytes;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { timeout: 0 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec('BEGIN IMMEDIATE; COMMIT;');
      useIncrementalVacuum(this.db);
      this.db.exec('CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, device TEXT NOT NULL, up_to INTEGER, v TEXT NOT NULL)');
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new BusError('PLANTA_BUS_OUTBOX_BUSY', `outbox ${path} is used by another process`);
      throw err;
    }
    this.stmt = {
      insert: this.db.prepare('INSERT INTO entries (device, up_to, v) VALUES (?, ?, ?)'),
      oldest: this.db.prepare('SELECT seq, device, up_to AS upTo, v AS "values" FROM entries WHERE device = ? ORDER BY seq LIMIT ?'),
      remove: this.db.prepare('DELETE FROM entries WHERE device = ? AND seq <= ?'),
      firstRows: this.db.prepare('SELECT seq, device, length(CAST(v AS BLOB)) AS bytes FROM entries ORDER BY seq LIMIT 256'),
      removeDevice: this.db.prepare('DELETE FROM entries WHERE device = ?'),
    };
    for (const r of this.db.prepare('SELECT device, count(*) AS n, sum(length(CAST(v AS BLOB))) AS b FROM entries GROUP BY device').all() as { device: string; n: number; b: number }[]) {
      this.perDevice.set(r.device, r.n);
      this.bytesHeld += r.b;
    }
    // A file left large by an earlier run.
    if (this.perDevice.size === 0) reclaimSpace(this.db);
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** Entries waiting, of one device or of all. */
  pending(device?: string): number {
    if (device !== undefined) return this.perDevice.get(device) ?? 0;
    let n = 0;
    for (const k of this.perDevice.values()) n += k;
    return n;
  }

  /** The devices with entries waiting. */
  devices(): string[] {
    return [...this.perDevice.keys()];
  }

  /** Appends an entry, dropping the oldest ones past maxBytes; returns how many were dropped. */
  append(device: string, upTo: number | null, values: string): number {
    const size = Buffer.byteLength(values);
    let dropped = 0;
    this.db.transaction(() => {
      while (this.bytesHeld + size > this.maxBytes && this.bytesHeld > 0) {
        for (const r of this.stmt.firstRows.all() as { seq: number; device: string; bytes: number }[]) {
          if (this.bytesHeld + size <= this.maxBytes) break;
          this.stmt.remove.run(r.device, r.seq);
          this.bytesHeld -= r.bytes;
          this.count(r.device, -1);
          dropped++;
        }
      }
      if (size > this.maxBytes) {
        dropped++;
        return;
      }
      this.stmt.insert.run(device, upTo, values);
      this.bytesHeld += size;
      this.count(device, 1);
    })();
    this.dropped += dropped;
    return dropped;
  }

  /** The oldest entries of a device, at most `max`. */
  oldest(device: string, max: number): OutboxEntry[] {
    return this.stmt.oldest.all(device, max) as OutboxEntry[];
  }

  /** Removes a device's entries up to and including `entries`' last (forwarded). */
  remove(device: string, entries: readonly OutboxEntry[]): void {
    const last = entries.at(-1);
    if (!last) return;
    this.stmt.remove.run(device, last.seq);
    for (const e of entries) this.bytesHeld -= Buffer.byteLength(e.values);
    this.count(device, -entries.length);
    this.reclaimWhenDrained();
  }

  /** Drops every entry of a device; returns how many. */
  drop(device: string): number {
    const n = this.pending(device);
    if (n === 0) return 0;
    const bytes = (this.db.prepare('SELECT coalesce(sum(length(CAST(v AS BLOB))), 0) AS b FROM entries WHERE device = ?').get(device) as { b: number }).b;
    this.stmt.removeDevice.run(device);
    this.bytesHeld -= bytes;
    this.perDevice.delete(device);
    this.dropped += n;
    this.reclaimWhenDrained();
    return n;
  }

  /** Bytes of the file and its write-ahead log. */
  fileBytes(): number {
    return sqliteFileBytes(this.path);
  }

  private reclaimWhenDrained(): void {
    if (this.perDevice.size === 0) reclaimSpace(this.db);
  }

  private count(device: string, delta: number): void {
    const n = (this.perDevice.get(device) ?? 0) + delta;
    if (n > 0) this.perDevice.set(device, n);
    else this.perDevice.delete(device);
  }

  close(): void {
    this.db.close();
  }
}

/** Opens `path`, or, when another process holds it, `path` with -2 … -9 before its extension. */
export function openOutbox(path: string, maxBytes: number): Outbox {
  const ext = extname(path);
  const base = path.slice(0, path.length - ext.length);
  for (let i = 1; ; i++) {
    try {
      return new Outbox(i === 1 ? path : `${base}-${i}${ext}`, maxBytes);
    } catch (err) {
      if (!(err instanceof BusError) || err.code !== 'PLANTA_BUS_OUTBOX_BUSY' || i >= 9) throw err;
    }
  }
}
