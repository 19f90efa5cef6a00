/**
 * Device leases on Redis: `P lease:<device>` (SET NX PX by a poller,
 * renewed and released only by its owner, in scripts) and
 * `P standby:<device>`, a sorted set of the pollers waiting for it, scored
 * by until when they wait (Redis's clock: the pollers' clocks may differ).
 */
import type { LeaseBus } from '../types.js';
import type { RedisConnection } from './connection.js';
import { type LeaseHold, leaseKey } from './hold.js';

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
/** ACQUIRE for several leases at once, all or none: KEYS are the n lease keys, then their n standby keys. */
const ACQUIRE_ALL = `${NOW}
local n = #KEYS / 2
for i = 1, n do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[1] then
    for j = 1, n do redis.call('ZADD', KEYS[n + j], now + tonumber(ARGV[2]), ARGV[1]) end
    return 0
  end
end
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  redis.call('ZREM', KEYS[n + i], ARGV[1])
end
return 1`;
/** RENEW for several leases at once: all are extended if the owner holds every one, else none. */
const RENEW_ALL = `for i = 1, #KEYS do if redis.call('GET', KEYS[i]) ~= ARGV[1] then return 0 end end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1`;
/** The standbys still waiting (and the others forgotten). */
const STANDBYS = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

export class RedisLeases implements LeaseBus {
  constructor(
    private readonly conn: RedisConnection,
    private readonly hold: LeaseHold,
  ) {}

  private leaseKey(device: string): string {
    return leaseKey(this.conn, device);
  }

  private standbyKey(device: string): string {
    return this.conn.key(`standby:${device}`);
  }

  async acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    this.hold.leased.add(device);
    const ok = Number(await this.conn.cmd.sendCommand(['EVAL', ACQUIRE, '2', this.leaseKey(device), this.standbyKey(device), owner, String(ttlMs)])) === 1;
    if (ok) this.hold.leases.set(device, owner);
    else this.hold.leases.delete(device);
    this.hold.settle(device, ok);
    return ok;
  }

  async renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    const ok = Number(await this.conn.cmd.sendCommand(['EVAL', RENEW, '1', this.leaseKey(device), owner, String(ttlMs)])) === 1;
    if (ok) {
      this.hold.leases.set(device, owner);
      this.hold.settle(device, true);
    } else if (this.hold.leases.get(device) === owner) this.hold.leases.delete(device);
    // Not renewed: the key is gone or another poller's; the lease tries to take it again, which settles what waits.
    return ok;
  }

  async acquireDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean> {
    for (const d of devices) this.hold.leased.add(d);
    const keys = [...devices.map((d) => this.leaseKey(d)), ...devices.map((d) => this.standbyKey(d))];
    const ok = Number(await this.conn.cmd.sendCommand(['EVAL', ACQUIRE_ALL, String(keys.length), ...keys, owner, String(ttlMs)])) === 1;
    for (const d of devices) {
      if (ok) this.hold.leases.set(d, owner);
      else this.hold.leases.delete(d);
      this.hold.settle(d, ok);
    }
    return ok;
  }

  async renewDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean> {
    const keys = devices.map((d) => this.leaseKey(d));
    const ok = Number(await this.conn.cmd.sendCommand(['EVAL', RENEW_ALL, String(keys.length), ...keys, owner, String(ttlMs)])) === 1;
    for (const d of devices) {
      if (ok) {
        this.hold.leases.set(d, owner);
        this.hold.settle(d, true);
      } else if (this.hold.leases.get(d) === owner) this.hold.leases.delete(d);
    }
    return ok;
  }

  async releaseDeviceLease(device: string, owner: string): Promise<void> {
    if (this.hold.leases.get(device) === owner) this.hold.leases.delete(device);
    this.hold.unconfirmed.delete(device);
    await this.conn.cmd.sendCommand(['EVAL', RELEASE, '2', this.leaseKey(device), this.standbyKey(device), owner]);
  }

  async deviceLeaseStandbys(device: string): Promise<string[]> {
    return ((await this.conn.cmd.sendCommand(['EVAL', STANDBYS, '1', this.standbyKey(device)])) as string[]).map(String).sort();
  }

  async deviceLeaseHolder(device: string): Promise<string | null> {
    return this.conn.cmd.get(this.leaseKey(device));
  }

  /** Back after a short cut: a device whose lease key still names this process needs no renewal to publish again. */
  confirmHeld(): void {
    for (const device of this.hold.unconfirmed) {
      const owner = this.hold.leases.get(device);
      if (owner === undefined) continue;
      this.conn.cmd.get(this.leaseKey(device)).then(
        (holder) => holder === owner && this.hold.unconfirmed.has(device) && this.hold.settle(device, true),
        () => undefined,
      );
    }
  }
}
