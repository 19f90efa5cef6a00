/** The users' directory named by a `--db`: an SQLite file, or a postgres:// URL (shared by web nodes). */
import { resolve } from 'node:path';
import type { Logger } from '../util/log.js';
import { type UserDirectory, sqliteDirectory } from './directory.js';
import { PostgresDirectory } from './postgres.js';
import { AuthStore } from './store.js';

/** Where `planta web` and `planta user|token|audit` find users by default: PLANTA_USERS_DB, else data/planta.db. */
export const usersDb = (env: NodeJS.ProcessEnv = process.env): string => env.PLANTA_USERS_DB || 'data/planta.db';

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//.test(db);

/**
 * The directory, and the SQLite store behind it when it is one (which also
 * keeps the sign-in attempts). The audit key: PLANTA_AUDIT_KEY_FILE, else
 * beside the SQLite file, or data/planta-audit-<schema>.key for PostgreSQL.
 */
export function openDirectory(db: string, log?: Logger): { directory: UserDirectory; sqlite?: AuthStore } {
  if (isPostgresUrl(db)) return { directory: new PostgresDirectory({ url: db, ...(log ? { log } : {}) }) };
  const sqlite = new AuthStore(db);
  return { directory: sqliteDirectory(sqlite, resolve(db)), sqlite };
}
