/**
 * All the device pollers of a configuration (or of the devices this process
 * owns). With leases (several pollers on the Redis bus), a device is polled
 * only while this process holds its lease: a poller started for devices
 * another one holds waits as standby and takes them over when that one dies
 * or stops (src/poller/lease.ts). The devices of a link are leased as one,
 * all or none: one process owns the line (a serial port, a converter's or a
 * gateway's connection), so two pollers never each take some of them.
 */
import { POLLER_STOPPED } from '../bus/liveness.js';
import type { Unsubscribe } from '../bus/types.js';
import type { DeviceConfig, PlantConfig } from '../config/resolve.js';
import { PlantaError } from '../errors.js';
import type { TagDefinition } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import type { Registry } from 'prom-client';
import { settlesWithin } from '../util/settle.js';
import { StallClock } from '../util/stalls.js';
import type { ExecutorOptions } from './command-executor.js';
import { type PollerBus, type PollerObservers, DevicePoller } from './device-poller.js';
import type { DeviceChannel } from './channel.js';
import { DeviceLease, LOST_TO_ANOTHER, type LeaseState } from './lease.js';
import { LinkScheduler, linkClient } from './link-scheduler.js';
import { registerPollerMetrics } from './metrics.js';

export class UnknownDeviceError extends PlantaError<'PLANTA_POLLER_UNKNOWN_DEVICE'> {
  constructor(message: string) {
    super('PLANTA_POLLER_UNKNOWN_DEVICE', message);
  }
}

/** A poller asked for some devices of a link but not all: one process must own the line. */
export class SplitLinkError extends PlantaError<'PLANTA_POLLER_SPLIT_LINK'> {
  constructor(message: string) {
    super('PLANTA_POLLER_SPLIT_LINK', message);
  }
}

export interface PollerLeaseOptions {
  /** This poller's id, unique among the running pollers (host, process, random part). */
  owner: string;
  /** How long a lease lasts without renewal: a standby takes over within about this long after the holder died. */
  ttlMs: number;
}

export interface PollerOptions {
  bus: PollerBus;
  log?: Logger;
  /** Poll only these devices (default: all). */
  devices?: string[];
  statusIntervalMs?: number;
  commands?: ExecutorOptions;
  /** Prometheus registry to report into. */
  registry?: Registry;
  /** Poll a device only while holding its lease (several pollers on one bus). */
  lease?: PollerLeaseOptions;
}

interface Owned {
  config: DeviceConfig;
  tags: TagDefinition[];
  lease?: DeviceLease;
  /** The device's poller while this process polls it. */
  poller?: DevicePoller;
  commands?: Unsubscribe;
}

export class Poller {
  private readonly owned: Owned[];
  private readonly config: PlantConfig;
  /** The schedulers of the links whose devices are polled now, opened with the first and closed with the last. */
  private readonly links = new Map<string, LinkScheduler>();
  private unsubscribe: Unsubscribe | undefined;
  private readonly bus: PollerBus;
  private readonly observers: PollerObservers | undefined;
  /** This process's stalls, for the device pollers' link health. */
  private readonly stalls = new StallClock();

  constructor(
    config: PlantConfig,
    private readonly options: PollerOptions,
  ) {
    this.bus = options.bus;
    this.config = config;
    const names = new Set(config.devices.map((d) => d.name));
    for (const d of options.devices ?? []) {
      if (!names.has(d)) throw new UnknownDeviceError(`no device "${d}" in the configuration (devices: ${[...names].join(', ')})`);
    }
    const owned = config.devices.filter((d) => !options.devices || options.devices.includes(d.name));
    for (const link of config.links) {
      const on = config.devices.filter((d) => d.link === link.name);
      const mine = on.filter((d) => owned.includes(d));
      if (mine.length > 0 && mine.length < on.length) {
        const what = link.kind === 'serial' ? 'a serial port' : link.kind === 'rtuOverTcp' ? "an RTU-over-TCP converter's line" : "a gateway's line";
        throw new SplitLinkError(
          `link ${link.name} is ${what}, which one process must own (one request at a time): poll all its devices (${on.map((d) => d.name).join(', ')}) or none — asked for ${mine.map((d) => d.name).join(', ')}`,
        );
      }
    }
    const tagsOf = new Map(owned.map((d) => [d.name, [] as TagDefinition[]]));
    this.observers = options.registry
      ? registerPollerMetrics(
          options.registry,
          () => this.devices,
          () => [...this.links].map(([name, s]) => ({ name, stats: s.client.stats })),
        )
      : undefined;
    for (const t of config.tags) tagsOf.get(t.device)?.push(t);
    this.owned = owned.map((d) => ({ config: d, tags: tagsOf.get(d.name)! }));
    if (!options.lease) for (const o of this.owned) o.poller = this.make(o);
  }

  /** The devices this process polls now (with leases: those whose lease it holds). */
  get devices(): DevicePoller[] {
    return this.owned.flatMap((o) => (o.poller ? [o.poller] : []));
  }

  /** Each device with its lease's state: polled here ('active', or 'isolated' while the lease cannot be renewed), waiting for another poller's lease ('standby'), or not leased. */
  leases(): { device: string; state: LeaseState | 'unleased'; since: number }[] {
    return this.owned.map((o) => ({ device: o.config.name, state: o.lease?.state ?? 'unleased', since: o.lease?.since ?? 0 }));
  }

