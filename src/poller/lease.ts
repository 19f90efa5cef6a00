/**
 * A poller's lease on one device: two pollers never poll the same device.
 *
 * The lease is a key in the bus (Redis: `SET lease:<device> <poller> NX PX
 * ttl`) renewed every third of its time by a compare-and-renew script. A
 * poller without the lease waits as standby and tries again every tenth of
 * the lease time, so it takes over shortly after the holder died (its key
 * expired) or at once after a clean stop (the key released).
 *
 * Never two writers: the holder trusts its lease only until the time of its
 * last successful renewal's request plus 90 % of the lease time, measured on
 * the monotonic clock — before Redis lets the key expire. `valid()` is
 * checked right before every write, so a poller that was frozen (a long GC
 * pause, a suspended VM) or cut off from Redis stops writing the moment its
 * lease may have passed, even before its timers run; the command claim in
 * Redis is granted only to the current holder as well.
 *
 * Reading is harmless, writing is not: a holder that cannot renew its lease
 * (Redis down or out of reach) goes on polling, 'isolated' — its values wait
 * in the bus (newest per tag) and its samples in its outbox — and writes
 * nothing. When Redis answers again it renews the lease, or takes it again if
 * the key is gone (Redis restarted empty), and is active again; if another
 * poller took the device over meanwhile, it stops polling and is standby.
 */
import { performance } from 'node:perf_hooks';
import type { LeaseBus } from '../bus/types.js';
import type { Logger } from '../util/log.js';
import { settlesWithin } from '../util/settle.js';

export interface DeviceLeaseOptions {
  bus: LeaseBus;
  /** The device leased, or (with `devices`) what the devices leased together are, for logs: "link rs485". */
  device: string;
  /**
   * Devices leased as one, all or none (the devices of a link: one process owns the line, and two pollers must
   * never each take some of them). Default: `device` alone.
   */
  devices?: readonly string[];
  /** This poller's id (host, process, random part): unique among running pollers. */
  owner: string;
  ttlMs: number;
  log?: Logger;
  /** Called once the lease is taken: start polling and executing commands. */
  onAcquired: () => Promise<void>;
  /** Called once it is lost to another poller or given up: stop polling and executing commands. */
  onLost: (why: string) => Promise<void>;
  /** Called when an isolated holder has its lease again (values may have waited: publish them all). */
  onRegained?: () => Promise<void>;
}

/** Why a lease is lost when another poller took the device over (it polls the device now, and says so). */
export const LOST_TO_ANOTHER = 'another poller holds the lease';

/** standby: another poller polls the device; active: polled and written here; isolated: polled here, nothing written (the lease could not be renewed). */
export type LeaseState = 'standby' | 'active' | 'isolated' | 'stopped';

/** How long stopping waits for the device to be given up here (its poller stopped, its commands no longer read). */
const STOP_WAIT_MS = 2000;

export class DeviceLease {
  /** Polling the device: active or isolated. */
  private held = false;
  private isolated = false;
  /** performance.now() until which the lease is trusted. */
  private trustedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Acquisitions and losses run one after the other. */
  private chain: Promise<void> = Promise.resolve();
  /** Epoch ms since when this poller holds the device. */
  since = 0;
  acquisitions = 0;
  losses = 0;
  /** Times the holder could not renew in time and went on polling without writing. */
  isolations = 0;

  constructor(private readonly o: DeviceLeaseOptions) {}

  get state(): LeaseState {
    return this.stopped ? 'stopped' : !this.held ? 'standby' : this.isolated ? 'isolated' : 'active';
  }

  /** Whether this poller may write the device now: it holds the lease and trusts it. */
  valid(): boolean {
    return this.held && !this.isolated && performance.now() < this.trustedUntil;
  }

  /** Whether this poller polls the device (active or isolated). */
  get polling(): boolean {
    return this.held;
  }

  start(): Promise<void> {
    return this.tick();
  }

