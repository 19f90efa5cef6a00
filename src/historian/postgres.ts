/**
 * The historian in PostgreSQL (the `pg` client), behind the same interface
 * as the SQLite store, with store-and-forward to a local disk buffer.
 *
 * Layout, in one schema per installation (created if missing) — measured by
 * `npm run bench:historian`, see the README:
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
 *   A tag's fragments are sealed into blocks (read back, re-encoded, deleted
 *   in the same transaction) once they hold a block, or are older than
 *   maxJournalAgeMs, or span 6 h.
 * - `minute`, `hour`: rollups, partitioned by month on t, B-tree (tag_id, t)
 *   and BRIN on t. `tags (id, name, last_ts)`, `meta (key, value)`.
 * - Partitions are created ahead as needed (the month of the data and the
 *   next). Retention drops whole partitions when all of a month has expired
 *   (cheap: no dead rows, no vacuum) and deletes in batches within the month
 *   at the boundary.
 * - Inserts are multi-row `INSERT … SELECT FROM unnest($1::int[], …)`: one
 *   statement per table per commit, and with blocks there are few rows; the
 *   bytes dominate, so COPY would gain little and cost a dependency.
 *
 * Store-and-forward: a commit that PostgreSQL does not take (unreachable,
 * down, any error) is appended to the disk buffer (buffer.ts) instead, and
 * so is every later commit until the buffer is empty again, so order is
 * kept. Each flush then tries to forward the buffer, oldest first (retries
 * back off to 30 s). A forwarded chunk is deleted from the buffer after
 * PostgreSQL committed it; `tags.last_ts` makes forwarding idempotent (a
 * sample not after its tag's last stored time is skipped), so a crash in
 * between writes nothing twice. While the buffer is not empty, rollups wait.
 */
import type pg from 'pg';
import type { Logger } from '../util/log.js';
import { openPgPool } from '../util/pg.js';
import { DiskBuffer } from './buffer.js';
import {
  CHUNK_BYTES_PER_SAMPLE,
  MAX_BLOCK_SPAN_MS,
  SampleQueue,
  type Samples,
  concatSamples,
  decodeBlock,
  decodeChunk,
  emptySamples,
  encodeBlock,
  lowerBound,
  sliceSamples,
  splitBlocks,
} from './codec.js';
import { BUCKET_MS, type BufferStats, HistorianError, type HistoryStore, type Retained, type RollupResolution, type RollupRow, type StoreStatus } from './types.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database */
  url: string;
  /** The schema of this installation; created if missing. Default 'planta'. */
  schema?: string;
  /** The store-and-forward buffer: an SQLite file, and its maximum size in bytes (default 256 MiB). Not with readOnly. */
  buffer?: { path: string; maxBytes?: number };
  /**
   * Only read (a web node's trends): no schema created, no buffer, nothing
   * written. Sees what the writer committed to PostgreSQL — not what it
   * still holds for its next commit, nor what waits in its disk buffer
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
   * other, and the commit goes to the disk buffer. Default 30 s (forwarding
   * a large buffer takes seconds).
   */
  queryTimeoutMs?: number;
  /** First retry after an outage (ms), doubling up to 30 s. Default 1 s. */
  retryMs?: number;
  /** Connections at most. Default 4. */
  poolSize?: number;
  now?: () => number;
  log?: Logger;
}

