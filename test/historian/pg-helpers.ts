/** The PostgreSQL of the tests: the machine's (127.0.0.1:5432, database test), a schema per test, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { PostgresStore, type PostgresStoreOptions } from '../../src/historian/postgres.js';
import { StoreAndForward } from '../../src/historian/store-and-forward.js';
import { needPeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { TcpProxy } from '../helpers/proxy.js';

export const PG_URL = process.env.PLANTA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<boolean> | undefined;

/** Whether PostgreSQL answers at `url` (one try, a second at most). */
export async function pgAnswers(url = PG_URL): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    await c.end();
    return true;
  } catch {
    await c.end().catch(() => undefined);
    return false;
  }
}

/** Skips the test (or fails it, with PLANTA_REQUIRE_PEERS=1) when the machine's PostgreSQL does not answer. */
export async function needPostgres(t: TestContext): Promise<boolean> {
  reachable ??= pgAnswers();
  return needPeer(t, await reachable, `PostgreSQL at ${PG_URL}`);
}

/** Runs one statement on its own connection. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** A schema name no other run uses. */
export const schemaName = (): string => `planta_test_${process.pid}_${randomBytes(4).toString('hex')}`;

/** Drops the schema (with everything in it) when the test ends: call it after starting what writes there, whose hooks stop it first. */
export function dropSchemaAfter(t: TestContext, schema: string): void {
  t.after(() => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** A schema name no other run uses; dropped when the test ends. */
export function testSchema(t: TestContext): string {
  const schema = schemaName();
  dropSchemaAfter(t, schema);
  return schema;
}

/** A temporary folder for the store-and-forward buffer, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'planta-pg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A PostgreSQL store in a schema of its own behind store-and-forward, with its buffer in a temporary folder; closed at the end of the test. */
export function pgStore(
  t: TestContext,
  { buffer, retryMs, ...o }: Partial<PostgresStoreOptions> & { schema: string; buffer?: { path: string; maxBytes?: number }; retryMs?: number },
): StoreAndForward {
  const store = new StoreAndForward(new PostgresStore({ url: PG_URL, ...o }), { path: join(tempDir(t), 'buffer.db'), ...buffer, ...(retryMs === undefined ? {} : { retryMs }) });
  t.after(() => store.close());
  return store;
}

/** A TCP proxy to the machine's PostgreSQL: stopping it is an outage. */
export class PgProxy extends TcpProxy {
  constructor(port: number) {
    const target = new URL(PG_URL);
    super(port, { host: target.hostname, port: Number(target.port || 5432) });
  }

  get url(): string {
    return PG_URL.replace(/@[^/]+\//, `@127.0.0.1:${this.port}/`);
  }
}

/** A PgProxy started on a free port and stopped when the test ends. */
export async function pgProxy(t: TestContext): Promise<PgProxy> {
  const proxy = new PgProxy(await freePort());
  await proxy.start();
  t.after(() => proxy.stop());
  return proxy;
}
