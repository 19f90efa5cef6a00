/**
 * The structure of the request path that bench:modbus measures (issue 25):
 * what each request costs in socket writes, buffers and timers, counted on
 * real sockets, never timed. Each check names the cost it keeps out.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BitArea, ModbusTcpClient, ModbusTcpServer, NO_RESPONSE, RegisterArea, createAreaHandler } from '../../src/modbus/index.js';
import { HOST, until } from './helpers.js';

const T = { timeout: 20_000 };
const N = 200;

interface Write {
  /** The local and remote ports of the socket written to. */
  local: number;
  remote: number;
  chunk: Buffer;
}

type WriteBuffer = (this: object, req: object, data: Buffer) => number;

/**
 * Records every write of this process to a TCP handle while `body` runs: the
 * writes the OS gets (net.Socket.write, or a direct handle write), one per syscall.
 */
async function recordWrites(probe: net.Socket, body: () => Promise<void>): Promise<Write[]> {
  let proto = Object.getPrototypeOf((probe as unknown as { _handle: object })._handle) as Record<string, unknown>;
  while (!Object.hasOwn(proto, 'writeBuffer')) proto = Object.getPrototypeOf(proto) as Record<string, unknown>;
  const original = proto.writeBuffer as WriteBuffer;
  const writev = proto.writev as (...a: unknown[]) => number;
  const writes: Write[] = [];
  const ports = (handle: object): { local: number; remote: number } => {
    const local: { port?: number } = {};
    const remote: { port?: number } = {};
    const tcp = handle as { getsockname?(o: object): number; getpeername?(o: object): number };
    // Pipes (the test runner's stdout) share the method; they have no ports.
    tcp.getsockname?.(local);
    tcp.getpeername?.(remote);
    return { local: local.port ?? 0, remote: remote.port ?? 0 };
  };
  proto.writeBuffer = function (this: object, req: object, data: Buffer): number {
    writes.push({ ...ports(this), chunk: data });
    return original.call(this, req, data);
  };
  proto.writev = function (this: object, ...a: unknown[]): number {
    writes.push({ ...ports(this), chunk: Buffer.alloc(0) });
    return writev.apply(this, a);
  };
  try {
    await body();
  } finally {
    proto.writeBuffer = original;
    proto.writev = writev;
  }
  return writes;
}

/** Counts the timers created while `body` runs. */
async function countTimers(body: () => Promise<void>): Promise<number> {
  let timers = 0;
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => {
    timers++;
    return original(...a);
  }) as typeof setTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = original;
  }
  return timers;
}

