/**
 * Idle and half-open connections never lock clients out (issue 28.1), over
 * real sockets: a limit's worth of silent connections, or of connections that
 * sent a partial header, and a fresh client is still served within 1 s; a
 * connection that sends no complete request is closed after the idle time
 * (bytes that never complete a frame do not count), one that leaves a frame
 * half-sent after the frame timeout; at the limit the connection idle longest
 * makes room, never a slow but active one; a per-address limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BitArea,
  type ConnectionClosed,
  ModbusTcpClient,
  ModbusTcpServer,
  RegisterArea,
  type ServerOptions,
  createAreaHandler,
} from '../../src/modbus/index.js';
import { assertThroughout } from '../helpers/wait.js';
import { HOST, RawClient, delay, until } from './helpers.js';

const T = { timeout: 30_000 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const READ = hex('0001 0000 0006 01 03 0000 0001');

async function start(opts: Omit<ServerOptions, 'handler'> = {}): Promise<{ server: ModbusTcpServer; port: number; closed: ConnectionClosed[]; close(): Promise<void> }> {
  const holding = new RegisterArea(10);
  for (let i = 0; i < 10; i++) holding.set(i, 1000 + i);
  const handler = createAreaHandler({ coils: new BitArea(10), discreteInputs: new BitArea(10), holdingRegisters: holding, inputRegisters: holding });
  const server = new ModbusTcpServer({ host: HOST, port: 0, handler, ...opts });
  const { port } = await server.listen();
  const closed: ConnectionClosed[] = [];
  server.on('closed', (e) => closed.push(e));
  return { server, port, closed, close: () => server.close() };
}

/** A fresh client's read, timed from its first attempt; it must be answered within `withinMs`. */
async function freshReadWithin(port: number, withinMs: number): Promise<number> {
  const client = new ModbusTcpClient({ host: HOST, port, timeout: withinMs, connectTimeout: withinMs, reconnect: false });
  const t0 = performance.now();
  try {
    assert.deepEqual([...(await client.readHoldingRegisters(0, 2))], [1000, 1001]);
    const ms = performance.now() - t0;
    assert.ok(ms < withinMs, `answered after ${ms.toFixed(0)} ms`);
    return ms;
  } finally {
    await client.close();
  }
}

async function exchange(raw: RawClient): Promise<void> {
  raw.send(READ);
  assert.equal((await raw.read(11, 3000)).length, 11);
}

/** A slow but active client: one request every `periodMs` until stopped; `answered` counts the replies. */
function slowClient(raw: RawClient, periodMs: number): { readonly answered: number; stop(): Promise<void> } {
  let stopped = false;
  let answered = 0;
  const loop = (async () => {
    while (!stopped) {
      await exchange(raw);
      answered++;
      await delay(periodMs); // a pace: the slow client's request period; not a wait
    }
  })();
  return {
    get answered() {
      return answered;
    },
    async stop() {
      stopped = true;
      await loop.catch(() => undefined);
    },
  };
}

/** The client's address as the server sees it (kept: a closed socket forgets its port). */
const names = new WeakMap<RawClient, string>();
const local = (r: RawClient): string => {
  if (!names.has(r)) names.set(r, `${HOST}:${r.socket.localPort}`);
  return names.get(r)!;
};
async function connect(port: number): Promise<RawClient> {
  const r = await RawClient.connect(port);
  local(r);
  return r;
}

