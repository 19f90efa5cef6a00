/**
 * The stream hub's fan-out, by its structure (issue 25): each delta is
 * encoded once whatever the number of clients, and the events of one turn of
 * the event loop (several bus messages read at once, as a web node catching
 * up on Redis reads them) reach each client in one write, the same bytes for
 * every client; and on Redis, a web node passes a poller's frame (its scan,
 * already the stream's delta in the plant's tag space) to its clients as it
 * came, without decoding the values nor encoding them again.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { LivenessWatch } from '../../src/bus/liveness.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { parseConfig } from '../../src/config/load.js';
import type { StreamDelta } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { needRedis, redisBus, testPrefix } from '../bus/redis-helpers.js';

const config = parseConfig(`devices:\n  plc: { host: 127.0.0.1 }\ntags:\n  a: { area: holding, address: 0 }\n  b: { area: holding, address: 1 }\n`, 'test.yaml');

/** How many times `run` made JSON.stringify encode something (in this process: the publisher's side too). */
async function countingEncodes(run: () => Promise<void>): Promise<number> {
  const encode = JSON.stringify;
  let encodes = 0;
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
    encodes++;
    return encode(...args);
  }) as typeof JSON.stringify;
  try {
    await run();
  } finally {
    JSON.stringify = encode;
  }
  return encodes;
}

describe('SSE fan-out', { timeout: 20_000 }, () => {
  it('writes the deltas of one turn to each client at once, the same bytes to all, each delta encoded once', async (t) => {
    const bus = new MemoryBus();
    const { app, hub } = await createWebServer({ bus, config });
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    const port = (app.server.address() as { port: number }).port;
    const streams = await Promise.all([1, 2, 3].map(() => openStream(port)));
    t.after(() => streams.forEach((s) => s.close()));
    await Promise.all(streams.map((s) => s.waitEvents(1)));

    // What the hub writes to each client's socket from here on.
    const clients = (hub as unknown as { clients: Set<{ socket: Socket }> }).clients;
    assert.equal(clients.size, 3);
    const writes = new Map<Socket, unknown[]>();
    for (const { socket } of clients) {
      const chunks: unknown[] = [];
      writes.set(socket, chunks);
      const write = socket.write.bind(socket) as (chunk: unknown) => boolean;
      socket.write = ((chunk: unknown) => {
        chunks.push(chunk);
        return write(chunk);
      }) as typeof socket.write;
    }
    const deltasBefore = hub.stats.deltas;
    const encodes = await countingEncodes(async () => {
      // Five scans arriving together (one read from the bus's socket), before the hub's turn ends.
      await Promise.all([1, 2, 3, 4, 5].map((n) => bus.publishValues([{ tag: 'a', value: n, quality: 'Good', sourceTs: 1000 + n, serverTs: 1000 + n }])));
      await Promise.all(streams.map((s) => s.waitEvents(6)));
    });
    assert.equal(hub.stats.deltas - deltasBefore, 5);
    assert.equal(encodes, 5, 'one encoding per delta, not per client');
    const all = [...writes.values()];
    for (const chunks of all) assert.equal(chunks.length, 1, 'one write per client for the five deltas');
    assert.ok(all.every((c) => c[0] === all[0]![0]), 'the same bytes to every client');
    for (const s of streams) {
      const deltas = s.events.filter((e) => e.event === 'delta').map((e) => (JSON.parse(e.data) as StreamDelta).values[0]![1]);
      assert.deepEqual(deltas, [1, 2, 3, 4, 5]);
      const ids = s.events.slice(1).map((e) => Number(e.id!.split('.')[1]));
      assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), 'every delta, in order, with consecutive ids');
    }
  });

  it('on Redis, passes a frame to every client as it came: no value decoded, nothing encoded again', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'frame-fanout');
    const tagDevices = new Map(config.tags.map((tag) => [tag.name, tag.device]));
    const poller = await redisBus(t, { prefix, tagDevices });
    // As `planta web` has it: the Redis bus behind the watch over silent pollers.
    const watch = new LivenessWatch(await redisBus(t, { prefix, tagDevices }), { tagDevices });
    await watch.start();
    t.after(() => watch.stop());
    const { app, hub } = await createWebServer({ bus: watch.bus, config });
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    const port = (app.server.address() as { port: number }).port;
    const streams = await Promise.all([1, 2].map(() => openStream(port)));
    t.after(() => streams.forEach((s) => s.close()));
    await Promise.all(streams.map((s) => s.waitEvents(1)));
    // A first scan: the poller's first frame also brings its tag space's names to Redis.
    await poller.publishValues([{ tag: 'a', value: 1, quality: 'Good', sourceTs: 4000, serverTs: 4000 }], { device: 'plc', upTo: 4000 });
    await Promise.all(streams.map((s) => s.waitEvents(2)));

    const encodes = await countingEncodes(async () => {
      await poller.publishValues(
        [
          { tag: 'a', value: 7, quality: 'Good', sourceTs: 5000, serverTs: 5001 },
          { tag: 'b', value: 8, quality: 'Uncertain_EngineeringUnitsExceeded', sourceTs: 5000, serverTs: 5001 },
        ],
        { device: 'plc', upTo: 5000 },
      );
      await Promise.all(streams.map((s) => s.waitEvents(3)));
    });
    assert.equal(hub.stats.forwarded, 2);
    assert.equal(encodes, 1, 'the poller encoded the frame\'s header; the web node encoded nothing');
    for (const s of streams) {
      const delta = s.events.filter((e) => e.event === 'delta')[1]!;
      assert.equal(delta.data, '{"t":5000,"values":[[0,7],[1,8,"Uncertain_EngineeringUnitsExceeded",5000]]}');
    }
    // The mirror took the values: the REST read and a new client's snapshot have them.
    assert.deepEqual(hub.lastValue('b'), { tag: 'b', value: 8, quality: 'Uncertain_EngineeringUnitsExceeded', sourceTs: 5000, serverTs: 5001 });
    const late = await openStream(port);
    t.after(() => late.close());
    await late.waitEvents(1);
    assert.deepEqual((JSON.parse(late.events[0]!.data) as { values: unknown[] }).values, [
      [0, 7, 'Good', 5000],
      [1, 8, 'Uncertain_EngineeringUnitsExceeded', 5000],
    ]);
  });
});
