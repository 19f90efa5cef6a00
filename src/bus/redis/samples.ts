/**
 * The samples streams of the Redis bus: what the historian records, one
 * stream per device (`P samples:<device>`, entries `u` = the scan's upTo,
 * `v` = the batch as codec.ts encodes it), read by the historian's
 * consumer group. Pub/Sub is fire-and-forget; a stream keeps what a historian
 * restarting, or a poller cut off from Redis, would otherwise lose.
 *
 * Publisher side (a poller): a device's batches go to its stream only while a
 * historian reads it (a consumer group on the stream, looked at every
 * second). What cannot be sent — Redis down or out of reach, a send that
 * failed on its way, a device whose lease is not confirmed since the
 * connection came back — goes to the poller's outbox on disk (../outbox.ts), and
 * once anything of a device waits there, its newer batches queue behind it,
 * so the stream gets them in their order. The outbox is forwarded when Redis
 * is back (and the lease is confirmed), paced so that the streams never hold
 * more than a bounded backlog nobody read. A batch whose send failed after
 * Redis executed it is forwarded twice: the historian skips samples that are
 * not after the tag's last one.
 *
 * The streams keep at most `backlogMs` of what no historian took (trimmed by
 * time, XADD MINID, on Redis's clock), and the historian trims what every
 * group acknowledged (`trimConsumed`).
 */
import type { Registry } from 'prom-client';
import type { TagValue } from '../../tags/types.js';
import type { Logger } from '../../util/log.js';
import { readCounter, readGauge } from '../../util/metrics.js';
import { BusError } from '../errors.js';
import type { Outbox } from '../outbox.js';
import type { SampleBatch, SampleSubscription, ScanInfo } from '../types.js';
import { decodeBatch, encodeBatch } from './codec.js';
import type { RedisConnection } from './connection.js';
import type { Streams } from './streams.js';

/** Sends one command; rejects when it fails (the connection dropped under it). */
export type Send = (args: string[]) => Promise<unknown>;

export interface SampleStreamsOptions {
  send: Send;
  /** Whether the connection is up now: if not, nothing is sent (a client's offline queue would grow without bound). */
  ready: () => boolean;
  key: (device: string) => string;
  /** The device of a tag: values published without a scan report go to their devices' streams. */
  deviceOf: (tag: string) => string;
  /** Devices whose batches wait even while Redis is up: their lease is not confirmed since the connection came back. */
  held: (device: string) => boolean;
  outbox?: Outbox;
  /** How long a stream keeps entries no historian took. Default 10 minutes. */
  backlogMs?: number;
  /** Forwarding pauses while a device's stream holds this many entries nobody read. Default 20,000. */
  maxUnread?: number;
  /**
   * With Sentinel: batches Redis took within this long before the connection
   * dropped go to the outbox too, as if unsent. Replication is asynchronous:
   * a master killed just after answering may not have handed them to the
   * replica that takes over. Sent again, a copy the new master has is skipped
   * by the historian (a sample not after its tag's last). Default 0 (one Redis).
   */
  replicaWindowMs?: number;
  log?: Logger;
}

interface Pending {
  device: string;
  upTo: number | null;
  values: string;
}

/** A stream id as a pair of numbers, for comparing. */
function parseId(id: string): [number, number] {
  const [ms, seq] = id.split('-');
  return [Number(ms), Number(seq ?? 0)];
}
const before = (a: string, b: string): boolean => {
  const [x, y] = [parseId(a), parseId(b)];
  return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
};

/** A reply that is a flat [key, value, key, value…] list, a map or an object, as an object. */
function record(raw: unknown): Record<string, unknown> {
  if (raw instanceof Map) return Object.fromEntries(raw) as Record<string, unknown>;
  if (!Array.isArray(raw)) return raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = raw[i + 1];
  return out;
}

