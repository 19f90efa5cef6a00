/** The users' directory named by a `--db`: an SQLite file, or a postgres:// URL (shared by web nodes). */
import { resolve } from 'node:path';
import type { Logger } from '../util/log.js';
import { type UserDirectory, sqliteDirectory } from './directory.js';
import { PostgresDirectory } from './postgres.js';
import { AuthStore } from './store.js';

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//.test(db);

/** The directory, and the SQLite store behind it when it is one (its sessions serve a web node on the in-memory bus). */
export function openDirectory(db: string, log?: Logger): { directory: UserDirectory; sqlite?: AuthStore } {
  if (isPostgresUrl(db)) return { directory: new PostgresDirectory({ url: db, ...(log ? { log } : {}) }) };
  const sqlite = new AuthStore(db);
  return { directory: sqliteDirectory(sqlite, resolve(db)), sqlite };
}