  /** The device's share of its link, the link opened if it is the first of its devices polled here. */
  private channel(device: DeviceConfig): DeviceChannel | undefined {
    const name = device.link;
    if (name === undefined) return undefined;
    let scheduler = this.links.get(name);
    if (!scheduler) {
      const link = this.config.links.find((l) => l.name === name)!;
      const client = linkClient(link, this.config.devices.filter((d) => d.link === name));
      const created: LinkScheduler = new LinkScheduler(client, { name }, () => {
        if (this.links.get(name) === created) this.links.delete(name);
      });
      scheduler = created;
      this.links.set(name, scheduler);
    }
    return scheduler.channel(device);
  }

  private make(o: Owned, lease?: DeviceLease): DevicePoller {
    const opts = this.options;
    const channel = this.channel(o.config);
    return new DevicePoller(o.config, o.tags, {
      bus: opts.bus,
      ...(channel ? { channel, rtu: this.config.links.some((l) => l.name === o.config.link && l.kind !== 'tcp') } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.statusIntervalMs ? { statusIntervalMs: opts.statusIntervalMs } : {}),
      ...(opts.commands ? { commands: opts.commands } : {}),
      ...(this.observers ? { observers: this.observers } : {}),
      stalls: this.stalls,
      ...(lease && opts.lease
        ? { allowed: () => lease.valid(), polls: () => lease.polling, lease: { id: opts.lease.owner, since: lease.since, leaseMs: opts.lease.ttlMs } }
        : {}),
    });
  }

  async start(): Promise<void> {
    this.stalls.start();
    const lease = this.options.lease;
    if (!lease) {
      const pollers = this.devices;
      await Promise.all(pollers.map((d) => d.start()));
      const byName = new Map(pollers.map((d) => [d.device.name, d]));
      // Commands for devices this poller does not own are another poller's.
      this.unsubscribe = await this.bus.subscribeCommands((cmd) => void byName.get(cmd.device)?.execute(cmd), { devices: [...byName.keys()] });
      return;
    }
    // One lease per device of its own, one per link for all the link's devices.
    const groups = new Map<string, Owned[]>();
    for (const o of this.owned) {
      const key = o.config.link === undefined ? `device ${o.config.name}` : `link ${o.config.link}`;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    const leases: DeviceLease[] = [];
    for (const [key, group] of groups) {
      const l: DeviceLease = new DeviceLease({
        bus: this.bus,
        device: group.length === 1 && group[0]!.config.link === undefined ? group[0]!.config.name : key,
        ...(group[0]!.config.link !== undefined ? { devices: group.map((o) => o.config.name) } : {}),
        owner: lease.owner,
        ttlMs: lease.ttlMs,
        ...(this.options.log ? { log: this.options.log } : {}),
        onAcquired: async () => {
          for (const o of group) {
            const p = this.make(o, l);
            o.poller = p;
            await p.start();
            // The device's commands follow its lease: pending ones left by the previous holder are taken over here.
            o.commands = await this.bus.subscribeCommands((cmd) => void p.execute(cmd), { devices: [o.config.name] });
          }
        },
        // Values may have waited while the lease could not be renewed: the web and the alarms get every tag again.
        onRegained: async () => void (await Promise.all(group.map((o) => o.poller?.republish()))),
        onLost: async (why) => {
          // The lease is already distrusted (no scan, no write); now stop reading commands, then the connections.
          await Promise.all(
            group.map(async (o) => {
              const { poller, commands } = o;
              o.poller = undefined;
              o.commands = undefined;
              await commands?.();
              await poller?.stop();
              if (poller && why !== LOST_TO_ANOTHER) await this.announceUnpolled(poller, why);
            }),
          );
        },
      });
      for (const o of group) o.lease = l;
      leases.push(l);
    }
    await Promise.all(leases.map((l) => l.start()));
  }

  /**
   * This poller gave a device up and no standby poller waits to take it over: nobody polls it now. Its status says
   * so at once (down, PLANTA_POLLER_STOPPED), so that the web nodes and the alarm engine need not wait to find its
   * poller silent. With a standby, the standby's own status follows within a tenth of the lease time.
   */
  private async announceUnpolled(p: DevicePoller, why: string): Promise<void> {
    const device = p.device.name;
    let standby: string[] | undefined;
    // Not knowing (Redis away) is no proof that nobody waits: the liveness watch of the readers tells then.
    await settlesWithin(this.bus.deviceLeaseStandbys(device).then((s) => void (standby = s)), 1000);
    if (standby === undefined || standby.length > 0) return;
    const s = p.status();
    const now = Date.now();
    const message = `its poller ${this.options.lease?.owner ?? ''} stopped and no standby poller waits: nobody polls this device`;
    this.options.log?.warn({ device, why }, 'lease given up with no standby: the device is announced as not polled');
    await settlesWithin(
      this.bus.publishDeviceStatus({ ...s, state: 'down', noReplySince: s.lastValidReplyAt ?? now, tcp: 'closed', connectedSince: null, lastError: { code: POLLER_STOPPED, message, at: now }, updatedAt: now }),
      1000,
    );
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    const leases = new Set(this.owned.flatMap((o) => (o.lease ? [o.lease] : [])));
    await Promise.all([...leases].map((l) => l.stop()));
    await Promise.all(this.owned.filter((o) => !o.lease).map((o) => o.poller?.stop()));
    this.stalls.stop();
  }
}
