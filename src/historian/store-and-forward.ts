/**
 * Store-and-forward in front of any sample store (types.ts HistoryStore;
 * PostgreSQL in practice): a commit goes to the store; one the store does not
 * take (unreachable, down, any error) goes to a queue on local disk
 * (src/util/disk-queue.ts) instead and is acknowledged there, and so does
 * every later commit until the queue is empty again, so order is kept. Each
 * flush then forwards the queue, oldest first, for up to a second, retrying
 * with a backoff up to 30 s. A forwarded batch leaves the queue once the
 * store committed it; a sample not after its tag's last stored time (the
 * store's lastTimes) is skipped, so a crash in between writes nothing twice.
 * While anything waits in the queue, rollups wait (Historian.rollupStep).
 *
 * The queue holds journal chunks (codec.ts: every sample of one commit, all
 * tags, arrival order) under this wrapper's tag ids, whose names the file
 * keeps. Past its size the oldest chunks are dropped, counted and logged.
 */
import type { Logger } from '../util/log.js';
import { DiskQueue } from '../util/disk-queue.js';
import { CHUNK_BYTES_PER_SAMPLE, type Chunk, SampleQueue, type Samples, concatChunks, concatSamples, decodeChunk } from './codec.js';
import type { BufferStats, HistoryStore, Retained, RollupResolution, RollupRow, StoreStatus } from './types.js';

export interface StoreAndForwardOptions {
  /** The queue's SQLite file. */
  path: string;
  /** Its maximum size in bytes. Default 256 MiB. */
  maxBytes?: number;
  /** First retry after an outage (ms), doubling up to 30 s. Default 1 s. */
  retryMs?: number;
  /** The store in the log's words, e.g. 'PostgreSQL'. */
  what?: string;
  log?: Logger;
}

const MAX_RETRY_MS = 30_000;
/** Samples forwarded in one commit at most. */
const FORWARD_BATCH = 200_000;
/** Time a flush spends forwarding at most, so ingest keeps being acknowledged. */
const FORWARD_BUDGET_MS = 1000;
/** The queue's one key: chunks are forwarded in the order they came. */
const KEY = '';

export class StoreAndForward implements HistoryStore {
  private readonly disk: DiskQueue;
  private readonly retryMs: number;
  private readonly what: string;
  private readonly log: Logger | undefined;
  /** This wrapper's tag ids (this process, and the queue file) by name, and back; the store's id of each. */
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly innerIds: number[] = [];
  /** Tags whose names the queue file holds. */
  private readonly named = new Set<number>();
  /** Commits not yet durable anywhere (the queue could not be written), oldest first. */
  private readonly unsent: Buffer[] = [];
  /** Samples appended since the last flush, all tags, arrival order. */
  private readonly queue = new SampleQueue();
  private online = true;
  private nextTryAt = 0;
  private backoff: number;
  private readonly totals = { dropped: 0, forwarded: 0, skipped: 0 };
  private closed = false;

  constructor(
    readonly inner: HistoryStore,
    o: StoreAndForwardOptions,
  ) {
    this.retryMs = o.retryMs ?? 1000;
    this.backoff = this.retryMs;
    this.what = o.what ?? 'the store';
    this.log = o.log;
    this.disk = new DiskQueue(o.path, o.maxBytes ?? 256 * 1024 * 1024);
    for (const [id, name] of this.disk.names()) {
      this.ids.set(name, id);
      this.names[id] = name;
      this.named.add(id);
    }
    if (this.disk.pending() > 0) this.online = false;
  }

