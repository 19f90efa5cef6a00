/** An HTTP GET that keeps the body as it came over the wire, and its decoding: for tests of compression. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

export interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as it came over the wire (still encoded). */
  wire: Buffer;
}

export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, wire: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The body decoded as its content-encoding says (br, gzip, or none). */
export function decoded(g: Got): Buffer {
  const enc = g.headers['content-encoding'];
  if (enc === 'br') return brotliDecompressSync(g.wire);
  if (enc === 'gzip') return gunzipSync(g.wire);
  assert.equal(enc, undefined);
  return g.wire;
}
