/** The Notifications page's API: engineers only; the channels and the log; a test message; across processes through the bus. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import { notificationsSchema } from '../../src/config/schema.js';
import type { Role } from '../../src/config/schema.js';
import { Notifier } from '../../src/notify/notifier.js';
import { NotifyOutbox } from '../../src/notify/outbox.js';
import { type NotificationsService, remoteNotifications, serveNotifications } from '../../src/notify/remote.js';
import { createWebServer } from '../../src/web/server.js';
import { webhookSink } from '../notify/sinks.js';
import { waitFor } from '../helpers/wait.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);

async function setup(t: TestContext, remote: boolean) {
  const hook = await webhookSink();
  const bus = new MemoryBus();
  const outbox = new NotifyOutbox(':memory:', 1 << 20);
  const notifier = new Notifier({
    config: notificationsSchema.parse({ channels: { ops: { webhook: hook.url, onCall: 'the day shift' } }, rules: [{ channels: ['ops'] }] }),
    plant: 'SBR',
    outbox,
  });
  await notifier.attach(bus);
  let service: NotificationsService = notifier;
  if (remote) {
    await serveNotifications(bus, notifier);
    service = remoteNotifications(bus);
  }
  const { app } = await createWebServer({
    bus,
    config,
    notifications: service,
    identify: (req) => {
      const h = req.headers['x-test-user'];
      return typeof h === 'string' ? { user: h.split(':')[0]!, role: h.split(':')[1] as Role } : undefined;
    },
  });
  t.after(async () => {
    await app.close();
    await notifier.stop();
    outbox.close();
    await hook.close();
  });
  const call = (method: 'GET' | 'POST', url: string, user: string, payload?: object) =>
    app.inject({ method, url, headers: { 'x-test-user': user }, ...(payload ? { payload } : {}) });
  return { bus, call, hook };
}

describe('GET /api/notifications', () => {
  for (const remote of [false, true]) {
    it(`engineers see the channels and the log; operators may not; a test message is logged${remote ? ' (through the bus)' : ''}`, async (t) => {
      const { call, bus, hook } = await setup(t, remote);
      assert.equal((await call('GET', '/api/notifications', 'ana:operator')).statusCode, 403);
      const test = await call('POST', '/api/notifications/test', 'eve:engineer', { channel: 'ops' });
      assert.equal(test.statusCode, 200, test.body);
      assert.equal(test.json().subject, '[SBR] Test notification');
      assert.equal((await call('POST', '/api/notifications/test', 'eve:engineer', { channel: 'nope' })).json().error.code, 'PLANTA_NOTIFY_UNKNOWN_CHANNEL');
      await bus.publishJournal([{ seq: 1, ts: Date.now(), kind: 'alarm', source: 'estop', text: 'Emergency stop pressed', priority: 'critical' }]);
      // Sent once the receiver answered (it holds the body a moment before).
      const body = await waitFor('the alarm logged as sent', async () => {
        const r = await call('GET', '/api/notifications?limit=10', 'eve:engineer');
        assert.equal(r.statusCode, 200);
        const b = r.json();
        return b.log.length === 2 ? b : undefined;
      });
      assert.equal(hook.bodies.length, 2);
      assert.deepEqual(body.channels, [{ name: 'ops', kind: 'webhook', target: `json webhook at ${new URL(hook.url).host}`, onCall: 'the day shift', queued: 0 }]);
      assert.deepEqual(body.log.map((l: { kind: string; outcome: string }) => `${l.kind}:${l.outcome}`), ['alarm:sent', 'test:sent']);
      assert.equal((await call('GET', '/api/notifications?limit=x', 'eve:engineer')).statusCode, 400);
    });
  }
});
