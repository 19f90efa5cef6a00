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
import { decodeBatch, decodeValue, encodeForHash } from './codec.js';
import type { RedisConnection } from './connection.js';
import type { LeaseHold } from './hold.js';
import { ALL, type LiveState } from './live.js';

const LIVE: ValueBatchInfo = Object.freeze({ resync: false });
const RESYNC: ValueBatchInfo = Object.freeze({ resync: true });
const SENT = Object.freeze({ direction: 'sent' });
const RECEIVED = Object.freeze({ direction: 'received' });
const SENT_STAGE = Object.freeze({ stage: 'sent' });
const RECEIVED_STAGE = Object.freeze({ stage: 'received' });

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
        const all = decodeBatch(message);
        const metrics = conn.metrics;
        if (metrics && all.length > 0) {
          metrics.batches.inc(RECEIVED);
          metrics.lag.observe(RECEIVED_STAGE, (Date.now() - all[0]!.sourceTs) / 1000);
        }
        const batch = fresh === ALL ? all : all.filter(fresh);
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

  /**
   * Samples first (to their streams, without waiting), then the live state: the devices' hashes and the values
   * channel. A scan report (`scan`) is one device's values: one HSET of its hash and one PUBLISH, in one MULTI,
   * each value serialised once for both.
   */
  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length === 0 && !scan) return;
    this.samples.publish(values, scan);
    if (values.length === 0) return;
    if (!this.conn.cmd.isReady || this.hold.unconfirmed.size > 0) {
      if (scan) return this.holding(scan.device) ? this.keepValues(values) : this.sendValues(values, scan.device);
      const now: TagValue[] = [];
      const later: TagValue[] = [];
      for (const v of values) (this.holding(this.conn.deviceOf(v.tag)) ? later : now).push(v);
      if (later.length > 0) this.keepValues(later);
      if (now.length > 0) await this.sendValues(now);
      return;
    }
    await this.sendValues(values, scan?.device);
  }

  /** `device`: every value is of that device (a scan report); else each value goes to its own device's hash. */
  private async sendValues(values: TagValue[], device?: string): Promise<void> {
    const { conn } = this;
    const groups: [string, TagValue[]][] = device !== undefined ? [[device, values]] : [...this.byDevice(values)];
    const m = conn.cmd.multi();
    const batches: string[] = [];
    for (const [d, vs] of groups) {
      const hash = conn.key(`values:${d}`);
      const { fields, batch } = encodeForHash(vs);
      m.addCommand(['HSET', hash].concat(fields)).sAdd(conn.key('value-hashes'), hash);
      batches.push(batch);
    }
    // The notification is every group's rows in one list (each batch is "[rows]").
    m.publish(conn.key('values'), batches.length === 1 ? batches[0]! : `[${batches.map((b) => b.slice(1, -1)).join(',')}]`);
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

  subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    return this.live.subscribe('values', this.valueHandlers, handler);
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
    this.valueHandlers.clear();
    this.statusHandlers.clear();
  }
}
