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
import type { UserDirectory } from '../auth/directory.js';
import { openDirectory, usersDb } from '../auth/open.js';
import type { CommandRecords } from '../commands/ledger.js';
import type { PlantConfig } from '../config/resolve.js';
import { NorthboundCommands } from '../northbound/commands.js';
import { readCredentials } from '../northbound/credentials.js';
import type { SparkplugEdgeNode } from '../northbound/sparkplug/edge-node.js';
import { createLogger, type Logger } from '../util/log.js';
import { createRegistry } from '../util/metrics.js';
import { serveMetrics } from './metrics-endpoint.js';
import { onShutdown } from './shutdown.js';
import { CliUsageError, describeError } from './usage.js';
import { DEFAULT_CONFIG, type Stops, describeBus, loadPlant, openBus, openLedger } from './wiring.js';

export interface NorthboundStarted {
  sparkplug?: SparkplugEdgeNode;
  /** The OPC UA server's endpoint, when it runs. */
  opcua?: string;
  /** One line per interface, for the start banner. */
  lines: string[];
}

export async function startNorthbound(
  bus: Bus,
  config: PlantConfig,
  o: { log: Logger; registry?: Registry; stops: Stops; records: CommandRecords; users: Pick<UserDirectory, 'user'> },
): Promise<NorthboundStarted> {
  const out: NorthboundStarted = { lines: [] };
  const commands = new NorthboundCommands({ bus, config, records: o.records, log: o.log.child({ piece: 'northbound' }) });
  const sp = config.northbound.sparkplug;
  if (sp) {
    // MQTT.js and protobufjs: loaded only when an edge node is configured.
    const { SparkplugEdgeNode } = await import('../northbound/sparkplug/edge-node.js');
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
  const ua = config.northbound.opcua;
  if (ua) {
    // node-opcua is large: loaded only when an OPC UA server is configured.
    const { PlantaOpcuaServer } = await import('../northbound/opcua/server.js');
    const { directoryUsers } = await import('../northbound/opcua/users.js');
    const server = new PlantaOpcuaServer({ config: ua, plant: config, bus, commands, users: directoryUsers(o.users), log: o.log.child({ piece: 'opcua' }), ...(o.registry ? { registry: o.registry } : {}) });
    await server.start();
    o.stops.push(() => server.stop());
    out.opcua = server.endpointUrl;
    const mapped = Object.keys(ua.commands).length;
    out.lines.push(
      `OPC UA: ${server.endpointUrl} (${ua.securityModes.join(', ')}, Basic256Sha256${ua.anonymous ? ', anonymous reading' : ''}); ${mapped ? `${mapped} node(s) writable through commands` : 'read-only'}; trust clients with planta opcua trust`,
    );
  }
  return out;
}

async function northbound(flags: { config: string; db: string; users: string; bus?: string; metrics?: string }): Promise<void> {
  const log = createLogger('planta-northbound');
  const config = loadPlant(flags.config);
  if (!config.northbound.sparkplug && !config.northbound.opcua) throw new CliUsageError(`${flags.config} has no northbound.sparkplug or northbound.opcua section: nothing to run`, 'PLANTA_NORTHBOUND_NOT_CONFIGURED');
  const stops: Stops = [];
  onShutdown(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  const registry = createRegistry();
  const { bus, choice } = await openBus(config, { role: 'northbound', log, registry, watchPollers: true, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
  stops.push(() => bus.close());
  if (choice.kind === 'memory') log.warn('on the in-memory bus the northbound is alone in this process: give it the Redis bus (bus: in the configuration, PLANTA_BUS_URL or --bus redis://HOST:PORT)');
  const records = openLedger(flags.db, config, { log, stops });
  const { directory } = openDirectory(flags.users, log);
  stops.push(() => directory.close());
  const started = await startNorthbound(bus, config, { log, registry, stops, records, users: directory });
  for (const line of started.lines) console.log(`planta northbound: ${line}, on ${describeBus(choice)}`);
  if (flags.metrics) console.log(`planta northbound: metrics at ${await serveMetrics(registry, flags.metrics, stops)}`);
}

export function registerNorthboundCommands(program: Command): void {
  program
    .command('northbound')
    .description('run the northbound interfaces alone against the Redis bus: the MQTT Sparkplug B edge node and the OPC UA server (northbound: in the configuration)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--db <file>', 'SQLite database of the command ids written from MQTT or OPC UA (at most once each)', 'data/northbound.db')
    .option('--users <file|url>', "Planta's users, for OPC UA sign-in: the web's SQLite file or its PostgreSQL directory (default PLANTA_USERS_DB or data/planta.db)", usersDb())
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics on this port (loopback unless a host is given)')
    .option('--bus <url>', 'the bus: redis://HOST:PORT (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .action(async (flags: { config: string; db: string; users: string; bus?: string; metrics?: string }) => {
      try {
        await northbound(flags);
      } catch (err) {
        console.error(`planta northbound: ${describeError(err)}`);
        process.exit(err instanceof CliUsageError ? 2 : 1);
      }
    });
  const opcua = program.command('opcua').description("the OPC UA server's certificates (northbound.opcua.pki)");
  opcua
    .command('trust')
    .description('list the client certificates the server refused and those it trusts; with a thumbprint (its first 8+ characters) or a certificate file, trust it')
    .argument('[certificate]', 'thumbprint of a refused certificate, or a .pem/.der file')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .action(async (what: string | undefined, flags: { config: string }) => {
      const config = loadPlant(flags.config);
      const ua = config.northbound.opcua;
      if (!ua) {
        console.error(`planta opcua trust: ${flags.config} has no northbound.opcua section [PLANTA_NORTHBOUND_NOT_CONFIGURED]`);
        process.exitCode = 2;
        return;
      }
      const trust = await import('../northbound/opcua/trust.js');
      if (what === undefined) {
        for (const c of trust.rejectedCertificates(ua.pki)) console.log(`refused  ${c.thumbprint}  ${c.file}`);
        for (const c of trust.trustedCertificates(ua.pki)) console.log(`trusted  ${c.thumbprint}  ${c.file}`);
        return;
      }
      const done = await trust.trustCertificate(ua.pki, what);
      if (!done) {
        console.error(`planta opcua trust: no refused certificate's thumbprint starts with "${what}" (give at least 8 characters, or a .pem/.der file)`);
        process.exitCode = 1;
        return;
      }
      console.log(`planta opcua trust: trusted ${done.thumbprint} (${done.file}); the running server accepts it now`);
    });
}
