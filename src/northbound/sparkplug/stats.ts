/** The edge node's figures on /metrics: its connection to the broker, messages, the store, refused and accepted writes. */
import type { Registry } from 'prom-client';
import { readCounter, readGauge } from '../../util/metrics.js';

/** What the edge node did, for metrics and tests. */
export interface EdgeNodeStats {
  connects: number;
  messages: number;
  births: number;
  stored: number;
  forwarded: number;
  dropped: number;
  refusedWrites: number;
  commands: number;
}

interface Observed {
  readonly stats: EdgeNodeStats;
  readonly connected: boolean;
  readonly isLive: boolean;
  readonly pending: number;
}

export function registerSparkplugMetrics(registry: Registry, node: Observed): void {
  readGauge(registry, 'planta_sparkplug_connected', '1 while the edge node is connected to its MQTT broker', () => Number(node.connected));
  readGauge(registry, 'planta_sparkplug_live', '1 while data goes out live (births sent, primary host online)', () => Number(node.isLive));
  readGauge(registry, 'planta_sparkplug_stored', 'Data batches waiting in the store-and-forward file', () => node.pending);
  readCounter(registry, 'planta_sparkplug_connects_total', 'Connections made to the broker', () => node.stats.connects);
  readCounter(registry, 'planta_sparkplug_messages_total', 'Sparkplug messages published', () => node.stats.messages);
  readCounter(registry, 'planta_sparkplug_births_total', 'NBIRTH and DBIRTH messages published', () => node.stats.births);
  readCounter(registry, 'planta_sparkplug_forwarded_total', 'Stored data batches sent after an outage', () => node.stats.forwarded);
  readCounter(registry, 'planta_sparkplug_dropped_total', 'Stored data batches dropped (store full, or their device dead when forwarded)', () => node.stats.dropped);
  readCounter(registry, 'planta_sparkplug_commands_total', 'Writes from MQTT queued as operator commands', () => node.stats.commands);
  readCounter(registry, 'planta_sparkplug_refused_writes_total', 'Writes from MQTT refused (not mapped, invalid, not allowed)', () => node.stats.refusedWrites);
}
