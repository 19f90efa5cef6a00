/** The historian as the configuration describes it: its store (SQLite or PostgreSQL), the recorder, and the cycle report. */
import { dirname, join } from 'node:path';
import type { PlantConfig } from '../config/resolve.js';
import type { Logger } from '../util/log.js';
import { CycleReport } from './cycles.js';
import { Historian } from './historian.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { StoreAndForward } from './store-and-forward.js';
import type { Samples } from './codec.js';
import { HistorianError, type HistoryStore, type Retained, type RollupResolution, type RollupRow, type StoreStatus } from './types.js';

export { CycleReport } from './cycles.js';
export { Historian } from './historian.js';
export { PostgresStore } from './postgres.js';
export { SqliteStore } from './sqlite.js';

export interface OpenHistorianOptions {
  /** SQLite file, or ':memory:'; with PostgreSQL, the store-and-forward buffer goes beside it unless configured. */
  path: string;
  /** PLANTA_HISTORIAN_URL: a postgres:// URL, or `sqlite`, overrides the configuration's historian.store. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  now?: () => number;
  /** Alarm activations in a period, for the cycle report (the alarm journal). */
  alarmCount?: (from: number, to: number) => number | Promise<number>;
  store?: Omit<SqliteStoreOptions, 'now'>;
  /** Only read what another process records (a web node): the store opened read-only, no buffer, nothing written. */
  readOnly?: boolean;
}

