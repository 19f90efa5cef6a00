/**
 * API answers over real HTTP: JSON bigger than 1 kB goes out as brotli or
 * gzip as Accept-Encoding allows, and decodes to the same body as the plain
 * answer; small answers, the event stream and the HMI's precompressed files
 * are left as they were.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync } from 'node:zlib';
import { MemoryBus } from '../../src/bus/memory.js';
import { createWebServer } from '../../src/web/server.js';
import { plantConfig } from './wired.js';
import { decoded, get } from '../helpers/encoded-http.js';

/** The stream's head and its first bytes, then the connection is dropped (it never ends on its own). */
function firstOfStream(port: number): Promise<{ headers: Record<string, string | string[] | undefined>; first: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/stream', headers: { 'accept-encoding': 'br, gzip', accept: 'text/event-stream' } }, (res) => {
      res.once('data', (c: Buffer) => {
        resolve({ headers: res.headers, first: c.toString('utf8') });
        req.destroy();
      });
      res.on('error', () => {});
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

describe('compressed API answers', { timeout: 60_000 }, () => {
  let port = 0;
  let hmiDir = '';
  let close: () => Promise<void> = async () => {};
  const page = `<!doctype html><title>Planta</title>${'<p>the HMI, big enough to be worth compressing</p>\n'.repeat(60)}`;
  const asset = `console.log(${JSON.stringify('x'.repeat(4000))});`;

  before(async () => {
    hmiDir = mkdtempSync(join(tmpdir(), 'planta-compress-'));
    writeFileSync(join(hmiDir, 'index.html'), page);
    writeFileSync(join(hmiDir, 'index.html.br'), brotliCompressSync(page));
    writeFileSync(join(hmiDir, 'plain.js'), asset);
    const bus = new MemoryBus();
    const { app } = await createWebServer({ bus, config: plantConfig(), hmiDir });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
    close = async () => {
      await app.close();
      await bus.close();
    };
  });

  after(async () => {
    await close();
    rmSync(hmiDir, { recursive: true, force: true });
  });

  it('sends JSON over 1 kB as brotli or gzip, as accepted, decoding to the plain answer', async () => {
    for (const path of ['/api/tags', '/api/plant']) {
      const plain = await get(port, path);
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['content-encoding'], undefined, `${path} without Accept-Encoding`);
      assert.ok(plain.wire.length > 1024, `${path} is ${plain.wire.length} bytes: big enough to test`);
      for (const [accept, encoding] of [
        ['br, gzip', 'br'],
        ['gzip, deflate', 'gzip'],
        ['gzip;q=1, br;q=0.5', 'gzip'],
        ['identity', undefined],
      ] as const) {
        const g = await get(port, path, { 'accept-encoding': accept });
        assert.equal(g.status, 200);
        assert.equal(g.headers['content-encoding'], encoding, `${path} with "${accept}"`);
        assert.match(String(g.headers['content-type']), /^application\/json/);
        if (encoding) assert.ok(g.wire.length < plain.wire.length / 2, `${path}: ${g.wire.length} of ${plain.wire.length} bytes`);
        assert.deepEqual(JSON.parse(decoded(g).toString('utf8')), JSON.parse(plain.wire.toString('utf8')), `${path} with "${accept}"`);
      }
    }
  });

  it('leaves small answers as they are', async () => {
    const g = await get(port, '/api/session', { 'accept-encoding': 'br, gzip' });
    assert.equal(g.status, 200);
    assert.ok(g.wire.length < 1024);
    assert.equal(g.headers['content-encoding'], undefined);
    assert.equal(JSON.parse(g.wire.toString('utf8')).user, 'anonymous');
  });

  it('never compresses the event stream, whose first event arrives at once', async () => {
    const { headers, first } = await firstOfStream(port);
    assert.match(String(headers['content-type']), /^text\/event-stream/);
    assert.equal(headers['content-encoding'], undefined);
    assert.match(first, /^(:|event:|id:|data:|retry:)/m, 'readable text, not compressed bytes');
  });

  it('serves the HMI files as before: the precompressed copy when there is one, else the file itself', async () => {
    const g = await get(port, '/', { 'accept-encoding': 'br, gzip' });
    assert.equal(g.headers['content-encoding'], 'br');
    assert.equal(decoded(g).toString('utf8'), page);
    const js = await get(port, '/plain.js', { 'accept-encoding': 'br, gzip' });
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-encoding'], undefined, 'no per-request compression of the static files');
    assert.equal(js.wire.toString('utf8'), asset);
  });
});
