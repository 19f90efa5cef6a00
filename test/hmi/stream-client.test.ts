/**
 * The HMI's stream client against a scripted HTTP server: it sends
 * Last-Event-ID when it reconnects, counts heartbeats as life, and drops a
 * stream that stays silent longer than its stale limit.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { type LinkState, StreamClient } from '../../hmi/src/live/stream.js';
import type { StreamDelta, StreamSnapshot } from '../../src/web/protocol.js';
import { waitFor } from '../helpers/wait.js';

const SNAPSHOT: StreamSnapshot = { epoch: 'e1', tags: ['a'], t: 1, values: [[0, 1]], devices: [], alarms: [] };

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function server(t: TestContext, handler: Handler): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const open = new Set<ServerResponse>();
  const s = createServer((req, res) => {
    requests.push(req);
    open.add(res);
    res.on('close', () => open.delete(res));
    handler(req, res, requests.length);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.after(async () => {
    for (const res of open) res.destroy();
    await new Promise((r) => s.close(r));
  });
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/api/stream`, requests };
}

function head(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream' });
  res.write('retry: 50\n\n');
}

function client(t: TestContext, url: string, staleMs: number) {
  const links: [LinkState, string][] = [];
  const snapshots: StreamSnapshot[] = [];
  const deltas: StreamDelta[] = [];
  const c = new StreamClient(
    { url, staleMs, retryMs: 50, maxRetryMs: 200 },
    { snapshot: (s) => snapshots.push(s), delta: (d) => deltas.push(d), devices: () => undefined, link: (s, d) => links.push([s, d]) },
  );
  c.start();
  t.after(() => c.stop());
  return { c, links, snapshots, deltas };
}

describe('stream client', { timeout: 20_000 }, () => {
  it('reconnects with Last-Event-ID after the server closes the stream', async (t) => {
    const srv = await server(t, (_req, res, n) => {
      head(res);
      if (n === 1) {
        res.write(`id: e1.0\nevent: snapshot\ndata: ${JSON.stringify(SNAPSHOT)}\n\n`);
        res.end(`id: e1.1\nevent: delta\ndata: ${JSON.stringify({ t: 2, values: [[0, 2]] })}\n\n`);
      }
    });
    const { links, snapshots, deltas } = client(t, srv.url, 5000);
    await waitFor('a second request', () => srv.requests.length >= 2);
    assert.equal(srv.requests[0]!.headers['last-event-id'], undefined);
    assert.equal(srv.requests[1]!.headers['last-event-id'], 'e1.1');
    assert.equal(snapshots.length, 1);
    assert.deepEqual(deltas, [{ t: 2, values: [[0, 2]] }]);
    assert.deepEqual(links.slice(0, 3).map((l) => l[0]), ['connecting', 'live', 'down']);
    assert.equal(links[2]![1], 'the server closed the live stream');
  });

  it('stays live on heartbeats and drops a stream that goes silent', async (t) => {
    let beat: NodeJS.Timeout | undefined;
    t.after(() => clearInterval(beat));
    const srv = await server(t, (_req, res, n) => {
      head(res);
      res.write(`id: e1.0\nevent: snapshot\ndata: ${JSON.stringify(SNAPSHOT)}\n\n`);
      if (n === 1) {
        // Heartbeats for a while (longer than the stale limit), then silence with the socket left open.
        let beats = 0;
        beat = setInterval(() => {
          if (++beats <= 8) res.write(': heartbeat\n\n');
          else clearInterval(beat);
        }, 100);
      }
    });
    const { links } = client(t, srv.url, 400);
    await waitFor('the link live', () => links.some((l) => l[0] === 'live'));
    const start = Date.now();
    await waitFor('the stream dropped as stale', () => links.find((l) => l[0] === 'down'), 5000);
    const down = links.find((l) => l[0] === 'down')!;
    assert.match(down[1], /^no data for \d+ s$/);
    assert.ok(Date.now() - start >= 700, 'heartbeats kept the stream alive past its stale limit');
    await waitFor('a reconnection', () => srv.requests.length >= 2);
    assert.equal(srv.requests[1]!.headers['last-event-id'], 'e1.0');
  });

  it('asks for a fresh snapshot after an event it cannot read', async (t) => {
    const srv = await server(t, (_req, res, n) => {
      head(res);
      if (n === 1) res.end(`id: e1.0\nevent: snapshot\ndata: {not json\n\n`);
    });
    const { links } = client(t, srv.url, 5000);
    await waitFor('a second request', () => srv.requests.length >= 2);
    assert.equal(srv.requests[1]!.headers['last-event-id'], undefined);
    assert.ok(links.some((l) => l[0] === 'down' && l[1] === 'the server sent an event that could not be read'));
  });
});
