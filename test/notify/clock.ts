/** A clock for the notifier's tests: time moves only when the test says. */
import type { Clock } from '../../src/notify/policy.js';

export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; seq: number }[] = [];
  private seq = 0;
  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  at(at: number, fn: () => void): () => void {
    const timer = { at, fn, seq: this.seq++ };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** Moves time on, running the timers due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      // Let what the timer started (a source read, an emit) settle.
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }

  pending(): number {
    return this.timers.length;
  }
}
