/**
 * The distributed mode: the notifier follows the journal on the Redis bus
 * under a durable name, so alarms journaled while it was stopped are
 * notified when it is back — each once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.js';
import { notificationsSchema } from '../../src/config/schema.js';
import { Notifier } from '../../src/notify/notifier.js';
import { NotifyOutbox } from '../../src/notify/outbox.js';
import { REDIS_URL, needRedis, redisBus, testPrefix } from '../bus/redis-helpers.js';
import { waitFor } from '../helpers/wait.js';
import { webhookSink } from './sinks.js';

describe('notifications on the Redis bus', { timeout: 30_000 }, () => {
  it('alarms journaled while the notifier was stopped are notified when it is back, each once', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'notify');
    const hook = await webhookSink();
    t.after(() => hook.close());
    const engineSide = await redisBus(t, { prefix, consumer: 'alarms' });
    const config = notificationsSchema.parse({ channels: { ops: { webhook: hook.url } }, rules: [{ channels: ['ops'] }] });
    let seq = 0;
    const journal = (id: string) => engineSide.publishJournal([{ seq: ++seq, ts: Date.now(), kind: 'alarm', source: id, text: `${id} active`, priority: 'high' }]);
    const run = async () => {
      const bus = await RedisBus.connect({ url: REDIS_URL, prefix, consumer: 'notifier', blockMs: 200 });
      const outbox = new NotifyOutbox(':memory:', 1 << 20);
      const n = new Notifier({ config, plant: 'P', outbox });
      await n.attach(bus);
      return async () => {
        await n.stop();
        outbox.close();
        await bus.close();
      };
    };
    let stop = await run();
    await journal('first');
    await waitFor('the first', () => hook.bodies.length === 1);
    await stop();
    await journal('second');
    await journal('third');
    stop = await run();
    t.after(() => stop());
    await waitFor('the two journaled meanwhile', () => hook.bodies.length >= 3);
    assert.deepEqual(hook.bodies.map((b) => (b.body as { alarm: string }).alarm), ['first', 'second', 'third']);
  });
});
