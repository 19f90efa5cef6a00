/**
 * Pollers that fall silent, as the processes that only read the bus see them
 * (web nodes, the alarm process). A poller publishes its devices' statuses
 * every second; when none came for a device for longer than its lease time
 * plus `graceMs` (time for a standby to take over), nothing updates that
 * device's values any more: its poller was killed, hangs, or is cut off with
 * no standby. Redis still holds its last values marked Good — what the
 * process would show as current. From then on its Good values are handed on
 * as Uncertain_LastUsableValue (with the time they were read) and its status
 * as down with PLANTA_POLLER_SILENT; the first report from the device hands
 * its values on as they are again.
 *
 * Silence may also be this process's own: Redis down, or the link to it cut
 * (a pulled cable leaves connections open with no answer). When a device
 * falls silent the bus is asked for the device statuses: no answer within
 * a second and the device is down with PLANTA_BUS_UNREACHABLE instead (this
 * process cannot hear the plant; its poller may be fine), and its values are
 * not read from Redis — the web's stream marks its own copy (src/web/stream.ts).
 */
import type { TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { resolvesWithin } from '../util/settle.js';
import type { BusConnection, DeviceStatus, Unsubscribe, ValueBatchInfo, ValueBus, ValueFrame } from './types.js';
import { LIVE, ValueSubscribers } from './value-subscribers.js';

export interface LivenessOptions {
  /** Tag → device, for every tag of the plant. */
  tagDevices: ReadonlyMap<string, string>;
  /** Beyond the device's lease time (0 without leases). Default 3000 ms. */
  graceMs?: number;
  /** How often silence is looked for. Default 250 ms. */
  checkMs?: number;
  /**
   * How often the bus is asked again while devices are silent for want of it. Default 10 s: twice the time after which
   * a silent Redis connection is dropped (SILENT_LINK_MS in redis/connection.ts), since what a process sends on it keeps it open.
   */
  reprobeMs?: number;
  log?: Logger;
}

export const POLLER_SILENT = 'PLANTA_POLLER_SILENT';
/** A poller gave its device up (stopped) with no standby poller waiting: announced by that poller (src/poller/poller.ts). */
export const POLLER_STOPPED = 'PLANTA_POLLER_STOPPED';
export const BUS_UNREACHABLE = 'PLANTA_BUS_UNREACHABLE';
/** How long the bus has to answer when a device falls silent. */
const PROBE_MS = 1000;

type StatusHandler = (status: DeviceStatus) => void;

/** `inner` (whatever other roles it has) with silent pollers' values and statuses marked; call `start()` before use. Closing it closes `inner`. */
export class LivenessWatch<B extends ValueBus & BusConnection> {
  readonly bus: B;
  /** Devices being handed on as they are again: the tags that changed meanwhile (newer than Redis's copy being read). */
  private readonly reviving = new Map<string, Set<string>>();
  private readonly statuses = new Map<string, DeviceStatus>();
  /** performance.now() of the last report per device. */
  private readonly heard = new Map<string, number>();
  /** Silent devices, and why: POLLER_SILENT, or BUS_UNREACHABLE. */
  private readonly silent = new Map<string, string>();
  private readonly valueSubscribers = new ValueSubscribers();
  private readonly statusHandlers = new Set<StatusHandler>();
  private readonly stops: Unsubscribe[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly graceMs: number;
  private reprobeAt = 0;

  constructor(
    private readonly inner: B,
    private readonly o: LivenessOptions,
  ) {
    this.graceMs = o.graceMs ?? 3000;
    const overrides: Partial<ValueBus & BusConnection> = {
      snapshot: async () => (await inner.snapshot()).map((v) => this.mask(v)),
      deviceStatuses: async () => (await inner.deviceStatuses()).map((s) => this.statusOf(s)),
      subscribeValues: async (h, frames) => this.add(this.valueSubscribers.with(frames), h),
      subscribeDeviceStatus: async (h) => this.add(this.statusHandlers, h),
      close: async () => {
        await this.stop();
        await inner.close();
      },
    };
    this.bus = new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (prop in overrides) return overrides[prop as keyof typeof overrides];
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  async start(): Promise<void> {
    this.stops.push(
      await this.inner.subscribeValues(
        (values, info) => this.onValues(values, info),
        (frame) => this.onFrame(frame),
      ),
    );
    this.stops.push(await this.inner.subscribeDeviceStatus((s) => this.onStatus(s)));
    const now = performance.now();
    for (const s of await this.inner.deviceStatuses()) {
      if (this.statuses.has(s.device)) continue;
      this.statuses.set(s.device, s);
      // Its age on the poller's clock, this once: from here on, arrivals on this process's clock.
      this.heard.set(s.device, now - Math.max(0, Date.now() - s.updatedAt));
    }
    this.check();
    this.timer = setInterval(() => this.check(), this.o.checkMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) await stop();
  }

  /** Devices whose poller is silent now. */
  get silentDevices(): string[] {
    return [...this.silent.keys()];
  }

  private add<H>(set: { add(h: H): unknown; delete(h: H): unknown }, h: H): Unsubscribe {
    set.add(h);
    return async () => void set.delete(h);
  }

  private onValues(values: TagValue[], info: ValueBatchInfo): void {
    // No copy of the values is kept here, and no lookup per value: at 100k values/s both cost the web node its fan-out.
    if (this.reviving.size > 0) for (const v of values) this.reviving.get(this.o.tagDevices.get(v.tag) ?? '')?.add(v.tag);
    // A resync is Redis's copy read again, not a report from a poller. A report is one device's scan: its first value
    // names the device (another device in a mixed batch is heard at its next status, within a second).
    const device = info.resync || values.length === 0 ? undefined : this.o.tagDevices.get(values[0]!.tag);
    if (device !== undefined && this.hear(device)) void this.revive(device, values.filter((v) => this.o.tagDevices.get(v.tag) === device).map((v) => v.tag));
    this.emitValues(this.silent.size === 0 ? values : values.map((v) => this.mask(v)), info);
  }

  /** A frame goes on as it is while every device reports; marking values or reviving a device needs them decoded. */
  private onFrame(frame: ValueFrame): void {
    if (this.silent.size > 0 || this.reviving.size > 0) return this.onValues(frame.values(), LIVE);
    this.hear(frame.device);
    this.valueSubscribers.frame(frame);
  }

  private onStatus(s: DeviceStatus): void {
    this.statuses.set(s.device, s);
    if (this.hear(s.device)) void this.revive(s.device);
    for (const h of this.statusHandlers) h(s);
  }

  /** Hands a device's values on as they are (Redis's copy), but for those that changed since. */
  private async revive(device: string, sent: string[] = []): Promise<void> {
    const changed = new Set(sent);
    this.reviving.set(device, changed);
    try {
      const values = (await this.valuesOf(device)).filter((v) => !changed.has(v.tag));
      if (!this.silent.has(device)) this.emitValues(values, { resync: false });
    } catch (err) {
      this.o.log?.warn({ device, err: (err as Error).message }, 'values of a device reporting again not read; its next changes come as they are');
    } finally {
      if (this.reviving.get(device) === changed) this.reviving.delete(device);
    }
  }

  /** Hands a silent device's Good values on as last usable values. */
  private async markSilent(device: string): Promise<void> {
    try {
      const values = await this.valuesOf(device);
      if (this.silent.has(device)) this.emitValues(values.map((v) => this.mask(v)), { resync: false });
    } catch (err) {
      this.o.log?.warn({ device, err: (err as Error).message }, 'values of a silent device not read: they are marked as they are read');
    }
  }

  /** Redis's copy of a device's values. */
  private async valuesOf(device: string): Promise<TagValue[]> {
    return (await this.inner.snapshot()).filter((v) => this.o.tagDevices.get(v.tag) === device);
  }

  /** Notes a report from `device`; true when it was silent until now. */
  private hear(device: string): boolean {
    this.heard.set(device, performance.now());
    if (!this.silent.delete(device)) return false;
    this.o.log?.info({ device }, 'its poller reports again: values as they are');
    return true;
  }

  private check(): void {
    const now = performance.now();
    for (const [device, at] of this.heard) {
      const status = this.statuses.get(device);
      if (this.silent.has(device) || !status) continue;
      const limit = (status.poller?.leaseMs ?? 0) + this.graceMs;
      if (now - at <= limit) continue;
      this.silent.set(device, POLLER_SILENT);
      void this.goSilent([device]);
    }
    // Devices silent for want of the bus: asked again now and then, so that a bus back with their poller still silent says so.
    const unheard = [...this.silent].filter(([, cause]) => cause === BUS_UNREACHABLE).map(([device]) => device);
    if (unheard.length > 0 && now >= this.reprobeAt) {
      this.reprobeAt = now + (this.o.reprobeMs ?? 10_000);
      void this.goSilent(unheard);
    }
  }

  /** Says why devices are silent (their poller, or this process's link to the bus) when that changed, then marks their values. */
  private async goSilent(devices: string[]): Promise<void> {
    const cause = (await resolvesWithin(this.inner.deviceStatuses(), PROBE_MS)) ? POLLER_SILENT : BUS_UNREACHABLE;
    for (const device of devices) {
      const status = this.statuses.get(device);
      const before = this.silent.get(device);
      // Heard meanwhile, or already said (a cause stays until it changes).
      if (before === undefined || !status || (before === cause && cause === BUS_UNREACHABLE)) continue;
      this.silent.set(device, cause);
      this.o.log?.warn(
        { device, silentMs: Math.round(performance.now() - (this.heard.get(device) ?? 0)), cause },
        cause === POLLER_SILENT ? 'no report from the poller of this device: its values are shown as last usable values' : 'no answer from the bus: values of this device are shown as last usable values',
      );
      const marked = this.statusOf(status);
      for (const h of this.statusHandlers) h(marked);
      if (cause === POLLER_SILENT) await this.markSilent(device);
    }
  }

  private emitValues(values: TagValue[], info: ValueBatchInfo): void {
    if (values.length === 0 && !info.resync) return;
    this.valueSubscribers.values(values, info);
  }

  private mask(v: TagValue): TagValue {
    const d = this.o.tagDevices.get(v.tag);
    return d !== undefined && this.silent.has(d) && v.quality === 'Good' ? { ...v, quality: 'Uncertain_LastUsableValue' } : v;
  }

  private statusOf(s: DeviceStatus): DeviceStatus {
    const cause = this.silent.get(s.device);
    if (cause === undefined) return s;
    const silentMs = Math.round(performance.now() - (this.heard.get(s.device) ?? performance.now()));
    const seconds = Math.round(silentMs / 1000);
    const message = cause === BUS_UNREACHABLE ? `no answer from Redis here: nothing heard from this device for ${seconds} s (its poller may be fine)` : `no report from its poller for ${seconds} s`;
    return { ...s, state: 'down', connectedSince: null, lastError: { code: cause, message, at: Date.now() - silentMs } };
  }
}
