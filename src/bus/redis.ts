/**
 * The bus on Redis: Planta's processes (pollers, web nodes, the alarm
 * engine, the historian) on one or several machines meet here.
 *
 * Keys, all under the plant's prefix P (`planta:<plant>:`, so several plants
 * share one Redis):
 *   P values:<device>     hash: tag → last value, quality, timestamps (redis-codec.ts)
 *   P value-hashes        set: the value hashes, for a snapshot
 *   P devices             hash: device → communication status (JSON)
 *   P alarms              hash: alarm id → state (JSON)
 *   P commands:<device>   stream of operator commands; consumer group "pollers"
 *   P claim:<command id>  the at-most-once claim: SET NX PX, "claimed:<consumer>", "writing:<consumer>", then "done:<status>"
 *   P outcomes            stream of command outcomes
 *   P journal             stream of journal batches
 *   P lease:<device>      the device's lease: SET NX PX by a poller, renewed by a compare-and-renew script
 *   P standby:<device>    sorted set: pollers waiting for the lease, scored by until when (Redis's clock)
 *   P samples:<device>    stream of the device's value batches for the historian (redis-samples.ts)
 *   P rpc:<service>       stream of requests to a service (consumer group "servers"); answers on channel P reply:<node>
 * Channels P values, P devices, P alarms carry change notifications,
 * fire-and-forget: when the Pub/Sub connection comes back, the bus reads the
 * hashes again and hands every subscriber the whole state (values with
 * `{resync: true}`) before any newer change.
 *
 * Streams keep what Pub/Sub cannot: a command waits in its device's stream
 * until a poller takes it (XREADGROUP), stays pending until its final outcome
 * is published (then XACK), and pending entries are claimed again after a
 * restart (XAUTOCLAIM). Delivery alone is at least once; the claim
 * (`claimCommand`, SET NX PX) is what makes a write happen at most once, and
 * it is refused once the command's expiry has passed. A web node submits on
 * a connection of its own without an offline queue: a command is taken by
 * Redis at once or refused, never sent after an outage (and one reaching
 * Redis after its `acceptBy` is never executed).
 *
 * A poller cut off from Redis keeps polling: its live state waits in memory
 * (newest per tag), its samples in its outbox on disk; both are sent when
 * Redis is back — for a leased device only once this process has its lease
 * again, and dropped if another poller took the device over meanwhile.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, type Registry } from 'prom-client';
import type { createClient } from 'redis';
import type { TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { CLAIM_RETENTION_MS, FINAL_STATUSES, isRefusal, outcomeOf } from './command-messages.js';
import { BusError } from './errors.js';
import { readCounter, readGauge } from '../util/metrics.js';
import { resolvesWithin, settlesWithin } from '../util/settle.js';
import { redactUrl } from '../util/url.js';
import type { Outbox } from './outbox.js';
import { SampleStreams, trimConsumed } from './redis-samples.js';
import { answer } from './service.js';
import { type StreamEntry, decodeBatch, decodeValue, encodeBatch, encodeValue, parseEntries, parseStreams } from './redis-codec.js';
import type {
  AlarmState,
  Bus,
  BusLink,
  CommandClaim,
  CommandOutcome,
  CommandRequest,
  CommandSubscription,
  DeviceStatus,
  EntryHandler,
  JournalEntry,
  SampleBatch,
  SampleSubscription,
  ScanInfo,
  ServiceReply,
  ServiceRequest,
  SubscribeOptions,
  Unsubscribe,
  ValueBatchInfo,
} from './types.js';

/** A subscription's group and reclaim period, when it is durable. */
const durableRead = (o: SubscribeOptions | undefined): { group?: string; reclaimMs?: number } =>
  o?.durable ? { group: o.durable, ...(o.reclaimMs !== undefined ? { reclaimMs: o.reclaimMs } : {}) } : {};

export interface RedisBusOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
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

/** Extends a lease only if its owner still holds it: no poller renews a lease another one took meanwhile. */
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/** Gives a lease up only if its owner still holds it; a standby gives up waiting. */
const RELEASE = "redis.call('ZREM', KEYS[2], ARGV[1]) if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
/** Redis's clock in ms, in a script (the pollers' clocks may differ). */
const NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
/** Takes a free lease; a poller that cannot is counted as a standby (sorted set scored by until when) for the lease time. */
const ACQUIRE = `${NOW}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then redis.call('ZREM', KEYS[2], ARGV[1]) return 1 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
return 0`;
/** The standbys still waiting (and the others forgotten). */
const STANDBYS = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;
/**
 * The at-most-once claim of a command, granted only to the holder of its
 * device's lease when leases are in use (ARGV[3] is the owner, or empty).
 */