/** The consumer groups of a stream: name, pending count, last delivered id; [] when the stream does not exist. */
export async function streamGroups(send: Send, key: string): Promise<{ name: string; pending: number; lastDelivered: string }[]> {
  let reply: unknown;
  try {
    reply = await send(['XINFO', 'GROUPS', key]);
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return [];
    throw err;
  }
  return (Array.isArray(reply) ? reply : []).map((g: unknown) => {
    const r = record(g);
    return { name: String(r.name), pending: Number(r.pending), lastDelivered: String(r['last-delivered-id']) };
  });
}

/**
 * Trims a stream of what every consumer group has acknowledged: entries
 * before the oldest pending entry of any group, or before its last delivered
 * one. Approximate (whole internal nodes), so cheap.
 */
export async function trimConsumed(send: Send, key: string): Promise<void> {
  let keep: string | undefined;
  for (const g of await streamGroups(send, key)) {
    let first = g.lastDelivered;
    if (g.pending > 0) {
      const summary = (await send(['XPENDING', key, g.name])) as unknown[];
      if (summary[1] !== null && summary[1] !== undefined) first = String(summary[1]);
    }
    if (keep === undefined || before(first, keep)) keep = first;
  }
  if (keep !== undefined && keep !== '0-0') await send(['XTRIM', key, 'MINID', '~', keep]);
}

export class SampleStreams {
  /** Samples batches forwarded from the outbox, appended to it, or lost (no outbox, or dropped when full). */
  readonly stats = { forwarded: 0, buffered: 0, lost: 0 };
  /** Devices a historian reads, and since when a device's groups have been missing. */
  private readonly wanted = new Set<string>();
  private readonly missingSince = new Map<string, number>();
  private readonly known = new Set<string>();
  private readonly inflight = new Set<Pending>();
  /** Batches Redis took in the last replicaWindowMs, oldest first (with Sentinel). */
  private acked: { p: Pending; at: number }[] = [];
  private checkedAt = 0;
  private checking: Promise<void> | undefined;
  /** Redis's clock minus ours, ms: stream ids are Redis's time. */
  private clockOffset = 0;
  private forwarding: Promise<void> | undefined;
  private closed = false;
  private finished = false;
  private readonly backlogMs: number;
  private readonly maxUnread: number;
  private warnedLost = false;

  constructor(private readonly o: SampleStreamsOptions) {
    this.backlogMs = o.backlogMs ?? 10 * 60_000;
    this.maxUnread = o.maxUnread ?? 20_000;
  }

  /** Looks again, now, whether a historian reads the streams of `devices` (and of those published so far), and at Redis's clock. */
  async check(devices: readonly string[] = []): Promise<void> {
    for (const d of devices) this.known.add(d);
    const t0 = Date.now();
    const [time, ...groups] = await Promise.all([this.o.send(['TIME']), ...[...this.known].map((d) => streamGroups(this.o.send, this.o.key(d)))]);
    const [s, us] = time as [string, string];
    this.clockOffset = Number(s) * 1000 + Math.floor(Number(us) / 1000) - Math.round((t0 + Date.now()) / 2);
    [...this.known].forEach((d, i) => {
      if (groups[i]!.length > 0) {
        this.wanted.add(d);
        this.missingSince.delete(d);
      } else if (this.wanted.has(d)) {
        // Redis came back without its data: the historian makes its group again (from the stream's start); meanwhile keep the stream going.
        const since = this.missingSince.get(d) ?? Date.now();
        this.missingSince.set(d, since);
        if (Date.now() - since > 60_000) this.wanted.delete(d);
      }
    });
    this.checkedAt = Date.now();
    this.forward();
  }

  private maybeCheck(): void {
    if (this.checking || !this.o.ready() || Date.now() - this.checkedAt < 1000) return;
    this.checking = this.check()
      .catch((err: unknown) => this.o.log?.debug({ err: (err as Error).message }, 'samples streams: check failed'))
      .finally(() => {
        this.checking = undefined;
      });
  }

  private xadd(p: Pending): string[] {
    const oldest = Date.now() + this.clockOffset - this.backlogMs;
    const args = ['XADD', this.o.key(p.device), 'MINID', '~', String(Math.max(0, oldest)), '*'];
    if (p.upTo !== null) args.push('u', String(p.upTo));
    args.push('v', p.values);
    return args;
  }

