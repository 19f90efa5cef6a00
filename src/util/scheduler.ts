/**
 * Drift-free periodic work: runs are aligned to slots start + k·period, never
 * overlap, and an overrun skips to the next free slot instead of bursting
 * catch-up runs.
 */
export interface PeriodicStats {
  runs: number;
  overruns: number;
  /** Lateness of the last run behind its slot, in ms. */
  lastLatenessMs: number;
}

export class Periodic {
  readonly stats: PeriodicStats = { runs: 0, overruns: 0, lastLatenessMs: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private origin = 0;
  private slot = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly work: (slot: number) => void | Promise<void>,
    private readonly onError: (err: unknown) => void = () => undefined,
    /** Told of every overrun: the slot whose run ended after the next slot(s), how many slots it skipped, and when it was due (performance.now() time). */
    private readonly onOverrun?: (slot: number, missed: number, dueAt: number) => void,
  ) {
    if (!(periodMs > 0)) throw new RangeError(`period ${periodMs} ms must be positive`);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.origin = performance.now();
    this.slot = 0;
    this.schedule();
  }

  /** Stops scheduling; resolves when a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const due = this.origin + this.slot * this.periodMs;
    this.timer = setTimeout(() => void this.fire(due), Math.max(0, due - performance.now()));
  }

  private async fire(due: number): Promise<void> {
    this.timer = undefined;
    const started = performance.now();
    this.stats.lastLatenessMs = started - due;
    this.stats.runs++;
    try {
      const r = this.work(this.slot);
      if (r instanceof Promise) {
        this.running = r;
        await r;
      }
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = undefined;
    }
    const now = performance.now();
    // Timers may fire a hair early; never run the same slot twice.
    const next = Math.max(this.slot + 1, Math.floor((now - this.origin) / this.periodMs) + 1);
    if (next > this.slot + 1) {
      this.stats.overruns += next - this.slot - 1;
      this.onOverrun?.(this.slot, next - this.slot - 1, due);
    }
    this.slot = next;
    this.schedule();
  }
}
