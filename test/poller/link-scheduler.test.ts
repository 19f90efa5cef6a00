/**
 * The link scheduler on its own, against an RTU server that records the order
 * of the requests it serves: one at a time, commands first, then one request
 * from each (device, scan group) queue in turn; a silent unit backed off
 * after two timeouts in a row (its requests fail at once, without the line),
 * probed after a pause that doubles, back at its first answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModbusRtuClient, ModbusRtuServer, ModbusTcpClient, ModbusTcpServer, ModbusTimeoutError, NO_RESPONSE, RegisterArea, createAreaHandler } from '../../src/modbus/index.js';
import { COMMAND_GROUP } from '../../src/poller/channel.js';
import { LinkScheduler, UnitSilentError } from '../../src/poller/link-scheduler.js';
import { waitFor } from '../helpers/wait.js';

async function line(silent: Set<number>): Promise<{ served: string[]; scheduler: LinkScheduler; close(): Promise<void> }> {
  const served: string[] = [];
  const area = createAreaHandler({ holdingRegisters: new RegisterArea(100), inputRegisters: new RegisterArea(100) });
  const server = new ModbusRtuServer({
    units: [1, 2],
    handler: (req, ctx) => {
      if (silent.has(ctx.unitId)) return NO_RESPONSE;
      served.push(`${ctx.unitId}:${req.fc === 3 ? req.address : req.fc}`);
      return area(req, ctx);
    },
  });
  const { port } = await server.listenTcp('127.0.0.1', 0);
  // A silent unit is not a dead connection: no reconnection on timeouts here.
  const client = new ModbusRtuClient({ host: '127.0.0.1', port, timeout: 100, lateReplyGuard: 0, timeoutsBeforeReconnect: 0 });
  const scheduler = new LinkScheduler(client, { name: 'test', backoffInitialMs: 300, backoffMaxMs: 600 });
  return { served, scheduler, close: () => server.close() };
}

const read = (address: number) => ({ fc: 3 as const, address, quantity: 1 });

describe('link scheduler', { timeout: 20_000 }, () => {
  it('commands first, then one request of each (device, scan group) in turn', async () => {
    const { served, scheduler, close } = await line(new Set());
    const a = scheduler.channel({ name: 'a', unitId: 1, timeoutMs: 100 });
    const b = scheduler.channel({ name: 'b', unitId: 2, timeoutMs: 100 });
    // The first request goes at once; the rest queue behind it.
    const all = [
      a.request(read(0), 'slow'),
      a.request(read(1), 'slow'),
      a.request(read(2), 'slow'),
      a.request(read(3), 'slow'),
      b.request(read(10), 'fast'),
      b.request(read(11), 'fast'),
      a.request(read(20), 'fast'),
      b.request({ fc: 6, address: 50, value: 1 }, COMMAND_GROUP),
    ];
    await Promise.all(all);
        // 1:0 was alone when it went; then the command; then a's slow group, b's fast group, a's fast group in turn.
    assert.deepEqual(served, ['1:0', '2:6', '1:1', '2:10', '1:20', '1:2', '2:11', '1:3']);
    assert.equal(a.stats.requests, 5);
    assert.equal(b.stats.responses, 3);
    await a.close();
    await b.close();
    await close();
  });

  it('backs a silent unit off: two timeouts, then its requests fail at once until a probe after a doubling pause; its neighbour goes on', async () => {
    const silent = new Set([2]);
    const { served, scheduler, close } = await line(silent);
    const a = scheduler.channel({ name: 'a', unitId: 1, timeoutMs: 100 });
    const b = scheduler.channel({ name: 'b', unitId: 2, timeoutMs: 100 });
    await assert.rejects(b.request(read(0), 'fast'), ModbusTimeoutError);
    await assert.rejects(b.request(read(0), 'fast'), ModbusTimeoutError);
    assert.ok(scheduler.paused('b'));
    const t0 = performance.now();
    await assert.rejects(b.request(read(0), 'fast'), UnitSilentError);
    assert.ok(performance.now() - t0 < 50, 'failed at once, without the line');
    await a.request(read(5), 'fast');
    assert.equal(b.stats.requests, 2, 'nothing sent while paused');
    // After the pause (300 ms) one probe goes; it times out: the next pause is 600 ms (the cap).
    await waitFor('the pause over', () => !scheduler.paused('b'), 2000, 5);
    await assert.rejects(b.request(read(0), 'fast'), ModbusTimeoutError);
    assert.ok(scheduler.paused('b'));
    // Back on the line: the next probe is answered and the unit is polled again.
    silent.delete(2);
    await waitFor('the second pause over', () => !scheduler.paused('b'), 2000, 5);
    await b.request(read(7), 'fast');
    assert.ok(!scheduler.paused('b'));
    assert.deepEqual(served.filter((s) => s.startsWith('2:')), ['2:7']);
    await b.request(read(8), 'fast');
    await a.close();
    await b.close();
    await close();
  });

  it('behind a Modbus/TCP gateway each device has its window of requests in flight, no more', async () => {
    const area = createAreaHandler({ holdingRegisters: new RegisterArea(100), inputRegisters: new RegisterArea(100) });
    const server = new ModbusTcpServer({
      host: '127.0.0.1',
      port: 0,
      // A pace: the gateway takes its time on its line, so that requests sent together wait together.
      handler: async (req, ctx) => new Promise((r) => setTimeout(() => r(area(req, ctx)), 10)),
    });
    const { port } = await server.listen();
    // The connection's window is the sum of its devices' (as linkClient makes it).
    const client = new ModbusTcpClient({ host: '127.0.0.1', port, timeout: 1000, window: 4 });
    // What the scheduler has in flight on the connection, per unit.
    const now = new Map<number, number>();
    const most = new Map<number, number>();
    const request = client.request.bind(client);
    client.request = async (req, opts) => {
      const unit = opts!.unitId!;
      now.set(unit, (now.get(unit) ?? 0) + 1);
      most.set(unit, Math.max(now.get(unit)!, most.get(unit) ?? 0));
      try {
        return await request(req, opts);
      } finally {
        now.set(unit, now.get(unit)! - 1);
      }
    };
    const scheduler = new LinkScheduler(client, { name: 'gw' });
    const a = scheduler.channel({ name: 'a', unitId: 1, timeoutMs: 1000, window: 3 });
    const b = scheduler.channel({ name: 'b', unitId: 2, timeoutMs: 1000 });
    const reads = (c: typeof a, n: number) => Array.from({ length: n }, (_, i) => c.request(read(i), 'fast'));
    await Promise.all([...reads(a, 9), ...reads(b, 4)]);
    assert.equal(most.get(1), 3, 'device a: its window of 3 in flight');
    assert.equal(most.get(2), 1, 'device b: one at a time (window 1)');
    assert.equal(a.stats.responses, 9);
    assert.equal(server.stats.requests, 13);
    await a.close();
    await b.close();
    await server.close();
  });
});
