/**
 * What is not sealed yet in the historian's PostgreSQL store (postgres.ts):
 * each commit adds one fragment per tag to `recent`; a tag's fragments are
 * sealed into blocks (read back, re-encoded, deleted, in the commit's
 * transaction) once they hold a block, or the oldest is older than
 * maxJournalAgeMs, or they span 6 h. This keeps what the writer knows of
 * `recent`, so that it decides without reading it.
 */
import type pg from 'pg';
import { MAX_BLOCK_SPAN_MS, type Samples, concatSamples, decodeBlock } from './codec.js';
import { BlockRows } from './postgres-tables.js';

/** What waits for a tag in `recent`: samples, when its first fragment came, first and last time. */
export interface Fragments {
  n: number;
  at: number;
  t0: number;
  t1: number;
}

export class Recent {
  private readonly byTag = new Map<number, Fragments>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly blockSize: number,
    private readonly maxAgeMs: number,
  ) {}

  private t(name: string): string {
    return `"${this.schema}".${name}`;
  }

  /** Reads what waits in `recent` again (on open, after retention deleted some, after a failed commit). */
  async reload(): Promise<void> {
    this.byTag.clear();
    const r = await this.pool.query<{ tag_id: number; n: number; at: number; t0: number; t1: number }>(
      `SELECT tag_id, sum(n) AS n, min(at) AS at, min(t_start) AS t0, max(t_end) AS t1 FROM ${this.t('recent')} GROUP BY tag_id`,
    );
    for (const x of r.rows) this.byTag.set(x.tag_id, { n: x.n, at: x.at, t0: x.t0, t1: x.t1 });
  }

  /** A tag's fragments once a fragment of `n` samples from t0 to t1 is added at `at`. */
  grown(tag: number, n: number, at: number, t0: number, t1: number): Fragments {
    const had = this.byTag.get(tag);
    return had ? { n: had.n + n, at: had.at, t0: had.t0, t1 } : { n, at, t0, t1 };
  }

  private isDue(fr: Fragments, at: number): boolean {
    return fr.n >= this.blockSize || at - fr.at >= this.maxAgeMs || fr.t1 - fr.t0 >= MAX_BLOCK_SPAN_MS;
  }

  /** Whether any tag's fragments are due at `at`. */
  anyDue(at: number): boolean {
    for (const fr of this.byTag.values()) if (this.isDue(fr, at)) return true;
    return false;
  }

  /** The tags due at `at` once the commit's fragments (`seen`) are added, and the time range their blocks cover. */
  due(seen: ReadonlyMap<number, Fragments>, at: number): { tags: number[]; range: [number, number] } {
    const tags: number[] = [];
    for (const [id, fr] of this.byTag) if (!seen.has(id) && this.isDue(fr, at)) tags.push(id);
    for (const [id, fr] of seen) if (this.isDue(fr, at)) tags.push(id);
    const range: [number, number] = [Infinity, -Infinity];
    for (const id of tags) {
      const fr = seen.get(id) ?? this.byTag.get(id)!;
      range[0] = Math.min(range[0], fr.t0);
      range[1] = Math.max(range[1], fr.t1);
    }
    return { tags, range };
  }

  /** Reads the tags' fragments back, writes them as blocks and deletes them (inside the caller's transaction). */
  async seal(client: pg.ClientBase, tags: number[]): Promise<void> {
    const r = await client.query<[number, number, Buffer]>({
      text: `SELECT tag_id, t_start, data FROM ${this.t('recent')} WHERE tag_id = ANY($1::int[]) ORDER BY tag_id, t_start`,
      values: [tags],
      rowMode: 'array',
    });
    const b = new BlockRows();
    const flushTag = (tag: number, parts: Samples[]): void => {
      const s = parts.length === 1 ? parts[0]! : concatSamples(parts);
      b.add(tag, s.ts, s.v, s.q, s.n, this.blockSize);
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

  /** After the commit: its fragments added, the sealed tags' gone. */
  committed(seen: ReadonlyMap<number, Fragments>, sealed: readonly number[]): void {
    for (const [id, fr] of seen) this.byTag.set(id, fr);
    for (const id of sealed) this.byTag.delete(id);
  }
}