  /** Whether a historian reads the device's stream (as last seen; looked at again at most once a second). */
  wants(device: string): boolean {
    if (!this.known.has(device)) this.known.add(device);
    this.maybeCheck();
    return this.wanted.has(device);
  }

  /**
   * Values as published (ValueBus.publishValues): a scan report to its device's stream (`rows`: its entry, encoded
   * with its hash fields), other values to their devices', while a historian reads them.
   */
  publishValues(values: TagValue[], scan?: ScanInfo, rows?: () => string): void {
    if (scan) {
      if (this.wants(scan.device)) this.publish(scan.device, scan.upTo, rows ? rows() : encodeBatch(values));
      return;
    }
    const byDevice = new Map<string, TagValue[]>();
    for (const v of values) {
      const device = this.o.deviceOf(v.tag);
      const list = byDevice.get(device);
      if (list) list.push(v);
      else byDevice.set(device, [v]);
    }
    for (const [device, list] of byDevice) if (this.wants(device)) this.publish(device, null, encodeBatch(list));
  }

  /** Sends a device's batch to its stream, or keeps it in the outbox behind what waits there. Never throws. */
  publish(device: string, upTo: number | null, values: string): void {
    const p: Pending = { device, upTo, values };
    if (!this.o.ready() || this.o.held(device) || (this.o.outbox?.pending(device) ?? 0) > 0) {
      this.spill();
      this.keep(p);
      this.forward();
      return;
    }
    this.inflight.add(p);
    if ((this.o.outbox?.pending() ?? 0) > 0) this.forward();
    this.o.send(this.xadd(p)).then(
      () => {
        this.inflight.delete(p);
        if (!this.o.replicaWindowMs) return;
        const now = Date.now();
        while (this.acked.length > 0 && this.acked[0]!.at < now - this.o.replicaWindowMs) this.acked.shift();
        this.acked.push({ p, at: now });
      },
      () => this.spill(),
    );
  }

  /** The connection dropped: with Sentinel, the batches Redis just took go to the outbox at once (see replicaWindowMs). */
  connectionLost(): void {
    if (this.o.replicaWindowMs && this.acked.length > 0) this.spill();
  }

  /** Sends on their way when the connection dropped (and, with Sentinel, those just taken): into the outbox, in the order they were published. */
  private spill(): void {
    const since = Date.now() - (this.o.replicaWindowMs ?? 0);
    for (const { p, at } of this.acked) if (at >= since) this.keep(p);
    this.acked = [];
    for (const p of this.inflight) this.keep(p);
    this.inflight.clear();
  }

  private keep(p: Pending): void {
    const box = this.finished ? undefined : this.o.outbox;
    if (!box) {
      this.stats.lost++;
      if (!this.warnedLost) this.o.log?.warn({ code: 'PLANTA_BUS_CONNECTION', device: p.device }, 'samples not sent to Redis and no outbox: the historian misses them');
      this.warnedLost = true;
      return;
    }
    this.stats.buffered++;
    const dropped = box.append(p.device, p.upTo, p.values);
    if (dropped > 0) {
      this.stats.lost += dropped;
      this.o.log?.warn({ code: 'PLANTA_BUS_OUTBOX_FULL', dropped, path: box.path, maxBytes: box.maxBytes }, 'outbox full: its oldest samples dropped');
    }
  }

