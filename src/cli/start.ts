/**
 * `planta start`: the whole demo in one process — the simulated SBR PLC, the
 * poller, the in-memory bus and the web HMI. `planta web` and `planta poll`
 * run the parts alone.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Command } from 'commander';
import { AlarmEngine } from '../alarms/engine.js';
import { AlarmStore } from '../alarms/store.js';
import { MemoryBus } from '../bus/memory.js';
import { AuthStore } from '../auth/store.js';
import { alarmTrail, commandTrail } from '../auth/trail.js';
import { auditCommands } from '../commands/audit.js';
import { ConfigError, formatProblem, loadConfig } from '../config/load.js';
import type { PlantConfig } from '../config/resolve.js';
import { openHistorian } from '../historian/index.js';
import { Poller } from '../poller/poller.js';
import { createLogger } from '../util/log.js';
import { createRegistry } from '../util/metrics.js';
import { projectRoot } from '../util/root.js';
import { createAuth } from '../web/auth.js';
import { createWebServer } from '../web/server.js';
import { ensureHmiBuilt } from './hmi.js';
import { CliUsageError, describeError } from './modbus.js';
import { onShutdown } from './shutdown.js';
import { runSim } from './sim.js';

const DEFAULT_CONFIG = join(projectRoot(import.meta.url), 'config', 'sbr-plant.yaml');

function load(file: string): PlantConfig {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(formatProblem(p));
      throw new CliUsageError(`${err.problems.length} problem(s) in ${file} [${err.code}]`);
    }
    throw err;
  }
}

function port(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliUsageError(`${what} "${text}" is outside 0..65535`);
  return n;
}

interface StartFlags {
  config: string;
  host: string;
  port: string;
  sim: boolean;
  speed: string;
  db: string;
  history: string;
}

/** The TLS certificate and key named by the configuration, read relative to it. */
function tlsFiles(config: PlantConfig, configFile: string): { cert: string; key: string } | undefined {
  const tls = config.security.tls;
  if (!tls) return undefined;
  const read = (p: string): string => {
    try {
      return readFileSync(isAbsolute(p) ? p : join(dirname(configFile), p), 'utf8');
    } catch (err) {
      throw new CliUsageError(`security.tls: cannot read ${p}: ${(err as Error).message}`);
    }
  };
  return { cert: read(tls.cert), key: read(tls.key) };
}

