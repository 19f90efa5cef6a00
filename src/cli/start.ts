/**
 * `planta start`: the whole demo in one process — the simulated SBR PLC, the
 * poller, the alarm engine, the historian and the web HMI on one bus (in
 * memory unless the configuration or PLANTA_BUS_URL names Redis).
 * `planta poll`, `planta web` and `planta alarms` run one piece each; on the
 * Redis bus they are separate processes of one plant (src/cli/wiring.ts).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { deviceAddress } from '../config/links.js';
import { remoteAlarms } from '../alarms/remote.js';
import { remoteNotifications } from '../notify/remote.js';
import { usersDb } from '../auth/open.js';
import { anonymousViewing } from '../web/auth.js';
import type { Logger } from '../util/log.js';
import { parseDuration } from '../util/duration.js';
import { createLogger } from '../util/log.js';
import { createRegistry } from '../util/metrics.js';
import { registerSimMetrics } from '../sim/metrics.js';
import { serveMetrics } from './metrics-endpoint.js';
import { CliUsageError, describeError } from './modbus.js';
import { onShutdown } from './shutdown.js';
import { runSim } from './sim.js';
import { startNorthbound } from './northbound.js';
import {
  DEFAULT_CONFIG,
  type Stops,
  describeBus,
  ledgerPath,
  loadPlant,
  openBus,
  openLedger,
  outboxPath,
  openHistoryReader,
  pollerId,
  port,
  startAlarms,
  startHistorian,
  startNotifier,
  startPoller,
  startWeb,
} from './wiring.js';

interface StartFlags {
  config: string;
  host: string;
  port: string;
  sim: boolean;
  speed: string;
  db: string;
  history: string;
  bus?: string;
}

/** Stops, in reverse order, on SIGINT/SIGTERM. */
function stopsOnShutdown(): Stops {
  const stops: Stops = [];
  onShutdown(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  return stops;
}

async function start(flags: StartFlags): Promise<void> {
  const log = createLogger('planta');
  const config = loadPlant(flags.config);
  const webPort = port(flags.port, '--port');
  const stops = stopsOnShutdown();
  let simLine = '';
  let sim: Awaited<ReturnType<typeof runSim>> | undefined;
  if (flags.sim) {
    // The simulated PLC takes the place of the configuration's first device, which must be local.
    const device = config.devices[0]!;
    if (!['127.0.0.1', 'localhost', '::1'].includes(device.host)) {
      throw new CliUsageError(`the simulator stands in for device ${device.name}, which is at ${device.host}: use --no-sim to poll it, or a configuration whose first device is on 127.0.0.1`);
    }
    sim = await runSim(
      { host: '127.0.0.1', port: String(device.port), speed: flags.speed, scan: '50ms', seed: '1', control: true, mode: 'normal', autostart: true, change: '100ms' },
      log.child({ piece: 'sim' }),
    );
    stops.push(sim.stop);
    simLine = ` — simulated SBR plant on 127.0.0.1:${device.port}`;
  }
  const registry = createRegistry();
  if (sim) registerSimMetrics(registry, sim.sim);
  const id = pollerId();
  const { bus, choice } = await openBus(config, { role: 'start', consumer: id, log, registry, devices: config.devices.map((d) => d.name), outbox: true, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
  stops.push(() => bus.close());
  // One ledger for the web's records and the poller's executions, in the --db file: a command id runs at most once across restarts.
  const ledger = openLedger(flags.db, config, { log, stops });
  const { engine, store } = await startAlarms(bus, config, { db: flags.db, log, stops, serve: choice.kind === 'redis' });
  // Sending starts once the web server listens: without notifications.hmiUrl, messages link to it.
  const notifier = await startNotifier(bus, config, { db: flags.db, log, registry, stops, serve: choice.kind === 'redis', send: false });
  const history = config.historian.enabled
    ? await startHistorian(bus, config, { path: flags.history, log, alarmCount: (from, to) => store.activations(from, to).length, stops })
    : undefined;
  const web = await startWeb(bus, config, {
    configFile: flags.config, db: flags.db, host: flags.host, port: webPort, log, registry, alarms: engine, ...(history ? { history } : {}), bus: choice, records: ledger, stops,
    ...(notifier ? { notifications: notifier } : {}),
  });
  if (notifier) {
    // Reachable from elsewhere when it listens on every address: this machine's name rather than localhost.
    notifier.linkTo(flags.host === '0.0.0.0' || flags.host === '::' ? web.url.replace('//localhost:', `//${hostname()}:`) : web.url);
    notifier.start();
  }
  await startPoller(bus, config, {
    log, registry, stops, ledger, queueLost: choice.kind === 'memory', ...(choice.kind === 'redis' ? { lease: { owner: id, ttlMs: leaseMs(undefined, config.bus.lease) } } : {}),
  });
  const north = await startNorthbound(bus, config, { log, registry, stops, records: ledger, users: web.users });
  console.log(`\nPlanta is running: ${web.url}${simLine}`);
  console.log(`  ${config.plant.name}: ${config.devices.length} device(s), ${config.tags.length} tags, on ${describeBus(choice)}. Ctrl-C stops.`);
  const viewing = anonymousViewing(config.security);
  const users = await web.users.countUsers();
  console.log(
    users === 0
      ? `  No users yet: commands and acknowledgements are refused until you create the first admin:\n    npx planta user add NAME --role admin --db ${flags.db}\n  (${viewing})`
      : `  ${users} user(s); ${viewing}. Users, alarms and the audit trail: ${flags.db}`,
  );
  for (const line of north.lines) console.log(`  ${line}`);
  if (notifier) console.log(`  Notifications: ${notifier.status().channels.map((c) => `${c.name} (${c.target})`).join(', ')}; outbox ${notifier.o.outbox.path}`);
  if (history) {
    const r = (await history.historian.status()).retention;
    console.log(`  Historian: ${flags.history} (keeps raw ${r.raw}, minutes ${r.minute}, hours ${r.hour}); trends at /api/history`);
  }
}

/** A piece run alone on the in-memory bus has nobody to talk to: say so. */
function warnAlone(log: Logger, what: string, kind: 'memory' | 'redis'): void {
  if (kind === 'memory') log.warn(`on the in-memory bus ${what} is alone in this process: give it the Redis bus (bus: in the configuration, PLANTA_BUS_URL or --bus redis://HOST:PORT)`);
}

async function web(flags: { config: string; host: string; port: string; db: string; bus?: string; history?: string }): Promise<void> {
  const log = createLogger('planta-web');
  const config = loadPlant(flags.config);
  const stops = stopsOnShutdown();
  const registry = createRegistry();
  const { bus, choice } = await openBus(config, { role: 'web', log, registry, watchPollers: true, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
  stops.push(() => bus.close());
  warnAlone(log, 'the web server has no poller: values stay "waiting for data"', choice.kind);
  // On Redis, alarm actions and the journal are asked of the `planta alarms` process.
  const alarms = choice.kind === 'redis' ? { alarms: remoteAlarms(bus) } : {};
  // And the Notifications page of the notifier beside it, when the configuration has channels.
  const notifications = choice.kind === 'redis' && Object.keys(config.notifications.channels).length > 0 ? { notifications: remoteNotifications(bus) } : {};
  // Trends and the cycle report from the historian's store, read-only (the historian process writes it).
  const history = openHistoryReader(config, { log, stops, ...alarms, ...(flags.history !== undefined ? { sqlite: flags.history } : {}) });
  const w = await startWeb(bus, config, {
    configFile: flags.config, db: flags.db, host: flags.host, port: port(flags.port, '--port'), log, registry, stops, bus: choice, ...alarms, ...notifications, ...(history ? { history } : {}),
  });
  console.log(`planta web: ${w.url} on ${describeBus(choice)}; trends ${history ? `from ${history.where} (read-only)` : 'not served (no historian.store: postgres, PLANTA_HISTORIAN_URL or --history FILE)'}`);
}

/** The lease time: --lease, else PLANTA_LEASE_TTL, else the configuration's bus.lease (5 s by default). */
function leaseMs(flag: string | undefined, configured: number): number {
  const text = flag ?? process.env.PLANTA_LEASE_TTL;
  if (text === undefined || text === '') return configured;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 300 || ms > 600_000) throw new CliUsageError(`lease time "${text}": expected a duration between 300ms and 10m, e.g. 5s`);
  return ms;
}

async function poll(flags: { config: string; devices?: string; print: boolean; bus?: string; lease?: string; metrics?: string }): Promise<void> {
  const log = createLogger('planta-poll');
  const config = loadPlant(flags.config);
  const stops = stopsOnShutdown();
  const registry = createRegistry();
  const devices = flags.devices?.split(',').map((d) => d.trim()).filter(Boolean);
  const owned = devices ?? config.devices.map((d) => d.name);
  const id = pollerId();
  const ttlMs = leaseMs(flags.lease, config.bus.lease);
  const { bus, choice, outbox } = await openBus(config, { role: 'poll', consumer: id, log, registry, devices: owned, outbox: true, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
  stops.push(() => bus.close());
  const ledger = openLedger(ledgerPath(outbox ?? outboxPath(config, owned)), config, { log, stops, exclusive: true });
  if (flags.print) {
    await bus.subscribeValues((batch) => {
      for (const v of batch) console.log(`${new Date(v.sourceTs).toISOString()}  ${v.tag} = ${JSON.stringify(v.value)}  ${v.quality}`);
    });
  }
  await bus.subscribeDeviceStatus((s) => log.debug({ device: s.device, state: s.state }, 'device status'));
  const lease = choice.kind === 'redis' ? { owner: id, ttlMs } : undefined;
  const poller = await startPoller(bus, config, { log, registry, stops, ledger, queueLost: choice.kind === 'memory', ...(devices ? { devices } : {}), ...(lease ? { lease } : {}) });
  if (flags.metrics) console.log(`planta poll: metrics at ${await serveMetrics(registry, flags.metrics, stops)}`);
  if (lease) {
    const wanted = config.devices.filter((d) => owned.includes(d.name)).map((d) => `${d.name} (${deviceAddress(d, config.links)})`);
    console.log(`planta poll: polling ${wanted.join(', ')} as ${id} on ${describeBus(choice)}, each device while holding its lease (${ttlMs} ms); standby for those another poller holds`);
  } else {
    console.log(`planta poll: polling ${poller.devices.map((d) => `${d.device.name} (${deviceAddress(d.device, config.links)})`).join(', ')} on ${describeBus(choice)}`);
  }
}

async function alarms(flags: { config: string; db: string; bus?: string; metrics?: string }): Promise<void> {
  const log = createLogger('planta-alarms');
  const config = loadPlant(flags.config);
  const stops = stopsOnShutdown();
  const registry = createRegistry();
  const { bus, choice } = await openBus(config, { role: 'alarms', log, registry, watchPollers: true, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
  stops.push(() => bus.close());
  warnAlone(log, 'the alarm engine has no poller', choice.kind);
  const { engine } = await startAlarms(bus, config, { db: flags.db, log, stops, serve: choice.kind === 'redis' });
  const notifier = await startNotifier(bus, config, { db: flags.db, log, registry, stops, serve: choice.kind === 'redis' });
  console.log(`planta alarms: ${engine.states().length} alarms watched on ${describeBus(choice)}; states and journal in ${flags.db}`);
  if (notifier && !config.notifications.hmiUrl) log.warn('notifications.hmiUrl is not set: the messages carry no link to the alarm in the HMI (planta alarms does not know where the web nodes are)');
  if (notifier) console.log(`planta alarms: notifications to ${notifier.status().channels.map((c) => c.name).join(', ')}; outbox ${notifier.o.outbox.path}`);
  if (flags.metrics) console.log(`planta alarms: metrics at ${await serveMetrics(registry, flags.metrics, stops)}`);
}

function action<T>(name: string, f: (flags: T) => Promise<void>) {
  return async (flags: T): Promise<void> => {
    try {
      await f(flags);
    } catch (err) {
      console.error(`planta ${name}: ${describeError(err)}`);
      process.exit(err instanceof CliUsageError ? 2 : 1);
    }
  };
}

export function registerStartCommands(program: Command): void {
  program
    .command('start')
    .description('run the whole demo: simulated SBR plant, poller and web HMI (http://localhost:8080)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--host <host>', 'address of the web server (0.0.0.0 to reach it from a phone)', '127.0.0.1')
    .option('-p, --port <port>', 'port of the web server', '8080')
    .option('--no-sim', 'do not start the simulated PLC (poll real devices)')
    .option('--speed <n>', 'simulated seconds per real second', '60')
    .option('--db <file>', 'SQLite database: users, audit trail, alarm states and the journal', 'data/planta.db')
    .option('--history <file>', 'SQLite database of the historian (trends, rollups, the cycle report)', 'data/history.db')
    .option('--bus <url>', 'the bus: redis://HOST:PORT or memory (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .action(action('start', start));
  program
    .command('web')
    .description('run a web node against the Redis bus (users, sessions, tokens and the audit trail in its SQLite file or shared on PostgreSQL; alarm actions asked of planta alarms)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'port', '8080')
    .option('--db <file|url>', 'users, API tokens and the audit trail: an SQLite file (and sessions on the in-memory bus), or postgres://USER@HOST:PORT/DATABASE[?schema=NAME] shared by every web node (schema planta_auth by default); default PLANTA_USERS_DB or data/planta.db', usersDb())
    .option('--bus <url>', 'the bus: redis://HOST:PORT (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .option('--history <file>', 'trends from this SQLite history file, read-only (planta historian writes it on this machine); with historian.store postgres or PLANTA_HISTORIAN_URL, trends come from PostgreSQL')
    .action(action('web', web));
  program
    .command('poll')
    .description('run the poller alone (the only process that talks to the PLCs)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--devices <names>', 'poll only these devices (comma separated)')
    .option('--print', 'print every published value', false)
    .option('--lease <duration>', 'on Redis: lease time of each device; a standby poller takes over this long after the holder died (default PLANTA_LEASE_TTL or 5s)')
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics on this port (loopback unless a host is given)')
    .option('--bus <url>', 'the bus: redis://HOST:PORT (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .action(action('poll', poll));
  program
    .command('alarms')
    .description('run the alarm engine alone against the Redis bus (states and journal in an SQLite file)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--db <file>', 'SQLite database: alarm states and the journal (the notifications\' outbox beside it: alarms.notify.db)', 'data/alarms.db')
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics on this port (loopback unless a host is given)')
    .option('--bus <url>', 'the bus: redis://HOST:PORT (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .action(action('alarms', alarms));
}
