/**
 * `planta historian`: the historian as its own process, and its file from
 * the command line.
 *
 *   planta historian [--bus URL] [--db FILE]   record from the Redis bus into its store
 *   planta historian status          size, samples, oldest time of the store
 *   planta historian export --tags a,b --from T --to T [--out file.csv]
 *
 * The store is the SQLite file --db, or PostgreSQL when the configuration's
 * historian.store (or PLANTA_HISTORIAN_URL) says so; status and export open
 * it read-only.
 *
 * The in-memory bus lives inside one process: a historian process alone on it
 * would have nothing to listen to, so `planta historian` then says so and
 * exits; `planta start` runs the historian with the poller in one process.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { PlantaError } from '../errors.js';
import { exportCsv } from '../historian/export.js';
import { Historian } from '../historian/historian.js';
import { registerHistorianMetrics } from '../historian/metrics.js';
import { SqliteStore } from '../historian/sqlite.js';
import { HistorianError } from '../historian/types.js';
import { describeStore, openStore, storeChoice } from '../historian/index.js';
import { createLogger } from '../util/log.js';
import { createRegistry } from '../util/metrics.js';
import { serveMetrics } from './metrics-endpoint.js';
import { CliUsageError, describeError } from './modbus.js';
import { onShutdown } from './shutdown.js';
import { historianStore, placed, registerFailoverMetric } from './nodes.js';
import { DEFAULT_CONFIG, type Stops, busChoice, describeBus, loadPlant, openBus, startHistorian } from './wiring.js';

export class NoSharedBusError extends PlantaError<'PLANTA_HISTORIAN_NO_SHARED_BUS'> {
  constructor(message: string) {
    super('PLANTA_HISTORIAN_NO_SHARED_BUS', message);
  }
}

function time(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n)) throw new CliUsageError(`${what} "${text}": expected epoch milliseconds or an ISO 8601 date`);
  return n;
}

/** The historian's store, read-only, with where it is: PostgreSQL (historian.store, PLANTA_HISTORIAN_URL) or the SQLite file `db`. */
function openReadOnly(configFile: string, db: string): { historian: Historian; where: string } {
  const config = loadPlant(configFile);
  try {
    const where = describeStore(config, db);
    if (storeChoice(config).kind === 'sqlite') return { historian: new Historian({ store: new SqliteStore(db, { readOnly: true }) }), where };
    return { historian: new Historian({ store: openStore(config, { path: db, readOnly: true }), reader: true }), where };
  } catch (err) {
    if (err instanceof HistorianError) throw new CliUsageError(err.message);
    throw err;
  }
}

function action<T>(name: string, f: (flags: T) => Promise<void>) {
  return async (flags: T): Promise<void> => {
    try {
      await f(flags);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      console.error(`planta ${name}: ${describeError(err)}${err instanceof NoSharedBusError ? ` [${String(code)}]` : ''}`);
      process.exit(err instanceof CliUsageError || err instanceof NoSharedBusError ? 2 : 1);
    }
  };
}