export function openHistorian(config: PlantConfig, o: OpenHistorianOptions): { historian: Historian; cycles: CycleReport | undefined } {
  const h = config.historian;
  const store = openStore(config, o);
  const historian = new Historian({
    store,
    ...(o.readOnly ? { reader: true } : {}),
    maxIntervalMs: h.maxInterval,
    intervals: h.intervals,
    retention: { raw: h.retention.raw, minute: h.retention.minute, hour: h.retention.hour },
    ...(o.log ? { log: o.log } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  const cycles = h.cycles
    ? new CycleReport({ config: h.cycles, source: historian, ...(o.alarmCount ? { alarmCount: o.alarmCount } : {}), ...(o.now ? { now: o.now } : {}) })
    : undefined;
  return { historian, cycles };
}

/** The kind of store of the configuration's historian.store, or of PLANTA_HISTORIAN_URL, and its URL. */
export function storeChoice(config: PlantConfig, env: NodeJS.ProcessEnv = process.env): { kind: 'sqlite' | 'postgres'; url: string | undefined } {
  const chosen = config.historian.store;
  const given = env.PLANTA_HISTORIAN_URL;
  let kind = chosen?.kind ?? 'sqlite';
  let url = chosen?.url;
  if (given !== undefined && given !== '') {
    if (given === 'sqlite') kind = 'sqlite';
    else if (/^postgres(ql)?:\/\/\S+$/.test(given)) [kind, url] = ['postgres', given];
    else throw new HistorianError('PLANTA_HISTORIAN_BAD_URL', `PLANTA_HISTORIAN_URL "${given}": expected postgres://USER@HOST:PORT/DATABASE or sqlite`);
  }
  return { kind, url };
}

/** Where the historian keeps its data, in words: the PostgreSQL schema (historian.store, PLANTA_HISTORIAN_URL), else the SQLite file `path`. */
export function describeStore(config: PlantConfig, path: string, env: NodeJS.ProcessEnv = process.env): string {
  return storeChoice(config, env).kind === 'postgres' ? `PostgreSQL schema ${config.historian.store?.schema ?? 'planta'}` : path;
}

/** The store of the configuration's historian.store, or of PLANTA_HISTORIAN_URL. */
export function openStore(config: PlantConfig, o: OpenHistorianOptions): HistoryStore {
  const chosen = config.historian.store;
  const { kind, url } = storeChoice(config, o.env);
  const schema = chosen?.schema ?? 'planta';
  if (o.readOnly) {
    if (kind === 'sqlite') return new LazyReader(o.path, () => new SqliteStore(o.path, { readOnly: true }));
    o.log?.info({ url: url!.replace(/\/\/[^@/]*@/, '//…@'), schema }, 'trends read from the historian on PostgreSQL');
    return new PostgresStore({ url: url!, schema, readOnly: true, ...(o.log ? { log: o.log } : {}), ...(o.now ? { now: o.now } : {}) });
  }
  if (kind === 'sqlite') return new SqliteStore(o.path, { ...o.store, ...(o.now ? { now: o.now } : {}) });
  const buffer = chosen?.buffer ?? (o.path === ':memory:' ? ':memory:' : join(dirname(o.path), 'history-buffer.db'));
  o.log?.info({ url: url!.replace(/\/\/[^@/]*@/, '//…@'), schema, buffer }, 'historian on PostgreSQL, store-and-forward buffer on disk');
  const log = o.log ? { log: o.log } : {};
  const store = new PostgresStore({ url: url!, schema, ...log, ...(o.now ? { now: o.now } : {}) });
  return new StoreAndForward(store, { path: buffer, maxBytes: chosen?.bufferSize ?? 256 * 1024 * 1024, what: 'PostgreSQL', ...log });
}

const readOnly = (): never => {
  throw new HistorianError('PLANTA_HISTORIAN_READ_ONLY', 'this historian store was opened read-only');
};

/**
 * A read-only SQLite store opened at its first use, and tried again at the
 * next one while the file is missing: a web node may start before the
 * historian created its file. Until then: 503 PLANTA_HISTORIAN_UNAVAILABLE.
 */
class LazyReader implements HistoryStore {
  private store: HistoryStore | undefined;

  constructor(
    private readonly path: string,
    private readonly open: () => HistoryStore,
  ) {}

  private get s(): HistoryStore {
    if (!this.store) {
      try {
        this.store = this.open();
      } catch (err) {
        if (err instanceof HistorianError && err.code === 'PLANTA_HISTORIAN_NO_FILE') {
          throw new HistorianError('PLANTA_HISTORIAN_UNAVAILABLE', `no history file at ${this.path} yet (planta historian creates it)`);
        }
        throw err;
      }
    }
    return this.store;
  }

  tagId(): number {
    return readOnly();
  }
  async lastTimes(): Promise<Map<string, number>> {
    return new Map();
  }
  tagNames(): string[] {
    return this.store?.tagNames() ?? [];
  }
  append(): void {
    readOnly();
  }
  async flush(): Promise<number> {
    return 0;
  }
  queueDepth(): number {
    return 0;
  }
  readRaw(tag: string, from: number, to: number): Promise<Samples> {
    return this.s.readRaw(tag, from, to);
  }
  countRaw(tag: string, from: number, to: number, atMost?: number): Promise<number> {
    return this.s.countRaw(tag, from, to, atMost);
  }
  lastBefore(tag: string, t: number): Promise<{ ts: number; v: number; q: number } | undefined> {
    return this.s.lastBefore(tag, t);
  }
  lastBeforeMany(tags: readonly string[], t: number): Promise<({ ts: number; v: number; q: number } | undefined)[]> {
    const s = this.s;
    return s.lastBeforeMany ? s.lastBeforeMany(tags, t) : Promise.all(tags.map((tag) => s.lastBefore(tag, t)));
  }
  async writeRollups(): Promise<void> {
    readOnly();
  }
  readRollups(resolution: RollupResolution, tag: string, from: number, to: number): Promise<RollupRow[]> {
    return this.s.readRollups(resolution, tag, from, to);
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.s.getMeta(key);
  }
  async setMeta(): Promise<void> {
    readOnly();
  }
  async prune(_what: Retained): Promise<number> {
    return readOnly();
  }
  status(): Promise<StoreStatus> {
    return this.s.status();
  }
  async close(): Promise<void> {
    await this.store?.close();
  }
}
