/**
 * The historian's tables in PostgreSQL (postgres.ts), in one schema per
 * installation, created if missing — measured by `npm run bench:historian`,
 * see docs/benchmarks.md:
 *
 * - `blocks (tag_id, t_start, t_end, n, data)`: per-tag time blocks of up to
 *   1,024 packed samples (the SQLite store's codec), declaratively
 *   partitioned by month on t_start (epoch ms), a B-tree primary key
 *   (tag_id, t_start) per partition and a BRIN index on t_start. One index
 *   entry per ~1,000 samples keeps per-tag range queries indexed while ingest
 *   writes few, sequential rows; a row per sample with a (tag_id, ts) B-tree
 *   costs an index insert per sample and is several times slower here.
 * - `recent (tag_id, t_start, t_end, n, at, data)`: what is not sealed yet,
 *   as one fragment per tag per commit (same encoding). Readers in any
 *   process see blocks ∪ recent: nothing lives only in the writer's memory.
 * - `minute`, `hour`: rollups, partitioned by month on t, B-tree (tag_id, t)
 *   and BRIN on t. `tags (id, name, last_ts)`, `meta (key, value)`.
 * - Partitions are created ahead as needed (the month of the data and the
 *   next). Retention drops whole partitions when all of a month has expired
 *   (cheap: no dead rows, no vacuum).
 * - Inserts are multi-row `INSERT … SELECT FROM unnest($1::int[], …)`: one
 *   statement per table per commit, and with blocks there are few rows; the
 *   bytes dominate, so COPY would gain little and cost a dependency.
 */
import type pg from 'pg';
import type { Logger } from '../util/log.js';
import { encodeBlock, splitBlocks } from './codec.js';
import type { RollupRow } from './types.js';

export type PartitionedTable = 'blocks' | 'minute' | 'hour';

export const monthStart = (t: number): number => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const nextMonth = (m: number): number => {
  const d = new Date(m);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};
const monthName = (m: number): string => {
  const d = new Date(m);
  return `p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

/** Creates the schema and its tables if missing (inside the caller's transaction). */
export async function createTables(c: pg.ClientBase, schema: string): Promise<void> {
  const t = (name: string): string => `"${schema}".${name}`;
  // Two processes opening the same schema at once: one creates, the other waits.
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-historian:${schema}`]);
  await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await c.query(`
    CREATE TABLE IF NOT EXISTS ${t('tags')} (id serial PRIMARY KEY, name text NOT NULL UNIQUE, last_ts bigint);
    CREATE TABLE IF NOT EXISTS ${t('meta')} (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE IF NOT EXISTS ${t('blocks')} (
      tag_id int NOT NULL, t_start bigint NOT NULL, t_end bigint NOT NULL, n int NOT NULL, data bytea NOT NULL,
      PRIMARY KEY (tag_id, t_start)
    ) PARTITION BY RANGE (t_start);
    CREATE INDEX IF NOT EXISTS blocks_t_brin ON ${t('blocks')} USING brin (t_start);
    CREATE TABLE IF NOT EXISTS ${t('recent')} (
      tag_id int NOT NULL, t_start bigint NOT NULL, t_end bigint NOT NULL, n int NOT NULL, at bigint NOT NULL, data bytea NOT NULL,
      PRIMARY KEY (tag_id, t_start)
    );
  `);
  for (const r of ['minute', 'hour']) {
    await c.query(`
      CREATE TABLE IF NOT EXISTS ${t(r)} (
        tag_id int NOT NULL, t bigint NOT NULL, first float8, min float8, max float8, last float8, avg float8, twa float8,
        count int NOT NULL, good float8 NOT NULL, PRIMARY KEY (tag_id, t)
      ) PARTITION BY RANGE (t);
      CREATE INDEX IF NOT EXISTS ${r}_t_brin ON ${t(r)} USING brin (t);
    `);
  }
}

