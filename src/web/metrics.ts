/**
 * GET /metrics: Prometheus text. The web's own figures (stream clients,
 * coalesced and dropped deltas, command outcomes, alarms by state, the alarm
 * rate, the historian's samples, queue and disk) plus whatever else shares the registry in this process (the poller's
 * device figures, process memory, event-loop lag).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { FINAL_STATUSES } from '../bus/command-messages.js';
import type { Bus } from '../bus/types.js';
import { readCounter, readGauge } from '../util/metrics.js';
import { type HistorianFigures, registerHistorianMetrics } from '../historian/metrics.js';
import type { AlarmService } from './alarms.js';
import type { StreamHub } from './stream.js';

export async function registerWebMetrics(
  app: FastifyInstance,
  o: { registry: Registry; bus: Bus; hub: StreamHub; alarms: AlarmService | undefined; historian?: HistorianFigures | undefined; commands?: readonly string[] },
): Promise<void> {
  const { registry, hub, bus } = o;
  const fromHub = (name: string, help: string, read: () => number, type: 'gauge' | 'counter'): void =>
    (type === 'gauge' ? readGauge : readCounter)(registry, name, help, read);
  fromHub('planta_sse_clients', 'Browsers connected to the live stream', () => hub.stats.clients, 'gauge');
  fromHub('planta_sse_buffered_bytes', 'Bytes waiting in the stream clients\' sockets', () => hub.bufferedBytes(), 'gauge');
  fromHub('planta_sse_events_total', 'Stream events encoded', () => hub.stats.events, 'counter');
  fromHub('planta_sse_coalesced_total', 'Times a slow client skipped deltas and got a snapshot instead', () => hub.stats.coalesced, 'counter');
  fromHub('planta_sse_slow_disconnects_total', 'Stream clients disconnected for staying behind', () => hub.stats.slowDisconnects, 'counter');
  const commands = new Counter({ name: 'planta_commands_total', help: 'Operator commands by outcome', labelNames: ['command', 'status'], registers: [registry] });
  // Labels only from the configuration (a name a client made up would stay in /metrics for good).
  const names = new Set(o.commands ?? []);
  const statuses = new Set<string>(['queued', ...FINAL_STATUSES]);
  const unsubscribe = await bus.subscribeCommandOutcomes((c) =>
    commands.inc({ command: names.has(c.command) ? c.command : 'other', status: statuses.has(c.status) ? c.status : 'other' }),
  );
  app.addHook('onClose', async () => unsubscribe());
  new Gauge({
    name: 'planta_alarms',
    help: 'Alarms by state and priority',
    labelNames: ['state', 'priority'],
    registers: [registry],
    async collect(this: Gauge) {
      this.reset();
      const counts = new Map<string, number>();
      for (const a of await bus.alarmStates()) counts.set(`${a.state}|${a.priority}`, (counts.get(`${a.state}|${a.priority}`) ?? 0) + 1);
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
        try {
          this.set((await alarms.rates(now - 600_000, now)).activations);
        } catch {
          // The alarm process did not answer: the figure is left out of this scrape.
          this.reset();
        }
      },
    });
  }
  if (o.historian) registerHistorianMetrics(registry, o.historian);
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
