/** A PostgreSQL connection pool (the `pg` client) as Planta's stores open one. */
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { Logger } from './log.js';

export interface PgPoolOptions {
  url: string;
  /** Its name in pg_stat_activity. */
  applicationName: string;
  /** Connections at most. */
  max: number;
  /** Give up a connection attempt after this long (ms). */
  connectTimeoutMs: number;
  /** Give up waiting for an answer after this long (ms), dropping the connection: a silent link is an outage like any other. */
  queryTimeoutMs: number;
  /** Who logs an idle connection that failed (historian, users). */
  what: string;
  log?: Logger;
}

/** The client library is loaded when a PostgreSQL store is first opened (≈ 15 MB the SQLite default does without). */
export function openPgPool(o: PgPoolOptions): pg.Pool {
  const lib = createRequire(import.meta.url)('pg') as typeof pg;
  const pool = new lib.Pool({
    connectionString: o.url,
    max: o.max,
    connectionTimeoutMillis: o.connectTimeoutMs,
    query_timeout: o.queryTimeoutMs,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    application_name: o.applicationName,
    // Epoch milliseconds and sums fit a double exactly: bigint as number.
    types: { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? Number : lib.types.getTypeParser(oid, format as 'text'))) as typeof lib.types.getTypeParser },
  });
  // An idle connection that dies (server restart) is replaced on next use; without a listener it would crash the process.
  pool.on('error', (err) => o.log?.warn({ err }, `${o.what}: an idle PostgreSQL connection failed`));
  // A connection lost while in use fails its query; its 'error' event must not crash the process too.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Runs `f` in a transaction on a connection of its own: committed when it resolves, rolled back (and the connection dropped) when it throws. */
export async function inTransaction<T>(pool: pg.Pool, f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await f(c);
    await c.query('COMMIT');
    c.release();
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    c.release(err as Error);
    throw err;
  }
}
