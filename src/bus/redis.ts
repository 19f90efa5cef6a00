/**
 * The bus on Redis: Planta's processes (pollers, web nodes, the alarm
 * engine, the historian) on one or several machines meet here. Each role is
 * implemented in a file of its own in redis/; this class puts them on one
 * pair of connections.
 *
 * Keys, all under the plant's prefix P (`planta:<plant>:`, so several plants
 * share one Redis):
 *   P values:<device>     hash: tag → last value, quality, timestamps (redis/codec.ts)   redis/values.ts
 *   P value-hashes        set: the value hashes, for a snapshot                          redis/values.ts
 *   P devices             hash: device → communication status (JSON)                     redis/values.ts
 *   P samples:<device>    stream of the device's value batches for the historian         redis/samples.ts
 *   P alarms              hash: alarm id → state (JSON)                                  redis/alarms.ts
 *   P journal             stream of journal batches                                      redis/journal.ts
 *   P commands:<device>   stream of operator commands; consumer group "pollers"          redis/commands.ts
 *   P claim:<command id>  the at-most-once claim of a command                            redis/commands.ts
 *   P outcomes            stream of command outcomes                                     redis/commands.ts
 *   P lease:<device>      the device's lease, held by one poller                         redis/leases.ts
 *   P standby:<device>    sorted set: pollers waiting for the lease                      redis/leases.ts
 *   P rpc:<service>       stream of requests to a service; answers on channel P reply:<node>   redis/rpc.ts
 * Channels P values, P devices, P alarms carry change notifications,
 * fire-and-forget: when the Pub/Sub connection comes back, the bus reads the
 * hashes again and hands every subscriber the whole state (redis/live.ts).
 *
 * A poller cut off from Redis keeps polling: its live state waits in memory
 * (newest per tag), its samples in its outbox on disk; both are sent when
 * Redis is back — for a leased device only once this process has its lease
 * again, and dropped if another poller took the device over meanwhile
 * (redis/hold.ts).
 */
import type { TagValue } from '../tags/types.js';
import { settlesWithin } from '../util/settle.js';
import { RedisAlarms } from './redis/alarms.js';
import { RedisCommands } from './redis/commands.js';
import { RedisConnection, type RedisBusOptions } from './redis/connection.js';
import { LeaseHold } from './redis/hold.js';
import { RedisJournal } from './redis/journal.js';
import { RedisLeases } from './redis/leases.js';
import { LiveState } from './redis/live.js';
import { RedisRpc } from './redis/rpc.js';
import { SampleStreams, registerOutboxMetrics, samplesKey, subscribeSampleStreams } from './redis/samples.js';
import { Streams } from './redis/streams.js';
import { RedisValues } from './redis/values.js';
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

export { LINK_OPTIONS, SILENT_LINK_MS, reconnectDelay, type RedisBusOptions } from './redis/connection.js';

/** How long closing waits for readers and pending replies before it drops the connections. */
const CLOSE_GRACE_MS = 1000;

export class RedisBus implements Bus {
  readonly prefix: string;
  /** The samples streams' publisher side: what waits in the outbox, what was forwarded. */
  readonly samples: SampleStreams;
  private readonly hold: LeaseHold;
  private readonly live: LiveState;
  private readonly streams: Streams;
  private readonly values: RedisValues;
  private readonly alarms: RedisAlarms;
  private readonly journal: RedisJournal;
  private readonly commands: RedisCommands;
  private readonly leases: RedisLeases;
  private readonly rpc: RedisRpc;

  private constructor(private readonly conn: RedisConnection) {
    const { o } = conn;
    this.prefix = o.prefix;
    this.hold = new LeaseHold((device, held, waited) => this.leaseSettled(device, held, waited));
    this.live = new LiveState(conn);
    this.streams = new Streams(conn);
    // Values before alarms: after a reconnect the state is handed over in this order.
    this.values = new RedisValues(conn, this.live, this.hold);
    this.alarms = new RedisAlarms(conn, this.live);
    this.journal = new RedisJournal(conn, this.streams);
    this.commands = new RedisCommands(conn, this.streams, this.hold);
    this.leases = new RedisLeases(conn, this.hold);
    this.rpc = new RedisRpc(conn, this.streams);
    this.samples = new SampleStreams({
      send: (args) => conn.cmd.sendCommand(args),
      ready: () => conn.cmd.isReady && !conn.closed,
      key: (device) => samplesKey(conn, device),
      deviceOf: (tag) => conn.deviceOf(tag),
      held: (device) => this.hold.unconfirmed.has(device),
      ...(o.outbox ? { outbox: o.outbox } : {}),
      ...(o.historyBacklogMs ? { backlogMs: o.historyBacklogMs } : {}),
      ...(conn.log ? { log: conn.log } : {}),
    });
    if (o.registry && o.outbox && !o.registry.getSingleMetric('planta_bus_outbox_bytes')) registerOutboxMetrics(o.registry, o.outbox, this.samples);
  }