  get bufferPath(): string {
    return this.disk.path;
  }

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
    return [...new Set([...this.inner.tagNames(), ...this.names.filter((n) => n !== undefined)])];
  }

  append(id: number, ts: number, v: number, q: number): void {
    this.queue.push(id, ts, v, q);
  }

  queueDepth(): number {
    return this.queue.n + this.unsent.reduce((k, b) => k + b.length / CHUNK_BYTES_PER_SAMPLE, 0);
  }

  buffer(): BufferStats {
    const { bytes, maxBytes } = this.disk;
    return { bytes, maxBytes, samples: bytes / CHUNK_BYTES_PER_SAMPLE, ...this.totals, online: this.online };
  }

  /**
   * Commits what was appended: to the store when it takes it and nothing
   * waits in the queue, else to the queue (acknowledged there), then
   * forwards what the queue holds when the store is back.
   */
  async flush(): Promise<number> {
    if (this.closed) return 0;
    const n = this.queue.n;
    if (n > 0) this.unsent.push(this.queue.encode());
    this.queue.n = 0;
    let committed = 0;
    while (this.unsent.length > 0) {
      const data = this.unsent[0]!;
      if (this.online && this.disk.pending() === 0) {
        try {
          await this.commit(decodeChunk(data));
          this.unsent.shift();
          committed += data.length / CHUNK_BYTES_PER_SAMPLE;
          continue;
        } catch (err) {
          this.goOffline(err);
        }
      }
      this.toDisk(data);
      this.unsent.shift();
      committed += data.length / CHUNK_BYTES_PER_SAMPLE;
    }
    if (this.disk.pending() > 0) await this.forward();
    else if (this.online && n === 0) {
      // Nothing new: the store's own timed work (e.g. sealing by age).
      await this.inner.flush().catch((err: unknown) => this.goOffline(err));
    }
    return committed;
  }

  private innerId(id: number): number {
    return (this.innerIds[id] ??= this.inner.tagId(this.names[id]!));
  }

  /**
   * Hands samples to the store and commits them. With `last` (each tag's
   * last stored time), samples not after it are skipped; it is kept up to
   * date. Resolves with the samples skipped.
   */
  private async commit(c: Chunk, last?: Map<number, number>): Promise<number> {
    let skipped = 0;
    for (let i = 0; i < c.n; i++) {
      const id = c.tag[i]!;
      const ts = c.ts[i]!;
      if (last) {
        if (!(ts > (last.get(id) ?? -Infinity))) {
          skipped++;
          continue;
        }
        last.set(id, ts);
      }
      this.inner.append(this.innerId(id), ts, c.v[i]!, c.q[i]!);
    }
    await this.inner.flush();
    return skipped;
  }

  private toDisk(data: Buffer): void {
    const c = decodeChunk(data);
    const names: [number, string][] = [];
    for (let i = 0; i < c.n; i++) {
      const id = c.tag[i]!;
      if (!this.named.has(id)) {
        this.named.add(id);
        names.push([id, this.names[id]!]);
      }
    }
    const dropped = this.disk.append(KEY, data, { names }).bytes / CHUNK_BYTES_PER_SAMPLE;
    if (dropped > 0) {
      this.totals.dropped += dropped;
      this.log?.warn({ dropped, total: this.totals.dropped, maxBytes: this.disk.maxBytes }, 'historian: store-and-forward buffer full, oldest samples dropped');
    }
  }

  private goOffline(err: unknown): void {
    if (this.online) this.log?.error({ err }, `historian: ${this.what} did not take a commit; buffering to disk until it is back`);
    this.online = false;
    this.nextTryAt = Date.now() + this.backoff;
    this.backoff = Math.min(MAX_RETRY_MS, this.backoff * 2);
  }

  /** Forwards the queue, oldest first, for up to a second; backs off after a failure. */
  private async forward(): Promise<void> {
    if (Date.now() < this.nextTryAt) return;
    const started = performance.now();
    // What the store holds already (a crash after it committed, before the queue let go) is skipped.
    const last = new Map<number, number>();
    try {
      for (const [name, ts] of await this.inner.lastTimes()) {
        const id = this.ids.get(name);
        if (id !== undefined) last.set(id, ts);
      }
    } catch (err) {
      this.goOffline(err);
      return;
    }
    while (this.disk.pending() > 0 && performance.now() - started < FORWARD_BUDGET_MS) {
      const batch: Chunk[] = [];
      let samples = 0;
      let through = 0;
      for (const r of this.disk.oldest(KEY, 256)) {
        if (batch.length > 0 && samples + r.data.length / CHUNK_BYTES_PER_SAMPLE > FORWARD_BATCH) break;
        batch.push(decodeChunk(r.data));
        samples += r.data.length / CHUNK_BYTES_PER_SAMPLE;
        through = r.seq;
      }
      try {
        this.totals.skipped += await this.commit(concatChunks(batch), last);
      } catch (err) {
        this.goOffline(err);
        return;
      }
      this.disk.remove(KEY, through);
      this.totals.forwarded += samples;
    }
    if (this.disk.pending() === 0) {
      if (!this.online) this.log?.info({ forwarded: this.totals.forwarded }, `historian: ${this.what} is back; the buffer is forwarded`);
      this.online = true;
      this.backoff = this.retryMs;
      this.nextTryAt = 0;
    }
  }

  /** This process's samples of a tag appended since the last flush, with from ≤ ts < to (they follow everything stored). */
  private pending(tag: string, from: number, to: number): Samples {
    const id = this.ids.get(tag);
    const out = { ts: [] as number[], v: [] as number[], q: [] as number[] };
    if (id !== undefined) {
      const p = this.queue;
      for (let i = 0; i < p.n; i++) {
        if (p.tag[i] !== id || !(p.ts[i]! >= from && p.ts[i]! < to)) continue;
        out.ts.push(p.ts[i]!);
        out.v.push(p.v[i]!);
        out.q.push(p.q[i]!);
      }
    }
    return { ts: Float64Array.from(out.ts), v: Float64Array.from(out.v), q: Uint8Array.from(out.q), n: out.ts.length };
  }

  // Reads go to the store, with what this process appended since its last flush.

  async readRaw(tag: string, from: number, to: number): Promise<Samples> {
    const stored = await this.inner.readRaw(tag, from, to);
    const mine = this.pending(tag, from, to);
    return mine.n === 0 ? stored : concatSamples([stored, mine]);
  }

  async countRaw(tag: string, from: number, to: number, atMost?: number): Promise<number> {
    return (await this.inner.countRaw(tag, from, to, atMost)) + this.pending(tag, from, to).n;
  }

  async lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined> {
    const mine = this.pending(tag, -Infinity, t);
    if (mine.n > 0) return { ts: mine.ts[mine.n - 1]!, v: mine.v[mine.n - 1]!, q: mine.q[mine.n - 1]! };
    return this.inner.lastBefore(tag, t);
  }

  /** Every tag's last sample before `t`: what waits here first, the rest from the store at once where it can. */
  async lastBeforeMany(tags: readonly string[], t: number): Promise<({ ts: number; v: number; q: number } | undefined)[]> {
    const stored = this.inner.lastBeforeMany ? await this.inner.lastBeforeMany(tags, t) : await Promise.all(tags.map((tag) => this.inner.lastBefore(tag, t)));
    return tags.map((tag, k) => {
      const mine = this.pending(tag, -Infinity, t);
      return mine.n > 0 ? { ts: mine.ts[mine.n - 1]!, v: mine.v[mine.n - 1]!, q: mine.q[mine.n - 1]! } : stored[k];
    });
  }

  /** The store's: what waits in the queue is skipped when forwarded if it is delivered again meanwhile. */
  lastTimes(): Promise<Map<string, number>> {
    return this.inner.lastTimes();
  }

  writeRollups(resolution: RollupResolution, tag: string, rows: RollupRow[]): Promise<void> {
    return this.inner.writeRollups(resolution, tag, rows);
  }

  readRollups(resolution: RollupResolution, tag: string, from: number, to: number): Promise<RollupRow[]> {
    return this.inner.readRollups(resolution, tag, from, to);
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.inner.getMeta(key);
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.inner.setMeta(key, value);
  }

  prune(what: Retained, before: number, maxRows: number): Promise<number> {
    return this.inner.prune(what, before, maxRows);
  }

  /** The store's figures, with what waits here: the queue file, its samples and those not committed yet. */
  async status(): Promise<StoreStatus> {
    const s = await this.inner.status();
    return { bytes: s.bytes + this.disk.fileBytes(), samples: s.samples + this.disk.bytes / CHUNK_BYTES_PER_SAMPLE + this.queueDepth(), oldest: s.oldest };
  }

  /** Flushes (to the store or the queue) and closes both. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      try {
        await this.inner.close();
      } finally {
        this.disk.close();
      }
    }
  }
}
