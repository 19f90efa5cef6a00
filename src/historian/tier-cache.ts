/**
 * The rollup rows of the trends asked for, kept in memory (issue 25: a year
 * trend ≤ 20 ms while ingest runs). A row below its tier's watermark is
 * final — rollups never rewrite it — so once read it is never read again:
 * a year trend asked again reads only the rows the watermark passed since
 * (a few), not the year's 8,760 hours.
 *
 * Retention deletes old rows (in another process, for a web node): rows that
 * retention may have deleted (older than `floor`) are always read from the
 * store. A watermark that went back (the store was replaced) empties a tag.
 * At most `maxRows` rows are kept, the tags used least recently dropped first.
 */
import type { HistoryStore, RollupResolution, RollupRow } from './types.js';

interface Entry {
  /** Every row of the store with lo ≤ t < hi, oldest first. */
  rows: RollupRow[];
  lo: number;
  hi: number;
}

export interface TierCacheStats {
  /** Rows read from the store, and served from memory. */
  read: number;
  served: number;
}

export class TierCache {
  private readonly entries = new Map<string, Entry>();
  private rows = 0;
  private readonly busy = new Map<string, Promise<void>>();
  readonly stats: TierCacheStats = { read: 0, served: 0 };

  constructor(
    private readonly store: HistoryStore,
    private readonly maxRows = 500_000,
  ) {}

  private async fetch(r: RollupResolution, tag: string, from: number, to: number): Promise<RollupRow[]> {
    if (!(from < to)) return [];
    const rows = await this.store.readRollups(r, tag, from, to);
    this.stats.read += rows.length;
    return rows;
  }

  /**
   * The rows of `tag` with from ≤ t < to, as readRollups gives them; rows
   * below `mark` (the tier's watermark) are final and cached, those below
   * `floor` may be gone any time and are not.
   */
  async read(r: RollupResolution, tag: string, from: number, to: number, mark: number, floor: number): Promise<RollupRow[]> {
    const a = Math.max(from, floor);
    const b = Math.min(to, mark);
    if (!(a < b)) return this.fetch(r, tag, from, to);
    const key = `${r}:${tag}`;
    // One reader of a tag's entry at a time: two queries extending it at once would add rows twice.
    const prior = this.busy.get(key) ?? Promise.resolve();
    const mine = prior.then(() => this.cached(key, r, tag, a, b, mark, floor));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(key, settled);
    void settled.then(() => {
      if (this.busy.get(key) === settled) this.busy.delete(key);
    });
    const served = await mine;
    const head = from < a ? await this.fetch(r, tag, from, a) : [];
    const tail = b < to ? await this.fetch(r, tag, b, to) : [];
    return head.length === 0 && tail.length === 0 ? served : [...head, ...served, ...tail];
  }

  /** The rows a ≤ t < b, all below the watermark and above the floor: from the entry, extended from the store as needed. */
  private async cached(key: string, r: RollupResolution, tag: string, a: number, b: number, mark: number, floor: number): Promise<RollupRow[]> {
    let e = this.entries.get(key);
    // Out of the map while it is worked on: eviction does not see it; its rows stay counted.
    if (e) this.entries.delete(key);
    if (e && (e.hi > mark || a > e.hi || b < e.lo)) {
      this.rows -= e.rows.length;
      e = undefined;
    }
    try {
      if (!e) {
        const rows = await this.fetch(r, tag, a, b);
        e = { rows, lo: a, hi: b };
        this.rows += rows.length;
      }
      if (a < e.lo) {
        const before = await this.fetch(r, tag, a, e.lo);
        e.rows = before.concat(e.rows);
        this.rows += before.length;
        e.lo = a;
      }
      if (b > e.hi) {
        const after = await this.fetch(r, tag, e.hi, b);
        for (const row of after) e.rows.push(row);
        this.rows += after.length;
        e.hi = b;
      }
    } catch (err) {
      if (e) this.rows -= e.rows.length;
      throw err;
    }
    this.forget(e, floor);
    // Most recently used last: the map's order is the eviction order.
    this.entries.set(key, e);
    const served = slice(e.rows, a, b);
    this.stats.served += served.length;
    this.evict(key);
    return served;
  }

  /** Rows retention may delete leave the entry. */
  private forget(e: Entry, floor: number): void {
    if (floor <= e.lo) return;
    const k = lowerBound(e.rows, floor);
    e.rows = e.rows.slice(k);
    this.rows -= k;
    e.lo = Math.min(floor, e.hi);
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.rows -= e.rows.length;
  }

  private evict(keep: string): void {
    for (const [key, e] of this.entries) {
      if (this.rows <= this.maxRows || key === keep) break;
      this.drop(key, e);
    }
  }

  /** Rows kept, over all tags. */
  size(): number {
    return this.rows;
  }
}

function lowerBound(rows: readonly RollupRow[], t: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A copy: the entry's array grows under later queries. */
const slice = (rows: RollupRow[], a: number, b: number): RollupRow[] => rows.slice(lowerBound(rows, a), lowerBound(rows, b));
