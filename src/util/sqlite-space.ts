/**
 * SQLite files that fill during an outage (store-and-forward buffers) and
 * must give the space back once drained: SQLite keeps freed pages inside the
 * file for reuse, so without this a buffer stays at its peak size for good.
 */
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';

const INCREMENTAL = 2;

/**
 * auto_vacuum=INCREMENTAL, so freed pages can be returned later. A new file
 * takes it at once; a file made before (auto_vacuum NONE) is rebuilt once
 * with VACUUM — the migration, as long as copying what it holds.
 */
export function useIncrementalVacuum(db: Database.Database): void {
  if (db.pragma('auto_vacuum', { simple: true }) === INCREMENTAL) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
}

/** Returns the file's free pages to the file system and empties its write-ahead log (call it once drained: little is left to move). */
export function reclaimSpace(db: Database.Database): void {
  db.pragma('incremental_vacuum');
  db.pragma('wal_checkpoint(TRUNCATE)');
}

/** Bytes of an SQLite file and its write-ahead log (0 for what is not there). */
export function sqliteFileBytes(path: string): number {
  let n = 0;
  for (const f of [path, `${path}-wal`]) {
    try {
      n += statSync(f).size;
    } catch {
      // not there (yet)
    }
  }
  return n;
}
