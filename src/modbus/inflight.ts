/** The requests a client has on the wire, found by transaction id. */

/** What the table needs of a request. */
export interface Tracked {
  tid: number;
  sentAt: number;
}

/** Slots for requests in flight; a power of two, the largest window. */
const SLOTS = 64;

/**
 * The requests in flight, each in slot `tid % 64` — a Map did the same at
 * several times the cost per request — or, in the rare case where that slot
 * holds an older request still waiting (64 ids apart), in a Map beside.
 * Only an id still in flight is ever refused (the client skips it).
 */
export class InFlight<P extends Tracked> {
  private readonly slots = new Array<P | undefined>(SLOTS).fill(undefined);
  private readonly overflow = new Map<number, P>();
  size = 0;

  isFree(tid: number): boolean {
    return this.slots[tid & (SLOTS - 1)]?.tid !== tid && !(this.overflow.size > 0 && this.overflow.has(tid));
  }

  get(tid: number): P | undefined {
    const p = this.slots[tid & (SLOTS - 1)];
    if (p !== undefined && p.tid === tid) return p;
    return this.overflow.size > 0 ? this.overflow.get(tid) : undefined;
  }

  add(p: P): void {
    const i = p.tid & (SLOTS - 1);
    if (this.slots[i] === undefined) this.slots[i] = p;
    else this.overflow.set(p.tid, p);
    this.size++;
  }

  remove(p: P): void {
    const i = p.tid & (SLOTS - 1);
    if (this.slots[i] === p) this.slots[i] = undefined;
    else this.overflow.delete(p.tid);
    this.size--;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.overflow.clear();
    this.size = 0;
  }

  /** Every request in flight, oldest first. */
  list(): P[] {
    const out: P[] = [];
    for (const p of this.slots) if (p !== undefined) out.push(p);
    for (const p of this.overflow.values()) out.push(p);
    // Sent earlier, or in the same write with a lower id (ids wrap after 65535, far apart in time).
    return out.sort((a, b) => a.sentAt - b.sentAt || a.tid - b.tid);
  }
}
