/**
 * The northbound interfaces (src/northbound/): started by `planta start`
 * when the configuration has a `northbound:` section, or alone as
 * `planta northbound` on the Redis bus beside the other processes. Writes
 * from MQTT go through the same command records as the web's (at most once
 * per id) and reach the audit trail through the bus's command outcomes.
 */
import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/types.js';
import type { CommandRecords } from '../commands/ledger.js';
import type { PlantConfig } from '../config/resolve.js';
import { NorthboundCommands } from '../northbound/commands.js';
import { readCredentials } from '../northbound/credentials.js';
import { SparkplugEdgeNode } from '../northbound/sparkplug/edge-node.js';
import { createLogger, type Logger } from '../util/log.js';
import { createRegistry } from '../util/metrics.js';
import { serveMetrics } from './metrics-endpoint.js';
import { onShutdown } from './shutdown.js';
import { CliUsageError, describeError } from './usage.js';
import { DEFAULT_CONFIG, type Stops, describeBus, loadPlant, openBus, openLedger } from './wiring.js';

export interface NorthboundStarted {
  sparkplug?: SparkplugEdgeNode;
  /** One line per interface, for the start banner. */
  lines: string[];
}

export async function startNorthbound(bus: Bus, config: PlantConfig, o: { log: Logger; registry?: Registry; stops: Stops; records: CommandRecords }): Promise<NorthboundStarted> {
  const out: NorthboundStarted = { lines: [] };
  const commands = new NorthboundCommands({ bus, config, records: o.records, log: o.log.child({ piece: 'northbound' }) });
  const sp = config.northbound.sparkplug;
  if (sp) {
    const edge = new SparkplugEdgeNode({
      config: sp, plant: config, bus, commands, log: o.log.child({ piece: 'sparkplug' }),
      ...(o.registry ? { registry: o.registry } : {}), ...(sp.credentials ? { credentials: readCredentials(sp.credentials) } : {}),
    });
    await edge.start();
    o.stops.push(() => edge.stop());
    out.sparkplug = edge;
    const mapped = Object.keys(sp.commands).length;
    out.lines.push(`Sparkplug B: edge node ${edge.group}/${edge.node} on ${sp.broker}${sp.primaryHost ? `, primary host ${sp.primaryHost}` : ''}; ${mapped ? `${mapped} metric(s) writable through commands` : 'read-only'}`);
  }
  return out;
}

async function northbound(flags: { config: string; db: string; bus?: string; metrics?: string }): Promise<void> {
  const log = createLogger('planta-northbound');
  const config = loadPlant(flags.config);
  if (!config.northbound.sparkplug) throw new CliUsageError(`${flags.config} has no northbound.sparkplug section: nothing to run`, 'PLANTA_NORTHBOUND_NOT_CONFIGURED');
  const stops: Stops = [];
  onShutdown(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  const registry = createRegistry();
  const { bus, choice } = await openBus(config, { role: 'northbound', log, registry, watchPollers: true, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
  stops.push(() => bus.close());
  if (choice.kind === 'memory') log.warn('on the in-memory bus the northbound is alone in this process: give it the Redis bus (bus: in the configuration, PLANTA_BUS_URL or --bus redis://HOST:PORT)');
  const records = openLedger(flags.db, config, { log, stops });
  const started = await startNorthbound(bus, config, { log, registry, stops, records });
  for (const line of started.lines) console.log(`planta northbound: ${line}, on ${describeBus(choice)}`);
  if (flags.metrics) console.log(`planta northbound: metrics at ${await serveMetrics(registry, flags.metrics, stops)}`);
}

export function registerNorthboundCommands(program: Command): void {
  program
    .command('northbound')
    .description('run the northbound interfaces alone against the Redis bus: the MQTT Sparkplug B edge node (northbound: in the configuration)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--db <file>', 'SQLite database of the command ids written from MQTT (at most once each)', 'data/northbound.db')
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics on this port (loopback unless a host is given)')
    .option('--bus <url>', 'the bus: redis://HOST:PORT (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .action(async (flags: { config: string; db: string; bus?: string; metrics?: string }) => {
      try {
        await northbound(flags);
      } catch (err) {
        console.error(`planta northbound: ${describeError(err)}`);
        process.exit(err instanceof CliUsageError ? 2 : 1);
      }
    });
}