/** The monthly partitions of a schema's partitioned tables. */
export class Partitions {
  /** The partitions known to exist. */
  private readonly known = new Set<string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly log?: Logger,
  ) {}

  private t(name: string): string {
    return `"${this.schema}".${name}`;
  }

  /** Notes the partitions that exist. */
  async load(): Promise<void> {
    const r = await this.pool.query<{ name: string }>(
      'SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1',
      [this.schema],
    );
    for (const x of r.rows) this.known.add(x.name);
  }

  /** Creates the monthly partitions of `table` covering [range[0], range[1]] and the month after, if missing. */
  async ensure(table: PartitionedTable, range: readonly [number, number]): Promise<void> {
    const last = nextMonth(monthStart(range[1]));
    for (let m = monthStart(range[0]); m <= last; m = nextMonth(m)) {
      const name = `${table}_${monthName(m)}`;
      if (this.known.has(name)) continue;
      try {
        await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t(name)} PARTITION OF ${this.t(table)} FOR VALUES FROM (${m}) TO (${nextMonth(m)})`);
      } catch (err) {
        // Created by another process between our check and ours.
        if ((err as { code?: string }).code !== '42P07') throw err;
      }
      this.known.add(name);
    }
  }

  /** The monthly partitions of a table, oldest first, with their bounds. */
  private async list(table: PartitionedTable): Promise<{ name: string; from: number; to: number }[]> {
    const r = await this.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = $2`,
      [this.schema, table],
    );
    return r.rows
      .map((x) => {
        const m = /_p(\d{4})(\d{2})$/.exec(x.name);
        const from = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, 1) : NaN;
        return { name: x.name, from, to: nextMonth(from) };
      })
      .filter((p) => Number.isFinite(p.from))
      .sort((a, b) => a.from - b.from);
  }

  /**
   * Drops every partition of `table` whose rows all end before `before` (a
   * row reaches up to `reach` past its partition's end), whatever it holds:
   * dropping is cheap. Resolves with the rows dropped.
   */
  async dropBefore(table: PartitionedTable, before: number, reach: number): Promise<number> {
    let removed = 0;
    for (const p of await this.list(table)) {
      if (p.to + reach > before) break;
      const n = (await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${this.t(p.name)}`)).rows[0]!.n;
      await this.pool.query(`DROP TABLE IF EXISTS ${this.t(p.name)}`);
      this.known.delete(p.name);
      removed += n;
      this.log?.info({ partition: `${this.schema}.${p.name}`, rows: n }, 'historian: retention dropped a partition');
    }
    return removed;
  }

  /** The oldest time in a partitioned table: its oldest non-empty partition, narrowed by the BRIN index to its first day. */
  async oldest(table: PartitionedTable, column: string): Promise<number | undefined> {
    for (const p of await this.list(table)) {
      for (const upTo of [p.from + 86_400_000, p.to]) {
        const r = await this.pool.query<{ t: number | null }>(`SELECT min(${column}) AS t FROM ${this.t(p.name)} WHERE ${column} < $1`, [upTo]);
        if (r.rows[0]!.t !== null) return r.rows[0]!.t;
      }
    }
    return undefined;
  }
}

/** Rows of `blocks` or `recent`, as the arrays an `unnest` insert takes. */
export class BlockRows {
  readonly tag: number[] = [];
  readonly t0: number[] = [];
  readonly t1: number[] = [];
  readonly n: number[] = [];
  readonly data: Buffer[] = [];

  /** A tag's first `count` samples, cut into blocks of at most `size`. */
  add(tag: number, ts: Float64Array, v: Float64Array, q: Uint8Array, count: number, size: number): void {
    for (const b of splitBlocks(ts, count, size)) {
      this.tag.push(tag);
      this.t0.push(ts[b.start]!);
      this.t1.push(ts[b.end - 1]!);
      this.n.push(b.end - b.start);
      this.data.push(encodeBlock(ts, v, q, b.start, b.end - b.start, ts[b.start]!));
    }
  }
}

/** The columns of `minute` and `hour` after tag_id, in order. */
export const ROLLUP_COLUMNS = 't, first, min, max, last, avg, twa, count, good';

const nullable = (x: number): number | null => (Number.isFinite(x) ? x : null);
const num = (x: number | null): number => (x === null ? NaN : x);

/** Rollup rows as the arrays of an `unnest` insert, in ROLLUP_COLUMNS' order (NaN as NULL). */
export function rollupArrays(rows: readonly RollupRow[]): (number | null)[][] {
  const col = (f: (r: RollupRow) => number | null): (number | null)[] => rows.map(f);
  return [
    col((r) => r.t),
    col((r) => nullable(r.first)),
    col((r) => nullable(r.min)),
    col((r) => nullable(r.max)),
    col((r) => nullable(r.last)),
    col((r) => nullable(r.avg)),
    col((r) => nullable(r.twa)),
    col((r) => r.count),
    col((r) => r.good),
  ];
}

/** A rollup row read in ROLLUP_COLUMNS' order (NULL as NaN). */
export function rollupRow(x: (number | null)[]): RollupRow {
  return { t: x[0]!, first: num(x[1]!), min: num(x[2]!), max: num(x[3]!), last: num(x[4]!), avg: num(x[5]!), twa: num(x[6]!), count: x[7]!, good: x[8]! };
}