const CLAIM = `if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 'LEASE' end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'OK' end
return 'DUP'`;
/** A command's final outcome on its claim (made if missing, so that no later delivery of it is ever executed). */
const SETTLE = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])`;
/** The consumer group of the processes answering a service's requests. */
const SERVERS = 'servers';

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

// The client library is loaded when a Redis bus is first used (≈ 24 MB a process on the in-memory bus does without).
const newClient = (create: typeof createClient, url: string, name: string) => create({ url, name, ...LINK_OPTIONS });
type Client = ReturnType<typeof newClient>;
type Channel = 'values' | 'devices' | 'alarms';

const LIVE: ValueBatchInfo = Object.freeze({ resync: false });
const RESYNC: ValueBatchInfo = Object.freeze({ resync: true });
/** The consumer group of the pollers on each device's command stream. */
const POLLERS = 'pollers';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How long a publisher waits for Redis to take its live state before it goes on (the send goes on too). */
const LIVE_WAIT_MS = 500;

/** How long closing waits for readers and pending replies before it drops the connections. */
const CLOSE_GRACE_MS = 1000;

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
}

function metrics(registry: Registry): Metrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
  return {
    reconnects: counter('planta_bus_reconnects_total', 'Reconnections to the Redis bus, by connection', ['connection']),
    errors: counter('planta_bus_connection_errors_total', 'Errors on the connections to the Redis bus, by connection', ['connection']),
    resyncs: counter('planta_bus_resyncs_total', 'Times the live state was read again after the Pub/Sub connection came back', []),
  };
}

/** A poller's store-and-forward figures: the outbox's fill level, what it forwarded, what it had to drop. */
function registerOutboxMetrics(registry: Registry, box: Outbox, samples: SampleStreams): void {
  readGauge(registry, 'planta_bus_outbox_bytes', 'Bytes of samples waiting in the poller\'s outbox for Redis', () => box.bytes);
  readGauge(registry, 'planta_bus_outbox_fill_ratio', 'Outbox fill level, 0..1 of its maximum size', () => box.bytes / box.maxBytes);
  readGauge(registry, 'planta_bus_outbox_entries', 'Scan reports waiting in the outbox', () => box.pending());
  readCounter(registry, 'planta_bus_outbox_dropped_total', 'Scan reports dropped from the outbox: oldest first when full, or of a device another poller took over', () => box.dropped);
  readCounter(registry, 'planta_bus_samples_buffered_total', 'Scan reports kept in the outbox because Redis could not take them', () => samples.stats.buffered);
  readCounter(registry, 'planta_bus_samples_forwarded_total', 'Scan reports forwarded from the outbox to Redis', () => samples.stats.forwarded);
}

export class RedisBus implements Bus {
  readonly prefix: string;
  /** Errors thrown by subscribers: they never reach the publisher. */
  subscriberErrors = 0;
  private readonly log: Logger | undefined;
  private readonly metrics: Metrics | undefined;
  private readonly consumer: string;
  private readonly maxLen: string;
  private readonly blockMs: number;
  private closed = false;
  private readonly stops = new Set<Unsubscribe>();
  private readonly valueHandlers = new Set<(values: TagValue[], info: ValueBatchInfo) => void>();
  private readonly statusHandlers = new Set<(status: DeviceStatus) => void>();
  private readonly alarmHandlers = new Set<(states: AlarmState[]) => void>();
  private channels: Promise<void> | undefined;
  /** Notifications held while the state is read again after a reconnect. */
  private held: [Channel, string][] | undefined;
  private resyncGeneration = 0;
  private subReady = false;
  /** A web node's connection for submitting commands (no offline queue), made at the first, and Redis's clock minus ours. */
  private submitter: { client: Client; first: Promise<unknown> } | undefined;
  private clockOffset = 0;
  private link: BusLink = { up: true, since: Date.now() };
  private readonly linkHandlers = new Set<(link: BusLink) => void>();
  /** Commands handed to this process's handler, until their final outcome: id → stream entry. */
  private readonly delivered = new Map<string, { key: string; entry: string }>();
  /** Device → owner of the leases this process holds. */
  private readonly leases = new Map<string, string>();
  /** Devices this process ever leased: without the lease now, no command of theirs is claimed here. */
  private readonly leased = new Set<string>();
  /** This process's reply channel for its requests to services, and the requests waiting for an answer. */
  private readonly node = randomUUID();
  private replies: Promise<void> | undefined;
  private readonly waiting = new Map<string, (reply: ServiceReply) => void>();
  private readonly groups = new Set<string>();
  /** Live state not published (Redis away, or the device's lease not confirmed since): sent when it can be, newest per key. */
  private readonly unsent = { values: new Map<string, Map<string, TagValue>>(), devices: new Map<string, DeviceStatus>(), alarms: new Map<string, AlarmState>() };
  /** Leased devices whose lease has not been confirmed since the connection came back: what they publish waits. */
  private readonly unconfirmed = new Set<string>();
  readonly samples: SampleStreams;

  private constructor(
    private readonly o: RedisBusOptions,
    private readonly cmd: Client,
    private readonly sub: Client,
  ) {
    this.prefix = o.prefix;
    this.log = o.log?.child({ bus: 'redis', prefix: o.prefix });
    this.metrics = o.registry ? metrics(o.registry) : undefined;
    this.consumer = o.consumer ?? hostname();
    this.maxLen = String(o.streamLength ?? 100_000);
    // A blocked read answers within blockMs: well inside the silent-link timeout.
    this.blockMs = Math.min(o.blockMs ?? 1000, SILENT_LINK_MS / 2);
    this.samples = new SampleStreams({
      send: (args) => this.cmd.sendCommand(args),
      ready: () => this.cmd.isReady && !this.closed,
      key: (device) => this.samplesKey(device),
      held: (device) => this.unconfirmed.has(device),
      ...(o.outbox ? { outbox: o.outbox } : {}),
      ...(o.historyBacklogMs ? { backlogMs: o.historyBacklogMs } : {}),
      ...(this.log ? { log: this.log } : {}),
    });
    if (o.registry && o.outbox && !o.registry.getSingleMetric('planta_bus_outbox_bytes')) registerOutboxMetrics(o.registry, o.outbox, this.samples);
  }

  /** Connects (the command and the Pub/Sub connections); throws PLANTA_BUS_UNREACHABLE if Redis does not answer in time. */
  static async connect(o: RedisBusOptions): Promise<RedisBus> {
    const name = `${o.prefix}${o.consumer ?? hostname()}`.replace(/\s/g, '_');
    const cmd = newClient((await import('redis')).createClient, o.url, `${name}:commands`);
    const bus = new RedisBus(o, cmd, cmd.duplicate({ name: `${name}:pubsub` }));
    // From the moment the connection is lost, a leased device's live state waits until its lease is confirmed again.
    for (const event of ['error', 'reconnecting']) cmd.on(event, () => bus.holdLeased());
    cmd.on('ready', () => {
      bus.confirmHeld();
      bus.flushLive();
    });
    bus.watch(cmd, 'commands');
    bus.watch(bus.sub, 'pubsub');
    bus.sub.on('ready', () => {
      if (bus.subReady) bus.resync();
      bus.subReady = true;
    });
    // After the resync's start above: a link is up again only once the live state was read again.
    for (const c of [cmd, bus.sub]) {
      c.on('error', (err: Error) => bus.linkDown(err.message));
      c.on('reconnecting', () => bus.linkDown('reconnecting'));
      c.on('ready', () => bus.linkUp());
    }
    try {
      await Promise.all([bus.open(cmd), bus.open(bus.sub)]);
    } catch (err) {
      cmd.destroy();
      bus.sub.destroy();
      throw err;
    }
    // A poller knows at once whether a historian reads its devices' samples.
    if (o.devices) await bus.samples.check(o.devices).catch(() => undefined);
    return bus;
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  private async open(c: Client): Promise<void> {
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

  private watch(c: Client, connection: string): void {
    let down = false;
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

  // ------------------------------------------------------------ the link

  async subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    this.linkHandlers.add(handler);
    this.guard(() => handler(this.link));
    return async () => void this.linkHandlers.delete(handler);
  }

  /** A connection failed: from now on nothing this process shows of the plant is live. */
  private linkDown(why: string): void {
    if (this.closed || !this.link.up) return;
    this.setLink({ up: false, since: Date.now(), detail: `no connection to Redis at ${redactUrl(this.o.url)} (${why})` });
  }

  /** Both connections answer and no resync is under way: the live state is current again. */
  private linkUp(): void {
    if (this.closed || this.link.up || !this.cmd.isReady || !this.sub.isReady || this.held !== undefined) return;
    this.setLink({ up: true, since: Date.now() });
  }

  private setLink(link: BusLink): void {
    this.link = link;
    for (const h of this.linkHandlers) this.guard(() => h(link));
  }

  // ------------------------------------------------------------ live state: hashes + Pub/Sub

  private deviceOf(tag: string): string {
    return this.o.tagDevices?.get(tag) ?? '_';
  }

  private samplesKey(device: string): string {
    return this.key(`samples:${device}`);
  }

  /** Whether a device's live state must wait: Redis away, or its lease not confirmed since the connection came back. */
  private holding(device: string): boolean {
    return !this.cmd.isReady || this.unconfirmed.has(device);
  }

  /**
   * Live state is last-value-wins: what cannot be published now, or could
   * not (the connection dropped while a publication was on its way), is
   * kept, newest per key, and published when it can be. It never throws, so
   * a poller keeps polling while Redis is away.
   */
  private async live<T>(keep: (items: T[]) => void, items: T[], send: () => Promise<unknown>): Promise<void> {
    const sent = send().then(
      () => undefined,
      (err: unknown) => {
        if (this.closed) return;
        keep(items);
        this.log?.warn({ code: 'PLANTA_BUS_CONNECTION', err: (err as Error).message }, 'live state not published; kept until Redis is back');
      },
    );
    // A command queued just as the connection dropped waits in the client for the reconnection (then it is sent, in order):
    // the caller, a poller between two scans, does not wait that long.
    await settlesWithin(sent, LIVE_WAIT_MS);
  }

  private keepValues(values: TagValue[]): void {
    for (const v of values) {
      const device = this.deviceOf(v.tag);
      let m = this.unsent.values.get(device);
      if (!m) this.unsent.values.set(device, (m = new Map()));
      m.set(v.tag, v);
    }
  }

  private keepStatuses(statuses: DeviceStatus[]): void {
    for (const s of statuses) this.unsent.devices.set(s.device, s);
  }

  private keepAlarms(states: AlarmState[]): void {
    for (const a of states) this.unsent.alarms.set(a.id, a);
  }

  /** The connection is lost: whatever a leased device publishes waits until its lease is renewed (or is dropped if another poller took it). */
  private holdLeased(): void {
    for (const device of this.leases.keys()) this.unconfirmed.add(device);
  }

  /** Back after a short cut: a device whose lease key still names this process needs no renewal to publish again. */
  private confirmHeld(): void {
    for (const device of this.unconfirmed) {
      const owner = this.leases.get(device);
      if (owner === undefined) continue;
      this.cmd.get(this.leaseKey(device)).then(
        (holder) => holder === owner && this.unconfirmed.has(device) && this.leaseSettled(device, true),
        () => undefined,
      );
    }
  }

  /** Publishes the live state kept meanwhile (of one device, or of every device not waiting), and forwards the outbox. */
  private flushLive(only?: string): void {
    if (!this.cmd.isReady) return;
    for (const [device, m] of this.unsent.values) {
      if ((only !== undefined && device !== only) || this.unconfirmed.has(device)) continue;
      this.unsent.values.delete(device);
      void this.sendValues([...m.values()]);
    }
    for (const [device, s] of this.unsent.devices) {
      if ((only !== undefined && device !== only) || this.unconfirmed.has(device)) continue;
      this.unsent.devices.delete(device);
      void this.publishDeviceStatus(s);
    }
    if (only === undefined && this.unsent.alarms.size > 0) {
      const states = [...this.unsent.alarms.values()];
      this.unsent.alarms.clear();
      void this.publishAlarmStates(states);
    }
    this.samples.forward();
  }

  /** A leased device's lease is confirmed (or lost to another poller): what it kept is sent (or dropped). */
  private leaseSettled(device: string, held: boolean): void {
    const waited = this.unconfirmed.delete(device);
    if (held) {
      if (waited) this.flushLive(device);
      return;
    }
    // Another poller polls the device now: what this one kept is older than that poller's.
    this.unsent.values.delete(device);
    this.unsent.devices.delete(device);
    this.samples.drop(device);
  }

  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length === 0 && !scan) return;
    if (scan) {
      if (this.samples.wants(scan.device)) this.samples.publish(scan.device, scan.upTo, encodeBatch(values));
    } else {
      const byDevice = new Map<string, TagValue[]>();
      for (const v of values) {
        const device = this.deviceOf(v.tag);
        const list = byDevice.get(device);
        if (list) list.push(v);
        else byDevice.set(device, [v]);
      }
      for (const [device, list] of byDevice) if (this.samples.wants(device)) this.samples.publish(device, null, encodeBatch(list));
    }
    if (values.length === 0) return;
    if (!this.cmd.isReady || this.unconfirmed.size > 0) {
      const now: TagValue[] = [];
      const later: TagValue[] = [];
      for (const v of values) (this.holding(this.deviceOf(v.tag)) ? later : now).push(v);
      if (later.length > 0) this.keepValues(later);
      if (now.length > 0) await this.sendValues(now);
      return;
    }
    await this.sendValues(values);
  }

  private async sendValues(values: TagValue[]): Promise<void> {
    const byHash = new Map<string, Record<string, string>>();
    for (const v of values) {
      const hash = this.key(`values:${this.deviceOf(v.tag)}`);
      let fields = byHash.get(hash);
      if (!fields) byHash.set(hash, (fields = {}));
      fields[v.tag] = encodeValue(v);
    }
    const m = this.cmd.multi();
    for (const [hash, fields] of byHash) m.hSet(hash, fields).sAdd(this.key('value-hashes'), hash);
    m.publish(this.key('values'), encodeBatch(values));
    await this.live((kept: TagValue[]) => this.keepValues(kept), values, () => m.exec());
  }

  async snapshot(): Promise<TagValue[]> {
    const hashes = await this.cmd.sMembers(this.key('value-hashes'));
    if (hashes.length === 0) return [];
    const m = this.cmd.multi();
    for (const h of hashes) m.hGetAll(h);
    const replies = (await m.exec()) as unknown as Record<string, string>[];
    const out: TagValue[] = [];
    for (const fields of replies) for (const [tag, text] of Object.entries(fields ?? {})) out.push(decodeValue(tag, text));
    return out;
  }

  async subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    return this.subscribeChannel(this.valueHandlers, handler);
  }

  async subscribeSamples(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription> {
    const devices = [...new Set(this.o.tagDevices?.values() ?? [])];
    if (devices.length === 0) throw new BusError('PLANTA_BUS_NO_DEVICES', "subscribeSamples on the Redis bus needs the tags' devices (option tagDevices)");
    const group = options.durable;
    const keys = devices.map((d) => this.samplesKey(d));
    const send = (args: string[]): Promise<unknown> => this.cmd.sendCommand(args);
    // Handed over and not acknowledged yet, oldest first; `base` is the position of the first.
    const delivered: [key: string, id: string][] = [];
    let base = 0;
    let trimmedAt = 0;
    const stop = await this.read({
      keys,
      group,
      ackAfter: false,
      onEntry: (key, entry) => {
        delivered.push([key, entry.id]);
        let values: TagValue[];
        try {
          values = decodeBatch(entry.fields.v ?? '[]');
        } catch (err) {
          this.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', key, entry: entry.id, err: (err as Error).message }, 'unreadable samples dropped');
          return;
        }
        const upTo = Number(entry.fields.u);
        handler({ device: devices[keys.indexOf(key)]!, ...(Number.isFinite(upTo) && entry.fields.u ? { upTo } : {}), values });
      },
    });
    return {
      position: () => base + delivered.length,
      acknowledge: async (at) => {
        const n = Math.min(at - base, delivered.length);
        if (n <= 0) return;
        const done = delivered.splice(0, n);
        base += n;
        const byKey = new Map<string, string[]>();
        for (const [key, id] of done) {
          const ids = byKey.get(key);
          if (ids) ids.push(id);
          else byKey.set(key, [id]);
        }
        try {
          await Promise.all([...byKey].map(([key, ids]) => send(['XACK', key, group, ...ids])));
        } catch (err) {
          // Acknowledged later with the next ones: an entry left pending would stop the trimming.
          delivered.unshift(...done);
          base -= n;
          throw err;
        }
        if (Date.now() - trimmedAt >= 5000) {
          trimmedAt = Date.now();
          await Promise.all(keys.map((k) => trimConsumed(send, k)));
        }
      },
      stop,
    };
  }

  async publishDeviceStatus(status: DeviceStatus): Promise<void> {
    if (this.holding(status.device)) return this.keepStatuses([status]);
    const json = JSON.stringify(status);
    await this.live((kept: DeviceStatus[]) => this.keepStatuses(kept), [status], () => this.cmd.multi().hSet(this.key('devices'), status.device, json).publish(this.key('devices'), json).exec());
  }

  async deviceStatuses(): Promise<DeviceStatus[]> {
    return (await this.cmd.hVals(this.key('devices'))).map((s) => JSON.parse(s) as DeviceStatus);
  }

  async subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.subscribeChannel(this.statusHandlers, handler);
  }

  async publishAlarmStates(states: AlarmState[]): Promise<void> {
    if (states.length === 0) return;
    if (!this.cmd.isReady) return this.keepAlarms(states);
    const fields = Object.fromEntries(states.map((s) => [s.id, JSON.stringify(s)]));
    await this.live((kept: AlarmState[]) => this.keepAlarms(kept), states, () => this.cmd.multi().hSet(this.key('alarms'), fields).publish(this.key('alarms'), JSON.stringify(states)).exec());
  }

  async alarmStates(): Promise<AlarmState[]> {
    return (await this.cmd.hVals(this.key('alarms'))).map((s) => JSON.parse(s) as AlarmState);
  }

  async subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.subscribeChannel(this.alarmHandlers, handler);
  }

  /** The three channels are subscribed once, on the first subscriber; the promise resolves when Redis confirmed. */
  private async subscribeChannel<H>(handlers: Set<H>, handler: H): Promise<Unsubscribe> {
    this.channels ??= Promise.all(
      (['values', 'devices', 'alarms'] as const).map((ch) => this.sub.subscribe(this.key(ch), (message: string) => this.onNotification(ch, message))),
    ).then(() => undefined);
    await this.channels;
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
    };
  }

  private onNotification(channel: Channel, message: string): void {
    if (this.held) this.held.push([channel, message]);
    else this.dispatch(channel, message);
  }

  /** Hands a notification to the subscribers; `newer` drops what the resync snapshot already superseded. */
  private dispatch(channel: Channel, message: string, newer?: Map<string, number>): void {
    const call = <T>(handlers: Set<(m: T, info: ValueBatchInfo) => void>, m: T, info = LIVE): void => {
      for (const h of handlers) {
        try {
          h(m, info);
        } catch (err) {
          this.subscriberErrors++;
          this.log?.error({ err }, 'a bus subscriber failed');
        }
      }
    };
    const fresh = (id: string, ts: number): boolean => newer === undefined || ts >= (newer.get(id) ?? -Infinity);
    try {
      if (channel === 'values') {
        const batch = decodeBatch(message).filter((v) => fresh(`v:${v.tag}`, v.serverTs));
        if (batch.length > 0) call(this.valueHandlers, batch);
      } else if (channel === 'devices') {
        const s = JSON.parse(message) as DeviceStatus;
        if (fresh(`d:${s.device}`, s.updatedAt)) call(this.statusHandlers, s);
      } else {
        const states = (JSON.parse(message) as AlarmState[]).filter((a) => fresh(`a:${a.id}`, a.changedAt));
        if (states.length > 0) call(this.alarmHandlers, states);
      }
    } catch (err) {
      this.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', channel, err: (err as Error).message }, 'unreadable notification dropped');
    }
  }

  /**
   * After the Pub/Sub connection came back: notifications may have been lost,
   * so the state is read again from the hashes and handed over whole; the
   * notifications that arrive meanwhile are held, then passed on unless the
   * snapshot already has something newer.
   */
  private resync(): void {
    if (this.closed) return;
    this.held ??= [];
    const generation = ++this.resyncGeneration;
    void (async () => {
      while (!this.closed && generation === this.resyncGeneration) {
        try {
          // Answered after the client's own resubscriptions: from here on, no notification is missed.
          const probe = this.key('resync');
          await this.sub.subscribe(probe, () => undefined);
          await this.sub.unsubscribe(probe);
          const [values, statuses, alarms] = await Promise.all([this.snapshot(), this.deviceStatuses(), this.alarmStates()]);
          if (generation !== this.resyncGeneration || this.closed) return;
          const newer = new Map<string, number>();
          for (const v of values) newer.set(`v:${v.tag}`, v.serverTs);
          for (const s of statuses) newer.set(`d:${s.device}`, s.updatedAt);
          for (const a of alarms) newer.set(`a:${a.id}`, a.changedAt);
          const held = this.held ?? [];
          this.held = undefined;
          this.metrics?.resyncs.inc();
          this.log?.info({ values: values.length, devices: statuses.length, alarms: alarms.length }, 'live state read again after a reconnect');
          for (const h of this.valueHandlers) this.guard(() => h(values, RESYNC));
          for (const s of statuses) for (const h of this.statusHandlers) this.guard(() => h(s));
          if (alarms.length > 0) for (const h of this.alarmHandlers) this.guard(() => h(alarms));
          for (const [channel, message] of held) this.dispatch(channel, message, newer);
          this.linkUp();
          return;
        } catch (err) {
          this.log?.debug({ err: (err as Error).message }, 'resync failed; trying again');
          await sleep(200);
        }
      }
    })();
  }

  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.subscriberErrors++;
      this.log?.error({ err }, 'a bus subscriber failed');
    }
  }

  // ------------------------------------------------------------ streams: commands, outcomes, journal

  private commandStream(device: string): string {
    return this.key(`commands:${device}`);
  }

  private claimKey(id: string): string {
    return this.key(`claim:${id}`);
  }

  /**
   * Runs a write again and again while the connection drops under it
   * (commands issued while Redis is away wait in the client's queue; only
   * those on the wire when it dropped fail). A stream entry may so be written
   * twice: a command's claim, an outcome's id and the journal's order make
   * that harmless. Gives up at `until` (a command's expiry) or when the bus closes.
   */
  private async persist(what: string, write: () => Promise<unknown>, until = Infinity): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (this.closed) throw new BusError('PLANTA_BUS_CLOSED', `${what}: the bus is closed`, { cause: err });
        if (Date.now() >= until) throw new BusError('PLANTA_BUS_CONNECTION', `${what}: ${(err as Error).message}`, { cause: err });
        this.log?.warn({ code: 'PLANTA_BUS_CONNECTION', what, attempt, err: (err as Error).message }, 'write to Redis failed; trying again');
        await sleep(reconnectDelay(attempt));
      }
    }
  }

  private xadd(key: string, field: string, value: string, until = Infinity): Promise<void> {
    return this.persist(`append to ${key}`, () => this.cmd.sendCommand(['XADD', key, 'MAXLEN', '~', this.maxLen, '*', field, value]), until);
  }

  /** Creates a consumer group (and its stream) if missing; `from` is where a new group starts. */
  private async ensureGroup(key: string, group: string, from: '$' | '0' = '$', force = false): Promise<void> {
    if (!force && this.groups.has(`${key} ${group}`)) return;
    try {
      await this.cmd.sendCommand(['XGROUP', 'CREATE', key, group, from, 'MKSTREAM']);
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groups.add(`${key} ${group}`);
  }

  /**
   * Without `acceptBy`, a command waits for the connection until its expiry.
   * With it, the command goes on the submit connection, which has no offline
   * queue: while Redis is away nothing is sent, then or later (refused at
   * once, PLANTA_BUS_NOT_QUEUED); sent and not confirmed by `acceptBy`, it is
   * PLANTA_BUS_UNCONFIRMED. The entry carries `acceptBy` on Redis's clock, and
   * a poller never executes an entry Redis stamped later (onCommand).
   */
  async submitCommand(request: CommandRequest): Promise<void> {
    const key = this.commandStream(request.device);
    if (request.acceptBy === undefined) {
      // The group exists before the first command: a command queued before its poller ever started waits for it.
      await this.ensureGroup(key, POLLERS);
      await this.xadd(key, 'c', JSON.stringify(request), request.expiresAt);
      return;
    }
    const { client: c, first } = this.submitConnection();
    // The connection's very first time: it may still be connecting.
    if (!c.isReady) await resolvesWithin(first, request.acceptBy - Date.now());
    const left = request.acceptBy - Date.now();
    if (!c.isReady || left <= 0) throw new BusError('PLANTA_BUS_NOT_QUEUED', `Redis at ${redactUrl(this.o.url)} is out of reach: the command was not sent to it`);
    const entry = JSON.stringify({ ...request, acceptBy: request.acceptBy + this.clockOffset });
    const sent = (async () => {
      if (!this.groups.has(`${key} ${POLLERS}`)) {
        await c.sendCommand(['XGROUP', 'CREATE', key, POLLERS, '$', 'MKSTREAM']).catch((err: Error) => {
          if (!/BUSYGROUP/.test(err.message)) throw err;
        });
        this.groups.add(`${key} ${POLLERS}`);
      }
      await c.sendCommand(['XADD', key, 'MAXLEN', '~', this.maxLen, '*', 'c', entry]);
    })();
    if (!(await resolvesWithin(sent, left))) {
      const err = await sent.then(() => undefined, (e: unknown) => e as Error);
      throw new BusError('PLANTA_BUS_UNCONFIRMED', `Redis did not confirm the command within ${left} ms${err ? ` (${err.message})` : ''}`, { cause: err });
    }
  }

  private submitConnection(): { client: Client; first: Promise<unknown> } {
    if (this.submitter) return this.submitter;
    const c = this.cmd.duplicate({ name: `${this.prefix}${this.consumer}:submit`.replace(/\s/g, '_'), disableOfflineQueue: true });
    this.watch(c, 'submit');
    // The requester's deadline is turned into Redis's time, measured on each connection (to half a round trip).
    c.on('ready', () => {
      const t0 = Date.now();
      c.sendCommand(['TIME']).then(
        (t) => {
          const [s, us] = (t as unknown as string[]).map(Number) as [number, number];
          this.clockOffset = Math.round(s * 1000 + us / 1000 - (t0 + Date.now()) / 2);
        },
        () => undefined,
      );
    });
    this.submitter = { client: c, first: c.connect() };
    return this.submitter;
  }

  async subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    const devices = options?.devices ?? this.o.devices;
    if (!devices || devices.length === 0) {
      throw new BusError('PLANTA_BUS_NO_DEVICES', 'subscribeCommands on the Redis bus needs the devices this process executes commands for (option devices)');
    }
    return this.read({
      keys: devices.map((d) => this.commandStream(d)),
      group: POLLERS,
      ackAfter: false,
      reclaimMs: this.o.reclaimMs ?? 2000,
      onEntry: (key, entry, recovered) => this.onCommand(key, entry, recovered, handler),
    });
  }

  private async onCommand(key: string, entry: StreamEntry, recovered: boolean, handler: (request: CommandRequest) => void): Promise<void> {
    let request: CommandRequest;
    try {
      request = JSON.parse(entry.fields.c ?? '') as CommandRequest;
      if (typeof request.id !== 'string' || typeof request.expiresAt !== 'number') throw new Error('no id or expiry');
    } catch (err) {
      this.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', key, entry: entry.id, err: (err as Error).message }, 'unreadable command dropped');
      await this.cmd.sendCommand(['XACK', key, POLLERS, entry.id]);
      return;
    }
    // Taken back from this process itself (a periodic reclaim): it is still being executed here.
    if (recovered && this.delivered.has(request.id)) return;
    const stamped = Number(entry.id.split('-')[0]);
    if (request.acceptBy !== undefined && stamped > request.acceptBy) {
      // Its requester was told it was not queued: it reached Redis too late (a stalled connection), so it never runs.
      this.log?.warn({ id: request.id, command: request.command, late: stamped - request.acceptBy }, 'a command that reached the bus after its acceptance deadline is dropped');
      await this.publishCommandOutcome(
        outcomeOf(request, 'expired', {
          code: 'PLANTA_COMMAND_NOT_QUEUED',
          reason: `not sent: it reached the bus ${stamped - request.acceptBy} ms after its requester was told it was not queued`,
        }),
      );
      await this.cmd.sendCommand(['XACK', key, POLLERS, entry.id]);
      return;
    }
    this.delivered.set(request.id, { key, entry: entry.id });
    if (recovered) {
      // Pending from before a restart: taken and not reported means it may have been written. Never again.
      const claim = await this.cmd.get(this.claimKey(request.id));
      if (claim?.startsWith('done:')) {
        this.delivered.delete(request.id);
        await this.cmd.sendCommand(['XACK', key, POLLERS, entry.id]);
        return;
      }
      if (claim?.startsWith('claimed:') || claim?.startsWith('writing:')) {
        const writing = claim.startsWith('writing:');
        this.log?.warn({ id: request.id, command: request.command, claim }, 'a command taken before a restart has no outcome: reported as interrupted, not sent again');
        await this.publishCommandOutcome(
          outcomeOf(request, writing ? 'unknown' : 'failed', {
            code: 'PLANTA_COMMAND_INTERRUPTED',
            reason: writing
              ? 'the poller stopped after it began writing and before it read the values back: the PLC may or may not have taken it — check the plant; it is not sent again'
              : 'the poller stopped while executing it; it is not sent again: check the PLC',
          }),
        );
        return;
      }
    }
    handler(request);
  }

  async releaseCommand(id: string): Promise<void> {
    // No longer "being executed here": the next reclaim (of its idle pending entry) delivers it again.
    this.delivered.delete(id);
  }

  async claimCommand(request: CommandRequest): Promise<CommandClaim> {
    const left = request.expiresAt - Date.now();
    if (left <= 0) return 'expired';
    // A device once leased here and not held now: no owner matches, the claim is refused.
    const owner = this.leases.get(request.device) ?? (this.leased.has(request.device) ? '\u0000lost' : '');
    const got = String(
      await this.cmd.sendCommand(['EVAL', CLAIM, '2', this.claimKey(request.id), this.leaseKey(request.device), `claimed:${this.consumer}`, String(left + CLAIM_RETENTION_MS), owner]),
    );
    if (got === 'LEASE') {
      // Another poller holds the device now: it takes the command over (its pending entry is reclaimed), this one leaves it alone.
      this.delivered.delete(request.id);
      return 'not-owner';
    }
    if (got !== 'OK') {
      // Another execution holds it and reports its outcome; this delivery is done.
      const d = this.delivered.get(request.id);
      this.delivered.delete(request.id);
      if (d) await this.cmd.sendCommand(['XACK', d.key, POLLERS, d.entry]);
      return 'duplicate';
    }
    // The claim may have waited on a reconnection: a command is never written late.
    return Date.now() >= request.expiresAt ? 'expired' : 'claimed';
  }

  async commandWriting(request: CommandRequest): Promise<void> {
    await this.cmd.set(this.claimKey(request.id), `writing:${this.consumer}`, { condition: 'XX', expiration: 'KEEPTTL' });
  }

  // ------------------------------------------------------------ device leases

  private leaseKey(device: string): string {
    return this.key(`lease:${device}`);
  }

  async acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    this.leased.add(device);
    const ok = Number(await this.cmd.sendCommand(['EVAL', ACQUIRE, '2', this.leaseKey(device), this.standbyKey(device), owner, String(ttlMs)])) === 1;
    if (ok) this.leases.set(device, owner);
    else this.leases.delete(device);
    this.leaseSettled(device, ok);
    return ok;
  }

  async renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    const ok = Number(await this.cmd.sendCommand(['EVAL', RENEW, '1', this.leaseKey(device), owner, String(ttlMs)])) === 1;
    if (ok) {
      this.leases.set(device, owner);
      this.leaseSettled(device, true);
    } else if (this.leases.get(device) === owner) this.leases.delete(device);
    // Not renewed: the key is gone or another poller's; the lease tries to take it again, which settles what waits.
    return ok;
  }

  async releaseDeviceLease(device: string, owner: string): Promise<void> {
    if (this.leases.get(device) === owner) this.leases.delete(device);
    this.unconfirmed.delete(device);
    await this.cmd.sendCommand(['EVAL', RELEASE, '2', this.leaseKey(device), this.standbyKey(device), owner]);
  }

  async deviceLeaseStandbys(device: string): Promise<string[]> {
    return ((await this.cmd.sendCommand(['EVAL', STANDBYS, '1', this.standbyKey(device)])) as string[]).map(String).sort();
  }

  private standbyKey(device: string): string {
    return this.key(`standby:${device}`);
  }

  async deviceLeaseHolder(device: string): Promise<string | null> {
    return this.cmd.get(this.leaseKey(device));
  }

  // ------------------------------------------------------------ requests to services

  async serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    return this.read({
      keys: [this.key(`rpc:${service}`)],
      group: SERVERS,
      ackAfter: true,
      onEntry: async (_key, entry) => {
        const r = JSON.parse(entry.fields.r ?? 'null') as { id: string; node: string; deadline: number } & ServiceRequest;
        // Nobody waits for it any more: an action is never carried out after its requester gave up.
        if (Date.now() >= r.deadline) return;
        const reply = await answer(handler, { op: r.op, body: r.body });
        await this.cmd.publish(this.key(`reply:${r.node}`), JSON.stringify({ id: r.id, reply }));
      },
    });
  }

  async request(service: string, request: ServiceRequest, timeoutMs: number): Promise<ServiceReply> {
    this.replies ??= this.sub.subscribe(this.key(`reply:${this.node}`), (message) => {
      try {
        const { id, reply } = JSON.parse(message) as { id: string; reply: ServiceReply };
        this.waiting.get(id)?.(reply);
      } catch (err) {
        this.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', err: (err as Error).message }, 'unreadable reply dropped');
      }
    });
    await this.replies;
    const id = randomUUID();
    const key = this.key(`rpc:${service}`);
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<ServiceReply>((resolve, reject) => {
        this.waiting.set(id, resolve);
        timer = setTimeout(
          () => reject(new BusError('PLANTA_BUS_NO_ANSWER', `the ${service} service did not answer within ${timeoutMs} ms (is its process running?)`)),
          timeoutMs,
        );
        // A group exists before the first request: one sent while the service restarts waits for it (until its deadline).
        this.ensureGroup(key, SERVERS)
          .then(() => this.cmd.sendCommand(['XADD', key, 'MAXLEN', '~', '10000', '*', 'r', JSON.stringify({ id, node: this.node, deadline, ...request })]))
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  async publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    await this.xadd(this.key('outcomes'), 'o', JSON.stringify(outcome));
    // A refused request's record is not the outcome of its id (which may be another user's command): it settles nothing.
    if (!FINAL_STATUSES.includes(outcome.status) || isRefusal(outcome)) return;
    const d = this.delivered.get(outcome.id);
    this.delivered.delete(outcome.id);
    // Marked done before acknowledged: a restart in between finds the outcome reported, not an interruption.
    const settle = ['EVAL', SETTLE, '1', this.claimKey(outcome.id), `done:${outcome.status}`, String(CLAIM_RETENTION_MS)];
    await this.persist(`settle command ${outcome.id}`, () => (d ? this.cmd.multi().addCommand(settle).xAck(d.key, POLLERS, d.entry).exec() : this.cmd.sendCommand(settle)));
  }

  async subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.read({
      keys: [this.key('outcomes')],
      ...durableRead(options),
      ackAfter: true,
      onEntry: (_key, entry) => handler(JSON.parse(entry.fields.o ?? 'null') as CommandOutcome),
    });
  }

  async publishJournal(entries: JournalEntry[]): Promise<void> {
    if (entries.length > 0) await this.xadd(this.key('journal'), 'j', JSON.stringify(entries));
  }

  async subscribeJournal(handler: EntryHandler<JournalEntry[]>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.read({
      keys: [this.key('journal')],
      ...durableRead(options),
      ackAfter: true,
      onEntry: (_key, entry) => handler(JSON.parse(entry.fields.j ?? '[]') as JournalEntry[]),
    });
  }

  /**
   * Reads streams on a connection of its own (reads block). Without a group
   * it follows the streams from now on, and resumes after the last entry seen
   * when the connection comes back. With a group it first takes back the
   * group's pending entries (left by a process that stopped), then reads new
   * ones; `ackAfter` acknowledges each entry once its handler returned.
   */
  private async read(o: {
    keys: string[];
    group?: string;
    ackAfter: boolean;
    /** With a group: every so often, take the entries pending this long with other consumers. */
    reclaimMs?: number;
    onEntry: (key: string, entry: StreamEntry, recovered: boolean) => unknown;
  }): Promise<Unsubscribe> {
    if (this.closed) throw new BusError('PLANTA_BUS_CLOSED', 'the bus is closed');
    const { keys, group } = o;
    const c = this.cmd.duplicate({ name: `${this.prefix}${this.consumer}:streams`.replace(/\s/g, '_') });
    this.watch(c, 'streams');
    await this.open(c);
    let stopped = false;
    const handle = async (key: string, entry: StreamEntry, recovered: boolean): Promise<void> => {
      try {
        await o.onEntry(key, entry, recovered);
      } catch (err) {
        // Failed because it is being stopped (a store it writes to is closing): taken again at the next start.
        if (stopped || this.closed) return;
        this.subscriberErrors++;
        this.log?.error({ err, key, entry: entry.id }, 'a stream subscriber failed');
      }
      if (group && o.ackAfter) await this.cmd.sendCommand(['XACK', key, group, entry.id]);
    };
    const ids: string[] = [];
    if (group) {
      for (const key of keys) await this.ensureGroup(key, group);
      for (const key of keys) await this.recover(key, group, (e) => handle(key, e, true));
    } else {
      for (const key of keys) {
        const last = parseEntries(await this.cmd.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', '1']));
        ids.push(last[0]?.id ?? '0-0');
      }
    }
    const count = ['COUNT', '100', 'BLOCK', String(this.blockMs), 'STREAMS', ...keys];
    let reclaimed = Date.now();
    const loop = async (): Promise<void> => {
      while (!stopped && !this.closed) {
        try {
          if (group && o.reclaimMs !== undefined && Date.now() - reclaimed >= o.reclaimMs) {
            reclaimed = Date.now();
            for (const key of keys) await this.recover(key, group, (e) => handle(key, e, true), o.reclaimMs);
          }
          const reply = group
            ? await c.sendCommand(['XREADGROUP', 'GROUP', group, this.consumer, ...count, ...keys.map(() => '>')])
            : await c.sendCommand(['XREAD', ...count, ...ids]);
          for (const [key, entries] of parseStreams(reply)) {
            for (const entry of entries) {
              if (!group) ids[keys.indexOf(key)] = entry.id;
              await handle(key, entry, false);
            }
          }
        } catch (err) {
          if (stopped || this.closed) break;
          const message = (err as Error).message;
          // The group is gone (Redis restarted without its data): make it again, from the stream's start.
          if (group && /NOGROUP/.test(message)) for (const key of keys) await this.ensureGroup(key, group, '0', true).catch(() => undefined);
          else this.log?.debug({ err: message, keys }, 'stream read failed; retrying');
          await sleep(100);
        }
      }
    };
    const running = loop();
    const stop: Unsubscribe = async () => {
      if (stopped) return;
      stopped = true;
      this.stops.delete(stop);
      c.destroy();
      await running;
    };
    this.stops.add(stop);
    return stop;
  }

  /** Takes every pending entry of a group (XAUTOCLAIM), oldest first; with `minIdleMs`, only those idle that long. */
  private async recover(key: string, group: string, each: (e: StreamEntry) => Promise<void>, minIdleMs = 0): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = (await this.cmd.sendCommand(['XAUTOCLAIM', key, group, this.consumer, String(minIdleMs), cursor, 'COUNT', '100'])) as unknown[];
      cursor = String(reply[0]);
      for (const e of parseEntries(reply[1])) await each(e);
    } while (cursor !== '0-0' && !this.closed);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopping = Promise.all([...[...this.stops].map((stop) => stop()), this.samples.stop()]);
    // With Redis out of reach, what waits for an answer waits in the client's offline queue: destroying the connections rejects it.
    const graceful = await settlesWithin(stopping, CLOSE_GRACE_MS);
    this.valueHandlers.clear();
    this.statusHandlers.clear();
    this.alarmHandlers.clear();
    if (this.submitter?.client.isOpen) this.submitter.client.destroy();
    this.linkHandlers.clear();
    for (const c of [this.sub, this.cmd]) {
      if (graceful && c.isReady && (await settlesWithin(c.close(), CLOSE_GRACE_MS))) continue;
      if (c.isOpen) c.destroy();
    }
    await stopping;
    // Sends that failed as the connection closed settle first.
    await new Promise((r) => setImmediate(r));
    this.samples.finish();
  }
}
