/**
 * GET /metrics: Prometheus text. The web's own figures (stream clients,
 * coalesced and dropped deltas, command outcomes, alarms by state, the alarm
 * rate, the historian's samples, queue and disk, connections and what the
 * limits refused) plus whatever else shares the registry in this process (the poller's
 * device figures, process memory, event-loop lag).
 *
 * Every label value comes from the configuration or a fixed list, never
 * from a request: a command's name is one the configuration defines, or
 * "other".
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AlarmDisplayState } from '../bus/alarm-messages.js';
import { type CommandStatus, FINAL_STATUSES } from '../bus/command-messages.js';
import type { AlarmBus, OutcomeBus } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import { PRIORITIES } from '../config/schema.js';
import { LAG_BUCKETS, readCounter, readGauge } from '../util/metrics.js';
import { type HistorianFigures, registerHistorianMetrics } from '../historian/metrics.js';
import type { AlarmService } from './alarms.js';
import { LIMIT_NAMES, type Limits } from './limits.js';
import type { StreamHub } from './stream.js';

const STATUSES: readonly CommandStatus[] = ['queued', ...FINAL_STATUSES];
const ALARM_STATES: readonly AlarmDisplayState[] = ['normal', 'unack', 'acked', 'rtn-unack', 'shelved', 'suppressed', 'out-of-service', 'unknown'];

/** `value` if it is one of `known`, else "other". */
/** How long a scrape waits for the alarm process's rate figure. */
const RATE_WAIT_MS = 1000;

const known = (value: string, list: readonly string[]): string => (list.includes(value) ? value : 'other');

export async function registerWebMetrics(
  app: FastifyInstance,
  o: { registry: Registry; bus: OutcomeBus & AlarmBus; config: PlantConfig; hub: StreamHub; limits: Limits; alarms: AlarmService | undefined; historian?: HistorianFigures | undefined },
): Promise<void> {
  const { registry, hub, bus, limits } = o;
  const commandNames = Object.keys(o.config.commands);
  const fromHub = (name: string, help: string, read: () => number, type: 'gauge' | 'counter'): void =>
    (type === 'gauge' ? readGauge : readCounter)(registry, name, help, read);
  fromHub('planta_sse_clients', 'Browsers connected to the live stream', () => hub.stats.clients, 'gauge');
  fromHub('planta_sse_buffered_bytes', 'Bytes waiting in the stream clients\' sockets', () => hub.bufferedBytes(), 'gauge');
  fromHub('planta_sse_events_total', 'Stream events encoded', () => hub.stats.events, 'counter');
  fromHub('planta_sse_coalesced_total', 'Times a slow client skipped deltas and got a snapshot instead', () => hub.stats.coalesced, 'counter');
  fromHub('planta_sse_slow_disconnects_total', 'Stream clients disconnected for staying behind', () => hub.stats.slowDisconnects, 'counter');
  fromHub('planta_sse_deltas_total', 'Value deltas from the bus written to the stream clients (each encoded once)', () => hub.stats.deltas, 'counter');
  fromHub(
    'planta_sse_deltas_forwarded_total',
    "Of those, deltas the Redis bus brought encoded already (frames in this node's tag space: the poller has the same tags in the same order)",
    () => hub.stats.forwarded,
    'counter',
  );
  const fanout = new Histogram({ name: 'planta_sse_fanout_lag_seconds', help: "From a delta's read time to its bytes written to every stream client", buckets: LAG_BUCKETS, registers: [registry] });
  hub.observeFanout = (s) => fanout.observe(s);
  const commands = new Counter({ name: 'planta_commands_total', help: 'Operator commands by outcome', labelNames: ['command', 'status'], registers: [registry] });
  const unsubscribe = await bus.subscribeCommandOutcomes((c) => commands.inc({ command: known(c.command, commandNames), status: known(c.status, STATUSES) }));
  app.addHook('onClose', async () => unsubscribe());
  new Gauge({
    name: 'planta_alarms',
    help: 'Alarms by state and priority',
    labelNames: ['state', 'priority'],
    registers: [registry],
    async collect(this: Gauge) {
      this.reset();
      const counts = new Map<string, number>();
      // The node's copy (kept live from the bus): a scrape never waits for a bus that is away.
      for (const a of hub.lastAlarms()) {
        const key = `${known(a.state, ALARM_STATES)}|${known(a.priority, PRIORITIES)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [k, n] of counts) {
        const [state, priority] = k.split('|') as [string, string];
        this.set({ state, priority }, n);
      }
    },
  });
  if (o.alarms) {
    const alarms = o.alarms;
    new Gauge({
      name: 'planta_alarm_rate_10m',
      help: 'Alarm activations in the last 10 minutes (EEMUA 191: ≤ 1 acceptable, ≤ 2 manageable, > 10 a flood)',
      registers: [registry],
      async collect(this: Gauge) {
        const now = Date.now();
        // The alarm process did not answer (soon enough), or the bus is lost: the figure is left out of this scrape.
        this.reset();
        if (!hub.busLink.up) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), RATE_WAIT_MS)));
        const rates = await Promise.race([Promise.resolve(alarms.rates(now - 600_000, now)).catch(() => undefined), late]).finally(() => clearTimeout(timer));
        if (rates) this.set(rates.activations);
      },
    });
  }
  if (o.historian) registerHistorianMetrics(registry, o.historian);
  readGauge(registry, 'planta_http_connections', 'Open HTTP connections (admitted within security.limits)', () => limits.openConnections);
  new Counter({
    name: 'planta_http_refused_total',
    help: 'Connections, streams, request bodies and requests not sent in time, refused by security.limits, by limit',
    labelNames: ['limit'],
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      for (const limit of LIMIT_NAMES) this.inc({ limit }, limits.refused[limit]);
    },
  });
  app.get('/metrics', { config: { access: 'token' } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
