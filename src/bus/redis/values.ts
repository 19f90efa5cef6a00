/**
 * The live part of the value role on Redis: each device's last values in
 * its hash (`P values:<device>`, listed in the set `P value-hashes`), device
 * statuses in `P devices`, changes on the channels `P values` and
 * `P devices`. The samples for the historian are samples.ts's, handed in
 * by redis.ts as a SampleSide.
 *
 * A poller cut off from Redis keeps polling: its live state waits in memory
 * (newest per tag) and is sent when Redis is back — for a leased device only
 * once this process has its lease again, and dropped if another poller took
 * the device over meanwhile.
 */
import { type TagSpace, tagSpace } from '../../tags/space.js';
import type { TagValue } from '../../tags/types.js';
import type { BusLink, DeviceStatus, SampleBatch, SampleSubscription, ScanInfo, Unsubscribe, ValueBatchInfo, ValueBus } from '../types.js';
import { type FrameHandler, LIVE, type ValueHandler, ValueSubscribers } from '../value-subscribers.js';
import { type EncodedScan, decodeBatch, decodeValue, encodeScan, frameValues, isFrame, parseFrame } from './codec.js';
import type { RedisConnection } from './connection.js';
import type { LeaseHold } from './hold.js';
import { ALL, type LiveState } from './live.js';

const RESYNC: ValueBatchInfo = Object.freeze({ resync: true });
const SENT = Object.freeze({ direction: 'sent' });
const RECEIVED = Object.freeze({ direction: 'received' });
const SENT_STAGE = Object.freeze({ stage: 'sent' });
const RECEIVED_STAGE = Object.freeze({ stage: 'received' });

/** The samples half of the value role (samples.ts). */
export interface SampleSide {
  /** Sends published values to the samples streams (never throws, never waits for Redis); `rows`: a scan report's, encoded already. */
  publish(values: TagValue[], scan?: ScanInfo, rows?: () => string): void;
  subscribe(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription>;
}

/** A value notification held back, with the filter LiveState passed it with. */
type Held = [message: string, fresh: (v: TagValue) => boolean];
/** How often a poller writes its tag space again, even on one connection: an entry Redis lost comes back within this. */
const SPACE_REWRITE_MS = 60_000;

export class RedisValues implements ValueBus {
  /** Frames go to them only in this process's tag space. */
  private readonly valueSubscribers: ValueSubscribers;
  private readonly statusHandlers = new Set<(status: DeviceStatus) => void>();
  /** Live state not published (Redis away, or the device's lease not confirmed since): sent when it can be, newest per key. */
  private readonly unsent = { values: new Map<string, Map<string, TagValue>>(), devices: new Map<string, DeviceStatus>() };

  /** This process's tag space (the configuration's tags, in order): a scan report goes as a frame in it. */
  private readonly space: TagSpace | undefined;
  /** The names of other tag spaces seen in frames (a poller with another configuration), read from `P tag-spaces`. */
  private readonly spaces = new Map<string, readonly string[]>();
  /** Tag spaces Redis did not have, and until when they are not asked for again. */
  private readonly missing = new Map<string, number>();
  /** Notifications that arrived while a tag space's names were being read, passed on in order once they are in. */
  private waiting: Held[] | undefined;
  /** When this process last wrote its tag space to `P tag-spaces` (0: again, after every reconnection: Redis may have restarted empty). */
  private spaceWrittenAt = 0;

  constructor(
    private readonly conn: RedisConnection,
    private readonly live: LiveState,
    private readonly hold: LeaseHold,
    private readonly samples: SampleSide,
  ) {
    this.valueSubscribers = new ValueSubscribers((call) => conn.guard(call));
    this.space = conn.o.tagDevices ? tagSpace([...conn.o.tagDevices.keys()]) : undefined;
    conn.cmd.on('ready', () => (this.spaceWrittenAt = 0));
    live.add<TagValue>({
      name: 'values',
      read: () => this.snapshot(),
      stamp: (v) => [v.tag, v.serverTs],
      handOver: (values) => {
        this.valueSubscribers.values(values, RESYNC);
      },
      dispatch: (message, fresh) => {
        if (this.waiting) this.waiting.push([message, fresh]);
        else this.receive(message, fresh);
      },
    });
    live.add<DeviceStatus>({
      name: 'devices',
      read: () => this.deviceStatuses(),
      stamp: (s) => [s.device, s.updatedAt],
      handOver: (statuses) => {
        for (const s of statuses) for (const h of this.statusHandlers) conn.guard(() => h(s));
      },
      dispatch: (message, fresh) => {
        const s = JSON.parse(message) as DeviceStatus;
        if (fresh(s)) for (const h of this.statusHandlers) conn.guard(() => h(s));
      },
    });
  }

