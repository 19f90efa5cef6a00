/**
 * The Redis bus's two connections (commands, Pub/Sub) and what every role
 * shares on them: the plant's key prefix, this process's consumer name, the
 * logger and metrics, and whether the bus is closed.
 */
import { hostname } from 'node:os';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../util/log.js';
import { LAG_BUCKETS } from '../../util/metrics.js';
import { redactUrl } from '../../util/url.js';
import { BusError } from '../errors.js';
import type { Outbox } from '../outbox.js';
import type { Unsubscribe } from '../types.js';
import { type LinkPlace, RedisLink } from './link.js';

export interface RedisBusOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS), or redis-sentinel://HOST:PORT,…/MASTER_NAME (src/bus/redis/link.ts). */
  url: string;
  /** Every key and channel starts with it, e.g. `planta:sbr:`. */
  prefix: string;
  /** The device of each tag: its last value goes to that device's hash. */
  tagDevices?: ReadonlyMap<string, string>;
  /** Devices whose commands this process executes (a poller's); needed by subscribeCommands. */
  devices?: readonly string[];
  /** This process's name in consumer groups; keep it across restarts. Default: the host name. */
  consumer?: string;
  log?: Logger;
  /** Prometheus registry for the bus's counters (reconnects, connection errors, resyncs). */
  registry?: Registry;
  /** Entries kept per stream (approximate trimming). Default 100,000. */
  streamLength?: number;
  /** Give up the first connection after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** How long a stream read blocks before it looks again (bounds close). Default 1000 ms, at most SILENT_LINK_MS / 2. */
  blockMs?: number;
  /** How often a poller takes over commands left pending by another consumer for this long (a poller that lost its lease). Default 2000 ms. */
  reclaimMs?: number;
  /** A poller's outbox: samples it could not send wait there, on disk, until Redis is back. Closed with the bus. */
  outbox?: Outbox;
  /** How long the samples streams keep what no historian took yet. Default 10 minutes. */
  historyBacklogMs?: number;
}

/**
 * How every Planta connection to Redis finds out that its link went silent
 * (a pulled cable, a firewall that lost the connection's state: no reset
 * comes, and TCP would wait minutes): a PING each second, the next one only
 * after the last one's answer, and a connection that received nothing for
 * SILENT_LINK_MS is dropped and made again (state read again, as after any
 * reconnection). A connection that keeps sending (a poller publishing) is
 * not caught so; its lease is.
 */
export const SILENT_LINK_MS = 5000;
export const LINK_OPTIONS = { pingInterval: 1000, socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5000, socketTimeout: SILENT_LINK_MS } } as const;

/** A connection to Redis (one node, or the master the sentinels name: src/bus/redis/link.ts). */
export type Client = RedisLink;

/** How long a write that must survive a failover waits for a replica (RedisConnection.replicated). */
export const REPLICA_WAIT_MS = 250;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Reconnection delays: 50 ms doubling to 1 s, with jitter so that many
 * processes do not come back in step. The cap bounds how long the live view
 * stays away after Redis is back (it must be back within 2 s).
 */
export function reconnectDelay(retries: number): number {
  return Math.min(1000, 50 * 2 ** Math.min(retries, 5)) + Math.floor(Math.random() * 50);
}

interface Metrics {
  reconnects: Counter<'connection'>;
  errors: Counter<'connection'>;
  resyncs: Counter;
  failovers: Counter<'connection'>;
  /** Value batches this process sent to Redis (a poller: one per device scan) or received from it. */
  batches: Counter<'direction'>;
  /** From a batch's sourceTs (when its device's reply was decoded) to Redis's confirmation (sent) or its arrival here (received). */
  lag: Histogram<'stage'>;
}

function metrics(registry: Registry): Metrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  return {
    reconnects: counter('planta_bus_reconnects_total', 'Reconnections to the Redis bus, by connection', ['connection']),
    errors: counter('planta_bus_connection_errors_total', 'Errors on the connections to the Redis bus, by connection', ['connection']),
    resyncs: counter('planta_bus_resyncs_total', 'Times the live state was read again after the Pub/Sub connection came back', []),
    failovers: counter('planta_bus_failovers_total', 'Times a connection to the Redis bus moved to the master the sentinels named after a failover, by connection', ['connection']),
    batches: counter('planta_bus_value_batches_total', 'Value batches sent to the Redis bus (one per device scan) or received from it, by direction', ['direction']),
    lag:
      (registry.getSingleMetric('planta_bus_value_lag_seconds') as Histogram<'stage'> | undefined) ??
      new Histogram({
        name: 'planta_bus_value_lag_seconds',
        help: "From a value batch's read time to Redis confirming it (stage sent) or to its arrival at this process (stage received)",
        labelNames: ['stage'],
        buckets: LAG_BUCKETS,
        registers: [registry],
      }),
  };
}

