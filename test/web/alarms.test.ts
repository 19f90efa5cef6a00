/** Alarms and journal over HTTP and the stream, with the engine in the same process. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { AlarmState, JournalEntry } from '../../src/bus/types.js';
import type { Role } from '../../src/config/schema.js';
import { loadConfig } from '../../src/config/load.js';
import type { RateFigures, StreamSnapshot } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);

async function setup(t: TestContext, withEngine = true) {
  const bus = new MemoryBus();
  const store = new AlarmStore(':memory:');
  const engine = new AlarmEngine({ bus, config, store });
  await engine.start();
  const { app } = await createWebServer({
    bus,
    config,
    ...(withEngine ? { alarms: engine } : {}),
    identify: (req) => {
      const h = req.headers['x-test-user'];
      return typeof h === 'string' ? { user: h.split(':')[0]!, role: h.split(':')[1] as Role } : undefined;
    },
  });
  t.after(async () => {
    await app.close();
    await engine.stop();
    store.close();
  });
  const set = async (tag: string, value: boolean) => {
    await bus.publishValues([{ tag, value, quality: 'Good', sourceTs: Date.now(), serverTs: Date.now() }]);
    await new Promise((r) => setImmediate(r));
  };
  const call = async (method: 'GET' | 'POST', url: string, payload?: object, user = 'ana:operator') => {
    const res = await app.inject({ method, url, headers: { 'x-test-user': user }, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, json: res.json() as unknown };
  };
  return { bus, app, engine, set, call };
}

describe('alarms over HTTP', { timeout: 20_000 }, () => {
  it('lists states, acknowledges with a comment, shelves, takes out of service; errors have stable codes', async (t) => {
    const { set, call } = await setup(t);
    await set('alarm.transfer_pump_2', false);
    await set('alarm.transfer_pump_2', true);
    const list = (await call('GET', '/api/alarms')).json as AlarmState[];
    assert.equal(list.find((a) => a.id === 'transfer_pump_2')!.state, 'unack');
    const ack = await call('POST', '/api/alarms/ack', { ids: ['transfer_pump_2'], comment: 'on it' });
    assert.equal(ack.status, 200);
    assert.equal((ack.json as AlarmState[])[0]!.state, 'acked');
    const anon = await call('POST', '/api/alarms/ack', { ids: ['transfer_pump_2'] }, '');
    assert.equal((anon.json as { error: { code: string } }).error.code, 'PLANTA_ALARM_FORBIDDEN');
    const unknown = await call('POST', '/api/alarms/ack', { ids: ['nope'] });
    assert.deepEqual([unknown.status, (unknown.json as { error: { code: string } }).error.code], [404, 'PLANTA_ALARM_UNKNOWN']);
    const badBody = await call('POST', '/api/alarms/ack', { ids: 'transfer_pump_2' });
    assert.equal((badBody.json as { error: { code: string } }).error.code, 'PLANTA_ALARM_BAD_BODY');
    const shelve = await call('POST', '/api/alarms/transfer_pump_2/shelve', { reason: 'pump out for repair', minutes: 30 });
    assert.equal((shelve.json as AlarmState).state, 'shelved');
    const oos = await call('POST', '/api/alarms/transfer_pump_2/out-of-service', { reason: 'x' });
    assert.deepEqual([oos.status, (oos.json as { error: { code: string } }).error.code], [403, 'PLANTA_ALARM_FORBIDDEN']);
    const eng = await call('POST', '/api/alarms/transfer_pump_2/out-of-service', { reason: 'removed' }, 'eve:engineer');
    assert.equal((eng.json as AlarmState).state, 'out-of-service');
  });

  it('the journal: search, kinds, time range; the rate figures', async (t) => {
    const { set, call } = await setup(t);
    await set('alarm.foam_valve', false);
    for (let i = 0; i < 3; i++) {
      await set('alarm.foam_valve', true);
      await set('alarm.foam_valve', false);
    }
    const j = (await call('GET', '/api/journal?q=foam&kinds=alarm')).json as JournalEntry[];
    assert.equal(j.length, 3);
    assert.ok(j.every((e) => e.kind === 'alarm' && e.priority === 'low'));
    const empty = (await call('GET', `/api/journal?from=${Date.now() + 60_000}`)).json as JournalEntry[];
    assert.deepEqual(empty, []);
    const bad = await call('GET', '/api/journal?kinds=gossip');
    assert.equal((bad.json as { error: { code: string } }).error.code, 'PLANTA_JOURNAL_BAD_QUERY');
    const rates = (await call('GET', '/api/alarms/rates')).json as RateFigures;
    assert.equal(rates.activations, 3);
    assert.deepEqual(rates.chattering, [{ source: 'foam_valve', maxPerMinute: 3 }]);
  });

  it('streams alarm states and journal entries; the snapshot carries every alarm', async (t) => {
    const { app, set } = await setup(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const s = await openStream((app.server.address() as { port: number }).port);
    t.after(() => s.close());
    const [snap] = await s.waitEvents(1);
    assert.equal((JSON.parse(snap!.data) as StreamSnapshot).alarms.length, 26);
    await set('alarm.estop', false);
    await set('alarm.estop', true);
    await waitFor('estop unacknowledged on the stream', () =>
      s.events.some((e) => e.event === 'alarms' && (JSON.parse(e.data) as AlarmState[]).some((a) => a.id === 'estop' && a.state === 'unack')),
    );
    const journal = await waitFor('a journal event', () => s.events.find((e) => e.event === 'journal'));
    assert.equal((JSON.parse(journal.data) as JournalEntry[])[0]!.text, 'Emergency stop pressed');
  });

  it('without the engine in this process, actions answer 503', async (t) => {
    const { call } = await setup(t, false);
    const r = await call('POST', '/api/alarms/ack', { ids: ['estop'] });
    assert.deepEqual([r.status, (r.json as { error: { code: string } }).error.code], [503, 'PLANTA_ALARMS_UNAVAILABLE']);
  });

  it('strings a request brings are bounded: comments, reasons, ids, journal searches; control and escape characters refused', async (t) => {
    const { set, call, engine } = await setup(t);
    await set('alarm.transfer_pump_2', false);
    await set('alarm.transfer_pump_2', true);
    const code = (r: { json: unknown }) => (r.json as { error: { code: string; field?: string } }).error;
    const refusals: [string, string, object, string, string][] = [
      ['ack', '/api/alarms/ack', { ids: ['transfer_pump_2'], comment: 'x'.repeat(501) }, 'PLANTA_TEXT_TOO_LONG', 'comment'],
      ['ack', '/api/alarms/ack', { ids: ['transfer_pump_2'], comment: 'ok \u001b[2J\u001b[H' }, 'PLANTA_TEXT_UNPRINTABLE', 'comment'],
      ['ack', '/api/alarms/ack', { ids: ['transfer_pump_2'], comment: 'line\nbreak' }, 'PLANTA_TEXT_UNPRINTABLE', 'comment'],
      ['ack', '/api/alarms/ack', { ids: ['transfer_pump_2'], comment: 'admin\u202Egnp.exe' }, 'PLANTA_TEXT_UNPRINTABLE', 'comment'],
      ['ack', '/api/alarms/ack', { ids: ['y'.repeat(129)] }, 'PLANTA_ALARM_BAD_ID', 'ids'],
      ['ack', '/api/alarms/ack', { ids: ['estop\u0000'] }, 'PLANTA_ALARM_BAD_ID', 'ids'],
      ['shelve', '/api/alarms/transfer_pump_2/shelve', { reason: 'r'.repeat(201), minutes: 10 }, 'PLANTA_TEXT_TOO_LONG', 'reason'],
      ['shelve', '/api/alarms/transfer_pump_2/shelve', { reason: 'bell\u0007', minutes: 10 }, 'PLANTA_TEXT_UNPRINTABLE', 'reason'],
      ['shelve', '/api/alarms/%3Cb%3E/shelve', { reason: 'x', minutes: 10 }, 'PLANTA_ALARM_BAD_ID', 'id'],
      ['out of service', '/api/alarms/transfer_pump_2/out-of-service', { reason: '\u009b31m' }, 'PLANTA_TEXT_UNPRINTABLE', 'reason'],
      ['unshelve', '/api/alarms/a%20b/unshelve', {}, 'PLANTA_ALARM_BAD_ID', 'id'],
    ];
    for (const [what, url, body, expected, field] of refusals) {
      const r = await call('POST', url, body, 'eve:engineer');
      assert.equal(r.status, 400, `${what} ${JSON.stringify(body).slice(0, 60)}: ${JSON.stringify(r.json)}`);
      assert.deepEqual([code(r).code, code(r).field], [expected, field], what);
    }
    assert.equal(engine.states().find((a) => a.id === 'transfer_pump_2')!.state, 'unack', 'nothing was done');
    const within = await call('POST', '/api/alarms/ack', { ids: ['transfer_pump_2'], comment: `${'é'.repeat(498)}👍` }, 'eve:engineer');
    assert.equal(within.status, 200, 'at the limit (500 UTF-16 units, as the HMI counts), any printable text');
    for (const [url, expected] of [
      [`/api/journal?q=${'q'.repeat(201)}`, 'PLANTA_TEXT_TOO_LONG'],
      ['/api/journal?q=%1B%5B2J', 'PLANTA_TEXT_UNPRINTABLE'],
      ['/api/journal?q=a&q=b', 'PLANTA_JOURNAL_BAD_QUERY'],
      ['/api/journal?kinds=alarm&kinds=ack', 'PLANTA_JOURNAL_BAD_QUERY'],
      ['/api/journal?limit=1e9', 'PLANTA_JOURNAL_BAD_QUERY'],
      ['/api/alarms/rates?from=1&from=2', 'PLANTA_JOURNAL_BAD_QUERY'],
    ] as const) {
      const r = await call('GET', url);
      assert.deepEqual([r.status, code(r).code], [400, expected], url);
    }
    assert.equal((await call('GET', `/api/journal?q=${'q'.repeat(200)}&kinds=alarm,alarm`)).status, 200);
  });
});