describe('server: idle and half-open connections never lock clients out', () => {
  for (const [what, bytes] of [
    ['silent', undefined],
    ['partial-header (00 01 00)', hex('00 01 00')],
  ] as const) {
    it(`64 ${what} connections held, then a fresh read is answered within 1 s`, T, async () => {
      // The defaults a user gets: 64 connections, 60 s idle time, 2 s frame timeout, evictable after 500 ms idle.
      const f = await start({ frameTimeout: 0 });
      const held: RawClient[] = [];
      try {
        for (let i = 0; i < 64; i++) {
          const r = await connect(f.port);
          if (bytes) r.send(bytes);
          held.push(r);
        }
        await until(() => f.server.stats.accepted === 64, 5000, '64 connections accepted');
        // Held well past the eviction grace (the report: still refused after 20 s); with nobody
        // needing the room, none of them may be closed meanwhile.
        await assertThroughout(1200, () => assert.equal(f.server.stats.connections, 64));
        await freshReadWithin(f.port, 1000);
        await freshReadWithin(f.port, 1000);
        assert.equal(f.server.stats.evicted, 2, 'each newcomer took the place of one held connection');
        assert.equal(f.server.stats.refused, 0);
        assert.ok(f.closed.every((e) => e.reason === 'evicted' && e.limit === 'connections' && e.idleMs >= 500));
        // The two evicted are the two that connected first: idle longest.
        assert.deepEqual(f.closed.map((e) => e.remote), held.slice(0, 2).map(local));
        await until(() => held[0]!.closed && held[1]!.closed, 2000, 'the evicted sockets closed');
        assert.equal(held.slice(2).filter((r) => r.closed).length, 0);
      } finally {
        await Promise.all(held.map((r) => r.destroy()));
        await f.close();
      }
    });
  }

  it('a partial frame pending past the frame timeout closes its connection', T, async () => {
    const f = await start({ frameTimeout: 300 });
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const r = await connect(f.port);
        r.send(hex('00 01 00'));
        held.push(r);
      }
      const t0 = performance.now();
      await until(() => held.every((r) => r.closed), 3000, 'the half-sent connections closed');
      const ms = performance.now() - t0;
      assert.ok(ms >= 250, `closed after ${ms.toFixed(0)} ms`);
      assert.equal(f.server.stats.frameTimeouts, 8);
      assert.ok(f.closed.every((e) => e.reason === 'frame'));
      assert.equal(held.some((r) => r.received.length > 0), false, 'no answer to a half frame');
      // A request split over reads within the frame timeout is still served.
      const raw = await connect(f.port);
      raw.send(READ.subarray(0, 5));
      await delay(100); // a pace: the gap between the two halves, inside the frame timeout; not a wait
      raw.send(READ.subarray(5));
      assert.equal((await raw.read(11)).length, 11);
      await raw.destroy();
    } finally {
      await Promise.all(held.map((r) => r.destroy()));
      await f.close();
    }
  });

  it('bytes that never complete a request do not keep a connection open: closed after the idle time', T, async () => {
    const f = await start({ idleTimeout: 500, frameTimeout: 0 });
    const raw = await connect(f.port);
    try {
      // A header announcing 253 more bytes, then one byte every 50 ms: it reads as traffic, never as a request.
      raw.send(hex('0001 0000 00FE'));
      const t0 = performance.now();
      while (!raw.closed && performance.now() - t0 < 3000) {
        raw.send([0]);
        await delay(50); // a pace: one byte every 50 ms; not a wait
      }
      assert.equal(raw.closed, true, 'closed while trickling');
      const ms = performance.now() - t0;
      assert.ok(ms >= 450 && ms < 2500, `closed after ${ms.toFixed(0)} ms`);
      assert.equal(f.server.stats.idleClosed, 1);
      assert.equal(f.closed[0]?.reason, 'idle');
    } finally {
      await raw.destroy();
      await f.close();
    }
  });

  it('at the limit the connection idle longest makes room; a slow but active client is neither evicted nor closed', T, async () => {
    const f = await start({ maxConnections: 3, idleTimeout: 1500, evictAfter: 200, frameTimeout: 0 });
    const a = await connect(f.port);
    await delay(100); // an age: a is idle 100 ms longer than b; not a wait
    const b = await connect(f.port);
    const slow = await connect(f.port);
    const newcomers: RawClient[] = [];
    // One request every 700 ms, under the idle time of 1.5 s, for 4 s.
    const pacer = slowClient(slow, 700);
    try {
      await delay(500); // an age: a and b idle past the 200 ms eviction grace; not a wait
      newcomers.push(await connect(f.port));
      await until(() => a.closed, 2000, 'a (idle longest) evicted');
      assert.equal(b.closed, false);
      await delay(500); // an age: the first newcomer passes the grace too, so b goes as idle longest; not a wait
      newcomers.push(await connect(f.port));
      await until(() => b.closed, 2000, 'b (now idle longest) evicted');
      assert.deepEqual(f.closed.map((e) => [e.remote, e.reason]), [[local(a), 'evicted'], [local(b), 'evicted']]);
      // The newcomers send nothing: the idle time closes them; the slow client stays.
      await until(() => newcomers.every((n) => n.closed), 4000, 'the idle newcomers closed');
      // The slow but active client must not be closed (over one more request period and then some).
      await assertThroughout(800, () => assert.equal(slow.closed, false, 'the slow client was never closed'));
      assert.ok(pacer.answered >= 5, `${pacer.answered} slow requests answered`);
      assert.equal(f.server.stats.evicted, 2);
      assert.equal(f.server.stats.idleClosed, 2);
      assert.ok(f.closed.every((e) => e.remote !== local(slow)));
    } finally {
      await pacer.stop();
      await Promise.all([a, b, slow, ...newcomers].map((r) => r.destroy()));
      await f.close();
    }
  });

  it('a newcomer arriving while every connection is active within the eviction grace waits for one to pass it, then takes its place', T, async () => {
    const f = await start({ maxConnections: 64, evictAfter: 300, frameTimeout: 0 });
    const held: RawClient[] = [];
    try {
      // The limit's worth opened just now: none may be evicted yet; the fresh client is not turned away.
      for (let i = 0; i < 64; i++) held.push(await connect(f.port));
      const ms = await freshReadWithin(f.port, 1000);
      assert.equal(f.server.stats.refused, 0);
      assert.equal(f.server.stats.evicted, 1);
      assert.equal(f.closed[0]?.remote, local(held[0]!), 'the one idle longest');
      assert.ok(f.closed[0]!.idleMs >= 300, `evicted after ${f.closed[0]!.idleMs} ms idle, not within the grace`);
      assert.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`);
    } finally {
      await Promise.all(held.map((r) => r.destroy()));
      await f.close();
    }
  });

  it('a newcomer is refused when every connection stays active past twice the eviction grace', T, async () => {
    const f = await start({ maxConnections: 2, evictAfter: 200 });
    const a = await connect(f.port);
    const b = await connect(f.port);
    let stop = false;
    // Both clients ask every 50 ms, well within the grace: neither may be evicted.
    const busy = [a, b].map(async (r) => {
      while (!stop) {
        await exchange(r);
        await delay(50); // a pace: the clients' request period; not a wait
      }
    });
    try {
      await until(() => f.server.stats.requests >= 4, 2000, 'both clients asking');
      const t0 = performance.now();
      const c = await connect(f.port);
      await c.waitClosed();
      const ms = performance.now() - t0;
      assert.ok(ms >= 350, `refused after ${ms.toFixed(0)} ms (it waits twice the 200 ms grace)`);
      assert.equal(f.server.stats.refused, 1);
      assert.equal(f.server.stats.evicted, 0);
      assert.equal(a.closed || b.closed, false);
    } finally {
      stop = true;
      await Promise.all(busy.map((p) => p.catch(() => undefined)));
      await Promise.all([a.destroy(), b.destroy()]);
      await f.close();
    }
  });

  it('a slow but active client is not evicted by a burst of new connections, while those that never asked can make room', T, async () => {
    const f = await start({ maxConnections: 4, evictAfter: 200, frameTimeout: 0 });
    const slow = await connect(f.port);
    // One request every 300 ms: idle past the 200 ms grace between two of them.
    const pacer = slowClient(slow, 300);
    const burst: RawClient[] = [];
    try {
      // Twelve newcomers that never ask, one every 50 ms: each takes the place of an older one of them.
      for (let i = 0; i < 12; i++) {
        burst.push(await connect(f.port));
        await delay(50); // a pace: the burst's rate; not a wait
      }
      await until(() => f.server.stats.evicted >= 9, 5000, 'the silent ones making room for each other');
      assert.equal(slow.closed, false, 'the slow client kept');
      assert.ok(f.closed.every((e) => e.remote !== local(slow)));
      const before = pacer.answered;
      await until(() => pacer.answered > before, 2000, 'the slow client still answered');
    } finally {
      await pacer.stop();
      await Promise.all([slow, ...burst].map((r) => r.destroy()));
      await f.close();
    }
  });

  it('a slow but active client idle longer than connections that never sent a request is not the one evicted', T, async () => {
    const f = await start({ maxConnections: 3, evictAfter: 200, frameTimeout: 0 });
    const slow = await connect(f.port);
    await exchange(slow);
    await delay(150); // an age: the slow client's last request is older than the silent ones' connect; not a wait
    const silent = [await connect(f.port), await connect(f.port)];
    try {
      await delay(300); // an age: every connection idle past the 200 ms grace, the slow one longest; not a wait
      await freshReadWithin(f.port, 1000);
      assert.equal(f.server.stats.evicted, 1);
      assert.equal(f.closed[0]?.remote, local(silent[0]!), 'the silent one idle longest, not the slow client');
      assert.equal(slow.closed, false);
      await exchange(slow);
    } finally {
      await Promise.all([slow, ...silent].map((r) => r.destroy()));
      await f.close();
    }
  });

  it('a per-address limit: past it, a newcomer takes the place of its own address\'s idle-longest connection', T, async () => {
    const f = await start({ maxConnections: 64, maxConnectionsPerAddress: 2, evictAfter: 100 });
    const a = await connect(f.port);
    await delay(50); // an age: a is idle 50 ms longer than b; not a wait
    const b = await connect(f.port);
    try {
      await delay(200); // an age: both idle past the 100 ms eviction grace; not a wait
      await freshReadWithin(f.port, 1000);
      await until(() => a.closed, 2000, 'a evicted');
      assert.equal(b.closed, false);
      assert.equal(f.closed[0]?.limit, 'per-address');
      assert.equal(f.server.stats.connections <= 2, true);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
      await f.close();
    }
  });

  it('lists its connections, idle longest first, and refuses impossible limits', T, async () => {
    const f = await start();
    const a = await connect(f.port);
    await delay(30); // an age: a is idle 30 ms longer than b, so it lists first; not a wait
    const b = await connect(f.port);
    b.send(hex('00 01'));
    try {
      await until(() => f.server.connectionList().length === 2 && f.server.connectionList()[1]!.partialBytes === 2);
      const list = f.server.connectionList();
      assert.deepEqual(list.map((c) => c.remote), [local(a), local(b)]);
      assert.ok(list[0]!.idleMs >= list[1]!.idleMs);
      assert.deepEqual(f.server.limits, { maxConnections: 64, maxConnectionsPerAddress: 0, idleTimeout: 60_000, frameTimeout: 2000, evictAfter: 500 });
      assert.throws(() => new ModbusTcpServer({ handler: () => ({ fc: 3, registers: new Uint16Array(0) }) as never, maxConnections: 0 }), RangeError);
      assert.throws(() => new ModbusTcpServer({ handler: () => ({ fc: 3, registers: new Uint16Array(0) }) as never, idleTimeout: -1 }), RangeError);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
      await f.close();
    }
  });
});
