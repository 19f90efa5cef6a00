/** The in-memory bus's leases: one process may still run several pollers (tests, benchmarks). */
import type { LeaseBus } from '../types.js';

export class MemoryLeases implements LeaseBus {
  private readonly leases = new Map<string, { owner: string; until: number }>();
  /** Device → standby poller → until when it counts as waiting. */
  private readonly standbys = new Map<string, Map<string, number>>();

  async acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    const l = this.leases.get(device);
    let standby = this.standbys.get(device);
    if (!standby) this.standbys.set(device, (standby = new Map()));
    if (l && l.until > Date.now() && l.owner !== owner) {
      standby.set(owner, Date.now() + ttlMs);
      return false;
    }
    standby.delete(owner);
    this.leases.set(device, { owner, until: Date.now() + ttlMs });
    return true;
  }

  async renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    const l = this.leases.get(device);
    if (!l || l.owner !== owner || l.until <= Date.now()) return false;
    l.until = Date.now() + ttlMs;
    return true;
  }

  async acquireDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const free = devices.every((d) => {
      const l = this.leases.get(d);
      return !l || l.until <= now || l.owner === owner;
    });
    for (const d of devices) {
      let standby = this.standbys.get(d);
      if (!standby) this.standbys.set(d, (standby = new Map()));
      if (free) {
        standby.delete(owner);
        this.leases.set(d, { owner, until: now + ttlMs });
      } else standby.set(owner, now + ttlMs);
    }
    return free;
  }

  async renewDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (!devices.every((d) => this.leases.get(d)?.owner === owner && this.leases.get(d)!.until > now)) return false;
    for (const d of devices) this.leases.get(d)!.until = now + ttlMs;
    return true;
  }

  async releaseDeviceLease(device: string, owner: string): Promise<void> {
    if (this.leases.get(device)?.owner === owner) this.leases.delete(device);
    this.standbys.get(device)?.delete(owner);
  }

  async deviceLeaseStandbys(device: string): Promise<string[]> {
    const now = Date.now();
    return [...(this.standbys.get(device) ?? [])].filter(([, until]) => until > now).map(([owner]) => owner).sort();
  }

  async deviceLeaseHolder(device: string): Promise<string | null> {
    const l = this.leases.get(device);
    return l && l.until > Date.now() ? l.owner : null;
  }

  clear(): void {
    this.leases.clear();
    this.standbys.clear();
  }
}
