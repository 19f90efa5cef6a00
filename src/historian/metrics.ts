/** The historian's Prometheus figures: samples recorded and committed, the commit queue, the disk it uses. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Historian } from './historian.js';

export type HistorianFigures = Pick<Historian, 'stats' | 'status'> & { store: Pick<Historian['store'], 'queueDepth'> };

export function registerHistorianMetrics(registry: Registry, h: HistorianFigures): void {
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers: [registry], collect(this: Counter) { this.reset(); this.inc(read()); } });
  };
  counter('planta_historian_samples_total', 'Samples recorded by the historian (changes and repeats after the maximum interval)', () => h.stats.recorded);
  counter('planta_historian_committed_total', 'Samples committed to the store (acknowledged)', () => h.stats.committed);
  counter('planta_historian_repeats_total', 'Unchanged values recorded again after their maximum interval', () => h.stats.repeats);
  counter('planta_historian_flush_errors_total', 'Commits that failed (the samples stay buffered)', () => h.stats.flushErrors);
  new Gauge({ name: 'planta_historian_queue_depth', help: 'Samples waiting for the next commit', registers: [registry], collect(this: Gauge) { this.set(h.store.queueDepth()); } });
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
      this.set((await h.status()).bytes);
    },
  });
  new Gauge({
    name: 'planta_historian_raw_samples',
    help: 'Raw samples kept',
    registers: [registry],
    async collect(this: Gauge) {
      this.set((await h.status()).samples);
    },
  });
}