export function registerHistorianCommands(program: Command): void {
  const h = program.command('historian').description('run the historian against the Redis bus (record, the default), or read a history file (status, export)');
  // A default subcommand rather than options on `historian` itself, so that its --config and --db stay apart from those of status and export.
  h.command('record', { isDefault: true })
    .description('record from the Redis bus into the SQLite file --db, or PostgreSQL (historian.store, PLANTA_HISTORIAN_URL) (the default)')
    .option('--bus <url>', 'the shared bus to record from: redis://HOST:PORT (default: the configuration\'s bus:, or PLANTA_BUS_URL)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--db <file>', 'SQLite database of the historian (on PostgreSQL: its store-and-forward buffer goes beside it, unless historian.store.buffer says where)', 'data/history.db')
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics on this port (loopback unless a host is given)')
    .action(
      action('historian', async (flags: { bus?: string; config: string; db: string; metrics?: string }) => {
        const config = loadPlant(flags.config);
        if (busChoice(config, flags.bus).kind === 'memory') {
          throw new NoSharedBusError(
            'there is no shared bus yet in this configuration — the in-memory bus lives inside one process, so a historian process alone would record nothing. ' +
              '`planta start` runs the historian next to the poller (file data/history.db, option --history); ' +
              'a separate historian needs the Redis bus: bus: {kind: redis, url: redis://HOST:PORT} in the configuration, PLANTA_BUS_URL or --bus. ' +
              '`planta historian status` and `planta historian export` read the file.',
          );
        }
        const log = createLogger('planta-historian');
        const stops: Stops = [];
        onShutdown(async () => {
          for (const stop of stops.reverse()) await stop();
        });
        const registry = createRegistry();
        const { bus, choice } = await openBus(config, { role: 'historian', log, registry, ...(flags.bus ? { flagUrl: flags.bus } : {}) });
        stops.push(() => bus.close());
        // Stopped before the bus is closed (stops run in reverse): its last values are flushed.
        const { historian } = await startHistorian(bus, config, { path: flags.db, log, stops });
        registerHistorianMetrics(registry, historian);
        // planta_failovers_total{role}: the bus's Redis (Sentinel) and the PostgreSQL the historian writes to (several hosts).
        registerFailoverMetric(registry, placed([{ role: 'bus', engine: 'redis', of: bus }, { role: 'historian', engine: 'postgresql', of: historianStore(historian) }]));
        console.log(`planta historian: recording ${config.tags.length} tags from ${describeBus(choice)} into ${describeStore(config, flags.db)}`);
        if (flags.metrics) console.log(`planta historian: metrics at ${await serveMetrics(registry, flags.metrics, stops)}`);
      }),
    );
  h.command('status')
    .description("size, samples and oldest time of the historian's store")
    .option('-c, --config <file>', 'configuration file (historian.store: PostgreSQL)', DEFAULT_CONFIG)
    .option('--db <file>', 'SQLite database of the historian', 'data/history.db')
    .action(
      action('historian status', async (flags: { config: string; db: string }) => {
        const { historian, where } = openReadOnly(flags.config, flags.db);
        try {
          const s = await historian.status();
          console.log(`${where}: ${(s.bytes / 1e6).toFixed(1)} MB, ${s.samples} raw samples, oldest ${s.oldest === null ? 'none' : new Date(s.oldest).toISOString()}`);
        } finally {
          await historian.store.close();
        }
      }),
    );
  h.command('export')
    .description('raw samples of some tags as CSV (one row per time any of them changed)')
    .requiredOption('--tags <names>', 'tags, comma separated')
    .option('--from <time>', 'start (epoch ms or ISO 8601); default 24 h before --to')
    .option('--to <time>', 'end (epoch ms or ISO 8601); default now')
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('-c, --config <file>', 'configuration file (the units; historian.store: PostgreSQL)', DEFAULT_CONFIG)
    .option('--db <file>', 'SQLite database of the historian', 'data/history.db')
    .action(
      action('historian export', async (flags: { tags: string; from?: string; to?: string; out?: string; config: string; db: string }) => {
        const to = time(flags.to, '--to', Date.now());
        const from = time(flags.from, '--from', to - 86_400_000);
        if (!(from < to)) throw new CliUsageError('--from must be before --to');
        const units = new Map(loadPlant(flags.config).tags.map((t) => [t.name, t.unit]));
        const columns = flags.tags.split(',').map((t) => t.trim()).filter(Boolean).map((tag) => ({ tag, unit: units.get(tag) ?? '' }));
        const { historian } = openReadOnly(flags.config, flags.db);
        const out = flags.out ? createWriteStream(flags.out) : process.stdout;
        let written = 0;
        for await (const chunk of exportCsv(historian, columns, from, to)) {
          if (!out.write(chunk)) await once(out, 'drain');
          written += chunk.length;
          if (flags.out) process.stderr.write(`\r${(written / 1e6).toFixed(1)} MB`);
        }
        if (flags.out) {
          (out as NodeJS.WritableStream).end();
          await once(out, 'finish');
          process.stderr.write(` written to ${flags.out}\n`);
        }
        await historian.store.close();
      }),
    );
}
