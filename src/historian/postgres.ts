/**
 * The historian in PostgreSQL (the `pg` client), behind the same interface
 * as the SQLite store. A store that writes sits behind store-and-forward
 * (store-and-forward.ts, as index.ts opens it): a commit PostgreSQL does not
 * take is given up here — flush rejects — and the wrapper keeps it on disk
 * until it forwards it.
 *
 * Tables and partitions: postgres-tables.ts; what is not sealed yet, and
 * sealing: postgres-recent.ts. Retention drops whole monthly partitions and
 * deletes in batches within the month at the boundary.
 * A sample not after its tag's last stored time (`tags.last_ts`) is skipped:
 * a replay writes nothing twice. What is appended is seen by reads once
 * committed (store-and-forward shows what it holds for the next commit).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../util/log.js';
import { inTransaction, openPgPool, type PgPlace, type PgPool } from '../util/pg.js';
import { type Chunk, MAX_BLOCK_SPAN_MS, SampleQueue, type Samples, concatSamples, decodeBlock, emptySamples, lowerBound, sliceSamples } from './codec.js';
import { type Fragments, Recent } from './postgres-recent.js';
import { BlockRows, type PartitionedTable, Partitions, ROLLUP_COLUMNS, createTables, monthStart, rollupArrays, rollupRow } from './postgres-tables.js';
import { BUCKET_MS, HistorianError, type HistoryStore, type Retained, type RollupResolution, type RollupRow, type StoreStatus } from './types.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database */
  url: string;
  /** The schema of this installation; created if missing. Default 'planta'. */
  schema?: string;
  /**
   * Only read (a web node's trends): no schema created, nothing written.
   * Sees what the writer committed to PostgreSQL — not what it still holds
   * for its next commit, nor what waits in its store-and-forward buffer
   * during an outage.
   */
  readOnly?: boolean;
  /** Samples per sealed block. Default 1024. */
  blockSize?: number;
  /** Fragments are sealed once the oldest is this old (ms). Default 10 minutes. */
  maxJournalAgeMs?: number;
  /** Give up a connection attempt after this long (ms). Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * Give up waiting for an answer after this long (ms), and drop the
   * connection: a silent link (no reset ever comes) is an outage like any
   * other, and the commit fails (to store-and-forward's buffer). Default 30 s
   * (forwarding a large buffer takes seconds).
   */
  queryTimeoutMs?: number;
  /** Connections at most. Default 4. */
  poolSize?: number;
  now?: () => number;
  log?: Logger;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresStore implements HistoryStore {
  readonly schema: string;
  private readonly pool: PgPool;
  readonly readOnly: boolean;
  private readonly blockSize: number;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Local tag ids (this process) by name, and back. */
  private readonly ids = new Map<string, number>();
  private names: string[] = [];
  /** PostgreSQL's id of each local id; its last stored time, by PostgreSQL id. */
  private pgIds: number[] = [];
  private readonly pgIdByName = new Map<string, number>();
  private readonly lastTs = new Map<number, number>();
  private readonly recent: Recent;
  private readonly partitions: Partitions;
  /** Samples appended since the last flush, all tags, arrival order. */
  private queue = new SampleQueue();
  /** The names of the prepared statements of reads, by text. */
  private readonly statements = new Map<string, string>();
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(o: PostgresStoreOptions) {
    this.schema = o.schema ?? 'planta';
    if (!SCHEMA_NAME.test(this.schema)) throw new HistorianError('PLANTA_HISTORIAN_BAD_SCHEMA', `schema name ${JSON.stringify(this.schema)}: expected lower-case letters, digits and _`);
    this.blockSize = o.blockSize ?? 1024;
    this.now = o.now ?? Date.now;
    this.log = o.log;
    this.pool = openPgPool({
      url: o.url,
      applicationName: o.readOnly ? 'planta-historian-reader' : 'planta-historian',
      max: o.poolSize ?? 4,
      connectTimeoutMs: o.connectTimeoutMs ?? 5000,
      queryTimeoutMs: o.queryTimeoutMs ?? 30_000,
      what: 'historian',
      ...(o.log ? { log: o.log } : {}),
    });
    this.readOnly = o.readOnly ?? false;
    this.partitions = new Partitions(this.pool, this.schema, o.log);
    this.recent = new Recent(this.pool, this.schema, this.blockSize, o.maxJournalAgeMs ?? 10 * 60_000);
  }

  /** The PostgreSQL server its connections go to, and when that last changed (a failover). */
  place(): PgPlace {
    return this.pool.place();
  }

  private t(name: string): string {
    return `"${this.schema}".${name}`;
  }

  // ------------------------------------------------------------------ setup

  /** Creates the schema and tables if missing and loads the tags and what waits in `recent`; retried after a failure. */
  private setup(): Promise<void> {
    this.ready ??= this.doSetup().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async doSetup(): Promise<void> {
    if (this.readOnly) return this.readerSetup();
    await inTransaction(this.pool, (c) => createTables(c, this.schema));
    await this.partitions.load();
    const tags = await this.pool.query<{ id: number; name: string; last_ts: number | null }>(`SELECT id, name, last_ts FROM ${this.t('tags')} ORDER BY id`);
    for (const r of tags.rows) {
      const local = this.tagId(r.name);
      this.pgIds[local] = r.id;
      this.pgIdByName.set(r.name, r.id);
      if (r.last_ts !== null) this.lastTs.set(r.id, r.last_ts);
    }
    await this.recent.reload();
    // Partitions for this month and the next, so that the first commits find them.
    const m = monthStart(this.now());
    for (const table of ['blocks', 'minute', 'hour'] as const) await this.partitions.ensure(table, [m, m]);
  }

  /** A reader checks that the writer created the schema; tags are looked up as they are read. */
  private async readerSetup(): Promise<void> {
    try {
      await this.pool.query(`SELECT 1 FROM ${this.t('tags')} LIMIT 1`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === '42P01' || code === '3F000' ? `no historian schema "${this.schema}" yet (the historian creates it)` : `PostgreSQL: ${(err as Error).message}`;
      throw new HistorianError('PLANTA_HISTORIAN_UNAVAILABLE', why);
    }
  }

  // ------------------------------------------------------------------ tags and appending

  tagId(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = Math.max(1, this.names.length);
      this.ids.set(name, id);
      this.names[id] = name;
    }
    return id;
  }

  tagNames(): string[] {
    return this.names.filter((n) => n !== undefined);
  }

  async lastTimes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    // PostgreSQL away: nothing known; what is delivered again is skipped when forwarded (tags.last_ts).
    if (!(await this.setup().then(() => true, () => false))) return out;
    for (const [name, id] of this.pgIdByName) {
      const ts = this.lastTs.get(id);
      if (ts !== undefined) out.set(name, ts);
    }
    return out;
  }

  append(id: number, ts: number, v: number, q: number): void {
    if (this.readOnly) throw new HistorianError('PLANTA_HISTORIAN_READ_ONLY', 'this historian store was opened read-only');
    this.queue.push(id, ts, v, q);
  }

  queueDepth(): number {
    return this.queue.n;
  }

  /**
   * Commits what was appended, in one transaction; with nothing appended,
   * seals the fragments that waited too long. Rejects when PostgreSQL does
   * not take it: what it held is given up (store-and-forward keeps it), and
   * what this store knows of the database (tags, last times, fragments) is
   * read again before the next commit — the one that failed may have been
   * committed, its answer lost.
   */
  async flush(): Promise<number> {
    if (this.closed || this.readOnly) return 0;
    const c = this.queue;
    if (c.n > 0) this.queue = new SampleQueue();
    try {
      if (c.n > 0) await this.write(c);
      else await this.sealByAge();
    } catch (err) {
      this.ready = undefined;
      throw err;
    }
    return c.n;
  }

  // ------------------------------------------------------------------ writing

  /** PostgreSQL ids of the local tags in a chunk, creating them there if needed. */
  private async resolveTags(tags: Iterable<number>): Promise<void> {
    const missing: string[] = [];
    for (const id of tags) if (this.pgIds[id] === undefined) missing.push(this.names[id]!);
    if (missing.length === 0) return;
    const r = await this.pool.query<{ id: number; name: string; last_ts: number | null }>(
      `INSERT INTO ${this.t('tags')} (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id, name, last_ts`,
      [missing],
    );
    for (const row of r.rows) {
      this.pgIds[this.ids.get(row.name)!] = row.id;
      this.pgIdByName.set(row.name, row.id);
      if (row.last_ts !== null) this.lastTs.set(row.id, row.last_ts);
    }
  }

  /** One transaction: a fragment per tag of the chunk in `recent`, the tags' last times, and the seals now due. */
  private async write(c: Chunk): Promise<void> {
    await this.setup();
    // Group by tag, keeping arrival order; skip what is not after the tag's last stored time (a replay).
    const order = new Map<number, number[]>();
    for (let i = 0; i < c.n; i++) {
      const id = c.tag[i]!;
      let list = order.get(id);
      if (!list) order.set(id, (list = []));
      list.push(i);
    }
    await this.resolveTags(order.keys());
    const at = this.now();
    const f = new BlockRows();
    const last = { tag: [] as number[], ts: [] as number[] };
    const seen = new Map<number, Fragments>();
    for (const [local, idx] of order) {
      const id = this.pgIds[local]!;
      let prev = this.lastTs.get(id) ?? -Infinity;
      const ts = new Float64Array(idx.length);
      const v = new Float64Array(idx.length);
      const q = new Uint8Array(idx.length);
      let k = 0;
      for (const i of idx) {
        if (!(c.ts[i]! > prev)) continue;
        prev = ts[k] = c.ts[i]!;
        v[k] = c.v[i]!;
        q[k] = c.q[i]!;
        k++;
      }
      if (k === 0) continue;
      f.add(id, ts, v, q, k, this.blockSize);
      last.tag.push(id);
      last.ts.push(prev);
      seen.set(id, this.recent.grown(id, k, at, ts[0]!, prev));
    }
    // Seals due after this chunk, and the partitions their blocks need.
    const due = this.recent.due(seen, at);
    if (due.tags.length > 0) await this.partitions.ensure('blocks', due.range);
    await inTransaction(this.pool, async (client) => {
      if (f.tag.length > 0) {
        await client.query(
          `INSERT INTO ${this.t('recent')} (tag_id, t_start, t_end, n, at, data)
           SELECT tag_id, t_start, t_end, n, $5, data FROM unnest($1::int[], $2::int8[], $3::int8[], $4::int[], $6::bytea[]) AS u (tag_id, t_start, t_end, n, data)`,
          [f.tag, f.t0, f.t1, f.n, at, f.data],
        );
        await client.query(`UPDATE ${this.t('tags')} AS t SET last_ts = u.ts FROM unnest($1::int[], $2::int8[]) AS u (id, ts) WHERE t.id = u.id`, [last.tag, last.ts]);
      }
      if (due.tags.length > 0) await this.recent.seal(client, due.tags);
    });
    for (let k = 0; k < last.tag.length; k++) this.lastTs.set(last.tag[k]!, last.ts[k]!);
    this.recent.committed(seen, due.tags);
  }

  /** Seals the fragments that have waited too long, when no new data brought them along. */
  private async sealByAge(): Promise<void> {
    if (this.recent.anyDue(this.now())) await this.write({ tag: new Uint32Array(0), ts: new Float64Array(0), v: new Float64Array(0), q: new Uint8Array(0), n: 0 });
  }

  // ------------------------------------------------------------------ reading

  /**
   * A read as a named (prepared) statement: each connection plans it once.
   * Planning a statement over the monthly partitions costs more than running
   * it (≈ 2 ms for a year's 13 partitions against 0.7 ms), and a trend runs several.
   */
  private read<R extends pg.QueryResultRow | unknown[]>(text: string, values: unknown[], rowMode?: 'array'): Promise<pg.QueryResult<R>> {
    let name = this.statements.get(text);
    if (name === undefined) this.statements.set(text, (name = `planta_h${createHash('sha1').update(text).digest('hex').slice(0, 24)}`));
    return this.pool.query<R & pg.QueryResultRow>({ name, text, values, ...(rowMode ? { rowMode } : {}) } as pg.QueryConfig) as Promise<pg.QueryResult<R>>;
  }

  /** PostgreSQL's id of a tag, asking the database for tags another process created. */
  private async pgId(tag: string): Promise<number | undefined> {
    await this.setup();
    let id = this.pgIdByName.get(tag);
    if (id === undefined) {
      const r = await this.pool.query<{ id: number }>(`SELECT id FROM ${this.t('tags')} WHERE name = $1`, [tag]);
      id = r.rows[0]?.id;
      if (id !== undefined) this.pgIdByName.set(tag, id);
    }
    return id;
  }

  async readRaw(tag: string, from: number, to: number): Promise<Samples> {
    const id = await this.pgId(tag);
    if (id === undefined || !(from < to)) return emptySamples();
    const range = 'tag_id = $1 AND t_start >= $2 AND t_start < $3 AND t_end >= $4';
    const r = await this.read<[number, Buffer]>(
      `SELECT t_start, data FROM ${this.t('blocks')} WHERE ${range} UNION ALL SELECT t_start, data FROM ${this.t('recent')} WHERE ${range} ORDER BY 1`,
      [id, from - MAX_BLOCK_SPAN_MS, to, from],
      'array',
    );
    const parts = r.rows.map(([t0, data]) => sliceSamples(decodeBlock(data, t0), from, to));
    return parts.length === 1 ? parts[0]! : concatSamples(parts);
  }

  async countRaw(tag: string, from: number, to: number): Promise<number> {
    const id = await this.pgId(tag);
    if (id === undefined) return 0;
    const range = 'tag_id = $1 AND t_start >= $2 AND t_start < $3 AND t_end >= $4';
    const r = await this.read<{ n: number }>(
      `SELECT coalesce((SELECT sum(n) FROM ${this.t('blocks')} WHERE ${range}), 0) + coalesce((SELECT sum(n) FROM ${this.t('recent')} WHERE ${range}), 0) AS n`,
      [id, from - MAX_BLOCK_SPAN_MS, to, from],
    );
    return r.rows[0]!.n;
  }

  async lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined> {
    const id = await this.pgId(tag);
    if (id === undefined) return undefined;
    // The later of the latest fragment and the latest block before t, in one round trip.
    const latest = (table: string): string => `(SELECT t_start, data FROM ${this.t(table)} WHERE tag_id = $1 AND t_start < $2 ORDER BY t_start DESC LIMIT 1)`;
    const r = await this.read<[number, Buffer]>(`SELECT * FROM (${latest('recent')} UNION ALL ${latest('blocks')}) AS y ORDER BY t_start DESC LIMIT 1`, [id, t], 'array');
    const row = r.rows[0];
    if (!row) return undefined;
    const s = decodeBlock(row[1], row[0]);
    const i = lowerBound(s.ts, s.n, t) - 1;
    return i < 0 ? undefined : { ts: s.ts[i]!, v: s.v[i]!, q: s.q[i]! };
  }

  /**
   * The last sample before `t` of every tag in one statement: per tag, the
   * latest row of `recent` and of `blocks` starting before t (each one probe
   * of its (tag_id, t_start) key), the later of the two decoded. A replay
   * snapshot of the SBR plant is one round trip instead of two per tag.
   */
  async lastBeforeMany(tags: readonly string[], t: number): Promise<({ ts: number; v: number; q: number } | undefined)[]> {
    await this.setup();
    const missing = tags.filter((n) => !this.pgIdByName.has(n));
    if (missing.length > 0) {
      const r = await this.pool.query<{ id: number; name: string }>(`SELECT id, name FROM ${this.t('tags')} WHERE name = ANY($1::text[])`, [missing]);
      for (const row of r.rows) this.pgIdByName.set(row.name, row.id);
    }
    const ids = tags.map((n) => this.pgIdByName.get(n) ?? null);
    const known = ids.filter((x): x is number => x !== null);
    const out: ({ ts: number; v: number; q: number } | undefined)[] = tags.map(() => undefined);
    if (known.length === 0) return out;
    const latest = (table: string): string => `(SELECT t_start, data FROM ${this.t(table)} WHERE tag_id = u.id AND t_start < $2 ORDER BY t_start DESC LIMIT 1)`;
    const r = await this.pool.query<[number, number, Buffer]>({
      text: `SELECT u.id, x.t_start, x.data FROM unnest($1::int[]) AS u (id)
             CROSS JOIN LATERAL (SELECT * FROM (${latest('recent')} UNION ALL ${latest('blocks')}) AS y ORDER BY t_start DESC LIMIT 1) AS x`,
      values: [known, t],
      rowMode: 'array',
    });
    const byId = new Map<number, { ts: number; v: number; q: number }>();
    for (const [id, t0, data] of r.rows) {
      const s = decodeBlock(data, t0);
      const i = lowerBound(s.ts, s.n, t) - 1;
      if (i >= 0) byId.set(id, { ts: s.ts[i]!, v: s.v[i]!, q: s.q[i]! });
    }
    ids.forEach((id, k) => {
      if (id !== null) out[k] = byId.get(id);
    });
    return out;
  }

  async writeRollups(resolution: RollupResolution, tag: string, rows: RollupRow[]): Promise<void> {
    if (rows.length === 0) return;
    const local = this.tagId(tag);
    await this.setup();
    await this.resolveTags([local]);
    await this.partitions.ensure(resolution, [rows[0]!.t, rows[rows.length - 1]!.t]);
    await this.pool.query(
      `INSERT INTO ${this.t(resolution)} (tag_id, ${ROLLUP_COLUMNS})
       SELECT $1, * FROM unnest($2::int8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int[], $10::float8[])
       ON CONFLICT (tag_id, t) DO UPDATE SET first = excluded.first, min = excluded.min, max = excluded.max, last = excluded.last,
         avg = excluded.avg, twa = excluded.twa, count = excluded.count, good = excluded.good`,
      [this.pgIds[local], ...rollupArrays(rows)],
    );
  }

  async readRollups(resolution: RollupResolution, tag: string, from: number, to: number): Promise<RollupRow[]> {
    const id = await this.pgId(tag);
    if (id === undefined) return [];
    const r = await this.read<(number | null)[]>(`SELECT ${ROLLUP_COLUMNS} FROM ${this.t(resolution)} WHERE tag_id = $1 AND t >= $2 AND t < $3 ORDER BY t`, [id, from, to], 'array');
    return r.rows.map(rollupRow);
  }

  async getMeta(key: string): Promise<string | undefined> {
    await this.setup();
    const r = await this.read<{ value: string }>(`SELECT value FROM ${this.t('meta')} WHERE key = $1`, [key]);
    return r.rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.setup();
    await this.pool.query(`INSERT INTO ${this.t('meta')} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }

  // ------------------------------------------------------------------ retention and status

  /**
   * Retention: drops every monthly partition wholly older than `before`
   * (whatever it holds: dropping is cheap, so `maxRows` does not bound it),
   * then deletes at most `maxRows` rows of the month at the boundary.
   * Resolves with the rows removed.
   */
  async prune(what: Retained, before: number, maxRows: number): Promise<number> {
    await this.setup();
    const table: PartitionedTable = what === 'raw' ? 'blocks' : what;
    // Every row of a partition ends before `before`: blocks may reach 6 h past their start, rollup rows a bucket.
    const reach = what === 'raw' ? MAX_BLOCK_SPAN_MS : BUCKET_MS[what];
    let removed = await this.partitions.dropBefore(table, before, reach);
    if (what === 'raw') {
      for (const t of ['blocks', 'recent']) {
        const r = await this.pool.query(
          `DELETE FROM ${this.t(t)} WHERE (tag_id, t_start) IN (SELECT tag_id, t_start FROM ${this.t(t)} WHERE t_start < $1 AND t_end < $1 LIMIT $2)`,
          [before, maxRows],
        );
        removed += r.rowCount ?? 0;
        if (t === 'recent' && (r.rowCount ?? 0) > 0) await this.recent.reload();
      }
    } else {
      const r = await this.pool.query(`DELETE FROM ${this.t(what)} WHERE (tag_id, t) IN (SELECT tag_id, t FROM ${this.t(what)} WHERE t < $1 LIMIT $2)`, [
        before - BUCKET_MS[what],
        maxRows,
      ]);
      removed += r.rowCount ?? 0;
    }
    return removed;
  }

  async status(): Promise<StoreStatus> {
    await this.setup();
    const size = await this.pool.query<{ bytes: number | null }>(
      `SELECT sum(pg_total_relation_size(c.oid))::int8 AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
      [this.schema],
    );
    const samples = await this.pool.query<{ n: number }>(
      `SELECT coalesce((SELECT sum(n) FROM ${this.t('blocks')}), 0) + coalesce((SELECT sum(n) FROM ${this.t('recent')}), 0) AS n`,
    );
    const recent = await this.pool.query<{ t: number | null }>(`SELECT min(t_start) AS t FROM ${this.t('recent')}`);
    const oldest = [await this.partitions.oldest('blocks', 't_start'), recent.rows[0]!.t ?? undefined, await this.partitions.oldest('minute', 't'), await this.partitions.oldest('hour', 't')];
    const known = oldest.filter((x): x is number => x !== undefined);
    return { bytes: size.rows[0]!.bytes ?? 0, samples: samples.rows[0]!.n + this.queueDepth(), oldest: known.length ? Math.min(...known) : null };
  }

  /** Commits what was appended, if anything, and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.queue.n > 0) await this.flush();
    } finally {
      this.closed = true;
      await this.pool.end();
    }
  }
}
