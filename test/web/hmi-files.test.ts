/**
 * The built HMI over HTTP: each file goes out as the build's brotli or gzip
 * copy, whichever the client accepts (as is otherwise); hashed assets are
 * cached for a year, the page is revalidated with its ETag; and the first
 * load (the page and what it names) is at most 100 kB on the wire.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { createWebServer } from '../../src/web/server.js';
import { buildHmi } from '../helpers/hmi-build.js';
import { plantConfig } from './wired.js';
import { decoded, get } from '../helpers/encoded-http.js';

const FIRST_LOAD_LIMIT = 100_000;

/** What the page loads before it runs: its scripts, styles and preloaded modules. */
function named(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="\.\/([^"]+)"/g)].map((m) => `/${m[1]!}`);
}

describe('the HMI files over HTTP', { timeout: 180_000 }, () => {
  let hmiDir = '';
  let port = 0;
  let close: () => Promise<void> = async () => {};

  before(async () => {
    hmiDir = buildHmi();
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

  it('sends brotli, gzip or the file itself as Accept-Encoding allows, the same content each way', async () => {
    const html = readFileSync(join(hmiDir, 'index.html'));
    const script = named(html.toString()).find((p) => p.endsWith('.js'))!;
    for (const path of ['/', script]) {
      const plain = readFileSync(join(hmiDir, path === '/' ? 'index.html' : path));
      for (const [accept, encoding] of [
        ['gzip, deflate, br, zstd', 'br'],
        ['gzip;q=1, br;q=0', 'gzip'],
        ['gzip', 'gzip'],
        ['identity', undefined],
        ['', undefined],
      ] as const) {
        const g = await get(port, path, accept ? { 'accept-encoding': accept } : {});
        assert.equal(g.status, 200, `${path} with ${accept}`);
        assert.equal(g.headers['content-encoding'], encoding, `${path} with "${accept}"`);
        assert.equal(g.headers.vary, 'accept-encoding');
        assert.match(String(g.headers['content-type']), path === '/' ? /^text\/html/ : /^text\/javascript|^application\/javascript/);
        assert.ok(decoded(g).equals(plain), `${path} with "${accept}" is the built file`);
        if (encoding) assert.ok(g.wire.length < plain.length * (path === '/' ? 0.75 : 0.4), `${path} as ${encoding}: ${g.wire.length} of ${plain.length} bytes`);
      }
    }
  });

  it('caches hashed assets for a year and has the page revalidated with its ETag', async () => {
    const page = await get(port, '/', { 'accept-encoding': 'br' });
    assert.equal(page.headers['cache-control'], 'no-cache');
    const etag = page.headers.etag;
    assert.equal(typeof etag, 'string');
    const again = await get(port, '/', { 'accept-encoding': 'br', 'if-none-match': String(etag) });
    assert.equal(again.status, 304);
    assert.equal(again.wire.length, 0);
    // The page itself by name, and a client route of the HMI, are revalidated too.
    assert.equal((await get(port, '/index.html', { 'accept-encoding': 'br' })).headers['cache-control'], 'no-cache');
    assert.equal((await get(port, '/some/client/route')).headers['cache-control'], 'no-cache');
    const assets = named(decoded(page).toString());
    assert.ok(assets.length >= 2, `the page names its script and styles: ${assets.join(', ')}`);
    for (const path of assets) {
      assert.match(path, /^\/assets\/[\w-]+-[\w-]{8}\.(?:js|css)$/, 'a hashed name');
      for (const accept of ['br', 'gzip', '']) {
        const g = await get(port, path, accept ? { 'accept-encoding': accept } : {});
        assert.equal(g.status, 200);
        assert.equal(g.headers['cache-control'], 'public, max-age=31536000, immutable', `${path} with "${accept}"`);
      }
    }
  });

  it('loads the first page in at most 100 kB, with brotli and with gzip alone', async () => {
    for (const accept of ['gzip, deflate, br', 'gzip']) {
      const page = await get(port, '/', { 'accept-encoding': accept });
      let total = page.wire.length;
      const sizes = [`/ ${page.wire.length}`];
      for (const path of named(decoded(page).toString())) {
        const g = await get(port, path, { 'accept-encoding': accept });
        assert.equal(g.status, 200);
        total += g.wire.length;
        sizes.push(`${path} ${g.wire.length}`);
      }
      assert.ok(total <= FIRST_LOAD_LIMIT, `first load with "${accept}": ${total} bytes (${sizes.join(', ')})`);
    }
  });
});

describe('the build as npm run build:hmi runs it', () => {
  it('precompresses an output folder named relative to hmi/ (hmi/dist), not one relative to the working directory', (t) => {
    const name = `dist-relative-${process.pid}`;
    t.after(() => rmSync(new URL(`../../hmi/${name}`, import.meta.url).pathname, { recursive: true, force: true }));
    const dir = buildHmi(name);
    for (const f of ['index.html.br', 'index.html.gz']) assert.ok(existsSync(join(dir, f)), `${f} beside index.html`);
  });
});
