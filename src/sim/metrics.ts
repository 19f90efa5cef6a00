/** The simulated PLC's Modbus server figures for Prometheus (`planta sim --metrics`, and `planta start`'s /metrics). */
import type { Registry } from 'prom-client';
import { readCounter, readGauge } from '../util/metrics.js';
import type { Simulator } from './simulator.js';

export function registerSimMetrics(registry: Registry, sim: Simulator): void {
  const s = sim.server.stats;
  readGauge(registry, 'planta_sim_modbus_connections', 'Modbus/TCP connections open at the simulated PLC', () => s.connections);
  readGauge(registry, 'planta_sim_modbus_connections_max', 'Connections the simulated PLC keeps at most', () => sim.server.limits.maxConnections);
  readCounter(registry, 'planta_sim_modbus_connections_accepted_total', 'Connections the simulated PLC accepted', () => s.accepted);
  readCounter(registry, 'planta_sim_modbus_connections_refused_total', 'Connections refused at the limit (none idle long enough to evict)', () => s.refused);
  readCounter(registry, 'planta_sim_modbus_connections_evicted_total', 'Connections closed to make room for a newcomer (the one idle longest)', () => s.evicted);
  readCounter(registry, 'planta_sim_modbus_connections_idle_closed_total', 'Connections closed after no complete request for the idle timeout', () => s.idleClosed);
  readCounter(registry, 'planta_sim_modbus_connections_frame_timeouts_total', 'Connections closed with a frame half-sent for the frame timeout', () => s.frameTimeouts);
  readCounter(registry, 'planta_sim_modbus_requests_total', 'Modbus requests the simulated PLC served', () => s.requests);
}