  /** Stops polling the device and gives its lease up, so that a standby takes it over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    // Chained after an acquisition still under way; that one may wait for Redis (reading its commands' stream)
    // while Redis is away: it is not waited for past the bound, and ends when the bus closes (the loss runs then).
    const losing = this.held ? this.lose('stopped') : this.chain;
    // The standby a standby stops being, or the lease a holder gives up; not waited for past a second (Redis may be away: the lease then expires).
    await settlesWithin(losing, STOP_WAIT_MS);
    await settlesWithin(Promise.all((this.o.devices ?? [this.o.device]).map((d) => this.o.bus.releaseDeviceLease(d, this.o.owner))), 1000);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { bus, device, devices, owner, ttlMs } = this.o;
    const sent = performance.now();
    let failed = false;
    try {
      // A holder whose key is gone (Redis restarted without it) takes it again at once.
      const ok = devices
        ? (this.held && (await bus.renewDeviceLeases(devices, owner, ttlMs))) || (await bus.acquireDeviceLeases(devices, owner, ttlMs))
        : (this.held && (await bus.renewDeviceLease(device, owner, ttlMs))) || (await bus.acquireDeviceLease(device, owner, ttlMs));
      if (this.stopped) return;
      // An answer that took longer than the lease's trusted time (Redis was away) proves nothing any more.
      if (ok && performance.now() < sent + ttlMs * 0.9) {
        this.trustedUntil = sent + ttlMs * 0.9;
        this.arm();
        if (!this.held) void this.gain();
        else if (this.isolated) void this.regain();
      } else if (ok) {
        this.isolate('the renewal came back too late');
      } else if (this.held) {
        await this.lose(LOST_TO_ANOTHER);
      }
    } catch (err) {
      failed = true;
      this.o.log?.debug({ device, err: (err as Error).message }, this.held ? 'lease not renewed' : 'lease not taken');
      if (this.held && !this.valid()) this.isolate('the lease could not be renewed: Redis out of reach');
    }
    if (this.stopped) return;
    // A renewal that failed (its connection lost: Redis back, or a Sentinel failover to another master) is tried again soon, while the lease is still trusted.
    this.timer = setTimeout(() => void this.tick(), this.held && !this.isolated && !failed ? ttlMs / 3 : Math.max(20, ttlMs / 10));
  }

  /**
   * Stops writing the moment the lease stops being trusted, even when a renewal hangs (Redis away); polling goes on.
   * A timer may fire a little early (Node counts from the loop's cached time), so one that finds the lease still
   * trusted sets itself again instead of leaving an untrusted holder 'active'.
   */
  private arm(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (!this.held) return;
      if (this.valid()) this.arm();
      else this.isolate('the lease ran out before it was renewed');
    }, Math.max(0, this.trustedUntil - performance.now()) + 1);
  }

  private isolate(why: string): void {
    if (!this.held || this.isolated) return;
    this.isolated = true;
    this.trustedUntil = 0;
    this.isolations++;
    clearTimeout(this.watchdog);
    this.o.log?.warn({ device: this.o.device, owner: this.o.owner, why }, 'lease not trusted: the device is still polled, nothing is written until the lease is renewed');
  }

  private regain(): Promise<void> {
    this.isolated = false;
    this.o.log?.info({ device: this.o.device, owner: this.o.owner }, 'lease renewed: commands are executed again');
    const f = this.o.onRegained;
    return f ? this.serial(f) : this.chain;
  }

  private gain(): Promise<void> {
    this.held = true;
    this.since = Date.now();
    this.acquisitions++;
    this.o.log?.info({ device: this.o.device, owner: this.o.owner, ttlMs: this.o.ttlMs }, 'lease taken: polling the device');
    return this.serial(() => this.o.onAcquired());
  }

  private lose(why: string): Promise<void> {
    if (!this.held) return this.chain;
    // From here on valid() is false: nothing more is written, before anything else happens.
    this.held = false;
    this.isolated = false;
    this.trustedUntil = 0;
    this.losses++;
    clearTimeout(this.watchdog);
    if (why !== 'stopped') this.o.log?.warn({ device: this.o.device, owner: this.o.owner, why }, 'lease lost: the device is no longer polled here');
    return this.serial(() => this.o.onLost(why));
  }

  private serial(f: () => Promise<void>): Promise<void> {
    const run = this.chain.then(f).catch((err: unknown) => {
      // Stopped with Redis away: the acquisition under way fails when the bus closes, as it should.
      this.o.log?.[this.stopped ? 'info' : 'error']({ device: this.o.device, err }, 'lease change failed');
    });
    this.chain = run;
    return run;
  }
}
