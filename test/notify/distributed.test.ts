/**
 * Notifications in the distributed mode, end to end: the simulated PLC,
 * `planta poll`, `planta alarms` (the engine and the notifier beside it) and
 * `planta web` as separate processes on Redis (a key prefix of the test's
 * own). An emergency stop at the PLC reaches the webhook once, and an
 * engineer sees it on the web node's Notifications page (GET
 * /api/notifications, asked of the alarm process over the bus); an operator
 * may not.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { NotificationStatus } from '../../src/notify/status.js';
import { plantProcesses } from '../bus/plant-processes.js';
import { needRedis } from '../bus/redis-helpers.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { webhookSink } from './sinks.js';

async function signIn(url: string, user: string, password: string): Promise<string> {
  const login = await waitFor(`${user} signed in`, async () => {
    const r = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
    return r.status === 200 ? r : undefined;
  }, 15_000, 200);
  return login.headers.get('set-cookie')!.split(';')[0]!;
}

describe('notifications in the distributed mode', { timeout: 120_000 }, () => {
  it('planta alarms + planta web on Redis: an emergency stop reaches the webhook once, and the web node\'s Notifications page shows it', async (t) => {
    if (!(await needRedis(t))) return;
    const hook = await webhookSink();
    t.after(() => hook.close());
    const plant = await plantProcesses(t, 'notify-dist');
    appendFileSync(plant.config, `\nnotifications:\n  channels: { ops: { webhook: '${hook.url}' } }\n  rules: [{ priorities: [critical], alarms: [estop], channels: [ops] }]\n`);
    const engineerPassword = 'notify-dist-engineer-1';
    await plant.addUser('erin', 'engineer', engineerPassword);

    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control), '--no-autostart'], /Modbus\/TCP/);
    await plant.start(['poll', '--config', plant.config], /planta poll: polling/);
    const alarms = await plant.start(['alarms', '--config', plant.config, '--db', join(plant.dir, 'alarms.db')], /planta alarms: notifications to ops; outbox (\S+)/);
    assert.equal(alarms.match[1], join(plant.dir, 'alarms.notify.db'));
    const web = await plant.start(['web', '--config', plant.config, '--port', '0', '--db', plant.db], /planta web: http:\/\/localhost:(\d+)/);
    const url = `http://127.0.0.1:${web.match[1]}`;

    await waitFor('estop read and normal', async () => {
      const states = (await (await fetch(`${url}/api/alarms`)).json()) as { id: string; state: string }[];
      return states.find((a) => a.id === 'estop')?.state === 'normal';
    }, 30_000, 100);
    const raised = Date.now();
    assert.equal((await fetch(`http://127.0.0.1:${plant.control}/faults/estop`, { method: 'PUT' })).status, 200);

    const body = (await waitFor('the webhook', () => hook.bodies[0], 20_000))!.body as Record<string, unknown>;
    assert.equal(body.kind, 'alarm');
    assert.equal(body.alarm, 'estop');
    assert.equal(body.priority, 'critical');
    assert.deepEqual(body.source, { name: 'alarm.estop', value: true, quality: 'Good' });

    const engineer = await signIn(url, 'erin', engineerPassword);
    const status = await waitFor('the sending on the web node\'s Notifications page', async () => {
      const r = await fetch(`${url}/api/notifications`, { headers: { cookie: engineer } });
      assert.equal(r.status, 200, await r.clone().text());
      const s = (await r.json()) as NotificationStatus;
      return s.log.some((row) => row.alarm === 'estop') ? s : undefined;
    }, 10_000, 100);
    assert.deepEqual(status.channels.map((c) => [c.name, c.kind, c.queued]), [['ops', 'webhook', 0]]);
    const [row] = status.log;
    assert.equal(status.log.length, 1);
    assert.equal(row!.channel, 'ops');
    assert.equal(row!.kind, 'alarm');
    assert.equal(row!.outcome, 'sent');
    assert.equal(row!.attempt, 1);
    assert.equal(row!.late, false);
    assert.ok(row!.at >= raised, 'sent after the fault');

    // An operator may not see the page.
    const operator = await signIn(url, plant.user, plant.password);
    assert.equal((await fetch(`${url}/api/notifications`, { headers: { cookie: operator } })).status, 403);
    // Once: nothing more comes (the estop stays pressed).
    await assertThroughout(1000, () => assert.equal(hook.bodies.length, 1), 50);
  });
});
