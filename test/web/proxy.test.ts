/**
 * Behind a reverse proxy and over TLS (issue 19, items 6 and 8): forwarded
 * headers are believed only from the proxies of security.trustProxy, so
 * req.ip is the client everywhere; "this machine" never means "through the
 * proxy"; HSTS on every response served over TLS, never over plain HTTP.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { anonymousViewing } from '../../src/web/auth.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { plantConfig, wiredServer } from './wired.js';

const HSTS = 'max-age=31536000';

/** A self-signed certificate for 127.0.0.1 (openssl), removed after the test. */
function selfSigned(t: TestContext): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'planta-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

describe('proxies and TLS', { timeout: 60_000 }, () => {
  it('without trustProxy, X-Forwarded-For and Forwarded are ignored: req.ip is the socket peer', async (t) => {
    const w = await wiredServer(t);
    w.app.get('/test/ip', { config: { access: 'public' } }, async (req) => ({ ip: req.ip }));
    const ip = async (remoteAddress: string, headers: Record<string, string>) => (await w.app.inject({ url: '/test/ip', remoteAddress, headers })).json().ip as string;
    assert.equal(await ip('10.0.0.5', { 'x-forwarded-for': '127.0.0.1' }), '10.0.0.5');
    assert.equal(await ip('127.0.0.1', { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9' }), '127.0.0.1');
  });

  it('with trustProxy, the client named by a trusted proxy is req.ip; a forged X-Forwarded-For from anyone else is ignored', async (t) => {
    const w = await wiredServer(t, { config: plantConfig({ trustProxy: ['10.0.0.1', '192.168.50.0/24'] }) });
    w.app.get('/test/ip', { config: { access: 'public' } }, async (req) => ({ ip: req.ip }));
    const ip = async (remoteAddress: string, xff: string) => (await w.app.inject({ url: '/test/ip', remoteAddress, headers: { 'x-forwarded-for': xff } })).json().ip as string;
    assert.equal(await ip('10.0.0.1', '203.0.113.9'), '203.0.113.9', 'from the proxy');
    assert.equal(await ip('192.168.50.7', '203.0.113.10'), '203.0.113.10', 'from a trusted network');
    assert.equal(await ip('10.0.0.66', '203.0.113.9'), '10.0.0.66', 'from a host that is not a proxy');
    // A client sends its own X-Forwarded-For through the proxy, which appends the real peer: the forged part is not believed.
    assert.equal(await ip('10.0.0.1', '127.0.0.1, 203.0.113.9'), '203.0.113.9');
  });

  it('"local" anonymous viewing: only a loopback peer, and never when a proxy is configured', async (t) => {
    const direct = await wiredServer(t, { anonymous: 'local' });
    assert.equal((await direct.app.inject({ url: '/api/tags', remoteAddress: '127.0.0.1' })).statusCode, 200);
    assert.equal((await direct.app.inject({ url: '/api/tags', remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '127.0.0.1' } })).statusCode, 401);
    const proxied = await wiredServer(t, { anonymous: 'local', config: plantConfig({ anonymous: 'local', trustProxy: ['127.0.0.1'] }) });
    for (const headers of [{}, { 'x-forwarded-for': '127.0.0.1' }, { 'x-forwarded-for': '203.0.113.9' }]) {
      const res = await proxied.app.inject({ url: '/api/tags', remoteAddress: '127.0.0.1', headers });
      assert.deepEqual([res.statusCode, res.json().error.code], [401, 'PLANTA_AUTH_REQUIRED'], JSON.stringify(headers));
    }
    // Over a real socket too, and signed-in users still get in.
    const port = await proxied.listen();
    assert.equal((await rawRequest(port, '/api/tags')).status, 401);
    assert.equal((await rawRequest(port, '/api/tags', { headers: { cookie: (await proxied.as('viewer')).cookie! } })).status, 200);
    // And the start banner says so, rather than promising viewing from this machine.
    assert.equal(anonymousViewing({ anonymous: 'local', trustProxy: ['127.0.0.1'] }), 'everyone must sign in (anonymous: local lets nobody in behind the proxies of security.trustProxy)');
    assert.equal(anonymousViewing({ anonymous: 'local', trustProxy: [] }), 'viewing without sign-in from this machine only');
  });

  it('HSTS on every response over TLS (API, error, static, not found, stream, refusal); none over plain HTTP', async (t) => {
    const w = await wiredServer(t, { anonymous: 'local', tls: selfSigned(t), config: plantConfig({ anonymous: 'local', limits: { streamsPerIp: 1 } }) });
    const port = await w.listen();
    for (const [method, target] of [['GET', '/api/tags'], ['GET', '/healthz'], ['GET', '/'], ['GET', '/assets/app.js'], ['GET', '/no/such/page'], ['GET', '/api/nothing'], ['GET', '/api/audit'], ['POST', '/api/alarms/ack'], ['GET', '/%61pi/tags']] as const) {
      const res = await rawRequest(port, target, { method, tls: true });
      assert.ok(res.status > 0, `${method} ${target} answered`);
      assert.equal(res.headers['strict-transport-security'], HSTS, `${method} ${target} (${res.status})`);
    }
    const { get } = await import('node:https');
    const stream = await new Promise<{ hsts: string; close: () => void }>((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port, path: '/api/stream', rejectUnauthorized: false }, (res) => resolve({ hsts: String(res.headers['strict-transport-security']), close: () => req.destroy() }));
      req.on('error', reject);
    });
    t.after(() => stream.close());
    assert.equal(stream.hsts, HSTS, 'the stream');
    const refused = await rawRequest(port, '/api/stream', { tls: true });
    assert.deepEqual([refused.status, refused.headers['strict-transport-security']], [429, HSTS], 'a refused stream');

    const plain = await wiredServer(t, { anonymous: 'local' });
    const plainPort = await plain.listen();
    for (const target of ['/api/tags', '/', '/api/nothing']) assert.equal((await rawRequest(plainPort, target)).headers['strict-transport-security'], undefined, target);
    const s = await openStream(plainPort);
    t.after(() => s.close());
    await waitFor('the stream head', () => s.raw().includes('\r\n\r\n'));
    assert.doesNotMatch(s.raw(), /strict-transport-security/i);
  });
});
