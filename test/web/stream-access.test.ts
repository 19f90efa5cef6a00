/**
 * A live stream lasts no longer than what let it in: once its session ends
 * (signed out, its user disabled or changed, idle) or its API token is
 * revoked, the open stream is closed within a recheck, and opening it again
 * is refused — the HMI then shows that the session ended. A stream whose
 * session holds stays open.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closedWithin } from '../helpers/raw-http.js';
import { type SseConnection, openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';
import { plantConfig, wiredServer } from './wired.js';

const RECHECK_MS = 100;

describe('live streams end with their credentials', { timeout: 60_000 }, () => {
  it('signed out, disabled, role changed, idle, token revoked: the open stream closes; an untouched one stays', async (t) => {
    const w = await wiredServer(t, { streamRecheckMs: RECHECK_MS, config: plantConfig({ sessionIdle: 3000 }) });
    const port = await w.listen();
    const admin = await w.as('admin');
    const streams: SseConnection[] = [];
    t.after(() => streams.forEach((s) => s.close()));
    const open = async (headers: Record<string, string>): Promise<{ s: SseConnection; closed: Promise<number> }> => {
      const s = await openStream(port, { headers });
      streams.push(s);
      await s.waitEvents(1);
      assert.match(s.raw(), /^HTTP\/1\.1 200/);
      return { s, closed: closedWithin(s.socket) };
    };
    const within = (closed: Promise<number>, ms: number): Promise<boolean> => Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    const act = async (method: 'POST' | 'DELETE', url: string, headers: Record<string, string>, payload?: object) => {
      const res = await w.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      assert.equal(res.statusCode, 200, `${method} ${url}: ${res.body}`);
    };

    const kept = await open({ cookie: admin.cookie! });
    const viewer = await w.as('viewer');
    const disabled = await open({ cookie: viewer.cookie! });
    await act('POST', '/api/users/viewer', admin, { disabled: true });
    assert.ok(await within(disabled.closed, 2000), 'the disabled user\'s stream closed');
    const again = await openStream(port, { headers: { cookie: viewer.cookie! } });
    streams.push(again);
    assert.match(await waitFor('an answer', () => (again.raw().includes('\r\n\r\n') ? again.raw() : undefined)), /^HTTP\/1\.1 401/);

    const operator = await w.as('operator');
    const signedOut = await open({ cookie: operator.cookie! });
    await act('POST', '/api/logout', operator);
    assert.ok(await within(signedOut.closed, 2000), 'the signed-out session\'s stream closed');

    const engineer = await w.as('engineer');
    const demoted = await open({ cookie: engineer.cookie! });
    await act('POST', '/api/users/engineer', admin, { role: 'viewer' });
    assert.ok(await within(demoted.closed, 2000), 'the stream of a user whose role changed closed');

    const token = (await w.app.inject({ method: 'POST', url: '/api/tokens', headers: admin, payload: { name: 'wallboard' } })).json().token as string;
    const machine = await open({ authorization: `Bearer ${token}` });
    assert.equal(await within(machine.closed, 5 * RECHECK_MS), false, 'a token in force keeps its stream');
    await act('DELETE', '/api/tokens/wallboard', admin);
    assert.ok(await within(machine.closed, 2000), 'the revoked token\'s stream closed');

    // The admin's session is used by the requests above (not by its stream): untouched for sessionIdle, its stream ends too.
    assert.equal(await within(kept.closed, 100), false, 'a session in force keeps its stream');
    assert.ok(await within(kept.closed, 6000), 'an idle session\'s stream closed');
  });
});
