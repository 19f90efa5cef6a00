/**
 * The historian: records every change of value or quality that reaches the
 * bus (report by exception), repeats a tag's last value after its maximum
 * interval so a flat line is still recorded, commits in batches off the hot
 * path, computes minute and hour rollups and applies retention in the
 * background in small steps, and answers trend queries at the resolution
 * the range needs.
 */
import type { SampleBatch, SampleSubscription, ValueBus } from '../bus/types.js';
import type { TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { type Samples } from './codec.js';
import type { Series } from './m4.js';
import { combineRows, rollupBuckets } from './rollup.js';
import { TierCache } from './tier-cache.js';
import { trend } from './trend.js';
import {
  HistorianError,
  type HistoryStore,
  QUALITY_INDEX,
  type Resolution,
  type RollupResolution,
  type StoreStatus,
} from './types.js';

/** Retention per resolution in ms; null keeps forever. */
export interface Retention {
  raw: number | null;
  minute: number | null;
  hour: number | null;
}

export const DEFAULT_RETENTION: Retention = { raw: 90 * 86_400_000, minute: 2 * 365 * 86_400_000, hour: null };

export interface HistorianOptions {
  store: HistoryStore;
  log?: Logger;
  now?: () => number;
  /** A tag's last value is recorded again after this long without a change. Default 60 s. */
  maxIntervalMs?: number;
  /** Per-tag maximum intervals, by tag name. */
  intervals?: Record<string, number>;
  retention?: Retention;
  /** How often buffered samples are committed. Default 250 ms. */
  flushEveryMs?: number;
  /** Commit as soon as this many samples wait. Default 200,000. */
  maxQueue?: number;
  /** How often rollups catch up. Default 10 s. */
  rollupEveryMs?: number;
  /** How often retention runs (in small batches). Default 10 minutes. */
  retentionEveryMs?: number;
  /** Rollups wait this long after a bucket's end for late samples. Default 5 s. */
  settleMs?: number;
  /** Only queries, on a store another process writes (a web node): the rollup watermarks are read again at every query. */
  reader?: boolean;
  /** Rollup rows kept in memory for trends, over all tags (tier-cache.ts). Default 500,000 (≈ 60 tag-years of hours). */
  cacheRows?: number;
}

export interface HistorySeries extends Series {
  tag: string;
  resolution: Resolution;
}

export interface HistorianStatus extends StoreStatus {
  retention: { raw: string; minute: string; hour: string };
}

export interface HistorianStats {
  /** Samples recorded (changes and repeats). */
  recorded: number;
  /** Values received that changed nothing (same value and quality). */
  unchanged: number;
  /** Repeats of an unchanged value after the maximum interval. */
  repeats: number;
  /** Samples whose time was not after the tag's previous one, moved 1 ms after it. */
  nudged: number;
  /** Samples from the bus older than the tag's last recorded one (delivered again after a restart, or forwarded twice), skipped. */
  replayed: number;
  /** Samples committed to the store. */
  committed: number;
  /** Commits that failed. */
  flushErrors: number;
}

export function formatRetention(ms: number | null): string {
  if (ms === null) return 'forever';
  const units: [number, string][] = [[365 * 86_400_000, 'y'], [86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [size, u] of units) if (ms % size === 0) return `${ms / size}${u}`;
  return `${ms}ms`;
}

export class Historian {
  readonly store: HistoryStore;
  readonly stats: HistorianStats = { recorded: 0, unchanged: 0, repeats: 0, nudged: 0, replayed: 0, committed: 0, flushErrors: 0 };
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly maxIntervalMs: number;
  private readonly intervals: Record<string, number>;
  readonly retention: Retention;
  private readonly flushEveryMs: number;
  private readonly maxQueue: number;
  private readonly rollupEveryMs: number;
  private readonly retentionEveryMs: number;
  private readonly settleMs: number;
  /** By tag id: the last recorded sample and the tag's maximum interval. */
  private lastTs = new Float64Array(256);
  private lastV = new Float64Array(256);
  private lastQ = new Int16Array(256).fill(-1);
  private interval = new Float64Array(256);
  /**
   * By tag id: the index of its device in `upTo` (a tag whose samples come
   * in scan reports), or -1 (repeats on this process's clock).
   */
  private deviceOf = new Int32Array(256).fill(-1);
  /** By device index: how far the device's values are known (its last scan report). */
  private readonly upTo: number[] = [];
  private readonly deviceIndex = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private samples: SampleSubscription | undefined;
  private running = false;
  private flushing: Promise<number> | undefined;
  private rolling: Promise<void> | undefined;
  private watermark: Record<RollupResolution, number | undefined> = { minute: undefined, hour: undefined };
  private readonly reader: boolean;
  /** The final rollup rows trends read (tier-cache.ts). */
  readonly tiers: TierCache;

  constructor(o: HistorianOptions) {
    this.store = o.store;
    this.log = o.log;
    this.now = o.now ?? Date.now;
    this.maxIntervalMs = o.maxIntervalMs ?? 60_000;
    this.intervals = o.intervals ?? {};
    this.retention = o.retention ?? DEFAULT_RETENTION;
    this.flushEveryMs = o.flushEveryMs ?? 250;
    this.maxQueue = o.maxQueue ?? 200_000;
    this.rollupEveryMs = o.rollupEveryMs ?? 10_000;
    this.retentionEveryMs = o.retentionEveryMs ?? 600_000;
    this.settleMs = o.settleMs ?? 5000;
    this.reader = o.reader ?? false;
    this.tiers = new TierCache(this.store, o.cacheRows);
  }

  /** Records a batch of values from the bus. Strings are not recorded. Never throws at the publisher. */
  ingest(values: readonly TagValue[]): void {
    for (let k = 0; k < values.length; k++) {
      const x = values[k]!;
      const raw = x.value;
      if (typeof raw === 'string') continue;
      const v = raw === null ? NaN : typeof raw === 'boolean' ? (raw ? 1 : 0) : raw;
      const id = this.idOf(x.tag);
      const q = QUALITY_INDEX[x.quality] ?? QUALITY_INDEX.Bad_ConfigurationError;
      if (this.lastQ[id] === q && (this.lastV[id] === v || (Number.isNaN(v) && Number.isNaN(this.lastV[id]!)))) {
        this.stats.unchanged++;
        continue;
      }
      this.record(id, x.sourceTs, v, q);
    }
    if (this.store.queueDepth() >= this.maxQueue) void this.flush();
  }

  private idOf(tag: string): number {
    const id = this.store.tagId(tag);
    if (id >= this.lastTs.length) {
      const n = Math.max(id + 1, this.lastTs.length * 2);
      const grow = <T extends Float64Array | Int16Array>(a: T, make: new (n: number) => T, fill: number): T => {
        const b = new make(n).fill(fill) as T;
        b.set(a);
        return b;
      };
      this.lastTs = grow(this.lastTs, Float64Array, 0);
      this.lastV = grow(this.lastV, Float64Array, 0);
      this.lastQ = grow(this.lastQ, Int16Array, -1);
      this.interval = grow(this.interval, Float64Array, 0);
      const d = new Int32Array(n).fill(-1);
      d.set(this.deviceOf);
      this.deviceOf = d;
    }
    if (this.interval[id] === 0) this.interval[id] = this.intervals[tag] ?? this.maxIntervalMs;
    return id;
  }

  private record(id: number, ts: number, v: number, q: number): void {
    if (ts <= this.lastTs[id]!) {
      ts = this.lastTs[id]! + 1;
      this.stats.nudged++;
    }
    this.store.append(id, ts, v, q);
    this.lastTs[id] = ts;
    this.lastV[id] = v;
    this.lastQ[id] = q;
    this.stats.recorded++;
  }

  /**
   * Records a batch from the bus's samples: a sample not after its tag's
   * last one was recorded already (a redelivery) and is skipped; the batch's
   * upTo says how far its device's values are known, which is as far as a
   * repeat may claim they stayed the same.
   */
  ingestSamples(batch: SampleBatch): void {
    let d = -1;
    if (batch.device !== undefined && batch.upTo !== undefined) {
      d = this.deviceIndex.get(batch.device) ?? -1;
      if (d < 0) {
        d = this.upTo.push(0) - 1;
        this.deviceIndex.set(batch.device, d);
      }
    }
    const fresh = batch.values.filter((x) => {
      const id = this.idOf(x.tag);
      if (d >= 0) this.deviceOf[id] = d;
      if (x.sourceTs > this.lastTs[id]!) return true;
      this.stats.replayed++;
      return false;
    });
    if (fresh.length > 0) this.ingest(fresh);
    if (d >= 0 && batch.upTo! > this.upTo[d]!) this.upTo[d] = batch.upTo!;
  }

  /**
   * Records again every tag whose last sample is older than its maximum
   * interval: up to now, or for a tag reported by scans up to its device's
   * last report (a poller that stopped reporting gets no repeats claiming its
   * values stayed the same).
   */
  heartbeat(): number {
    const now = this.now();
    let n = 0;
    for (let id = 1; id < this.lastQ.length; id++) {
      if (this.lastQ[id]! < 0) continue;
      const d = this.deviceOf[id]!;
      const known = d < 0 ? now : this.upTo[d]!;
      if (known - this.lastTs[id]! >= this.interval[id]!) {
        this.record(id, known, this.lastV[id]!, this.lastQ[id]!);
        this.stats.repeats++;
        n++;
      }
    }
    return n;
  }

  /** Commits what is buffered; resolves when it is acknowledged by the store (and then acknowledges the bus's samples it holds). */
  async flush(): Promise<number> {
    // Waits for the commit under way; it settles and is cleared even if the bus never answers (see below).
    while (this.flushing) await this.flushing.catch(() => undefined);
    const samples = this.samples;
    const at = samples?.position();
    this.flushing = this.store.flush();
    try {
      const n = await this.flushing;
      this.stats.committed += n;
      // Acknowledged on the bus only once committed: a restart before this gets them again (and skips what it has).
      // Not waited for: with Redis away the acknowledgement waits in the client, and commits must go on meanwhile.
      if (samples && at !== undefined) {
        void samples.acknowledge(at).catch((err: unknown) => this.log?.warn({ err: (err as Error).message }, 'historian: samples not acknowledged on the bus yet'));
      }
      return n;
    } catch (err) {
      this.stats.flushErrors++;
      this.log?.error({ err }, 'historian: commit failed; samples stay buffered');
      throw err;
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Subscribes to the bus's samples under the durable name `durable` (on
   * Redis: it resumes after what it acknowledged before a restart), records
   * the current value of every tag it has never recorded, and starts the
   * background work.
   */
  async attach(bus: ValueBus, durable = 'historian'): Promise<void> {
    for (const [tag, ts] of await this.store.lastTimes()) this.lastTs[this.idOf(tag)] = ts;
    this.samples = await bus.subscribeSamples((batch) => this.ingestSamples(batch), { durable });
    this.ingest((await bus.snapshot()).filter((v) => this.lastTs[this.idOf(v.tag)] === 0));
    this.start();
  }

  /** Starts the timers: commits, repeats, rollups and retention. None of them overlaps itself. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.every(this.flushEveryMs, async () => {
      this.heartbeat();
      await this.flush();
    });
    this.every(this.rollupEveryMs, () => this.rollupStep());
    this.every(this.retentionEveryMs, async () => {
      await this.applyRetention();
    });
  }

  private every(ms: number, f: () => Promise<unknown>): void {
    const tick = (): void => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        f()
          .catch((err: unknown) => this.log?.error({ err }, 'historian: background work failed'))
          .finally(() => {
            if (this.running) tick();
          });
      }, ms);
      this.timers.add(t);
    };
    tick();
  }

  /** Stops the subscription and the timers, then commits everything buffered. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const samples = this.samples;
    if (samples) await samples.stop();
    if (this.rolling) await this.rolling;
    await this.flush();
    this.samples = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.store.close();
  }

  /** How long after its last sample a tag's value is no longer known to hold (its repeats stopped coming). */
  staleAfterMs(tag: string): number {
    return this.staleMs(tag);
  }

  private staleMs(tag: string): number {
    return 2 * (this.intervals[tag] ?? this.maxIntervalMs) + this.settleMs;
  }

  // ------------------------------------------------------------------ rollups

  private async mark(r: RollupResolution): Promise<number | undefined> {
    if (this.watermark[r] === undefined || this.reader) {
      const m = await this.store.getMeta(`rollup.${r}`);
      if (m !== undefined) this.watermark[r] = Number(m);
    }
    return this.watermark[r];
  }

  /** Brings the rollups up to date (many steps if needed). */
  async rollup(): Promise<void> {
    while (await this.rollupStep()) {
      // until caught up
    }
  }

  /** One step of at most a day of minutes; resolves true while there is more to do. */
  rollupStep(): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      await this.flush();
      // Samples acknowledged but still in a store-and-forward buffer would be missing from the buckets.
      if ((this.store.buffer?.().samples ?? 0) > 0) return false;
      const now = this.now();
      let w = await this.mark('minute');
      if (w === undefined) {
        const oldest = (await this.store.status()).oldest;
        w = Math.floor((oldest ?? now) / 60_000) * 60_000;
        this.watermark.minute = w;
        await this.store.setMeta('rollup.minute', String(w));
      }
      const target = Math.floor((now - this.settleMs) / 60_000) * 60_000;
      if (target <= w) return false;
      const to = Math.min(target, w + 86_400_000);
      const tags = this.store.tagNames();
      for (let k = 0; k < tags.length; k++) {
        const tag = tags[k]!;
        const samples = await this.store.readRaw(tag, w, to);
        const carry = await this.store.lastBefore(tag, w);
        const rows = rollupBuckets(samples, carry, w, to, 60_000, this.staleMs(tag));
        if (rows.length > 0) await this.store.writeRollups('minute', tag, rows);
        if (k % 64 === 63) await new Promise((r) => setImmediate(r));
      }
      this.watermark.minute = to;
      await this.store.setMeta('rollup.minute', String(to));
      let h = await this.mark('hour');
      if (h === undefined) h = Math.floor(w / 3_600_000) * 3_600_000;
      const hourEnd = Math.floor(to / 3_600_000) * 3_600_000;
      if (hourEnd > h) {
        for (const tag of tags) {
          const rows = combineRows(await this.store.readRollups('minute', tag, h, hourEnd), 60_000, 3_600_000);
          if (rows.length > 0) await this.store.writeRollups('hour', tag, rows);
        }
        h = hourEnd;
      }
      this.watermark.hour = h;
      await this.store.setMeta('rollup.hour', String(h));
      return to < target;
    };
    const p = (this.rolling ?? Promise.resolve(false)).then(run, run);
    this.rolling = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Deletes what is past each resolution's retention, a thousand rows at a time, yielding between batches. */
  async applyRetention(maxBatches = 100): Promise<number> {
    const now = this.now();
    let total = 0;
    for (const r of ['raw', 'minute', 'hour'] as const) {
      const keep = this.retention[r];
      if (keep === null) continue;
      for (let i = 0; i < maxBatches; i++) {
        const n = await this.store.prune(r, now - keep, 1000);
        total += n;
        if (n < 1000) break;
        await new Promise((res) => setImmediate(res));
      }
    }
    return total;
  }

  async status(): Promise<HistorianStatus> {
    const s = await this.store.status();
    return { ...s, retention: { raw: formatRetention(this.retention.raw), minute: formatRetention(this.retention.minute), hour: formatRetention(this.retention.hour) } };
  }

  // ------------------------------------------------------------------ queries

  /** Samples of one tag in [from, to) (the raw data, as stored). */
  readRaw(tag: string, from: number, to: number): Promise<Samples> {
    return this.store.readRaw(tag, from, to);
  }

  lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined> {
    return this.store.lastBefore(tag, t);
  }

  /**
   * A trend of each tag over [from, to) for a chart `points` pixels wide
   * (trend.ts): raw samples when the range holds few enough, else minute,
   * else hour rollups, reduced by M4 to at most 4 points per pixel plus gap
   * markers. A null value is a gap: bad quality, or no data.
   */
  async query(tags: readonly string[], from: number, to: number, points: number): Promise<HistorySeries[]> {
    if (!(from < to)) throw new HistorianError('PLANTA_HISTORY_BAD_RANGE', 'from must be before to');
    const out: HistorySeries[] = [];
    for (const tag of tags) out.push(await this.queryOne(tag, from, to, points));
    return out;
  }

  private async queryOne(tag: string, from: number, to: number, points: number): Promise<HistorySeries> {
    const source = { store: this.store, tiers: this.tiers, mark: (r: RollupResolution) => this.mark(r), keep: (r: RollupResolution) => this.retention[r], staleMs: (t: string) => this.staleMs(t), now: this.now };
    return { tag, ...(await trend(source, tag, from, to, points)) };
  }
}
