/**
 * The time this process could not run: event-loop stalls (a loaded machine,
 * a long garbage collection, a suspended VM). A silence measured on the wall
 * clock across such a stall proves nothing of a peer — its answer may be
 * waiting in a socket — so who judges silence subtracts it.
 *
 * A timer every `everyMs`: one that runs later than another period counts
 * all of its lateness as a stall (to within `everyMs`).
 */
export class StallClock {
  private total = 0;
  private last = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly everyMs = 50) {}

  start(): void {
    if (this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => this.note(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ms stalled since the start, the stall going on now included. */
  get stalledMs(): number {
    if (this.timer) this.note();
    return this.total;
  }

  private note(): void {
    const now = performance.now();
    const late = now - this.last - this.everyMs;
    if (late > this.everyMs) this.total += late;
    this.last = now;
  }
}
