/**
 * Nothing lost, through a crash: `planta start` (a process, its PLC the
 * simulator's) holds a chattering alarm's repeat for a digest and alarms for
 * a flood message, is killed (SIGKILL: no stop, nothing handed over), and
 * started again; the digest and the flood message each arrive once at the
 * webhook. Without notifications.hmiUrl the messages link to planta start's
 * own web server.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AlarmState } from '../../src/bus/alarm-messages.js';
import { plantProcesses } from '../bus/plant-processes.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { webhookSink } from './sinks.js';

/** What the notifier holds, read from its outbox file (another process's: opened read-only for each look). */
function held(path: string): Map<string, { held?: number; count?: number }> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT key, data FROM notify_held').all() as { key: string; data: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.data) as { held?: number; count?: number }]));
  } finally {
    db.close();
  }
}

describe('notifications through a crash', { timeout: 180_000 }, () => {
  it('planta start killed (kill -9) while it holds a digest and a flood message: restarted, each arrives once', async (t) => {
    const hook = await webhookSink();
    t.after(() => hook.close());
    const plant = await plantProcesses(t, 'notify-crash');
    // Four alarms only (the idle plant raises others of its own); three notified within 10 minutes are a flood, held 20 s.
    appendFileSync(
      plant.config,
      `\nnotifications:\n  channels: { ops: { webhook: '${hook.url}' } }\n` +
        '  rules: [{ priorities: [critical, high, medium, low], alarms: [estop, high_level_inlet, generator_running, discharge_valve], channels: [ops] }]\n' +
        '  chatter: { count: 3, window: 20s }\n  flood: { count: 2, window: 10m, collect: 20s }\n',
    );
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control), '--no-autostart'], /Modbus\/TCP/);
    const args = ['start', '--no-sim', '--bus', 'memory', '--config', plant.config, '--port', '0', '--db', plant.db, '--history', join(plant.dir, 'history.db')];
    const ready = /Planta is running: http:\/\/localhost:(\d+)/;
    let planta = await plant.start(args, ready, 60_000);
    const outbox = plant.db.replace(/\.db$/, '.notify.db');

    const alarms = async (): Promise<AlarmState[]> => (await (await fetch(`http://127.0.0.1:${planta.match[1]}/api/alarms`)).json()) as AlarmState[];
    const active = (id: string, want: boolean) => waitFor(`${id} ${want ? 'active' : 'normal'}`, async () => (await alarms()).find((a) => a.id === id)?.active === want, 20_000, 50);
    const fault = async (name: string, on: boolean): Promise<void> => {
      const r = await fetch(`http://127.0.0.1:${plant.control}/faults/${name}`, { method: on ? 'PUT' : 'DELETE' });
      assert.equal(r.status, 200);
    };
    const sent = (): string[] => hook.bodies.map((b) => { const x = b.body as { kind: string; alarm?: string }; return `${x.kind}${x.alarm ? `:${x.alarm}` : ''}`; });

    await active('estop', false);
    await fault('estop', true);
    await waitFor('the first estop notification', () => sent().includes('alarm:estop'), 20_000);
    // No notifications.hmiUrl: the message links to the alarm on planta start's own web server.
    assert.equal((hook.bodies[0]!.body as { link?: string }).link, `http://localhost:${planta.match[1]}/#/alarms/estop`);
    await fault('estop', false);
    await active('estop', false);
    // Again within its window: held for the digest.
    await fault('estop', true);
    await active('estop', true);
    await fault('high-level-inlet', true);
    await waitFor('high_level_inlet notified', () => sent().includes('alarm:high_level_inlet'), 20_000);
    // The third and fourth within 10 minutes: a flood, held for its message.
    await fault('generator', true);
    await fault('discharge-valve', true);
    await waitFor('the digest and the flood held in the outbox', () => {
      const h = held(outbox);
      return (h.get('chatter:estop')?.held ?? 0) >= 1 && (h.get('flood')?.count ?? 0) >= 2;
    }, 20_000, 50);

    planta.child.kill('SIGKILL');
    await waitFor('planta dead', () => planta.child.signalCode === 'SIGKILL');
    assert.deepEqual(sent(), ['alarm:estop', 'alarm:high_level_inlet'], 'nothing summarised before the crash');

    planta = await plant.start(args, ready, 60_000);
    await waitFor('the digest and the flood message', () => sent().includes('digest:estop') && sent().includes('flood'), 40_000, 50);
    const flood = hook.bodies.find((b) => (b.body as { kind: string }).kind === 'flood')!.body as { count: number; first: { id: string }[] };
    assert.equal(flood.count, 2);
    assert.deepEqual(flood.first.map((f) => f.id).sort(), ['discharge_valve', 'generator_running']);
    const digest = hook.bodies.find((b) => (b.body as { kind: string }).kind === 'digest')!.body as { count: number };
    assert.equal(digest.count, 1);
    // Once: nothing more is held, and nothing comes twice.
    await waitFor('nothing held any more', () => {
      const h = held(outbox);
      return h.get('chatter:estop')?.held === 0 && h.get('flood')?.count === 0;
    }, 10_000, 50);
    await assertThroughout(1000, () => assert.deepEqual(sent().sort(), ['alarm:estop', 'alarm:high_level_inlet', 'digest:estop', 'flood']), 50);
  });
});