async function start(flags: StartFlags): Promise<void> {
  const log = createLogger('planta');
  const config = load(flags.config);
  const webPort = port(flags.port, '--port');
  const stops: (() => Promise<void>)[] = [];
  onShutdown(async () => {
    for (const stop of stops.reverse()) await stop();
  });
  let simLine = '';
  if (flags.sim) {
    // The simulated PLC takes the place of the configuration's first device, which must be local.
    const device = config.devices[0]!;
    if (!['127.0.0.1', 'localhost', '::1'].includes(device.host)) {
      throw new CliUsageError(`the simulator stands in for device ${device.name}, which is at ${device.host}: use --no-sim to poll it, or a configuration whose first device is on 127.0.0.1`);
    }
    const sim = await runSim({
      host: '127.0.0.1', port: String(device.port), speed: flags.speed, scan: '50ms', seed: '1', control: true, mode: 'normal', autostart: true, change: '100ms',
    });
    stops.push(sim.stop);
    simLine = ` — simulated SBR plant on 127.0.0.1:${device.port}`;
  }
  const bus = new MemoryBus();
  const users = new AuthStore(flags.db);
  stops.push(async () => users.close());
  await auditCommands(bus, commandTrail(users));
  await alarmTrail(bus, users);
  const tls = tlsFiles(config, flags.config);
  const auth = createAuth({
    store: users,
    anonymous: config.security.anonymous,
    idleMs: config.security.sessionIdle,
    absoluteMs: config.security.sessionMax,
    secure: tls !== undefined,
  });
  const store = new AlarmStore(flags.db);
  const alarms = new AlarmEngine({ bus, config, store, log });
  await alarms.start();
  stops.push(async () => {
    await alarms.stop();
    store.close();
  });
  const history = config.historian.enabled
    ? openHistorian(config, { path: flags.history, log, alarmCount: (from, to) => store.activations(from, to).length })
    : undefined;
  if (history) {
    await history.historian.attach(bus);
    // Stopped after the poller (stops run in reverse): its last values are recorded, then flushed.
    stops.push(() => history.historian.close());
  }
  const hmiDir = ensureHmiBuilt(log);
  const registry = createRegistry();
  const { app } = await createWebServer({
    bus,
    config,
    log,
    alarms,
    registry,
    auth,
    ...(history ? { historian: history.historian, ...(history.cycles ? { cycles: history.cycles } : {}) } : {}),
    ...(hmiDir ? { hmiDir } : {}),
    ...(tls ? { tls } : {}),
  });
  stops.push(() => app.close());
  const poller = new Poller(config, { bus, log, registry });
  await poller.start();
  stops.push(() => poller.stop());
  await app.listen({ host: flags.host, port: webPort });
  const shown = flags.host === '0.0.0.0' || flags.host === '127.0.0.1' ? 'localhost' : flags.host;
  console.log(`\nPlanta is running: ${tls ? 'https' : 'http'}://${shown}:${(app.server.address() as { port: number }).port}${simLine}`);
  console.log(`  ${config.plant.name}: ${config.devices.length} device(s), ${config.tags.length} tags. Ctrl-C stops.`);
  const viewing = { none: 'everyone must sign in', local: 'viewing without sign-in from this machine only', any: 'viewing without sign-in from anywhere' }[config.security.anonymous];
  console.log(
    users.countUsers() === 0
      ? `  No users yet: commands and acknowledgements are refused until you create the first admin:\n    npx planta user add NAME --role admin --db ${flags.db}\n  (${viewing})`
      : `  ${users.countUsers()} user(s); ${viewing}. Users, alarms and the audit trail: ${flags.db}`,
  );
  if (history) {
    const r = (await history.historian.status()).retention;
    console.log(`  Historian: ${flags.history} (keeps raw ${r.raw}, minutes ${r.minute}, hours ${r.hour}); trends at /api/history`);
  }
}

async function web(flags: Omit<StartFlags, 'sim' | 'speed'>): Promise<void> {
  const log = createLogger('planta-web');
  const config = load(flags.config);
  const bus = new MemoryBus();
  log.warn('the in-memory bus has no publisher in this process: values stay "waiting for data" until a poller shares the bus (Redis, in a later release)');
  const hmiDir = ensureHmiBuilt(log);
  const { app } = await createWebServer({ bus, config, log, ...(hmiDir ? { hmiDir } : {}) });
  onShutdown(() => app.close());
  await app.listen({ host: flags.host, port: port(flags.port, '--port') });
  console.log(`planta web: http://${flags.host}:${(app.server.address() as { port: number }).port}`);
}

async function poll(flags: { config: string; devices?: string; print: boolean }): Promise<void> {
  const log = createLogger('planta-poll');
  const config = load(flags.config);
  const bus = new MemoryBus();
  if (flags.print) {
    await bus.subscribeValues((batch) => {
      for (const v of batch) console.log(`${new Date(v.sourceTs).toISOString()}  ${v.tag} = ${JSON.stringify(v.value)}  ${v.quality}`);
    });
  }
  await bus.subscribeDeviceStatus((s) => log.debug({ device: s.device, state: s.state }, 'device status'));
  const devices = flags.devices?.split(',').map((d) => d.trim()).filter(Boolean);
  const poller = new Poller(config, { bus, log, ...(devices ? { devices } : {}) });
  onShutdown(() => poller.stop());
  await poller.start();
  console.log(`planta poll: polling ${poller.devices.map((d) => `${d.device.name} (${d.device.host}:${d.device.port})`).join(', ')}`);
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
    .action(action('start', start));
  program
    .command('web')
    .description('run the web server alone against a bus')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'port', '8080')
    .action(action('web', web));
  program
    .command('poll')
    .description('run the poller alone (the only process that talks to the PLCs)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--devices <names>', 'poll only these devices (comma separated)')
    .option('--print', 'print every published value', false)
    .action(action('poll', poll));
}
