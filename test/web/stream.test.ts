/** The SSE stream over real sockets: snapshot then deltas, resume, slow clients, exact framing. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { parseConfig } from '../../src/config/load.js';
import type { TagValue } from '../../src/tags/types.js';
import type { BusLink } from '../../src/bus/types.js';
import type { DeviceInfo, StreamDelta, StreamSnapshot, TagWithState } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { SseFramingError, encodeEvent } from '../../src/web/sse.js';
import type { StreamHubOptions } from '../../src/web/stream.js';
import { openStream } from '../helpers/sse.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { status } from '../bus/contract.js';

const config = parseConfig(
  `devices:\n  plc: { host: 127.0.0.1 }\ntags:\n  level: { area: input, address: 0, scale: 0.1, unit: "%" }\n  pump: { area: coil, address: 1 }\n  name: { area: holding, address: 5, type: string, length: 4 }\n`,
  'test.yaml',
);

async function setup(t: TestContext, stream: Omit<StreamHubOptions, 'bus' | 'tags' | 'log'> = {}) {
  const bus = new MemoryBus();
  await bus.publishValues([
    { tag: 'level', value: 42.5, quality: 'Good', sourceTs: 1000, serverTs: 1000 },
    { tag: 'pump', value: null, quality: 'Bad_WaitingForInitialData', sourceTs: 1000, serverTs: 1000 },
  ]);
  const { app, hub } = await createWebServer({ bus, config, stream });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  t.after(() => app.close());
  let ts = 2000;
  const publish = (values: Omit<TagValue, 'sourceTs' | 'serverTs'>[]) => {
    ts += 100;
    return bus.publishValues(values.map((v) => ({ ...v, sourceTs: ts, serverTs: ts })));
  };
  return { bus, app, hub, port, publish };
}

describe('SSE stream', { timeout: 20_000 }, () => {
  it('sends a snapshot, then deltas with increasing ids', async (t) => {
    const { port, publish, hub } = await setup(t);
    const s = await openStream(port);
    t.after(() => s.close());
    const [snap] = await s.waitEvents(1);
    assert.equal(snap!.event, 'snapshot');
    const body = JSON.parse(snap!.data) as StreamSnapshot;
    assert.deepEqual(body.tags, ['level', 'pump', 'name']);
    assert.equal(body.epoch, hub.epoch);
    assert.deepEqual(body.values, [
      [0, 42.5, 'Good', 1000],
      [1, null, 'Bad_WaitingForInitialData', 1000],
      [2, null, 'Bad_WaitingForInitialData', 0],
    ]);
    assert.equal(snap!.id, `${hub.epoch}.0`);

    await publish([{ tag: 'level', value: 43, quality: 'Good' }, { tag: 'pump', value: true, quality: 'Good' }]);
    await publish([{ tag: 'level', value: 43, quality: 'Bad_Timeout' }]);
    await publish([{ tag: 'name', value: 'SBR', quality: 'Bad_DeviceFailure', exceptionCode: 4 }]);
    const events = await s.waitEvents(4);
    assert.deepEqual(events.slice(1).map((e) => [e.id, e.event]), [
      [`${hub.epoch}.1`, 'delta'],
      [`${hub.epoch}.2`, 'delta'],
      [`${hub.epoch}.3`, 'delta'],
    ]);
    const deltas = events.slice(1).map((e) => JSON.parse(e.data) as StreamDelta);
    assert.deepEqual(deltas[0], { t: 2100, values: [[0, 43], [1, true]] });
    assert.deepEqual(deltas[1], { t: 2200, values: [[0, 43, 'Bad_Timeout', 2200]] });
    assert.deepEqual(deltas[2], { t: 2300, values: [[2, 'SBR', 'Bad_DeviceFailure', 2300, 4]] });
  });

  it("a device nothing is heard of (poller silent, or no answer from the bus): its Good values go out as last usable values; a device the poller reports down is left to the poller", async (t) => {
    const { port, bus, publish } = await setup(t, { devicesIntervalMs: 10 });
    const s = await openStream(port);
    t.after(() => s.close());
    await s.waitEvents(1);
    const down = (code: string) => bus.publishDeviceStatus({ ...status('plc', 'down'), lastError: { code, message: 'x', at: 1 } });
    await down('PLANTA_MODBUS_TIMEOUT');
    await waitFor('the devices event', () => s.events.some((e) => e.event === 'devices'));
    assert.deepEqual(s.events.filter((e) => e.event === 'delta'), [], 'the poller sends its own qualities');
    await down('PLANTA_BUS_UNREACHABLE');
    const marked = await waitFor('the level marked', () => s.events.find((e) => e.event === 'delta'));
    const delta = JSON.parse(marked.data) as StreamDelta;
    assert.deepEqual(delta.values, [[0, 42.5, 'Uncertain_LastUsableValue', 1000]], 'the Good value with its own time; the Bad one as it is');
    const late = await openStream(port);
    t.after(() => late.close());
    const [snap] = await late.waitEvents(1);
    assert.deepEqual((JSON.parse(snap!.data) as StreamSnapshot).values[0], [0, 42.5, 'Uncertain_LastUsableValue', 1000], 'and so in a new client\'s snapshot');
    // The device's next report sends its values as they are.
    await publish([{ tag: 'level', value: 44, quality: 'Good' }]);
    await waitFor('the level good again', () => s.events.some((e) => e.event === 'delta' && e.data.includes('[[0,44]]')));
  });

  it('resumes with Last-Event-ID: exactly the missed events, no snapshot', async (t) => {
    const { port, publish } = await setup(t);
    const a = await openStream(port);
    await a.waitEvents(1);
    await publish([{ tag: 'level', value: 1, quality: 'Good' }]);
    const seen = await a.waitEvents(2);
    a.close();
    const lastId = seen[1]!.id!;
    await publish([{ tag: 'level', value: 2, quality: 'Good' }]);
    await publish([{ tag: 'level', value: 3, quality: 'Good' }]);
    await publish([{ tag: 'pump', value: false, quality: 'Good' }]);
    const b = await openStream(port, { lastEventId: lastId });
    t.after(() => b.close());
    const got = await b.waitEvents(3);
    // Something that must NOT happen: more replayed than was missed (a snapshot, an event twice). Replayed events are
    // written at once, in one go; the window only lets the socket deliver what was written with them.
    await assertThroughout(100, () => assert.equal(b.events.length, 3, 'nothing else'));
    assert.deepEqual(got.map((e) => e.event), ['delta', 'delta', 'delta']);
    assert.deepEqual(got.map((e) => (JSON.parse(e.data) as StreamDelta).values), [[[0, 2]], [[0, 3]], [[1, false]]]);
    // Resuming at the newest id gives nothing to replay, and no snapshot either.
    const c = await openStream(port, { lastEventId: got[2]!.id });
    t.after(() => c.close());
    await publish([{ tag: 'level', value: 4, quality: 'Good' }]);
    const [next] = await c.waitEvents(1);
    assert.equal(next!.event, 'delta');
  });

  it('answers a resume too old for the ring, or from another server run, with a snapshot', async (t) => {
    const { port, publish, hub } = await setup(t, { ringEvents: 4 });
    for (let i = 0; i < 10; i++) await publish([{ tag: 'level', value: i, quality: 'Good' }]);
    for (const id of [`${hub.epoch}.2`, `zzz.9`, 'garbage', `${hub.epoch}.99`]) {
      const s = await openStream(port, { lastEventId: id });
      const [first] = await s.waitEvents(1);
      s.close();
      assert.equal(first!.event, 'snapshot', id);
      assert.deepEqual((JSON.parse(first!.data) as StreamSnapshot).values[0], [0, 9, 'Good', 3000]);
    }
    const ok = await openStream(port, { lastEventId: `${hub.epoch}.6` });
    t.after(() => ok.close());
    const got = await ok.waitEvents(4);
    assert.deepEqual(got.map((e) => e.event), ['delta', 'delta', 'delta', 'delta'], 'the four newest are kept');
    assert.equal(hub.stats.resumed, 1);
  });

  it('a client that does not read never makes the server buffer without bound; it resyncs with a snapshot', async (t) => {
    const { port, publish, hub } = await setup(t, { maxBufferedBytes: 64 * 1024, slowTimeoutMs: 60_000 });
    const slow = await openStream(port, { read: false });
    t.after(() => slow.close());
    await waitFor('the slow client attached', () => hub.stats.clients === 1);
    const big = 'x'.repeat(200_000);
    let maxBuffered = 0;
    for (let i = 0; i < 100; i++) {
      await publish([{ tag: 'name', value: `${big}${i}`, quality: 'Good' }]);
      maxBuffered = Math.max(maxBuffered, hub.bufferedBytes());
    }
    // 100 events of 200 kB = 20 MB were published; the server holds at most its limit plus one event.
    assert.ok(maxBuffered < 64 * 1024 + 2 * 200_100, `server buffered ${maxBuffered} bytes`);
    slow.socket.resume();
    await waitFor('a snapshot after draining', () => slow.events.some((e) => e.event === 'snapshot' && e.data.includes(`${big}99`)), 10_000);
    assert.ok(hub.stats.coalesced >= 1);
    await publish([{ tag: 'level', value: 7, quality: 'Good' }]);
    await waitFor('deltas again', () => slow.events.at(-1)?.data.includes('[[0,7]]'), 3000);
  });

  it('disconnects a client that stays behind', async (t) => {
    const { port, publish, hub } = await setup(t, { maxBufferedBytes: 16 * 1024, slowTimeoutMs: 200 });
    const slow = await openStream(port, { read: false });
    t.after(() => slow.close());
    await waitFor('attached', () => hub.stats.clients === 1);
    // Enough to fill the kernel's socket buffers on both sides, and then the server's.
    const big = 'y'.repeat(200_000);
    for (let i = 0; i < 60; i++) await publish([{ tag: 'name', value: `${big}${i}`, quality: 'Good' }]);
    // Events go on; the first one after the client has been behind for 200 ms disconnects it.
    let level = 0;
    await waitFor('disconnected', async () => {
      await publish([{ tag: 'level', value: ++level, quality: 'Good' }]);
      return hub.stats.clients === 0;
    }, 3000);
    assert.equal(hub.stats.slowDisconnects, 1);
  });

  it('frames exactly: head, retry, event lines; heartbeats as comments', async (t) => {
    const { port, hub } = await setup(t, { heartbeatMs: 50, retryMs: 1500 });
    const s = await openStream(port);
    t.after(() => s.close());
    await s.waitEvents(1);
    await waitFor('two heartbeats', () => s.comments.length >= 2, 2000);
    const raw = s.raw();
    const [head, body] = raw.split('\r\n\r\n', 2) as [string, string];
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 200 OK');
    assert.ok(lines.includes('Content-Type: text/event-stream; charset=utf-8'));
    assert.ok(lines.includes('Cache-Control: no-cache, no-transform'));
    assert.ok(lines.includes('X-Accel-Buffering: no'));
    assert.ok(!lines.some((l) => /^(content-length|transfer-encoding):/i.test(l)), 'the body runs until the connection closes');
    assert.ok(body.startsWith(`retry: 1500\n\nid: ${hub.epoch}.0\nevent: snapshot\ndata: {"epoch":`), body.slice(0, 80));
    assert.match(body, /\n\n: heartbeat\n\n/);
  });

  it('the bus lost: every value not bad goes out as a last usable value with its read time, a bus event says since when, the reads say so at once; back: the resync sends them as they are', async (t) => {
    /** A bus whose link to Redis the test cuts and restores. */
    class Cut extends MemoryBus {
      private onLink: ((link: BusLink) => void) | undefined;
      override async subscribeLink(handler: (link: BusLink) => void): Promise<() => Promise<void>> {
        this.onLink = handler;
        handler({ up: true, since: 1 });
        return async () => undefined;
      }
      setLink(link: BusLink): void {
        this.onLink?.(link);
      }
    }
    const bus = new Cut();
    await bus.publishValues([
      { tag: 'level', value: 42.5, quality: 'Good', sourceTs: 1000, serverTs: 1000 },
      { tag: 'pump', value: true, quality: 'Bad_Timeout', sourceTs: 1100, serverTs: 1100 },
    ]);
    const { app } = await createWebServer({ bus, config, readyTimeoutMs: 5000 });
    // Deaf to reads from now on, as a Redis client with no connection: the answers must not wait for it.
    bus.snapshot = () => new Promise(() => undefined);
    bus.deviceStatuses = () => new Promise(() => undefined);
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    const s = await openStream((app.server.address() as { port: number }).port);
    t.after(() => s.close());
    await s.waitEvents(1);
    bus.setLink({ up: false, since: 5000, detail: 'no connection to Redis at redis://x:6379 (ECONNREFUSED)' });
    const [, delta, link] = await s.waitEvents(3);
    assert.deepEqual([delta!.event, JSON.parse(delta!.data)], ['delta', { t: JSON.parse(delta!.data).t, values: [[0, 42.5, 'Uncertain_LastUsableValue', 1000]] }]);
    assert.deepEqual([link!.event, JSON.parse(link!.data)], ['bus', { up: false, since: 5000, detail: 'no connection to Redis at redis://x:6379 (ECONNREFUSED)' }]);
    const at = Date.now();
    const level = (await app.inject('/api/tags/level')).json() as TagWithState;
    assert.deepEqual([level.value, level.quality, level.sourceTs, level.liveDataLostAt], [42.5, 'Uncertain_LastUsableValue', 1000, 5000]);
    assert.equal(((await app.inject('/api/tags')).json() as TagWithState[]).find((x) => x.name === 'pump')?.quality, 'Bad_Timeout');
    assert.equal(((await app.inject('/api/devices')).json() as DeviceInfo[])[0]!.liveDataLostAt, 5000);
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().checks.bus.detail, 'live data stopped since 1970-01-01T00:00:05.000Z: no connection to Redis at redis://x:6379 (ECONNREFUSED)');
    assert.ok(Date.now() - at < 1000, 'answered at once');

    // Back: the resync hands the values over; the link event follows.
    await bus.publishValues([{ tag: 'level', value: 42.5, quality: 'Good', sourceTs: 1000, serverTs: 1000 }]);
    bus.setLink({ up: true, since: 9000 });
    const events = await s.waitEvents(5);
    assert.deepEqual(JSON.parse(events[3]!.data).values, [[0, 42.5]]);
    assert.deepEqual(JSON.parse(events[4]!.data), { up: true, since: 9000 });
    assert.equal(((await app.inject('/api/tags/level')).json() as TagWithState).liveDataLostAt, undefined);
  });

  it('a value once known is never replaced by "waiting for initial data" (a poller that restarted): it stays, as a last usable value, until a read replaces it', async (t) => {
    const { port, publish, app } = await setup(t);
    const s = await openStream(port);
    t.after(() => s.close());
    await s.waitEvents(1);
    await publish([{ tag: 'pump', value: true, quality: 'Bad_Timeout' }]);
    await publish([{ tag: 'level', value: null, quality: 'Bad_WaitingForInitialData' }, { tag: 'pump', value: null, quality: 'Bad_WaitingForInitialData' }]);
    await publish([{ tag: 'level', value: 44, quality: 'Good' }]);
    const events = await s.waitEvents(4);
    assert.deepEqual(JSON.parse(events[2]!.data).values, [[0, 42.5, 'Uncertain_LastUsableValue', 1000]], 'the level stale, the pump (bad already) unchanged');
    assert.deepEqual(JSON.parse(events[3]!.data).values, [[0, 44]]);
    const pump = (await app.inject('/api/tags/pump')).json() as TagWithState;
    assert.deepEqual([pump.value, pump.quality], [true, 'Bad_Timeout']);
  });

  it('a value once known is never replaced by null with a bad quality (a restarted poller whose first read failed): the known value stays beside it', async (t) => {
    const { port, publish, app } = await setup(t);
    const s = await openStream(port);
    t.after(() => s.close());
    await s.waitEvents(1);
    await publish([{ tag: 'level', value: null, quality: 'Bad_Timeout' }, { tag: 'pump', value: null, quality: 'Bad_Timeout' }]);
    const events = await s.waitEvents(2);
    const values = (JSON.parse(events[1]!.data) as StreamDelta).values.map((v) => v.slice(0, 3));
    assert.deepEqual(values, [[0, 42.5, 'Bad_Timeout'], [1, null, 'Bad_Timeout']], 'the level known: its value stays; the pump never known: nothing to keep');
    const rest = (await app.inject('/api/tags/level')).json() as TagWithState;
    assert.deepEqual([rest.value, rest.quality], [42.5, 'Bad_Timeout']);
  });

  it('the SSE writer refuses CR, LF and NUL in ids and event names, and splits multi-line data', () => {
    assert.throws(() => encodeEvent('1\n2', 'delta', '{}'), SseFramingError);
    assert.throws(() => encodeEvent('1', 'del\rta', '{}'), SseFramingError);
    assert.throws(() => encodeEvent('1\0', 'delta', '{}'), (e: unknown) => e instanceof SseFramingError && e.code === 'PLANTA_SSE_FRAMING');
    assert.equal(encodeEvent('7', 'note', 'a\nb').toString(), 'id: 7\nevent: note\ndata: a\ndata: b\n\n');
  });
});