  /** A value notification: a frame (one device's scan report), or a list of rows. */
  private receive(message: string, fresh: (v: TagValue) => boolean): void {
    if (!isFrame(message)) return this.deliver(decodeBatch(message), fresh);
    const frame = parseFrame(message);
    this.received(frame.t);
    const names = frame.space === this.space?.id ? this.space.names : this.spaces.get(frame.space);
    if (!names) return this.awaitSpace(frame.space, message, fresh);
    let decoded: TagValue[] | undefined;
    const values = (): TagValue[] => (decoded ??= frameValues(frame, names));
    if (fresh !== ALL || names !== this.space?.names) return this.deliver(values(), fresh, false);
    this.valueSubscribers.frame({ device: frame.device, space: frame.space, delta: frame.delta, serverTs: frame.serverTs, values });
  }

  private received(sourceTs: number): void {
    const metrics = this.conn.metrics;
    if (!metrics) return;
    metrics.batches.inc(RECEIVED);
    metrics.lag.observe(RECEIVED_STAGE, (Date.now() - sourceTs) / 1000);
  }

  private deliver(all: TagValue[], fresh: (v: TagValue) => boolean, count = true): void {
    if (count && all.length > 0) this.received(all[0]!.sourceTs);
    const batch = fresh === ALL ? all : all.filter(fresh);
    if (batch.length > 0) this.valueSubscribers.values(batch, LIVE);
  }

  /**
   * A frame in a tag space this process does not know (its poller has another configuration): the space's names are
   * read from `P tag-spaces`, which the poller wrote before its first frame; meanwhile every value notification waits,
   * so they are passed on in order. A space Redis does not have (it lost it) costs the frames that waited for it: the
   * values are read again from the hashes instead, and the space is asked for again 5 s later at the earliest.
   */
  private awaitSpace(space: string, message: string, fresh: (v: TagValue) => boolean): void {
    if ((this.missing.get(space) ?? 0) > Date.now()) return;
    this.conn.log?.info({ space, own: this.space?.id }, 'value frames in another tag space (a poller with other tags, or in another order): decoded by name');
    const waiting: Held[] = [[message, fresh]];
    this.waiting = waiting;
    const { conn } = this;
    void conn.cmd
      .sendCommand(['HGET', conn.key('tag-spaces'), space])
      .then((json) => {
        const names = typeof json === 'string' ? (JSON.parse(json) as unknown) : undefined;
        if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error('not in Redis');
        this.spaces.set(space, names);
      })
      .catch((err: unknown) => {
        this.missing.set(space, Date.now() + 5000);
        conn.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', space, err: (err as Error).message }, 'value frames of an unknown tag space dropped; the values are read again');
        this.live.resync();
      })
      .finally(() => {
        this.waiting = undefined;
        waiting.forEach((held) => {
          // A frame of yet another unknown space starts a wait of its own: what follows it waits with it.
          if (this.waiting) this.waiting.push(held);
          else conn.guard(() => this.receive(...held));
        });
      });
  }

  /** Whether a device's live state must wait: Redis away, or its lease not confirmed since the connection came back. */
  private holding(device: string): boolean {
    return !this.conn.cmd.isReady || this.hold.unconfirmed.has(device);
  }