describe('request path: the cost of one request, in structure', () => {
  let server: ModbusTcpServer;
  let port: number;
  let client: ModbusTcpClient;

  before(async () => {
    const holding = new RegisterArea(1000);
    for (let i = 0; i < 1000; i++) holding.set(i, i);
    server = new ModbusTcpServer({
      host: HOST,
      port: 0,
      handler: createAreaHandler({ coils: new BitArea(1000), discreteInputs: new BitArea(1000), holdingRegisters: holding, inputRegisters: holding }),
    });
    ({ port } = await server.listen());
    client = new ModbusTcpClient({ host: HOST, port, reconnect: false });
    await client.connect();
    await client.readHoldingRegisters(0, 125); // the connection's first exchange is behind us
    probeSocket = net.connect({ host: HOST, port });
    await new Promise((resolve) => probeSocket.once('connect', resolve));
  });

  after(async () => {
    probeSocket.destroy();
    await client.close();
    await server.close();
  });

  /** A connected socket, to find the TCP handle's methods by. */
  let probeSocket: net.Socket;
  const probe = (): net.Socket => probeSocket;

  const oneAtATime = async (): Promise<void> => {
    for (let i = 0; i < N; i++) {
      const regs = await client.readHoldingRegisters(i, 125);
      assert.equal(regs[0], i);
    }
  };

  it('client, one at a time: one socket write per request, from one reused frame buffer', T, async () => {
    const writes = (await recordWrites(probe(), oneAtATime)).filter((w) => w.remote === port);
    assert.equal(writes.length, N, 'one write per request');
    assert.ok(writes.every((w) => w.chunk.length === 12));
    assert.equal(new Set(writes.map((w) => w.chunk)).size, 1, 'every request frame written from the same buffer');
  });

  it('client: requests made in one turn leave in one write', T, async () => {
    const windowed = new ModbusTcpClient({ host: HOST, port, reconnect: false, window: 32 });
    await windowed.connect();
    const writes = (
      await recordWrites(probe(), async () => {
        const all = Array.from({ length: 32 }, (_, i) => windowed.readHoldingRegisters(i, 10));
        assert.equal((await Promise.all(all)).length, 32);
      })
    ).filter((w) => w.remote === port);
    await windowed.close();
    // The first goes alone on the idle connection; the 31 made in the same turn follow together.
    assert.deepEqual(
      writes.map((w) => w.chunk.length / 12),
      [1, 31],
    );
  });

  it('client: requests go through the socket handle, not the Writable stream around it', T, async () => {
    // The Writable path cost a WriteWrap, its state machine and a nextTick per request.
    assert.equal(await streamWritesDuring((s) => s.remotePort === port, oneAtATime), 0);
  });

  it('client: no timer per request (one deadline timer for all of them)', T, async () => {
    const timers = await countTimers(oneAtATime);
    assert.ok(timers <= 1, `${timers} timers created for ${N} requests`);
  });

  it('server, one request at a time: one socket write per request, into one reused reply buffer', T, async () => {
    const writes = (await recordWrites(probe(), oneAtATime)).filter((w) => w.local === port);
    assert.equal(writes.length, N, 'one write per request');
    assert.ok(writes.every((w) => w.chunk.length === 7 + 2 + 250));
    // A reply buffer allocated per request cost a Buffer (and its garbage) per reply.
    assert.equal(new Set(writes.map((w) => w.chunk)).size, 1, 'every reply written from the same buffer');
  });

  it("server: a handler's own bytes (writeRaw) are never reused for an answer", T, async () => {
    const areas = createAreaHandler({ holdingRegisters: new RegisterArea(1000) });
    const mine = Buffer.from([0, 9, 0, 0, 0, 5, 1, 3, 2, 0xab, 0xcd]);
    const own = new ModbusTcpServer({
      host: HOST,
      port: 0,
      handler: (req, ctx) => {
        if (req.fc !== 3 || req.address !== 999) return areas(req, ctx);
        ctx.writeRaw(mine);
        return NO_RESPONSE;
      },
    });
    const { port: ownPort } = await own.listen();
    const c = new ModbusTcpClient({ host: HOST, port: ownPort, reconnect: false, timeout: 200 });
    try {
      await c.readHoldingRegisters(999, 1).catch(() => undefined); // answered with mine (transaction 9): not this request's reply
      for (let i = 0; i < 3; i++) assert.equal((await c.readHoldingRegisters(0, 1)).length, 1); // answers as long as mine
      assert.deepEqual([...mine], [0, 9, 0, 0, 0, 5, 1, 3, 2, 0xab, 0xcd]);
    } finally {
      await c.close();
      await own.close();
    }
  });

  it('server: the answers go through the socket handle, not the Writable stream around it', T, async () => {
    // The Writable path cost a WriteWrap, its state machine and a nextTick per answer.
    assert.equal(await streamWritesDuring((s) => s.localPort === port, oneAtATime), 0);
  });

  it('server: a client that stops reading holds the answers back (reading pauses), then gets all of them in order', T, async () => {
    const count = 80_000; // 20 MB of answers: more than the loopback buffers hold
    const raw = net.connect({ host: HOST, port });
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.pause();
    const frames = Buffer.alloc(12 * count);
    for (let i = 0; i < count; i++) frames.set([i >> 8, i & 0xff, 0, 0, 0, 6, 1, 3, 0, 0, 0, 125], 12 * i);
    const before = server.stats.requests;
    raw.write(frames);
    await until(() => server.stats.requests - before >= 1000, 10_000, 'the server answering');
    let got = 0;
    let expected = 0;
    let rest = Buffer.alloc(0);
    let bad = '';
    raw.on('data', (d: Buffer) => {
      let buf = rest.length ? Buffer.concat([rest, d]) : d;
      while (buf.length >= 259) {
        if (buf.readUInt16BE(0) !== (expected & 0xffff) || buf[8] !== 250 || buf.readUInt16BE(9 + 248) !== 124) bad ||= `answer ${got} is not the answer to request ${expected}`;
        expected++;
        got++;
        buf = buf.subarray(259);
      }
      rest = Buffer.from(buf);
    });
    raw.resume();
    await until(() => got === count || bad !== '', 15_000, `${count} answers (got ${got})`);
    raw.destroy();
    assert.equal(bad, '');
  });

  it('server: no timer per request', T, async () => {
    const timers = await countTimers(oneAtATime);
    assert.ok(timers <= 1, `${timers} timers created for ${N} requests`);
  });

  it('server: the answers to the requests of one read leave in one write', T, async () => {
    const raw = net.connect({ host: HOST, port });
    await new Promise((resolve) => raw.once('connect', resolve));
    const frames = Buffer.concat(Array.from({ length: 8 }, (_, i) => Buffer.from([0, i + 1, 0, 0, 0, 6, 1, 3, 0, i, 0, 2])));
    const got: Buffer[] = [];
    const writes = await recordWrites(raw, async () => {
      raw.write(frames);
      let bytes = 0;
      await new Promise<void>((resolve) =>
        raw.on('data', (d: Buffer) => {
          got.push(d);
          bytes += d.length;
          if (bytes === 8 * 13) resolve();
        }),
      );
    });
    raw.destroy();
    const answers = writes.filter((w) => w.local === port);
    assert.equal(answers.length, 1);
    const all = Buffer.concat(got);
    for (let i = 0; i < 8; i++) assert.equal(all.readUInt16BE(13 * i), i + 1, 'in order');
  });
});

/** How many writes went through the Writable stream (net.Socket#write) of the sockets `mine` picks while `work` ran. */
async function streamWritesDuring(mine: (s: net.Socket) => boolean, work: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const original = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: net.Socket, ...a: unknown[]) {
    if (mine(this)) count++;
    return (original as (...x: unknown[]) => boolean).apply(this, a);
  } as typeof original;
  try {
    await work();
  } finally {
    net.Socket.prototype.write = original;
  }
  return count;
}
