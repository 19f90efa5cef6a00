import { closeSync, openSync, readSync } from 'node:fs';

/**
 * How long this thread (the event loop) has waited, runnable, for a CPU that
 * other processes held: the run-queue time Linux counts in
 * /proc/thread-self/schedstat, in ms. Always 0 where there is no such file.
 */
export function runQueueClock(): () => number {
  let fd: number | undefined;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return () => 0;
  }
  const buf = Buffer.alloc(96);
  return () => {
    if (fd === undefined) return 0;
    try {
      const n = readSync(fd, buf, 0, buf.length, 0);
      const text = buf.toString('latin1', 0, n);
      const start = text.indexOf(' ') + 1;
      return Number(text.slice(start, text.indexOf(' ', start))) / 1e6;
    } catch {
      closeSync(fd);
      fd = undefined;
      return 0;
    }
  };
}

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

  constructor(
    private readonly everyMs = 50,
    /** The run-queue clock (runQueueClock()); a test gives its own. */
    readonly starvedMs: () => number = runQueueClock(),
  ) {}

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
