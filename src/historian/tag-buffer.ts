/**
 * The samples of one tag that the SQLite store (sqlite.ts) has not sealed into
 * a block yet: parallel typed arrays rather than an object per sample, grown by
 * doubling.
 */
export class TagBuffer {
  ts = new Float64Array(16);
  v = new Float64Array(16);
  q = new Uint8Array(16);
  n = 0;
  /** Journal chunk holding the first unsealed sample; -1 none; -2 not yet committed. */
  firstChunk = -1;
  /** Time of the last sealed sample. */
  sealedEnd = -Infinity;

  /** Drops the samples up to `t` (a reader: the writer sealed them into a block). */
  dropUpTo(t: number): void {
    let k = 0;
    while (k < this.n && this.ts[k]! <= t) k++;
    if (k === 0) return;
    this.ts.copyWithin(0, k, this.n);
    this.v.copyWithin(0, k, this.n);
    this.q.copyWithin(0, k, this.n);
    this.n -= k;
  }

  push(ts: number, v: number, q: number): void {
    if (this.n === this.ts.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T, make: new (n: number) => T): T => {
        const b = new make(a.length * 2);
        b.set(a);
        return b;
      };
      this.ts = grow(this.ts, Float64Array);
      this.v = grow(this.v, Float64Array);
      this.q = grow(this.q, Uint8Array);
    }
    this.ts[this.n] = ts;
    this.v[this.n] = v;
    this.q[this.n] = q;
    this.n++;
  }

  clear(): void {
    this.n = 0;
    this.firstChunk = -1;
    if (this.ts.length > 4096) {
      this.ts = new Float64Array(16);
      this.v = new Float64Array(16);
      this.q = new Uint8Array(16);
    }
  }
}
