/**
 * A PostgreSQL connection pool (the `pg` client) as Planta's stores open one.
 *
 * The URL may name several hosts, as libpq's do:
 * `postgres://USER@h1:5432,h2:5432/DB?target_session_attrs=read-write`.
 * `pg` takes one host only, so the pool's connections pick theirs here: the
 * host last found writable; after a connection error, a connection that
 * found its host read-only, or a query refused as read-only (SQLSTATE
 * 25006), every host is asked again (`SHOW transaction_read_only`, as libpq
 * does) and new connections go to the writable one. A standby promoted by
 * Patroni, pg_auto_failover or `pg_ctl promote` is so picked up without a
 * restart; what could not be written meanwhile waits in the caller's
 * store-and-forward. With `target_session_attrs=any` the first host that
 * answers is taken (a reader that may read a standby).
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { Logger } from './log.js';
import { redactUrl } from './url.js';

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

/** Where a pool's connections go, and since when: for /readyz and the failover metric. */
export interface PgPlace {
  /** host:port of the server in use (the writable one, with several hosts). */
  node: string;
  /** The hosts the URL names. */
  hosts: number;
  /** When the connections last moved to another host (absent: never since the start). */
  switchedAt?: number;
  /** Moves to another host since the start. */
  switches: number;
}

/** A pool, and where its connections go. */
export type PgPool = pg.Pool & { readonly place: () => PgPlace };

interface PgHost {
  host: string;
  port: number;
}

/**
 * The hosts of a postgres:// URL (one or several, comma-separated), and the
 * URL left for the driver (the first host, target_session_attrs taken out).
 */
