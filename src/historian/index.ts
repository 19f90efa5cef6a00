/** The historian as the configuration describes it: its store (SQLite or PostgreSQL), the recorder, and the cycle report. */
import { dirname, join } from 'node:path';
import type { PlantConfig } from '../config/resolve.js';
import type { Logger } from '../util/log.js';
import { CycleReport } from './cycles.js';
import { Historian } from './historian.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { HistorianError, type HistoryStore } from './types.js';

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
  alarmCount?: (from: number, to: number) => number;
  store?: Omit<SqliteStoreOptions, 'now'>;
}

export function openHistorian(config: PlantConfig, o: OpenHistorianOptions): { historian: Historian; cycles: CycleReport | undefined } {
  const h = config.historian;
  const store = openStore(config, o);
  const historian = new Historian({
    store,
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

/** The store of the configuration's historian.store, or of PLANTA_HISTORIAN_URL. */
export function openStore(config: PlantConfig, o: OpenHistorianOptions): HistoryStore {
  const chosen = config.historian.store;
  const env = (o.env ?? process.env).PLANTA_HISTORIAN_URL;
  let kind = chosen?.kind ?? 'sqlite';
  let url = chosen?.url;
  if (env !== undefined && env !== '') {
    if (env === 'sqlite') kind = 'sqlite';
    else if (/^postgres(ql)?:\/\/\S+$/.test(env)) [kind, url] = ['postgres', env];
    else throw new HistorianError('PLANTA_HISTORIAN_BAD_URL', `PLANTA_HISTORIAN_URL "${env}": expected postgres://USER@HOST:PORT/DATABASE or sqlite`, 500);
  }
  if (kind === 'sqlite') return new SqliteStore(o.path, { ...o.store, ...(o.now ? { now: o.now } : {}) });
  const schema = chosen?.schema ?? 'planta';
  const buffer = chosen?.buffer ?? (o.path === ':memory:' ? ':memory:' : join(dirname(o.path), 'history-buffer.db'));
  o.log?.info({ url: url!.replace(/\/\/[^@/]*@/, '//…@'), schema, buffer }, 'historian on PostgreSQL, store-and-forward buffer on disk');
  return new PostgresStore({
    url: url!,
    schema,
    buffer: { path: buffer, maxBytes: chosen?.bufferSize ?? 256 * 1024 * 1024 },
    ...(o.log ? { log: o.log } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
}
