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
import type { TagValue } from '../../tags/types.js';
import type { BusLink, DeviceStatus, SampleBatch, SampleSubscription, ScanInfo, Unsubscribe, ValueBatchInfo, ValueBus } from '../types.js';
import { decodeBatch, decodeValue, encodeBatch, encodeValue } from './codec.js';
import type { RedisConnection } from './connection.js';
import type { LeaseHold } from './hold.js';
import type { LiveState } from './live.js';

const LIVE: ValueBatchInfo = Object.freeze({ resync: false });
const RESYNC: ValueBatchInfo = Object.freeze({ resync: true });

/** The samples half of the value role (samples.ts). */
export interface SampleSide {
  /** Sends published values to the samples streams (never throws, never waits for Redis). */
  publish(values: TagValue[], scan?: ScanInfo): void;
  subscribe(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription>;
}

export class RedisValues implements ValueBus {
  private readonly valueHandlers = new Set<(values: TagValue[], info: ValueBatchInfo) => void>();
  private readonly statusHandlers = new Set<(status: DeviceStatus) => void>();
  /** Live state not published (Redis away, or the device's lease not confirmed since): sent when it can be, newest per key. */
  private readonly unsent = { values: new Map<string, Map<string, TagValue>>(), devices: new Map<string, DeviceStatus>() };

  constructor(
    private readonly conn: RedisConnection,
    private readonly live: LiveState,
    private readonly hold: LeaseHold,
    private readonly samples: SampleSide,
  ) {
    live.add<TagValue>({
      name: 'values',
      read: () => this.snapshot(),
      stamp: (v) => [v.tag, v.serverTs],
      handOver: (values) => {
        for (const h of this.valueHandlers) conn.guard(() => h(values, RESYNC));
      },
      dispatch: (message, fresh) => {
        const batch = decodeBatch(message).filter(fresh);
        if (batch.length > 0) for (const h of this.valueHandlers) conn.guard(() => h(batch, LIVE));
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

  /** Whether a device's live state must wait: Redis away, or its lease not confirmed since the connection came back. */
  private holding(device: string): boolean {
    return !this.conn.cmd.isReady || this.hold.unconfirmed.has(device);
  }

  /** Samples first (to their streams, without waiting), then the live state: the devices' hashes and the values channel. */
  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length === 0 && !scan) return;
    this.samples.publish(values, scan);
    if (values.length === 0) return;
    if (!this.conn.cmd.isReady || this.hold.unconfirmed.size > 0) {
      const now: TagValue[] = [];
      const later: TagValue[] = [];
      for (const v of values) (this.holding(this.conn.deviceOf(v.tag)) ? later : now).push(v);
      if (later.length > 0) this.keepValues(later);
      if (now.length > 0) await this.sendValues(now);
      return;
    }
    await this.sendValues(values);
  }

  private async sendValues(values: TagValue[]): Promise<void> {
    const byHash = new Map<string, Record<string, string>>();
    for (const v of values) {
      const hash = this.conn.key(`values:${this.conn.deviceOf(v.tag)}`);
      let fields = byHash.get(hash);
      if (!fields) byHash.set(hash, (fields = {}));
      fields[v.tag] = encodeValue(v);
    }
    const m = this.conn.cmd.multi();
    for (const [hash, fields] of byHash) m.hSet(hash, fields).sAdd(this.conn.key('value-hashes'), hash);
    m.publish(this.conn.key('values'), encodeBatch(values));
    await this.live.publish((kept: TagValue[]) => this.keepValues(kept), values, () => m.exec());
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

  subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    return this.live.subscribe(this.valueHandlers, handler);
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
    return this.live.subscribe(this.statusHandlers, handler);
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
    this.valueHandlers.clear();
    this.statusHandlers.clear();
  }
}