export function pgHosts(url: string): { hosts: PgHost[]; url: string; readWrite: boolean } {
  const m = /^(postgres(?:ql)?:\/\/)([^@/]*@)?([^/?#]*)(.*)$/.exec(url);
  if (!m) return { hosts: [], url, readWrite: true };
  const [, scheme, auth = '', hostList, rest = ''] = m;
  const hosts = hostList!.split(',').map((h) => {
    const hp = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(h.trim());
    return { host: (hp?.[1] ?? h).replace(/^\[|\]$/g, '') || 'localhost', port: Number(hp?.[2] ?? 5432) };
  });
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const attrs = params.get('target_session_attrs') ?? 'read-write';
  params.delete('target_session_attrs');
  const query = params.toString();
  return { hosts, url: `${scheme}${auth}${hostList!.split(',')[0]}${path}${query ? `?${query}` : ''}`, readWrite: attrs !== 'any' };
}

/**
 * Which of several hosts the pool's new connections go to. Sure of it until
 * something says otherwise; then the next connection asks every host first
 * (connections made meanwhile wait for that one answer).
 */
class HostChoice {
  current = 0;
  private sure = false;
  private asking: Promise<number> | undefined;
  private everWritable = false;
  readonly placeState: PgPlace;

  constructor(
    private readonly lib: typeof pg,
    readonly hosts: PgHost[],
    private readonly config: pg.ClientConfig,
    private readonly readWrite: boolean,
    private readonly o: PgPoolOptions,
  ) {
    this.placeState = { node: `${hosts[0]!.host}:${hosts[0]!.port}`, hosts: hosts.length, switches: 0 };
  }

  unsure(): void {
    this.sure = false;
  }

  /** The host a new connection goes to. */
  pick(): Promise<number> {
    if (this.sure) return Promise.resolve(this.current);
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  /** Asks each host, the current one first: the first that answers (and is writable, when asked for) is taken. */
  private async ask(): Promise<number> {
    const n = this.hosts.length;
    const seen: string[] = [];
    for (let k = 0; k < n; k++) {
      const i = (this.current + k) % n;
      const h = this.hosts[i]!;
      const c = aim(new this.lib.Client(this.config), h);
      c.on('error', () => undefined);
      try {
        await c.connect();
        if (this.readWrite) {
          const r = await c.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
          if (r.rows[0]?.transaction_read_only !== 'off') {
            seen.push(`${h.host}:${h.port} read-only`);
            continue;
          }
        }
        this.take(i);
        return i;
      } catch (err) {
        seen.push(`${h.host}:${h.port} ${(err as Error).message}`);
      } finally {
        // Not awaited: ending a client that never connected may wait for a close that never comes.
        c.end().catch(() => undefined);
      }
    }
    throw new Error(`no ${this.readWrite ? 'writable ' : ''}PostgreSQL server among ${this.hosts.length} hosts (${seen.join('; ')})`);
  }

  private take(i: number): void {
    const moved = i !== this.current || !this.everWritable;
    this.current = i;
    this.sure = true;
    const node = `${this.hosts[i]!.host}:${this.hosts[i]!.port}`;
    if (moved && this.everWritable && node !== this.placeState.node) {
      this.placeState.switches++;
      this.placeState.switchedAt = Date.now();
      this.o.log?.warn({ code: 'PLANTA_DB_FAILOVER', node, what: this.o.what }, `${this.o.what}: PostgreSQL connections now go to ${node} (the writable server changed)`);
    }
    this.placeState.node = node;
    this.everWritable = true;
  }
}

/** Points a client not connected yet at one host (the URL's other parts stay: user, database, TLS…); pg reads its host and port when it connects. */
function aim<C extends pg.Client>(c: C, h: PgHost): C {
  const self = c as unknown as { host: string; port: number; connectionParameters: { host: string; port: number } };
  self.host = self.connectionParameters.host = h.host;
  self.port = self.connectionParameters.port = h.port;
  return c;
}

/** A `pg` client that connects to the host HostChoice picks, and says when its host turned out wrong. */
function choosingClient(lib: typeof pg, choice: HostChoice, readWrite: boolean): typeof pg.Client {
  return class extends lib.Client {
    private hostIndex = 0;

    constructor(config?: pg.ClientConfig) {
      super(config);
      // A connection lost: perhaps its server died, and another is the primary now.
      this.on('error', () => choice.unsure());
      const query = this.query.bind(this) as (...args: unknown[]) => unknown;
      (this as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        // pool.query passes a callback: its error is looked at too.
        const last = args.at(-1);
        if (typeof last === 'function') {
          args[args.length - 1] = (err: unknown, ...rest: unknown[]) => {
            if (err) this.refused(err);
            return (last as (...a: unknown[]) => unknown)(err, ...rest);
          };
        }
        const out = query(...args);
        if (out instanceof Promise) out.catch((err: unknown) => this.refused(err));
        return out;
      };
    }

    /** A write refused as read-only (the server was demoted): ask again, and drop this connection. */
    private refused(err: unknown): void {
      if ((err as { code?: string } | undefined)?.code !== '25006') return;
      choice.unsure();
      (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error | null, c?: pg.Client) => void): void;
    override connect(callback?: (err: Error | null, c?: pg.Client) => void): Promise<pg.Client> | void {
      const done = this.connectChosen();
      if (!callback) return done;
      done.then((c) => callback(null, c), (err: Error) => callback(err));
    }

    private async connectChosen(): Promise<pg.Client> {
      this.hostIndex = await choice.pick();
      const h = choice.hosts[this.hostIndex]!;
      aim(this, h);
      try {
        await super.connect();
        if (readWrite) {
          const r = await super.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
          if (r.rows[0]?.transaction_read_only !== 'off') throw new Error(`PostgreSQL at ${h.host}:${h.port} is read-only (a standby)`);
        }
        return this;
      } catch (err) {
        choice.unsure();
        super.end().catch(() => undefined);
        throw err;
      }
    }
  };
}

/** The client library is loaded when a PostgreSQL store is first opened (≈ 15 MB the SQLite default does without). */
export function openPgPool(o: PgPoolOptions): PgPool {
  const lib = createRequire(import.meta.url)('pg') as typeof pg;
  const { hosts, url, readWrite } = pgHosts(o.url);
  const clientConfig: pg.ClientConfig = { connectionString: url, connectionTimeoutMillis: o.connectTimeoutMs, query_timeout: o.queryTimeoutMs, application_name: o.applicationName };
  const choice = hosts.length > 1 ? new HostChoice(lib, hosts, clientConfig, readWrite, o) : undefined;
  const single: PgPlace = { node: hosts[0] ? `${hosts[0].host}:${hosts[0].port}` : redactUrl(o.url), hosts: 1, switches: 0 };
  const pool = new lib.Pool({
    connectionString: choice ? url : o.url,
    ...(choice ? { Client: choosingClient(lib, choice, readWrite) } : {}),
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
  return Object.assign(pool, { place: (): PgPlace => ({ ...(choice?.placeState ?? single) }) });
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