export class RedisConnection {
  readonly prefix: string;
  readonly log: Logger | undefined;
  readonly metrics: Metrics | undefined;
  readonly consumer: string;
  /** Entries kept per stream, as XADD MAXLEN takes it. */
  readonly maxLen: string;
  readonly blockMs: number;
  closed = false;
  /** Errors thrown by subscribers: they never reach the publisher. */
  subscriberErrors = 0;
  /** The stream readers running on connections of their own, stopped when the bus closes. */
  readonly stops = new Set<Unsubscribe>();

  private constructor(
    readonly o: RedisBusOptions,
    /** The command connection. */
    readonly cmd: Client,
    /** The Pub/Sub connection. */
    readonly sub: Client,
  ) {
    this.prefix = o.prefix;
    this.log = o.log?.child({ bus: 'redis', prefix: o.prefix });
    this.metrics = o.registry ? metrics(o.registry) : undefined;
    this.consumer = o.consumer ?? hostname();
    this.maxLen = String(o.streamLength ?? 100_000);
    // A blocked read answers within blockMs: well inside the silent-link timeout.
    this.blockMs = Math.min(o.blockMs ?? 1000, SILENT_LINK_MS / 2);
  }

  /** The two connections, made and not opened yet. */
  static async create(o: RedisBusOptions): Promise<RedisConnection> {
    const name = `${o.prefix}${o.consumer ?? hostname()}`.replace(/\s/g, '_');
    // The client library is loaded when a Redis bus is first used (≈ 24 MB a process on the in-memory bus does without).
    const cmd = await RedisLink.open(o.url, { name: `${name}:commands`, ...LINK_OPTIONS });
    return new RedisConnection(o, cmd, cmd.duplicate({ name: `${name}:pubsub` }));
  }

  key(name: string): string {
    return this.prefix + name;
  }

  deviceOf(tag: string): string {
    return this.o.tagDevices?.get(tag) ?? '_';
  }

  /** Another connection of this process, named after what it is for (`streams`, `submit`). */
  duplicate(what: string, options: { disableOfflineQueue?: boolean } = {}): Client {
    return this.cmd.duplicate({ name: `${this.prefix}${this.consumer}:${what}`.replace(/\s/g, '_'), ...options });
  }

  /** Connects `c`; throws PLANTA_BUS_UNREACHABLE if Redis does not answer in time. */
  async open(c: Client): Promise<void> {
    const ms = this.o.connectTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        c.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new BusError('PLANTA_BUS_UNREACHABLE', `Redis at ${redactUrl(this.o.url)} did not answer within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * With Sentinel, waits (at most REPLICA_WAIT_MS) until a replica has what
   * this connection wrote so far: a master killed right after answering
   * cannot take it along into the failover. Replication is asynchronous;
   * this is for the writes that must survive one (a command's claim). A
   * master without a reachable replica goes on, said in the log.
   */
  async replicated(what: string): Promise<void> {
    if (!this.cmd.place.sentinel) return;
    const n = Number(await this.cmd.sendCommand(['WAIT', '1', String(REPLICA_WAIT_MS)]));
    if (n < 1) this.log?.warn({ code: 'PLANTA_BUS_CONNECTION', what }, `no Redis replica confirmed ${what} within ${REPLICA_WAIT_MS} ms: a failover now could lose it`);
  }

  /** Where the command connection is (the node, and when it last moved: a Sentinel failover). */
  get place(): LinkPlace {
    return this.cmd.place;
  }

  /** Counts and logs a connection's losses and returns, and its moves to another master. */
  watch(c: Client, connection: string): void {
    let down = false;
    c.on('switch', (place: LinkPlace) => {
      if (this.closed) return;
      this.metrics?.failovers.inc({ connection });
      this.log?.warn({ code: 'PLANTA_BUS_FAILOVER', connection, node: place.node }, 'Redis master moved (Sentinel failover): reconnecting to it');
    });
    c.on('error', (err: Error) => {
      if (this.closed) return;
      this.metrics?.errors.inc({ connection });
      if (!down) this.log?.warn({ code: 'PLANTA_BUS_CONNECTION', connection, err: err.message }, 'Redis connection lost; reconnecting');
      down = true;
    });
    c.on('reconnecting', () => {
      if (!this.closed) this.metrics?.reconnects.inc({ connection });
    });
    c.on('ready', () => {
      if (down) this.log?.info({ connection }, 'Redis connection back');
      down = false;
    });
  }

  /** Calls a subscriber: its error is counted and logged, never passed on. */
  guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.subscriberErrors++;
      this.log?.error({ err }, 'a bus subscriber failed');
    }
  }
}
