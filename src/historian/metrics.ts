/** The historian's Prometheus figures: samples recorded and committed, the commit queue, the disk it uses. */
import { Gauge, type Registry } from 'prom-client';
import { readCounter, readGauge } from '../util/metrics.js';
import type { Historian } from './historian.js';

export type HistorianFigures = Pick<Historian, 'stats' | 'status'> & { store: Pick<Historian['store'], 'queueDepth' | 'buffer'> };

export function registerHistorianMetrics(registry: Registry, h: HistorianFigures): void {
  const counter = (name: string, help: string, read: () => number): void => readCounter(registry, name, help, read);
  const gauge = (name: string, help: string, read: () => number): void => readGauge(registry, name, help, read);
  counter('planta_historian_samples_total', 'Samples recorded by the historian (changes and repeats after the maximum interval)', () => h.stats.recorded);
  counter('planta_historian_committed_total', 'Samples committed to the store (acknowledged)', () => h.stats.committed);
  counter('planta_historian_repeats_total', 'Unchanged values recorded again after their maximum interval', () => h.stats.repeats);
  counter('planta_historian_flush_errors_total', 'Commits that failed (the samples stay buffered)', () => h.stats.flushErrors);
  gauge('planta_historian_queue_depth', 'Samples waiting for the next commit', () => h.store.queueDepth());
  const buffer = h.store.buffer?.bind(h.store);
  if (buffer) {
    // Store-and-forward (PostgreSQL): the disk buffer's fill level, what it forwarded and what it had to drop.
    gauge('planta_historian_buffer_bytes', 'Bytes of samples waiting in the store-and-forward buffer', () => buffer().bytes);
    gauge('planta_historian_buffer_fill_ratio', 'Store-and-forward buffer fill level, 0..1 of its maximum size', () => buffer().bytes / buffer().maxBytes);
    gauge('planta_historian_buffer_samples', 'Samples acknowledged and waiting in the store-and-forward buffer', () => buffer().samples);
    gauge('planta_historian_store_up', '1 while the database takes commits directly, 0 while the historian buffers to disk', () => (buffer().online ? 1 : 0));
    counter('planta_historian_buffer_dropped_total', 'Samples dropped, oldest first, because the store-and-forward buffer was full', () => buffer().dropped);
    counter('planta_historian_buffer_forwarded_total', 'Samples forwarded from the store-and-forward buffer to the database', () => buffer().forwarded);
  }
  // A store that cannot answer (its database is away) keeps the last figures rather than failing the whole scrape.
  const status = (): Promise<Awaited<ReturnType<HistorianFigures['status']>> | undefined> => h.status().catch(() => undefined);
  let last = { at: Date.now(), n: h.stats.recorded };
  new Gauge({
    name: 'planta_historian_ingest_rate',
    help: 'Samples recorded per second since the previous scrape',
    registers: [registry],
    collect(this: Gauge) {
      const now = Date.now();
      const dt = (now - last.at) / 1000;
      if (dt > 0) this.set((h.stats.recorded - last.n) / dt);
      last = { at: now, n: h.stats.recorded };
    },
  });
  new Gauge({
    name: 'planta_historian_disk_bytes',
    help: 'Bytes the historian uses on disk (database and write-ahead log)',
    registers: [registry],
    async collect(this: Gauge) {
      const s = await status();
      if (s) this.set(s.bytes);
    },
  });
  new Gauge({
    name: 'planta_historian_raw_samples',
    help: 'Raw samples kept',
    registers: [registry],
    async collect(this: Gauge) {
      const s = await status();
      if (s) this.set(s.samples);
    },
  });
}
