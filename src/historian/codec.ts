/**
 * Byte layouts of the historian. Samples are kept columnar (all times, then
 * all values, then all qualities) so a block decodes into typed-array views
 * without a loop per field, and compresses well if a store chooses to.
 * Little-endian throughout. A value that is not a number (bad quality, a
 * string tag) is stored as NaN.
 */

/** Samples of one tag, oldest first: parallel arrays. Quality is an index into QUALITIES. */
export interface Samples {
  ts: Float64Array;
  v: Float64Array;
  q: Uint8Array;
  n: number;
}

export const emptySamples = (): Samples => ({ ts: new Float64Array(0), v: new Float64Array(0), q: new Uint8Array(0), n: 0 });

// Block (one tag, times relative to the row's t_start, so a span must stay below 2^32 ms ≈ 49 days):
//   [u32 dt × n][f64 value × n][u8 quality × n]       13 bytes a sample
export const BLOCK_BYTES_PER_SAMPLE = 13;

export function encodeBlock(ts: Float64Array, v: Float64Array, q: Uint8Array, start: number, n: number, tStart: number): Buffer {
  const buf = Buffer.allocUnsafe(n * BLOCK_BYTES_PER_SAMPLE);
  const dt = new Uint32Array(n);
  for (let i = 0; i < n; i++) dt[i] = ts[start + i]! - tStart;
  buf.set(new Uint8Array(dt.buffer), 0);
  buf.set(new Uint8Array(v.buffer, v.byteOffset + start * 8, n * 8), n * 4);
  buf.set(q.subarray(start, start + n), n * 12);
  return buf;
}

export function decodeBlock(data: Uint8Array, tStart: number): Samples {
  const n = data.length / BLOCK_BYTES_PER_SAMPLE;
  // Copies into fresh (aligned) buffers: SQLite's BLOB offsets need not be multiples of 8.
  const dt = new Uint32Array(n);
  new Uint8Array(dt.buffer).set(data.subarray(0, n * 4));
  const v = new Float64Array(n);
  new Uint8Array(v.buffer).set(data.subarray(n * 4, n * 12));
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) ts[i] = tStart + dt[i]!;
  return { ts, v, q: data.slice(n * 12, n * 13), n };
}

// Journal chunk (every sample of one flush, all tags, arrival order):
//   [u32 tagId × n][f64 ts × n][f64 value × n][u8 quality × n]      21 bytes a sample
export const CHUNK_BYTES_PER_SAMPLE = 21;

export function encodeChunk(tag: Uint32Array, ts: Float64Array, v: Float64Array, q: Uint8Array, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n * CHUNK_BYTES_PER_SAMPLE);
  buf.set(new Uint8Array(tag.buffer, tag.byteOffset, n * 4), 0);
  buf.set(new Uint8Array(ts.buffer, ts.byteOffset, n * 8), n * 4);
  buf.set(new Uint8Array(v.buffer, v.byteOffset, n * 8), n * 12);
  buf.set(new Uint8Array(q.buffer, q.byteOffset, n), n * 20);
  return buf;
}

/** A journal chunk decoded: samples of any tags in arrival order, parallel arrays. */
export interface Chunk {
  tag: Uint32Array;
  ts: Float64Array;
  v: Float64Array;
  q: Uint8Array;
  n: number;
}

export function decodeChunk(data: Uint8Array): Chunk {
  const n = data.length / CHUNK_BYTES_PER_SAMPLE;
  const tag = new Uint32Array(n);
  new Uint8Array(tag.buffer).set(data.subarray(0, n * 4));
  const ts = new Float64Array(n);
  new Uint8Array(ts.buffer).set(data.subarray(n * 4, n * 12));
  const v = new Float64Array(n);
  new Uint8Array(v.buffer).set(data.subarray(n * 12, n * 20));
  return { tag, ts, v, q: data.slice(n * 20, n * 21), n };
}

export function concatChunks(parts: Chunk[]): Chunk {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((k, p) => k + p.n, 0);
  const out: Chunk = { tag: new Uint32Array(n), ts: new Float64Array(n), v: new Float64Array(n), q: new Uint8Array(n), n };
  let at = 0;
  for (const p of parts) {
    out.tag.set(p.tag, at);
    out.ts.set(p.ts, at);
    out.v.set(p.v, at);
    out.q.set(p.q, at);
    at += p.n;
  }
  return out;
}

/** A block never spans more than this: its times are u32 offsets from its start. */
export const MAX_BLOCK_SPAN_MS = 6 * 3_600_000;

/** Where to cut n samples into blocks: at most `size` samples each, and before a span would overflow the u32 offsets. */
export function splitBlocks(ts: Float64Array, n: number, size: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  while (start < n) {
    let end = Math.min(n, start + size);
    const t0 = ts[start]!;
    while (end > start + 1 && ts[end - 1]! - t0 > MAX_BLOCK_SPAN_MS) end--;
    out.push({ start, end });
    start = end;
  }
  return out;
}

/** The first index whose time is ≥ t. */
export function lowerBound(ts: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The samples with from ≤ ts < to (views, no copy). */
export function sliceSamples(s: Samples, from: number, to: number): Samples {
  const a = lowerBound(s.ts, s.n, from);
  const b = lowerBound(s.ts, s.n, to);
  return { ts: s.ts.subarray(a, b), v: s.v.subarray(a, b), q: s.q.subarray(a, b), n: b - a };
}

export function concatSamples(parts: Samples[]): Samples {
  const n = parts.reduce((k, p) => k + p.n, 0);
  const out: Samples = { ts: new Float64Array(n), v: new Float64Array(n), q: new Uint8Array(n), n };
  let at = 0;
  for (const p of parts) {
    out.ts.set(p.ts.subarray(0, p.n), at);
    out.v.set(p.v.subarray(0, p.n), at);
    out.q.set(p.q.subarray(0, p.n), at);
    at += p.n;
  }
  return out;
}

/** Samples of any tags in arrival order, waiting for a commit: parallel arrays that grow. */
export class SampleQueue {
  tag = new Uint32Array(4096);
  ts = new Float64Array(4096);
  v = new Float64Array(4096);
  q = new Uint8Array(4096);
  n = 0;

  push(tag: number, ts: number, v: number, q: number): void {
    if (this.n === this.tag.length) this.grow();
    this.tag[this.n] = tag;
    this.ts[this.n] = ts;
    this.v[this.n] = v;
    this.q[this.n] = q;
    this.n++;
  }

  /** The queued samples as one journal chunk. */
  encode(): Buffer {
    return encodeChunk(this.tag, this.ts, this.v, this.q, this.n);
  }

  private grow(): void {
    const n = this.tag.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.tag = grow(this.tag, Uint32Array);
    this.ts = grow(this.ts, Float64Array);
    this.v = grow(this.v, Float64Array);
    this.q = grow(this.q, Uint8Array);
  }
}