  /** Forwards the outbox, oldest first per device, while the connection is up; pauses while a stream holds too much nobody read. */
  forward(): void {
    const box = this.o.outbox;
    if (this.forwarding || this.closed || !box || box.pending() === 0 || !this.o.ready()) return;
    this.forwarding = (async () => {
      for (;;) {
        let progressed = false;
        for (const device of box.devices()) {
          if (this.closed || !this.o.ready()) return;
          if (this.o.held(device) || !this.wanted.has(device)) continue;
          if (Number(await this.o.send(['XLEN', this.o.key(device)])) >= this.maxUnread) continue;
          const entries = box.oldest(device, 200);
          await Promise.all(entries.map((e) => this.o.send(this.xadd(e))));
          box.remove(device, entries);
          this.stats.forwarded += entries.length;
          progressed = true;
        }
        if (box.pending() === 0) {
          this.o.log?.info({ forwarded: this.stats.forwarded }, 'outbox forwarded to Redis');
          return;
        }
        // What waits is not forwardable now (lease not confirmed, no historian, a full stream): the next publication tries again.
        if (!progressed) return;
      }
    })()
      .catch((err: unknown) => this.o.log?.debug({ err: (err as Error).message }, 'outbox forwarding interrupted'))
      .finally(() => {
        this.forwarding = undefined;
      });
  }

  /** Drops what waits for a device another poller took over (its samples are that poller's now). */
  drop(device: string): number {
    for (const p of this.inflight) if (p.device === device) this.inflight.delete(p);
    this.acked = this.acked.filter((a) => a.p.device !== device);
    const n = this.o.outbox?.drop(device) ?? 0;
    if (n > 0) this.o.log?.warn({ device, dropped: n }, 'outbox: samples of a device another poller took over dropped');
    return n;
  }

  /** Stops forwarding (before the connection closes). */
  async stop(): Promise<void> {
    this.closed = true;
    await this.forwarding;
  }

  /** After the connection closed: what it did not take goes to the outbox, which is then closed. */
  finish(): void {
    this.spill();
    this.finished = true;
    this.o.outbox?.close();
  }
}

/** The historian's durable subscription to the samples streams of every device (see ValueBus.subscribeSamples). */
export async function subscribeSampleStreams(
  conn: RedisConnection,
  streams: Streams,
  handler: (batch: SampleBatch) => void,
  options: { durable: string },
): Promise<SampleSubscription> {
  const devices = [...new Set(conn.o.tagDevices?.values() ?? [])];
  if (devices.length === 0) throw new BusError('PLANTA_BUS_NO_DEVICES', "subscribeSamples on the Redis bus needs the tags' devices (option tagDevices)");
  const group = options.durable;
  const keys = devices.map((d) => samplesKey(conn, d));
  const send = (args: string[]): Promise<unknown> => conn.cmd.sendCommand(args);
  // Handed over and not acknowledged yet, oldest first; `base` is the position of the first.
  const delivered: [key: string, id: string][] = [];
  let base = 0;
  let trimmedAt = 0;
  const stop = await streams.read({
    keys,
    group,
    ackAfter: false,
    onEntry: (key, entry) => {
      delivered.push([key, entry.id]);
      let values: TagValue[];
      try {
        values = decodeBatch(entry.fields.v ?? '[]');
      } catch (err) {
        conn.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', key, entry: entry.id, err: (err as Error).message }, 'unreadable samples dropped');
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

/** A device's samples stream. */
export const samplesKey = (conn: RedisConnection, device: string): string => conn.key(`samples:${device}`);

/** A poller's store-and-forward figures: the outbox's fill level, what it forwarded, what it had to drop. */
export function registerOutboxMetrics(registry: Registry, box: Outbox, samples: SampleStreams): void {
  readGauge(registry, 'planta_bus_outbox_bytes', 'Bytes of samples waiting in the poller\'s outbox for Redis', () => box.bytes);
  readGauge(registry, 'planta_bus_outbox_fill_ratio', 'Outbox fill level, 0..1 of its maximum size', () => box.bytes / box.maxBytes);
  readGauge(registry, 'planta_bus_outbox_entries', 'Scan reports waiting in the outbox', () => box.pending());
  readCounter(registry, 'planta_bus_outbox_dropped_total', 'Scan reports dropped from the outbox: oldest first when full, or of a device another poller took over', () => box.dropped);
  readCounter(registry, 'planta_bus_samples_buffered_total', 'Scan reports kept in the outbox because Redis could not take them', () => samples.stats.buffered);
  readCounter(registry, 'planta_bus_samples_forwarded_total', 'Scan reports forwarded from the outbox to Redis', () => samples.stats.forwarded);
}
