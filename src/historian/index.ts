/** The historian as the configuration describes it: an SQLite store, the recorder, and the cycle report. */
import type { PlantConfig } from '../config/resolve.js';
import type { Logger } from '../util/log.js';
import { CycleReport } from './cycles.js';
import { Historian } from './historian.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite.js';

export { CycleReport } from './cycles.js';
export { Historian } from './historian.js';
export { SqliteStore } from './sqlite.js';

export interface OpenHistorianOptions {
  /** SQLite file, or ':memory:'. */
  path: string;
  log?: Logger;
  now?: () => number;
  /** Alarm activations in a period, for the cycle report (the alarm journal). */
  alarmCount?: (from: number, to: number) => number;
  store?: Omit<SqliteStoreOptions, 'now'>;
}

export function openHistorian(config: PlantConfig, o: OpenHistorianOptions): { historian: Historian; cycles: CycleReport | undefined } {
  const h = config.historian;
  const store = new SqliteStore(o.path, { ...o.store, ...(o.now ? { now: o.now } : {}) });
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