const MAX_RETRY_MS = 30_000;
/** Samples forwarded from the buffer in one transaction at most. */
const FORWARD_BATCH = 200_000;
/** Time a flush spends forwarding the buffer at most, so ingest keeps being acknowledged. */
const FORWARD_BUDGET_MS = 1000;
const ROLLUP_COLUMNS = 't, first, min, max, last, avg, twa, count, good';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const monthStart = (t: number): number => {
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
const nullable = (x: number): number | null => (Number.isFinite(x) ? x : null);
const num = (x: number | null): number => (x === null ? NaN : x);

type PartitionedTable = 'blocks' | 'minute' | 'hour';
type Chunk = ReturnType<typeof decodeChunk>;

/** What is waiting for a tag in `recent`. */
interface Fragments {
  n: number;
  at: number;
  t0: number;
  t1: number;
}

export class PostgresStore implements HistoryStore {
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly disk: DiskBuffer | undefined;
  readonly readOnly: boolean;
  private readonly blockSize: number;
  private readonly maxJournalAgeMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Local tag ids (this process, and the buffer file) by name, and back. */
  private readonly ids = new Map<string, number>();
  private names: string[] = [];
  /** PostgreSQL's id of each local id; its last stored time, by PostgreSQL id. */
  private pgIds: number[] = [];
  private readonly pgIdByName = new Map<string, number>();
  private readonly lastTs = new Map<number, number>();
  private readonly fragments = new Map<number, Fragments>();
  private readonly partitions = new Set<string>();
  /** Tags whose names the buffer file holds. */
  private readonly buffered = new Set<number>();
  /** Commits not yet durable anywhere (a failed write to the buffer), oldest first. */
  private readonly unsent: Buffer[] = [];
  /** Samples appended since the last flush, all tags, arrival order. */
  private readonly queue = new SampleQueue();
  private ready: Promise<void> | undefined;
  private online = true;
  private nextTryAt = 0;
  private backoff: number;
  private forwardedTotal = 0;
  private skippedTotal = 0;
  private closed = false;

  constructor(o: PostgresStoreOptions) {
    this.schema = o.schema ?? 'planta';
    if (!SCHEMA_NAME.test(this.schema)) throw new HistorianError('PLANTA_HISTORIAN_BAD_SCHEMA', `schema name ${JSON.stringify(this.schema)}: expected lower-case letters, digits and _`, 500);
    this.blockSize = o.blockSize ?? 1024;
    this.maxJournalAgeMs = o.maxJournalAgeMs ?? 10 * 60_000;
    this.retryMs = o.retryMs ?? 1000;
    this.backoff = this.retryMs;
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
    if (this.readOnly) return;
    if (!o.buffer) throw new HistorianError('PLANTA_HISTORIAN_NO_BUFFER', 'a PostgreSQL store that writes needs a store-and-forward buffer file', 500);
    this.disk = new DiskBuffer(o.buffer.path, o.buffer.maxBytes ?? 256 * 1024 * 1024);
    for (const [id, name] of this.disk.tags()) {
      this.ids.set(name, id);
      this.names[id] = name;
      this.buffered.add(id);
    }
    if (this.disk.chunks > 0) this.online = false;
  }

  private get buf(): DiskBuffer {
    if (!this.disk) throw new HistorianError('PLANTA_HISTORIAN_READ_ONLY', 'this historian store was opened read-only', 500);
    return this.disk;
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
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      // Two processes opening the same schema at once: one creates, the other waits.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-historian:${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(`
        CREATE TABLE IF NOT EXISTS ${this.t('tags')} (id serial PRIMARY KEY, name text NOT NULL UNIQUE, last_ts bigint);
        CREATE TABLE IF NOT EXISTS ${this.t('meta')} (key text PRIMARY KEY, value text NOT NULL);
        CREATE TABLE IF NOT EXISTS ${this.t('blocks')} (
          tag_id int NOT NULL, t_start bigint NOT NULL, t_end bigint NOT NULL, n int NOT NULL, data bytea NOT NULL,
          PRIMARY KEY (tag_id, t_start)
        ) PARTITION BY RANGE (t_start);
        CREATE INDEX IF NOT EXISTS blocks_t_brin ON ${this.t('blocks')} USING brin (t_start);
        CREATE TABLE IF NOT EXISTS ${this.t('recent')} (
          tag_id int NOT NULL, t_start bigint NOT NULL, t_end bigint NOT NULL, n int NOT NULL, at bigint NOT NULL, data bytea NOT NULL,
          PRIMARY KEY (tag_id, t_start)
        );
      `);
      for (const r of ['minute', 'hour']) {
        await c.query(`
          CREATE TABLE IF NOT EXISTS ${this.t(r)} (
            tag_id int NOT NULL, t bigint NOT NULL, first float8, min float8, max float8, last float8, avg float8, twa float8,
            count int NOT NULL, good float8 NOT NULL, PRIMARY KEY (tag_id, t)
          ) PARTITION BY RANGE (t);
          CREATE INDEX IF NOT EXISTS ${r}_t_brin ON ${this.t(r)} USING brin (t);
        `);
      }
      await c.query('COMMIT');
      const parts = await c.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
        [this.schema],
      );
      for (const r of parts.rows) this.partitions.add(r.name);
      const tags = await c.query<{ id: number; name: string; last_ts: number | null }>(`SELECT id, name, last_ts FROM ${this.t('tags')} ORDER BY id`);
      for (const r of tags.rows) {
        const local = this.tagId(r.name);
        this.pgIds[local] = r.id;
        this.pgIdByName.set(r.name, r.id);
        if (r.last_ts !== null) this.lastTs.set(r.id, r.last_ts);
      }
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release(err as Error);
      throw err;
    }
    c.release();
    await this.reloadFragments();
    // Partitions for this month and the next, so that the first commits find them.
    const m = monthStart(this.now());
    await this.ensurePartitions('blocks', [m, m]);
    await this.ensurePartitions('minute', [m, m]);
    await this.ensurePartitions('hour', [m, m]);
  }

  /** A reader checks that the writer created the schema; tags are looked up as they are read. */
  private async readerSetup(): Promise<void> {
    try {
      await this.pool.query(`SELECT 1 FROM ${this.t('tags')} LIMIT 1`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === '42P01' || code === '3F000' ? `no historian schema "${this.schema}" yet (the historian creates it)` : `PostgreSQL: ${(err as Error).message}`;
      throw new HistorianError('PLANTA_HISTORIAN_UNAVAILABLE', why, 503);
    }
  }

  /** Creates the monthly partitions of `table` covering [range[0], range[1]] and the month after, if missing. */
  private async ensurePartitions(table: PartitionedTable, range: readonly [number, number]): Promise<void> {
    const last = nextMonth(monthStart(range[1]));
    for (let m = monthStart(range[0]); m <= last; m = nextMonth(m)) {
      const name = `${table}_${monthName(m)}`;
      if (this.partitions.has(name)) continue;
      try {
        await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.t(name)} PARTITION OF ${this.t(table)} FOR VALUES FROM (${m}) TO (${nextMonth(m)})`);
      } catch (err) {
        // Created by another process between our check and ours.
        if ((err as { code?: string }).code !== '42P07') throw err;
      }
      this.partitions.add(name);
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
    if (this.readOnly) throw new HistorianError('PLANTA_HISTORIAN_READ_ONLY', 'this historian store was opened read-only', 500);
    this.queue.push(id, ts, v, q);
  }

  queueDepth(): number {
    return this.queue.n + this.unsent.reduce((k, b) => k + b.length / CHUNK_BYTES_PER_SAMPLE, 0);
  }

  get bufferPath(): string {
    return this.buf.path;
  }

  buffer(): BufferStats {
    if (!this.disk) return { bytes: 0, maxBytes: 0, samples: 0, dropped: 0, forwarded: 0, skipped: 0, online: true };
    return { bytes: this.buf.bytes, maxBytes: this.buf.maxBytes, samples: this.buf.samples, dropped: this.buf.dropped, forwarded: this.forwardedTotal, skipped: this.skippedTotal, online: this.online };
  }

  /**
   * Commits what was appended: to PostgreSQL when it takes it and nothing
   * waits in the buffer, else to the disk buffer (acknowledged there), then
   * forwards what the buffer holds when PostgreSQL is back.
   */
  async flush(): Promise<number> {
    if (this.closed || this.readOnly) return 0;
    const n = this.queue.n;
    if (n > 0) this.unsent.push(this.queue.encode());
    this.queue.n = 0;
    let committed = 0;
    while (this.unsent.length > 0) {
      const data = this.unsent[0]!;
      if (this.online && this.buf.chunks === 0) {
        try {
          await this.write(decodeChunk(data));
          this.unsent.shift();
          committed += data.length / CHUNK_BYTES_PER_SAMPLE;
          continue;
        } catch (err) {
          this.goOffline(err);
        }
      }
      this.toBuffer(data);
      this.unsent.shift();
      committed += data.length / CHUNK_BYTES_PER_SAMPLE;
    }
    if (this.buf.chunks > 0) await this.forward();
    else if (this.online && n === 0) await this.sealByAge();
    return committed;
  }

  private toBuffer(data: Buffer): void {
    const c = decodeChunk(data);
    const newTags: [number, string][] = [];
    for (let i = 0; i < c.n; i++) {
      const id = c.tag[i]!;
      if (!this.buffered.has(id)) {
        this.buffered.add(id);
        newTags.push([id, this.names[id]!]);
      }
    }
    const dropped = this.buf.append(data, newTags);
    if (dropped > 0) this.log?.warn({ dropped, total: this.buf.dropped, maxBytes: this.buf.maxBytes }, 'historian: store-and-forward buffer full, oldest samples dropped');
  }

  private goOffline(err: unknown): void {
    if (this.online) this.log?.error({ err }, 'historian: PostgreSQL did not take a commit; buffering to disk until it is back');
    this.online = false;
    this.nextTryAt = Date.now() + this.backoff;
    this.backoff = Math.min(MAX_RETRY_MS, this.backoff * 2);
  }

  /** Forwards the buffer, oldest first, for up to a second; backs off after a failure. */
  private async forward(): Promise<void> {
    if (Date.now() < this.nextTryAt) return;
    const started = performance.now();
    while (this.buf.chunks > 0 && performance.now() - started < FORWARD_BUDGET_MS) {
      const batch: Chunk[] = [];
      let samples = 0;
      let bytes = 0;
      let upTo = 0;
      for (const r of this.buf.oldest(256)) {
        if (batch.length > 0 && samples + r.data.length / CHUNK_BYTES_PER_SAMPLE > FORWARD_BATCH) break;
        batch.push(decodeChunk(r.data));
        samples += r.data.length / CHUNK_BYTES_PER_SAMPLE;
        bytes += r.data.length;
        upTo = r.seq;
      }
      try {
        await this.write(concatChunks(batch));
      } catch (err) {
        this.goOffline(err);
        return;
      }
      this.buf.removeUpTo(upTo, bytes, batch.length);
      this.forwardedTotal += samples;
    }
    if (this.buf.chunks === 0) {
      if (!this.online) this.log?.info({ forwarded: this.forwardedTotal }, 'historian: PostgreSQL is back; the buffer is forwarded');
      this.online = true;
      this.backoff = this.retryMs;
      this.nextTryAt = 0;
    }
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
    const f = { tag: [] as number[], t0: [] as number[], t1: [] as number[], n: [] as number[], data: [] as Buffer[] };
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
        if (!(c.ts[i]! > prev)) {
          this.skippedTotal++;
          continue;
        }
        prev = ts[k] = c.ts[i]!;
        v[k] = c.v[i]!;
        q[k] = c.q[i]!;
        k++;
      }
      if (k === 0) continue;
      for (const b of splitBlocks(ts, k, this.blockSize)) {
        f.tag.push(id);
        f.t0.push(ts[b.start]!);
        f.t1.push(ts[b.end - 1]!);
        f.n.push(b.end - b.start);
        f.data.push(encodeBlock(ts, v, q, b.start, b.end - b.start, ts[b.start]!));
      }
      last.tag.push(id);
      last.ts.push(prev);
      const had = this.fragments.get(id);
      seen.set(id, had ? { n: had.n + k, at: had.at, t0: had.t0, t1: prev } : { n: k, at, t0: ts[0]!, t1: prev });
    }
    // Seals due after this chunk, and the partitions their blocks need.
    const due: number[] = [];
    let low = Infinity;
    let high = -Infinity;
    for (const [id, fr] of this.fragments) if (!seen.has(id) && this.sealDue(fr, at)) due.push(id);
    for (const [id, fr] of seen) if (this.sealDue(fr, at)) due.push(id);
    for (const id of due) {
      const fr = seen.get(id) ?? this.fragments.get(id)!;
      low = Math.min(low, fr.t0);
      high = Math.max(high, fr.t1);
    }
    if (due.length > 0) await this.ensurePartitions('blocks', [low, high]);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (f.tag.length > 0) {
        await client.query(
          `INSERT INTO ${this.t('recent')} (tag_id, t_start, t_end, n, at, data)
           SELECT tag_id, t_start, t_end, n, $5, data FROM unnest($1::int[], $2::int8[], $3::int8[], $4::int[], $6::bytea[]) AS u (tag_id, t_start, t_end, n, data)`,
          [f.tag, f.t0, f.t1, f.n, at, f.data],
        );
        await client.query(`UPDATE ${this.t('tags')} AS t SET last_ts = u.ts FROM unnest($1::int[], $2::int8[]) AS u (id, ts) WHERE t.id = u.id`, [last.tag, last.ts]);
      }
      if (due.length > 0) await this.seal(client, due);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(err as Error);
      throw err;
    }
    client.release();
    for (let k = 0; k < last.tag.length; k++) this.lastTs.set(last.tag[k]!, last.ts[k]!);
    for (const [id, fr] of seen) this.fragments.set(id, fr);
    for (const id of due) this.fragments.delete(id);
  }

  private sealDue(fr: Fragments, at: number): boolean {
    return fr.n >= this.blockSize || at - fr.at >= this.maxJournalAgeMs || fr.t1 - fr.t0 >= MAX_BLOCK_SPAN_MS;
  }

  /** Reads the tags' fragments back, writes them as blocks and deletes them (inside the caller's transaction). */
  private async seal(client: pg.PoolClient, tags: number[]): Promise<void> {
    const r = await client.query<[number, number, Buffer]>({
      text: `SELECT tag_id, t_start, data FROM ${this.t('recent')} WHERE tag_id = ANY($1::int[]) ORDER BY tag_id, t_start`,
      values: [tags],
      rowMode: 'array',
    });
    const b = { tag: [] as number[], t0: [] as number[], t1: [] as number[], n: [] as number[], data: [] as Buffer[] };
    const flushTag = (tag: number, parts: Samples[]): void => {
      const s = parts.length === 1 ? parts[0]! : concatSamples(parts);
      for (const x of splitBlocks(s.ts, s.n, this.blockSize)) {
        b.tag.push(tag);
        b.t0.push(s.ts[x.start]!);
        b.t1.push(s.ts[x.end - 1]!);
        b.n.push(x.end - x.start);
        b.data.push(encodeBlock(s.ts, s.v, s.q, x.start, x.end - x.start, s.ts[x.start]!));
      }
    };
    let tag = -1;
    let parts: Samples[] = [];
    for (const [id, t0, data] of r.rows) {
      if (id !== tag && parts.length > 0) {
        flushTag(tag, parts);
        parts = [];
      }
      tag = id;
      parts.push(decodeBlock(data, t0));
    }
    if (parts.length > 0) flushTag(tag, parts);
    if (b.tag.length > 0) {
      await client.query(
        `INSERT INTO ${this.t('blocks')} (tag_id, t_start, t_end, n, data) SELECT * FROM unnest($1::int[], $2::int8[], $3::int8[], $4::int[], $5::bytea[])
         ON CONFLICT (tag_id, t_start) DO UPDATE SET t_end = excluded.t_end, n = excluded.n, data = excluded.data`,
        [b.tag, b.t0, b.t1, b.n, b.data],
      );
    }
    await client.query(`DELETE FROM ${this.t('recent')} WHERE tag_id = ANY($1::int[])`, [tags]);
  }

  /** Seals the fragments that have waited too long, when no new data brought them along. */
  private async sealByAge(): Promise<void> {
    const at = this.now();
    let any = false;
    for (const fr of this.fragments.values()) if (this.sealDue(fr, at)) any = true;
    if (!any) return;
    try {
      await this.write({ tag: new Uint32Array(0), ts: new Float64Array(0), v: new Float64Array(0), q: new Uint8Array(0), n: 0 });
    } catch (err) {
      this.goOffline(err);
    }
  }

  // ------------------------------------------------------------------ reading

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
    if (!(from < to)) return emptySamples();
    if (id === undefined) return this.pending(tag, from, to);
    const range = 'tag_id = $1 AND t_start >= $2 AND t_start < $3 AND t_end >= $4';
    const r = await this.pool.query<[number, Buffer]>({
      text: `SELECT t_start, data FROM ${this.t('blocks')} WHERE ${range} UNION ALL SELECT t_start, data FROM ${this.t('recent')} WHERE ${range} ORDER BY 1`,
      values: [id, from - MAX_BLOCK_SPAN_MS, to, from],
      rowMode: 'array',
    });
    const parts = r.rows.map(([t0, data]) => sliceSamples(decodeBlock(data, t0), from, to));
    const mine = this.pending(tag, from, to);
    if (mine.n > 0) parts.push(mine);
    return parts.length === 1 ? parts[0]! : concatSamples(parts);
  }

  /** This process's samples of a tag appended since the last flush, with from ≤ ts < to (they follow everything stored). */
  private pending(tag: string, from: number, to: number): Samples {
    const local = this.ids.get(tag);
    const out = { ts: [] as number[], v: [] as number[], q: [] as number[] };
    if (local !== undefined) {
      const p = this.queue;
      for (let i = 0; i < p.n; i++) {
        if (p.tag[i] !== local || !(p.ts[i]! >= from && p.ts[i]! < to)) continue;
        out.ts.push(p.ts[i]!);
        out.v.push(p.v[i]!);
        out.q.push(p.q[i]!);
      }
    }
    return { ts: Float64Array.from(out.ts), v: Float64Array.from(out.v), q: Uint8Array.from(out.q), n: out.ts.length };
  }

  async countRaw(tag: string, from: number, to: number): Promise<number> {
    const id = await this.pgId(tag);
    if (id === undefined) return this.pending(tag, from, to).n;
    const range = 'tag_id = $1 AND t_start >= $2 AND t_start < $3 AND t_end >= $4';
    const r = await this.pool.query<{ n: number }>(
      `SELECT coalesce((SELECT sum(n) FROM ${this.t('blocks')} WHERE ${range}), 0) + coalesce((SELECT sum(n) FROM ${this.t('recent')} WHERE ${range}), 0) AS n`,
      [id, from - MAX_BLOCK_SPAN_MS, to, from],
    );
    return r.rows[0]!.n + this.pending(tag, from, to).n;
  }

  async lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined> {
    const mine = this.pending(tag, -Infinity, t);
    if (mine.n > 0) return { ts: mine.ts[mine.n - 1]!, v: mine.v[mine.n - 1]!, q: mine.q[mine.n - 1]! };
    const id = await this.pgId(tag);
    if (id === undefined) return undefined;
    // Fragments always come after a tag's blocks: the latest fragment before t, else the latest block.
    let row: [number, Buffer] | undefined;
    for (const table of ['recent', 'blocks']) {
      const r = await this.pool.query<[number, Buffer]>({
        text: `SELECT t_start, data FROM ${this.t(table)} WHERE tag_id = $1 AND t_start < $2 ORDER BY t_start DESC LIMIT 1`,
        values: [id, t],
        rowMode: 'array',
      });
      row = r.rows[0];
      if (row) break;
    }
    if (!row) return undefined;
    const s = decodeBlock(row[1], row[0]);
    const i = lowerBound(s.ts, s.n, t) - 1;
    return i < 0 ? undefined : { ts: s.ts[i]!, v: s.v[i]!, q: s.q[i]! };
  }

  async writeRollups(resolution: RollupResolution, tag: string, rows: RollupRow[]): Promise<void> {
    if (rows.length === 0) return;
    const local = this.tagId(tag);
    await this.setup();
    await this.resolveTags([local]);
    await this.ensurePartitions(resolution, [rows[0]!.t, rows[rows.length - 1]!.t]);
    const col = (f: (r: RollupRow) => number | null): (number | null)[] => rows.map(f);
    await this.pool.query(
      `INSERT INTO ${this.t(resolution)} (tag_id, ${ROLLUP_COLUMNS})
       SELECT $1, * FROM unnest($2::int8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int[], $10::float8[])
       ON CONFLICT (tag_id, t) DO UPDATE SET first = excluded.first, min = excluded.min, max = excluded.max, last = excluded.last,
         avg = excluded.avg, twa = excluded.twa, count = excluded.count, good = excluded.good`,
      [
        this.pgIds[local],
        col((r) => r.t),
        col((r) => nullable(r.first)),
        col((r) => nullable(r.min)),
        col((r) => nullable(r.max)),
        col((r) => nullable(r.last)),
        col((r) => nullable(r.avg)),
        col((r) => nullable(r.twa)),
        col((r) => r.count),
        col((r) => r.good),
      ],
    );
  }

  async readRollups(resolution: RollupResolution, tag: string, from: number, to: number): Promise<RollupRow[]> {
    const id = await this.pgId(tag);
    if (id === undefined) return [];
    const r = await this.pool.query<(number | null)[]>({
      text: `SELECT ${ROLLUP_COLUMNS} FROM ${this.t(resolution)} WHERE tag_id = $1 AND t >= $2 AND t < $3 ORDER BY t`,
      values: [id, from, to],
      rowMode: 'array',
    });
    const out: RollupRow[] = new Array<RollupRow>(r.rows.length);
    for (let i = 0; i < r.rows.length; i++) {
      const x = r.rows[i]!;
      out[i] = { t: x[0]!, first: num(x[1]!), min: num(x[2]!), max: num(x[3]!), last: num(x[4]!), avg: num(x[5]!), twa: num(x[6]!), count: x[7]!, good: x[8]! };
    }
    return out;
  }

  async getMeta(key: string): Promise<string | undefined> {
    await this.setup();
    const r = await this.pool.query<{ value: string }>(`SELECT value FROM ${this.t('meta')} WHERE key = $1`, [key]);
    return r.rows[0]?.value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.setup();
    await this.pool.query(`INSERT INTO ${this.t('meta')} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }

  // ------------------------------------------------------------------ retention and status

  /** The monthly partitions of a table, oldest first, with their bounds. */
  private async partitionsOf(table: PartitionedTable): Promise<{ name: string; from: number; to: number }[]> {
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
    let removed = 0;
    for (const p of await this.partitionsOf(table)) {
      if (p.to + reach > before) break;
      const n = await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${this.t(p.name)}`);
      await this.pool.query(`DROP TABLE IF EXISTS ${this.t(p.name)}`);
      this.partitions.delete(p.name);
      removed += n.rows[0]!.n;
      this.log?.info({ partition: `${this.schema}.${p.name}`, rows: n.rows[0]!.n }, 'historian: retention dropped a partition');
    }
    if (what === 'raw') {
      for (const t of ['blocks', 'recent']) {
        const r = await this.pool.query(
          `DELETE FROM ${this.t(t)} WHERE (tag_id, t_start) IN (SELECT tag_id, t_start FROM ${this.t(t)} WHERE t_start < $1 AND t_end < $1 LIMIT $2)`,
          [before, maxRows],
        );
        removed += r.rowCount ?? 0;
        if (t === 'recent' && (r.rowCount ?? 0) > 0) await this.reloadFragments();
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

  private async reloadFragments(): Promise<void> {
    this.fragments.clear();
    const frags = await this.pool.query<{ tag_id: number; n: number; at: number; t0: number; t1: number }>(
      `SELECT tag_id, sum(n) AS n, min(at) AS at, min(t_start) AS t0, max(t_end) AS t1 FROM ${this.t('recent')} GROUP BY tag_id`,
    );
    for (const r of frags.rows) this.fragments.set(r.tag_id, { n: r.n, at: r.at, t0: r.t0, t1: r.t1 });
  }

  /** The oldest time in a partitioned table: its oldest non-empty partition, narrowed by the BRIN index to its first day. */
  private async oldestIn(table: PartitionedTable, column: string): Promise<number | undefined> {
    for (const p of await this.partitionsOf(table)) {
      for (const upTo of [p.from + 86_400_000, p.to]) {
        const r = await this.pool.query<{ t: number | null }>(`SELECT min(${column}) AS t FROM ${this.t(p.name)} WHERE ${column} < $1`, [upTo]);
        if (r.rows[0]!.t !== null) return r.rows[0]!.t;
      }
    }
    return undefined;
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
    const oldest = [await this.oldestIn('blocks', 't_start'), recent.rows[0]!.t ?? undefined, await this.oldestIn('minute', 't'), await this.oldestIn('hour', 't')];
    const known = oldest.filter((x): x is number => x !== undefined);
    return {
      bytes: (size.rows[0]!.bytes ?? 0) + (this.disk?.fileBytes() ?? 0),
      samples: samples.rows[0]!.n + (this.disk?.samples ?? 0) + this.queueDepth(),
      oldest: known.length ? Math.min(...known) : null,
    };
  }

  /** Flushes (to PostgreSQL or the buffer) and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.readOnly) await this.flush();
    } finally {
      this.closed = true;
      this.disk?.close();
      await this.pool.end();
    }
  }
}

function concatChunks(parts: Chunk[]): Chunk {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((k, p) => k + p.n, 0);
  const out: Chunk = { tag: new Uint32Array(n), ts: new Float64Array(n), v: new Float64Array(n), q: new Uint8Array(n), n };
  let at = 0;
  for (const p of parts) {
    out.tag.set(p.tag, at);
    out.ts.set(p.ts, at);
    out.v.set(p.v, at);
    out.q.set(p.q, at);
    at += p.n;
  }
  return out;
}
