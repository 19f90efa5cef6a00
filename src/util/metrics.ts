/** A Prometheus registry with the process's own figures (memory, CPU, event-loop lag, GC). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/** A gauge whose value is read at each scrape. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect(this: Gauge) { this.set(read()); } });
}

/** A counter whose total is read at each scrape (the figure is kept elsewhere, e.g. in a stats object). */
export function readCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({ name, help, registers: [registry], collect(this: Counter) { this.reset(); this.inc(read()); } });
}
