/** A Prometheus registry with the process's own figures (memory, CPU, event-loop lag, GC). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/** Seconds, for the lag of values from their device to each stage (bus, stream): where a device-to-browser latency goes. */
export const LAG_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** A gauge whose value is read at each scrape. */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect(this: Gauge) { this.set(read()); } });
}

/** A counter whose total is read at each scrape (the figure is kept elsewhere, e.g. in a stats object). */
export function readCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({ name, help, registers: [registry], collect(this: Counter) { this.reset(); this.inc(read()); } });
}
