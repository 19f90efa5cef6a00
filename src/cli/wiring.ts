/**
 * How Planta's pieces are put together, shared by `planta start` (all in one
 * process on one bus) and the commands that run one piece each on the Redis
 * bus (`planta poll`, `planta web`, `planta alarms`, `planta historian`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, extname, isAbsolute, join } from 'node:path';
import type { Registry } from 'prom-client';
import { AlarmEngine } from '../alarms/engine.js';
import { type AlarmActions, serveAlarms } from '../alarms/remote.js';
import { AlarmStore } from '../alarms/store.js';
import { LivenessWatch } from '../bus/liveness.js';
import { Notifier } from '../notify/notifier.js';
import { NotifyOutbox } from '../notify/outbox.js';
import { noticeTexts } from '../notify/texts.js';
import { type NotificationsService, serveNotifications } from '../notify/remote.js';
import { RedisAttempts } from '../auth/attempts.js';
import { AuditKeyError } from '../auth/audit.js';
import { DirectoryError, type UserDirectory } from '../auth/directory.js';
import { reportAuditHead } from '../auth/head.js';
import { isPostgresUrl, openDirectory } from '../auth/open.js';
import { directoryUrl } from '../auth/postgres.js';
import { followAuditTrail } from '../auth/trail.js';
import { BusError } from '../bus/errors.js';
import { MemoryBus } from '../bus/memory.js';
import { type Outbox, openOutbox } from '../bus/outbox.js';
import { RedisBus } from '../bus/redis.js';
import type { Bus } from '../bus/types.js';
import { type CommandRecords, SqliteCommandLedger, settleInterrupted } from '../commands/ledger.js';
import { historianStore, placed, registerFailoverMetric, serviceNodes } from './nodes.js';
import { PostgresCommandRecords } from '../commands/records-postgres.js';
import { ConfigError, formatProblem, loadConfig } from '../config/load.js';
import type { PlantConfig } from '../config/resolve.js';
import { type CycleReport, type Historian, describeStore, openHistorian, storeChoice } from '../historian/index.js';
import { Poller } from '../poller/poller.js';
import type { Logger } from '../util/log.js';
import { projectRoot } from '../util/root.js';
import { redactUrl } from '../util/url.js';
import { type AuthStores, createAuth } from '../web/auth.js';
import { createWebServer } from '../web/server.js';
import { ensureHmiBuilt } from './hmi.js';
import { CliUsageError } from './modbus.js';

export const DEFAULT_CONFIG = join(projectRoot(import.meta.url), 'config', 'sbr-plant.yaml');

/** Things started, stopped in reverse order. */
export type Stops = (() => Promise<void>)[];

export function loadPlant(file: string): PlantConfig {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(formatProblem(p));
      throw new CliUsageError(`${err.problems.length} problem(s) in ${file}`, err.code);
    }
    throw err;
  }
}