  /** Connects (the command and the Pub/Sub connections); throws PLANTA_BUS_UNREACHABLE if Redis does not answer in time. */
  static async connect(o: RedisBusOptions): Promise<RedisBus> {
    const conn = await RedisConnection.create(o);
    const { cmd, sub } = conn;
    const bus = new RedisBus(conn);
    // From the moment the connection is lost, a leased device's live state waits until its lease is confirmed again.
    for (const event of ['error', 'reconnecting']) cmd.on(event, () => bus.hold.holdAll());
    cmd.on('ready', () => {
      bus.leases.confirmHeld();
      bus.flushLive();
    });
    conn.watch(cmd, 'commands');
    conn.watch(sub, 'pubsub');
    bus.live.resyncOnReconnect();
    // After the resync's start above: a link is up again only once the live state was read again.
    bus.live.followLink();
    try {
      await Promise.all([conn.open(cmd), conn.open(sub)]);
    } catch (err) {
      cmd.destroy();
      sub.destroy();
      throw err;
    }
    // A poller knows at once whether a historian reads its devices' samples.
    if (o.devices) await bus.samples.check(o.devices).catch(() => undefined);
    return bus;
  }

  /** Errors thrown by subscribers: they never reach the publisher. */
  get subscriberErrors(): number {
    return this.conn.subscriberErrors;
  }

  /** Publishes the live state kept meanwhile (of one device, or of every device not waiting), and forwards the outbox. */
  private flushLive(only?: string): void {
    if (!this.conn.cmd.isReady) return;
    this.values.flush(only);
    if (only === undefined) this.alarms.flush();
    this.samples.forward();
  }

  /** A leased device's lease is confirmed (what it kept is sent) or lost to another poller (what it kept is dropped). */
  private leaseSettled(device: string, held: boolean, waited: boolean): void {
    if (held) {
      if (waited) this.flushLive(device);
      return;
    }
    this.values.drop(device);
    this.samples.drop(device);
  }

  // ValueBus: live values and statuses in redis/values.ts, samples in redis/samples.ts
  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length === 0 && !scan) return;
    this.samples.publishValues(values, scan);
    await this.values.publishValues(values);
  }
  snapshot(): Promise<TagValue[]> {
    return this.values.snapshot();
  }
  subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    return this.values.subscribeValues(handler);
  }
  subscribeSamples(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription> {
    return subscribeSampleStreams(this.conn, this.streams, handler, options);
  }
  subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    return this.values.subscribeLink(handler);
  }
  publishDeviceStatus(status: DeviceStatus): Promise<void> {
    return this.values.publishDeviceStatus(status);
  }
  deviceStatuses(): Promise<DeviceStatus[]> {
    return this.values.deviceStatuses();
  }
  subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.values.subscribeDeviceStatus(handler);
  }

  // CommandBus, CommandExecutionBus, OutcomeBus
  submitCommand(request: CommandRequest): Promise<void> {
    return this.commands.submitCommand(request);
  }
  subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    return this.commands.subscribeCommands(handler, options);
  }
  claimCommand(request: CommandRequest): Promise<CommandClaim> {
    return this.commands.claimCommand(request);
  }
  releaseCommand(id: string): Promise<void> {
    return this.commands.releaseCommand(id);
  }
  commandWriting(request: CommandRequest): Promise<void> {
    return this.commands.commandWriting(request);
  }
  publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    return this.commands.publishCommandOutcome(outcome);
  }
  subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.commands.subscribeCommandOutcomes(handler, options);
  }

  // LeaseBus
  acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.leases.acquireDeviceLease(device, owner, ttlMs);
  }
  renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.leases.renewDeviceLease(device, owner, ttlMs);
  }
  releaseDeviceLease(device: string, owner: string): Promise<void> {
    return this.leases.releaseDeviceLease(device, owner);
  }
  deviceLeaseHolder(device: string): Promise<string | null> {
    return this.leases.deviceLeaseHolder(device);
  }
  deviceLeaseStandbys(device: string): Promise<string[]> {
    return this.leases.deviceLeaseStandbys(device);
  }

  // AlarmBus, JournalBus
  publishAlarmStates(states: AlarmState[]): Promise<void> {
    return this.alarms.publishAlarmStates(states);
  }
  alarmStates(): Promise<AlarmState[]> {
    return this.alarms.alarmStates();
  }
  subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.alarms.subscribeAlarmStates(handler);
  }
  publishJournal(entries: JournalEntry[]): Promise<void> {
    return this.journal.publishJournal(entries);
  }
  subscribeJournal(handler: EntryHandler<JournalEntry[]>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.journal.subscribeJournal(handler, options);
  }

  // RpcBus
  serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    return this.rpc.serve(service, handler);
  }
  request(service: string, request: ServiceRequest, timeoutMs: number): Promise<ServiceReply> {
    return this.rpc.request(service, request, timeoutMs);
  }

  async close(): Promise<void> {
    const { conn } = this;
    if (conn.closed) return;
    conn.closed = true;
    const stopping = Promise.all([...[...conn.stops].map((stop) => stop()), this.samples.stop()]);
    // With Redis out of reach, what waits for an answer waits in the client's offline queue: destroying the connections rejects it.
    const graceful = await settlesWithin(stopping, CLOSE_GRACE_MS);
    this.values.clear();
    this.alarms.clear();
    this.commands.close();
    this.live.clear();
    for (const c of [conn.sub, conn.cmd]) {
      if (graceful && c.isReady && (await settlesWithin(c.close(), CLOSE_GRACE_MS))) continue;
      if (c.isOpen) c.destroy();
    }
    await stopping;
    // Sends that failed as the connection closed settle first.
    await new Promise((r) => setImmediate(r));
    this.samples.finish();
  }
}
