/**
 * The device leases this process holds, as the other roles need them: a
 * command of a device once leased here is claimed only while the lease is
 * held, and a leased device's live state and samples wait from the moment
 * the connection is lost until the lease is confirmed again — then they are
 * sent, or dropped if another poller took the device over meanwhile.
 */
import type { RedisConnection } from './connection.js';

/** The lease key of a device (SET NX PX by a poller, renewed by a compare-and-renew script). */
export const leaseKey = (conn: RedisConnection, device: string): string => conn.key(`lease:${device}`);

export class LeaseHold {
  /** Device → owner of the leases this process holds. */
  readonly leases = new Map<string, string>();
  /** Devices this process ever leased: without the lease now, no command of theirs is claimed here. */
  readonly leased = new Set<string>();
  /** Leased devices whose lease has not been confirmed since the connection came back: what they publish waits. */
  readonly unconfirmed = new Set<string>();

  /** `settled` is told when a device's lease is confirmed (`held`, and whether its state `waited`) or lost to another poller. */
  constructor(private readonly settled: (device: string, held: boolean, waited: boolean) => void) {}

  /** The owner a command's claim must match: the holder here, one no poller is (a lease lost), or none (no leases in use). */
  claimOwner(device: string): string {
    return this.leases.get(device) ?? (this.leased.has(device) ? '\u0000lost' : '');
  }

  /** The connection is lost: whatever a leased device publishes waits until its lease is renewed (or is dropped if another poller took it). */
  holdAll(): void {
    for (const device of this.leases.keys()) this.unconfirmed.add(device);
  }

  /** A leased device's lease is confirmed (or lost to another poller): what it kept is sent (or dropped). */
  settle(device: string, held: boolean): void {
    const waited = this.unconfirmed.delete(device);
    this.settled(device, held, waited);
  }
}