export function port(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliUsageError(`${what} "${text}" is outside 0..65535`);
  return n;
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

// ------------------------------------------------------------ the bus

export interface BusChoice {
  kind: 'memory' | 'redis';
  url: string;
  prefix: string;
}

/** `planta:<plant name>:` with the name lower-cased and anything unusual replaced. */
export function defaultPrefix(plantName: string): string {
  const slug = plantName.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return `planta:${slug || 'plant'}:`;
}

/**
 * The bus a process uses: `--bus URL`, else the environment's
 * PLANTA_BUS_URL, else the configuration's `bus:` section (memory by
 * default). A URL of `memory` chooses the in-memory bus.
 */
export function busChoice(config: PlantConfig, flagUrl?: string, env: NodeJS.ProcessEnv = process.env): BusChoice {
  const url = flagUrl ?? env.PLANTA_BUS_URL;
  const prefix = config.bus.prefix ?? defaultPrefix(config.plant.name);
  if (url === undefined || url === '') return { kind: config.bus.kind, url: config.bus.url, prefix };
  if (url === 'memory') return { kind: 'memory', url: config.bus.url, prefix };
  if (!/^rediss?(-sentinel)?:\/\/\S+$/.test(url)) throw new CliUsageError(`bus URL "${url}": expected redis://HOST:PORT, rediss://…, redis-sentinel://HOST:PORT,…/MASTER_NAME or memory`);
  return { kind: 'redis', url, prefix };
}

export interface OpenBusOptions {
  /** What this process is (poll, web, alarms, historian, start): its name in Redis consumer groups. */
  role: string;
  log: Logger;
  registry?: Registry;
  /** The devices whose commands this process executes. */
  devices?: readonly string[];
  flagUrl?: string;
  /** Its name in consumer groups and, for a poller, its lease owner id. Default: host:role. */
  consumer?: string;
  /** A process that polls: samples it cannot hand to Redis wait in its outbox on disk (bus.outbox, default data/outbox-<devices>.db). */
  outbox?: boolean;
  /** A process that only reads values (web, alarms): the values of a device whose poller fell silent are marked (src/bus/liveness.ts). */
  watchPollers?: boolean;
}

/** The outbox file of a poller of `devices`: one per set of devices, so a restarted poller finds what it kept. */
export function outboxPath(config: PlantConfig, devices: readonly string[]): string {
  if (config.bus.outbox) return config.bus.outbox;
  const names = [...devices].sort().join('+');
  const short = names.length <= 60 ? names : `${names.slice(0, 48)}-${createHash('sha256').update(names).digest('hex').slice(0, 8)}`;
  return join('data', `outbox-${short}.db`);
}

/** A poller's ledger of the commands it executes: beside its outbox, so one process owns both (outbox-plc.db → outbox-plc.commands.db). */
export function ledgerPath(outbox: string): string {
  const ext = extname(outbox);
  return `${outbox.slice(0, outbox.length - ext.length)}.commands${ext || '.db'}`;
}

/** The bus, and for a poller on Redis the outbox file it took (its command ledger goes beside it). */
export async function openBus(config: PlantConfig, o: OpenBusOptions): Promise<{ bus: Bus; choice: BusChoice; outbox?: string }> {
  const choice = busChoice(config, o.flagUrl);
  if (choice.kind === 'memory') return { bus: new MemoryBus(), choice };
  let outbox: Outbox | undefined;
  if (o.outbox) {
    const devices = o.devices ?? config.devices.map((d) => d.name);
    outbox = openOutbox(outboxPath(config, devices), config.bus.outboxSize);
    if (outbox.pending() > 0) o.log.info({ path: outbox.path, entries: outbox.pending() }, 'outbox: samples kept from an earlier run are forwarded once Redis answers');
  }
  try {
    const bus = await RedisBus.connect({
      url: choice.url,
      prefix: choice.prefix,
      tagDevices: new Map(config.tags.map((t) => [t.name, t.device])),
      ...(o.devices ? { devices: o.devices } : {}),
      consumer: o.consumer ?? `${hostname()}:${o.role}`,
      log: o.log,
      ...(o.registry ? { registry: o.registry } : {}),
      ...(outbox ? { outbox } : {}),
      historyBacklogMs: config.bus.historyBacklog,
    });
    o.log.info({ url: redactUrl(choice.url), prefix: choice.prefix, ...(outbox ? { outbox: outbox.path } : {}) }, 'on the Redis bus');
    if (!o.watchPollers) return { bus, choice, ...(outbox ? { outbox: outbox.path } : {}) };
    const watch = new LivenessWatch(bus, { tagDevices: new Map(config.tags.map((t) => [t.name, t.device])), log: o.log });
    await watch.start();
    return { bus: watch.bus, choice };
  } catch (err) {
    outbox?.close();
    if (err instanceof BusError) throw new CliUsageError(`${err.message} [${err.code}] — is redis-server running? (bus: in the configuration, PLANTA_BUS_URL or --bus)`);
    throw err;
  }
}

export function describeBus(choice: BusChoice): string {
  return choice.kind === 'memory' ? 'the in-memory bus' : `the Redis bus ${redactUrl(choice.url)} (keys ${choice.prefix}*)`;
}

// ------------------------------------------------------------ the pieces

/** A poller's id, unique among running pollers: the host, the process and a random part. */
export function pollerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * The poller of the configuration's devices (or of `devices`): the only one
 * that talks to the PLCs. With `lease` (the Redis bus) it polls a device only
 * while it holds the device's lease, and waits as standby otherwise.
 */
export async function startPoller(
  bus: Bus,
  config: PlantConfig,
  o: {
    log: Logger;
    registry?: Registry;
    devices?: string[];
    lease?: { owner: string; ttlMs: number };
    /** The commands it executed, on disk: a restart never executes one again, and settles those a crash interrupted. */
    ledger: SqliteCommandLedger;
    /** The bus kept its queue in memory (lost with the process): commands still queued in the ledger never ran. */
    queueLost: boolean;
    stops: Stops;
  },
): Promise<Poller> {
  const settled = await settleInterrupted(o.ledger, bus, { queueLost: o.queueLost, log: o.log });
  if (settled > 0) o.log.warn({ commands: settled, ledger: o.ledger.where }, 'commands interrupted by the last stop are reported (unknown when writing had begun)');
  const poller = new Poller(config, {
    bus,
    log: o.log,
    commands: { ledger: o.ledger },
    ...(o.registry ? { registry: o.registry } : {}),
    ...(o.devices ? { devices: o.devices } : {}),
    ...(o.lease ? { lease: o.lease } : {}),
  });
  await poller.start();
  o.stops.push(() => poller.stop());
  return poller;
}

const LEDGER_PRUNE_EVERY_MS = 3_600_000;

/**
 * A ledger of commands in an SQLite file (`exclusive`: a poller's own, like
 * its outbox), pruned every hour, closed after what uses it.
 */
export function openLedger(path: string, config: PlantConfig, o: { log: Logger; stops: Stops; exclusive?: boolean }): SqliteCommandLedger {
  const ledger = new SqliteCommandLedger(path, config.security.commandRetention, o.exclusive);
  keepPruned(ledger, o);
  o.stops.push(() => ledger.close());
  o.log.debug({ path }, 'command ledger');
  return ledger;
}

function keepPruned(records: CommandRecords, o: { log: Logger; stops: Stops }): void {
  const timer = setInterval(() => void records.prune().catch((err: unknown) => o.log.warn({ err: (err as Error).message }, 'command records: pruning failed')), LEDGER_PRUNE_EVERY_MS).unref();
  o.stops.push(async () => clearInterval(timer));
}

/**
 * The alarm engine, with its states and journal in an SQLite file. With
 * `serve` (the Redis bus) it also answers the web nodes' alarm actions and
 * journal reads (src/alarms/remote.ts).
 */
export async function startAlarms(
  bus: Bus,
  config: PlantConfig,
  o: { db: string; log: Logger; stops: Stops; serve?: boolean },
): Promise<{ engine: AlarmEngine; store: AlarmStore }> {
  const store = new AlarmStore(o.db);
  const engine = new AlarmEngine({ bus, config, store, log: o.log });
  await engine.start();
  const served = o.serve ? await serveAlarms(bus, engine) : undefined;
  o.stops.push(async () => {
    await served?.();
    await engine.stop();
    store.close();
  });
  return { engine, store };
}

/** The notifications' outbox: notifications.outbox, else beside the alarm database (data/planta.db → data/planta.notify.db). */
export function notifyOutboxPath(config: PlantConfig, db: string): string {
  if (config.notifications.outbox) return config.notifications.outbox;
  const ext = extname(db);
  return `${db.slice(0, db.length - ext.length)}.notify${ext || '.db'}`;
}

/**
 * The notifier beside the alarm engine (src/notify/), when the configuration
 * has notification channels: it follows the alarm journal on the bus and
 * keeps what it has to send in its outbox. With `serve` (the Redis bus) it
 * also answers the web nodes' Notifications page.
 */
export async function startNotifier(
  bus: Bus,
  config: PlantConfig,
  o: { db: string; log: Logger; registry?: Registry; stops: Stops; serve?: boolean; send?: boolean },
): Promise<Notifier | undefined> {
  if (Object.keys(config.notifications.channels).length === 0) return undefined;
  const path = notifyOutboxPath(config, o.db);
  const outbox = new NotifyOutbox(path, config.notifications.outboxSize);
  const notifier = new Notifier({
    config: config.notifications,
    plant: config.plant.name,
    texts: noticeTexts(config),
    ...(config.plant.timezone ? { timeZone: config.plant.timezone } : {}),
    outbox,
    log: o.log.child({ piece: 'notify' }),
    ...(o.registry ? { registry: o.registry } : {}),
  });
  if (outbox.pending() > 0) o.log.info({ path, notifications: outbox.pending() }, 'notifications kept from an earlier run are sent first');
  await notifier.attach(bus, 'notify', { send: o.send !== false });
  const served = o.serve ? await serveNotifications(bus, notifier) : undefined;
  o.stops.push(async () => {
    await served?.();
    await notifier.stop();
    outbox.close();
  });
  return notifier;
}

/** The historian recording from the bus into an SQLite file; stopped after what feeds it, its last values flushed. */
export async function startHistorian(
  bus: Bus,
  config: PlantConfig,
  o: { path: string; log: Logger; alarmCount?: (from: number, to: number) => number; stops: Stops },
): Promise<{ historian: Historian; cycles: CycleReport | undefined }> {
  const history = openHistorian(config, { path: o.path, log: o.log, ...(o.alarmCount ? { alarmCount: o.alarmCount } : {}) });
  await history.historian.attach(bus);
  o.stops.push(() => history.historian.close());
  return history;
}

/**
 * A web node's trends and cycle report when the historian runs elsewhere:
 * its store opened read-only — PostgreSQL (historian.store or
 * PLANTA_HISTORIAN_URL: from any machine), else the SQLite file `sqlite`
 * (`planta web --history FILE`: the same machine). Alarm counts of the cycle
 * report are asked of the alarm process. Undefined when neither is given.
 */
export function openHistoryReader(
  config: PlantConfig,
  o: { sqlite?: string; log: Logger; alarms?: AlarmActions; stops: Stops },
): { historian: Historian; cycles: CycleReport | undefined; where: string } | undefined {
  if (!config.historian.enabled) return undefined;
  let choice: ReturnType<typeof storeChoice>;
  try {
    choice = storeChoice(config);
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  if (choice.kind === 'sqlite' && o.sqlite === undefined) return undefined;
  const alarms = o.alarms;
  const history = openHistorian(config, {
    path: o.sqlite ?? ':memory:',
    log: o.log,
    readOnly: true,
    ...(alarms ? { alarmCount: async (from: number, to: number) => (await alarms.rates(from, to)).activations } : {}),
  });
  o.stops.push(() => history.historian.close());
  return { ...history, where: describeStore(config, o.sqlite!) };
}

export interface WebOptions {
  configFile: string;
  /** Users, API tokens and the audit trail: an SQLite file, or postgres://…[?schema=NAME] (shared by web nodes on the Redis bus). */
  db: string;
  host: string;
  port: number;
  log: Logger;
  registry?: Registry;
  /** The alarm engine of this process, or the alarm process's through the bus. */
  alarms?: AlarmActions;
  history?: { historian: Historian; cycles: CycleReport | undefined };
  /** The bus's Redis: where web nodes sharing users on PostgreSQL count sign-in attempts. */
  bus?: BusChoice;
  /** Command ids and outcomes (planta start: the ledger its poller shares); default: in `db` (the SQLite file, or PostgreSQL beside the users). */
  records?: CommandRecords;
  /** The notifier of this process, or the alarm process's through the bus (the Notifications page). */
  notifications?: NotificationsService;
  stops: Stops;
}

/** How often a web node deletes expired sessions and forgotten sign-in attempts (sign-ins do too). */
const SESSIONS_PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The web server with users, sessions and the audit trail: users, their
 * sessions, tokens and the trail in `db` (SQLite, or PostgreSQL shared by
 * web nodes), so sessions last as long as the users they name (not as long
 * as Redis keeps its memory); sign-in attempts in the SQLite file, or in the
 * bus's Redis for users on PostgreSQL. The trail's key is checked (made on
 * first run) before anything is served; its head is logged and measured.
 * The trail follows the bus under a durable name — of the SQLite file, or
 * of the PostgreSQL directory, shared by the web nodes that write there —
 * so a restart of the web loses no command outcome nor alarm action.
 */
export async function startWeb(bus: Bus, config: PlantConfig, o: WebOptions): Promise<{ url: string; users: UserDirectory; tls: boolean }> {
  if (isPostgresUrl(o.db) && o.bus?.kind !== 'redis') {
    throw new CliUsageError('users on PostgreSQL are for web nodes on the Redis bus, where their sessions are shared: give the bus (bus: in the configuration, PLANTA_BUS_URL or --bus), or --db FILE');
  }
  const { directory, sqlite } = openDirectory(o.db, o.log);
  o.stops.push(() => directory.close());
  try {
    await directory.countUsers();
    const { key, created } = await directory.prepareAuditKey();
    if (created) o.log.warn({ file: key.file }, `audit trail: made its key ${key.file} — back it up${sqlite ? '' : ', and copy it to every web node sharing these users'}`);
  } catch (err) {
    if (err instanceof DirectoryError) throw new CliUsageError(`users: ${err.message} [${err.code}]`);
    if (err instanceof AuditKeyError) throw new CliUsageError(`audit trail: ${err.message} [${err.code}]`, err.code);
    throw err;
  }
  o.stops.push(reportAuditHead(directory, { log: o.log, ...(o.registry ? { registry: o.registry } : {}) }));
  o.stops.push(await followAuditTrail(bus, directory, { durable: await directory.trailName(), log: o.log }));
  const tls = tlsFiles(config, o.configFile);
  // Sign-in attempts: in the SQLite file with its users, or in the bus's Redis for web nodes sharing users on PostgreSQL.
  let stores: AuthStores;
  if (sqlite) {
    stores = { store: sqlite };
  } else {
    const attempts = await RedisAttempts.connect({ url: o.bus!.url, prefix: o.bus!.prefix, name: `${hostname()}:web` });
    o.stops.push(() => attempts.close());
    stores = { directory, attempts };
  }
  let node = hostname();
  const auth = createAuth({
    ...stores,
    anonymous: config.security.anonymous,
    idleMs: config.security.sessionIdle,
    absoluteMs: config.security.sessionMax,
    secure: tls !== undefined,
    node: () => node,
  });
  const hmiDir = ensureHmiBuilt(o.log);
  const records = o.records ?? openRecords(o.db, config, o);
  // Each durable name gets every outcome: one per SQLite file (a node's own), one for the nodes sharing PostgreSQL.
  const recordsDurable = `commands@${(await directory.trailName()).replace(/^audit@/, '')}`;
  const nodes = placed([
    { role: 'bus', engine: 'redis', of: bus },
    { role: 'users', engine: 'postgresql', of: directory },
    { role: 'commands', engine: 'postgresql', of: records },
    { role: 'historian', engine: 'postgresql', of: historianStore(o.history?.historian) },
  ]);
  if (o.registry) registerFailoverMetric(o.registry, nodes);
  const { app } = await createWebServer({
    bus,
    config,
    log: o.log,
    auth,
    nodes: () => serviceNodes(nodes),
    ...(o.registry ? { registry: o.registry } : {}),
    ...(o.alarms ? { alarms: o.alarms } : {}),
    ...(o.history ? { historian: o.history.historian, ...(o.history.cycles ? { cycles: o.history.cycles } : {}) } : {}),
    ...(hmiDir ? { hmiDir } : {}),
    ...(tls ? { tls } : {}),
    ...(o.notifications ? { notifications: o.notifications } : {}),
    commandRecords: { records, durable: recordsDurable },
  });
  o.stops.push(() => app.close());
  const pruning = setInterval(() => void auth.prune().catch((err: unknown) => o.log.warn({ err: (err as Error).message }, 'sessions: expired ones could not be deleted')), SESSIONS_PRUNE_EVERY_MS);
  pruning.unref();
  o.stops.push(async () => clearInterval(pruning));
  await app.listen({ host: o.host, port: o.port });
  const listening = (app.server.address() as { port: number }).port;
  node = `${hostname()}:${listening}`;
  const shown = o.host === '0.0.0.0' || o.host === '127.0.0.1' ? 'localhost' : o.host;
  return { url: `${tls ? 'https' : 'http'}://${shown}:${listening}`, users: directory, tls: tls !== undefined };
}

/** A web node's command records: in its SQLite file, or in PostgreSQL beside the users it shares with other nodes. */
function openRecords(db: string, config: PlantConfig, o: { log: Logger; stops: Stops }): CommandRecords {
  if (!isPostgresUrl(db)) return openLedger(db, config, o);
  const records = new PostgresCommandRecords({ ...directoryUrl(db), log: o.log }, config.security.commandRetention);
  keepPruned(records, o);
  o.stops.push(() => records.close());
  return records;
}
