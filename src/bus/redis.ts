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
 *   P tag-spaces          hash: tag space id → its tag names (JSON), for frames           redis/values.ts
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
import { settlesWithin } from '../util/settle.js';
import { ComposedBus } from './composed.js';
import { RedisAlarms } from './redis/alarms.js';
import { RedisCommands } from './redis/commands.js';
import { RedisConnection, type RedisBusOptions } from './redis/connection.js';
import { LeaseHold } from './redis/hold.js';
import type { LinkPlace } from './redis/link.js';
import { RedisJournal } from './redis/journal.js';
import { RedisLeases } from './redis/leases.js';
import { LiveState } from './redis/live.js';
import { RedisRpc } from './redis/rpc.js';
import { SampleStreams, registerOutboxMetrics, samplesKey, subscribeSampleStreams } from './redis/samples.js';
import { Streams } from './redis/streams.js';
import { RedisValues } from './redis/values.js';

export type { RedisBusOptions } from './redis/connection.js';

/** With Sentinel, samples Redis took this long before a lost connection are sent again (SampleStreams.replicaWindowMs). */
const REPLICA_WINDOW_MS = 1000;

/** How long closing waits for readers and pending replies before it drops the connections. */
const CLOSE_GRACE_MS = 1000;

/** The roles on one connection, and what ties them: the leases this process holds decide when kept live state and samples go. */
function assemble(conn: RedisConnection) {
  const { o } = conn;
  const hold = new LeaseHold((device, held, waited) => {
    if (held) {
      if (waited) flushLive(device);
      return;
    }
    // Another poller polls the device now: what this one kept is older than that poller's.
    values.drop(device);
    samples.drop(device);
  });
  const live = new LiveState(conn);
  const streams = new Streams(conn);
  const samples = new SampleStreams({
    send: (args) => conn.cmd.sendCommand(args),
    ready: () => conn.cmd.isReady && !conn.closed,
    key: (device) => samplesKey(conn, device),
    deviceOf: (tag) => conn.deviceOf(tag),
    held: (device) => hold.unconfirmed.has(device),
    ...(o.outbox ? { outbox: o.outbox } : {}),
    ...(o.historyBacklogMs ? { backlogMs: o.historyBacklogMs } : {}),
    // Sentinel: what the master took just before it died may not be on the replica that replaces it.
    ...(conn.place.sentinel ? { replicaWindowMs: REPLICA_WINDOW_MS } : {}),
    ...(conn.log ? { log: conn.log } : {}),
  });
  if (o.registry && o.outbox && !o.registry.getSingleMetric('planta_bus_outbox_bytes')) registerOutboxMetrics(o.registry, o.outbox, samples);
  // Values before alarms: after a reconnect the state is handed over in this order.
  const values = new RedisValues(conn, live, hold, {
    publish: (batch, scan, rows) => samples.publishValues(batch, scan, rows),
    subscribe: (handler, options) => subscribeSampleStreams(conn, streams, handler, options),
  });
  const alarms = new RedisAlarms(conn, live);
  /** Publishes the live state kept meanwhile (of one device, or of every device not waiting), and forwards the outbox. */
  const flushLive = (only?: string): void => {
    if (!conn.cmd.isReady) return;
    values.flush(only);
    if (only === undefined) alarms.flush();
    samples.forward();
  };
  return {
    hold,
    live,
    samples,
    flushLive,
    values,
    alarms,
    journal: new RedisJournal(conn, streams),
    commands: new RedisCommands(conn, streams, hold),
    leases: new RedisLeases(conn, hold),
    rpc: new RedisRpc(conn, streams),
  };
}

export class RedisBus extends ComposedBus {
  readonly prefix: string;
  /** The samples streams' publisher side: what waits in the outbox, what was forwarded. */
  readonly samples: SampleStreams;

  private constructor(
    private readonly conn: RedisConnection,
    private readonly parts: ReturnType<typeof assemble>,
  ) {
    super(parts);
    this.prefix = conn.prefix;
    this.samples = parts.samples;
  }

  /** Connects (the command and the Pub/Sub connections); throws PLANTA_BUS_UNREACHABLE if Redis does not answer in time. */
  static async connect(o: RedisBusOptions): Promise<RedisBus> {
    const conn = await RedisConnection.create(o);
    const { cmd, sub } = conn;
    const parts = assemble(conn);
    // From the moment the connection is lost, a leased device's live state waits until its lease is confirmed again.
    for (const event of ['error', 'reconnecting']) cmd.on(event, () => parts.hold.holdAll());
    cmd.on('error', () => parts.samples.connectionLost());
    cmd.on('ready', () => {
      parts.leases.confirmHeld();
      parts.flushLive();
    });
    conn.watch(cmd, 'commands');
    conn.watch(sub, 'pubsub');
    parts.live.resyncOnReconnect();
    // After the resync's start above: a link is up again only once the live state was read again.
    parts.live.followLink();
    try {
      await Promise.all([conn.open(cmd), conn.open(sub)]);
    } catch (err) {
      cmd.destroy();
      sub.destroy();
      throw err;
    }
    // A poller knows at once whether a historian reads its devices' samples.
    if (o.devices) await parts.samples.check(o.devices).catch(() => undefined);
    return new RedisBus(conn, parts);
  }

  /** The Redis node this process uses (the master, with Sentinel), and when it last moved. */
  get place(): LinkPlace {
    return this.conn.place;
  }

  /** Errors thrown by subscribers: they never reach the publisher. */
  get subscriberErrors(): number {
    return this.conn.subscriberErrors;
  }

  async close(): Promise<void> {
    const { conn, parts } = this;
    if (conn.closed) return;
    conn.closed = true;
    const stopping = Promise.all([...[...conn.stops].map((stop) => stop()), parts.samples.stop()]);
    // With Redis out of reach, what waits for an answer waits in the client's offline queue: destroying the connections rejects it.
    const graceful = await settlesWithin(stopping, CLOSE_GRACE_MS);
    parts.values.clear();
    parts.alarms.clear();
    parts.commands.close();
    parts.live.clear();
    for (const c of [conn.sub, conn.cmd]) {
      if (graceful && c.isReady && (await settlesWithin(c.close(), CLOSE_GRACE_MS))) continue;
      if (c.isOpen) c.destroy();
    }
    await stopping;
    // Sends that failed as the connection closed settle first.
    await new Promise((r) => setImmediate(r));
    parts.samples.finish();
  }
}
