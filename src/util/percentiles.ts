/** The last `capacity` samples of a measurement, and their percentiles. */
export class SampleWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(capacity = 1024) {
    this.samples = new Float64Array(capacity);
  }

  add(value: number): void {
    this.samples[this.next] = value;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  clear(): void {
    this.count = 0;
    this.next = 0;
  }

  get size(): number {
    return this.count;
  }

  /** Percentiles (0..1) of the samples kept, or null when there are none. */
  percentiles(...qs: number[]): (number | null)[] {
    if (this.count === 0) return qs.map(() => null);
    const sorted = this.samples.slice(0, this.count).sort();
    return qs.map((q) => sorted[Math.min(this.count - 1, Math.floor(q * this.count))]!);
  }
}