  /**
   * Samples first (to their streams, without waiting), then the live state: the devices' hashes and the values
   * channel. A scan report (`scan`) is one device's values: one HSET of its hash and one PUBLISH, in one MULTI,
   * each value serialised once for the three.
   */
  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length === 0 && !scan) return;
    const encoded = scan && values.length > 0 ? this.encode(values, scan.device, true) : undefined;
    this.samples.publish(values, scan, encoded?.rows);
    if (values.length === 0) return;
    if (!this.conn.cmd.isReady || this.hold.unconfirmed.size > 0) {
      if (scan) return this.holding(scan.device) ? this.keepValues(values) : this.sendValues(values, scan.device, encoded);
      const now: TagValue[] = [];
      const later: TagValue[] = [];
      for (const v of values) (this.holding(this.conn.deviceOf(v.tag)) ? later : now).push(v);
      if (later.length > 0) this.keepValues(later);
      if (now.length > 0) await this.sendValues(now);
      return;
    }
    await this.sendValues(values, scan?.device, encoded);
  }

  private encode(values: readonly TagValue[], device: string, scan: boolean): EncodedScan {
    return encodeScan(values, this.conn.key(`values:${device}`), device, scan ? this.space : undefined);
  }

  /**
   * `device`: every value is of that device (a scan report, `encoded` already: a frame when its values are plain);
   * else each value goes to its own device's hash.
   */
  private async sendValues(values: TagValue[], device?: string, encoded?: EncodedScan): Promise<void> {
    const { conn } = this;
    const scans = device !== undefined ? [encoded ?? this.encode(values, device, true)] : [...this.byDevice(values)].map(([d, vs]) => this.encode(vs, d, false));
    const m = conn.cmd.multi();
    const messages: string[] = [];
    for (const { hset, message } of scans) {
      m.addCommand(hset).sAdd(conn.key('value-hashes'), hset[1]!);
      messages.push(message);
    }
    const [first] = messages;
    if (isFrame(first!)) {
      // Before the first frame on this connection, and now and then: the names of its tag space, for a web node with another configuration.
      const now = Date.now();
      if (now - this.spaceWrittenAt >= SPACE_REWRITE_MS) {
        m.hSet(conn.key('tag-spaces'), this.space!.id, JSON.stringify(this.space!.names));
        this.spaceWrittenAt = now;
      }
      m.publish(conn.key('values'), first!);
    } else {
      // The notification is every group's rows in one list (each message is "[rows]").
      m.publish(conn.key('values'), messages.length === 1 ? first! : `[${messages.map((b) => b.slice(1, -1)).join(',')}]`);
    }
    const sourceTs = values[0]!.sourceTs;
    await this.live.publish(
      (kept: TagValue[]) => this.keepValues(kept),
      values,
      () =>
        m.exec().then(() => {
          if (!conn.metrics || device === undefined) return;
          conn.metrics.batches.inc(SENT);
          conn.metrics.lag.observe(SENT_STAGE, (Date.now() - sourceTs) / 1000);
        }),
    );
  }

  private byDevice(values: TagValue[]): Map<string, TagValue[]> {
    const out = new Map<string, TagValue[]>();
    for (const v of values) {
      const d = this.conn.deviceOf(v.tag);
      const list = out.get(d);
      if (list) list.push(v);
      else out.set(d, [v]);
    }
    return out;
  }

  async snapshot(): Promise<TagValue[]> {
    const { cmd } = this.conn;
    const hashes = await cmd.sMembers(this.conn.key('value-hashes'));
    if (hashes.length === 0) return [];
    const m = cmd.multi();
    for (const h of hashes) m.hGetAll(h);
    const replies = (await m.exec()) as unknown as Record<string, string>[];
    const out: TagValue[] = [];
    for (const fields of replies) for (const [tag, text] of Object.entries(fields ?? {})) out.push(decodeValue(tag, text));
    return out;
  }

  subscribeValues(handler: ValueHandler, frames?: FrameHandler): Promise<Unsubscribe> {
    return this.live.subscribe('values', this.valueSubscribers.with(frames), handler);
  }

  subscribeSamples(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription> {
    return this.samples.subscribe(handler, options);
  }

  subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    return this.live.subscribeLink(handler);
  }

  async publishDeviceStatus(status: DeviceStatus): Promise<void> {
    if (this.holding(status.device)) return this.keepStatuses([status]);
    const json = JSON.stringify(status);
    const { cmd } = this.conn;
    await this.live.publish(
      (kept: DeviceStatus[]) => this.keepStatuses(kept),
      [status],
      () => cmd.multi().hSet(this.conn.key('devices'), status.device, json).publish(this.conn.key('devices'), json).exec(),
    );
  }

  async deviceStatuses(): Promise<DeviceStatus[]> {
    return (await this.conn.cmd.hVals(this.conn.key('devices'))).map((s) => JSON.parse(s) as DeviceStatus);
  }

  subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.live.subscribe('devices', this.statusHandlers, handler);
  }

  private keepValues(values: TagValue[]): void {
    for (const v of values) {
      const device = this.conn.deviceOf(v.tag);
      let m = this.unsent.values.get(device);
      if (!m) this.unsent.values.set(device, (m = new Map()));
      m.set(v.tag, v);
    }
  }

  private keepStatuses(statuses: DeviceStatus[]): void {
    for (const s of statuses) this.unsent.devices.set(s.device, s);
  }

  /** Publishes what was kept meanwhile (of one device, or of every device not waiting for its lease). */
  flush(only?: string): void {
    for (const [device, m] of this.unsent.values) {
      if ((only !== undefined && device !== only) || this.hold.unconfirmed.has(device)) continue;
      this.unsent.values.delete(device);
      void this.sendValues([...m.values()]);
    }
    for (const [device, s] of this.unsent.devices) {
      if ((only !== undefined && device !== only) || this.hold.unconfirmed.has(device)) continue;
      this.unsent.devices.delete(device);
      void this.publishDeviceStatus(s);
    }
  }

  /** Another poller polls the device now: what this one kept is older than that poller's. */
  drop(device: string): void {
    this.unsent.values.delete(device);
    this.unsent.devices.delete(device);
  }

  /** The bus closes: no subscriber is called again. */
  clear(): void {
    this.valueSubscribers.clear();
    this.statusHandlers.clear();
  }
}
