/**
 * The RTU client's hold of its line after a timeout. Frames carry no
 * transaction id, so a late reply must be over before the next request
 * leaves: nothing is sent until the line has been silent for a while, every
 * byte arriving meanwhile starting that wait again. A line that never falls
 * silent is waited for at most a given time.
 */
export class LineHold {
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() when bytes last arrived. */
  private lastRxAt = 0;

  /** Whether the line is held now: nothing may be sent. */
  get holding(): boolean {
    return this.timer !== undefined;
  }

  /** Bytes arrived. */
  heard(): void {
    this.lastRxAt = performance.now();
  }

  /** Holds the line until it has been silent for `silenceMs` (at most `maxMs`), then calls `released`. */
  hold(silenceMs: number, maxMs: number, released: () => void): void {
    clearTimeout(this.timer);
    const giveUp = performance.now() + Math.max(silenceMs, maxMs);
    const check = (): void => {
      const left = Math.min(this.lastRxAt + silenceMs, giveUp) - performance.now();
      if (left > 0) {
        this.timer = setTimeout(check, left);
        return;
      }
      this.timer = undefined;
      released();
    };
    this.timer = setTimeout(check, silenceMs);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
