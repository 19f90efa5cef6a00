/**
 * Several processes of one plant on the Redis bus: the simulated PLC, two
 * pollers for the same device (one active, one standby), the alarm process
 * and two web nodes sharing one users file. Both web nodes show the same
 * values; a session made on node A works on node B; a command through A is
 * confirmed on B's stream; an acknowledgement through B reaches the alarm
 * process and shows on A's stream; the active poller killed with SIGKILL →
 * the standby holds the lease within the lease time, values are good again,
 * and no command is written twice or by both pollers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { type SseConnection, openStream } from '../helpers/sse.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { plantProcesses } from './plant-processes.js';
import { REDIS_URL, needRedis } from './redis-helpers.js';
const LEASE_MS = 2000;

interface Outcome {
  id: string;
  status: string;
  code?: string;
}
interface TagRow {
  name: string;
  value: unknown;
  quality: string;
  sourceTs: number;
}

const outcomes = (s: SseConnection): Outcome[] => s.events.filter((e) => e.event === 'command').map((e) => JSON.parse(e.data) as Outcome);

describe('distributed mode: standby poller, two web nodes, alarms process', { timeout: 180_000 }, () => {
  it('shares values, sessions, commands and alarm actions across web nodes; the standby poller takes over a killed one without a double write', async (t) => {
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'standby');
    const { config, db, control, modbus, password, prefix } = plant;
    const redis = createClient({ url: REDIS_URL });
    redis.on('error', () => undefined);
    await redis.connect();
    t.after(() => redis.close());
    const { start } = plant;
    await start(['sim', '--port', String(modbus), '--control-port', String(control)], /Modbus\/TCP/);
    const pollArgs = ['poll', '--config', config, '--lease', `${LEASE_MS}ms`];
    const pollerA = await start(pollArgs, /planta poll: polling .* as (\S+) on/);
    const leaseKey = `${prefix}lease:plc`;
    await waitFor('poller A holding the lease', async () => (await redis.get(leaseKey)) === pollerA.match[1], 10_000, 20);
    const pollerB = await start(pollArgs, /planta poll: polling .* as (\S+) on/);
    await start(['alarms', '--config', config, '--db', join(plant.dir, 'alarms.db')], /planta alarms:/);
    const webA = await start(['web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/);
    const webB = await start(['web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/);
    const [portA, portB] = [Number(webA.match[1]), Number(webB.match[1])];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];

    // The standby does not take the lease while the holder renews it: checked for one and a half
    // leases, so a lease the holder failed to renew would have expired and been taken within the window.
    await assertThroughout(LEASE_MS * 1.5, async () => assert.equal(await redis.get(leaseKey), pollerA.match[1], 'the first poller keeps its lease'), 50);

    // Both web nodes: the same values (a tag read at the same source time has the same value on both).
    const tags = async (url: string): Promise<Map<string, TagRow>> =>
      new Map(((await (await fetch(`${url}/api/tags`)).json()) as TagRow[]).map((r) => [r.name, r]));
    const same = await waitFor('both web nodes showing good values', async () => {
      const [a, b] = await Promise.all([tags(urlA), tags(urlB)]);
      if (a.get('reactor.level')?.quality !== 'Good' || b.get('reactor.level')?.quality !== 'Good') return undefined;
      let equal = 0;
      for (const [name, ra] of a) {
        const rb = b.get(name);
        if (rb && rb.sourceTs === ra.sourceTs) {
          assert.deepEqual(rb.value, ra.value, name);
          equal++;
        }
      }
      return equal >= a.size * 0.8 ? { equal, of: a.size } : undefined;
    }, 20_000, 100);

    // Diagnostics: the device status names the poller holding the lease, and the standby waiting for it.
    const lessee = async (url: string): Promise<{ id: string; standby?: string[] } | undefined> =>
      ((await (await fetch(`${url}/api/devices`)).json()) as { name: string; status: { poller?: { id: string; standby?: string[] } } | null }[]).find((d) => d.name === 'plc')?.status?.poller;
    const holder = async (url: string): Promise<string | undefined> => (await lessee(url))?.id;
    assert.equal(await holder(urlB), pollerA.match[1]);
    await waitFor('the standby poller in the device status', async () => (await lessee(urlA))?.standby?.includes(pollerB.match[1]!), 5000, 100);

    // A session made on A is accepted by B.
    const login = await fetch(`${urlA}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'olga', password }) });
    assert.equal(login.status, 200, await login.clone().text());
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrf } = (await login.json()) as { csrf: string };
    const onB = await fetch(`${urlB}/api/session`, { headers: { cookie } });
    assert.equal(onB.status, 200);
    assert.equal(((await onB.json()) as { user: string }).user, 'olga');

    const streamA = await openStream(portA);
    const streamB = await openStream(portB);
    t.after(() => {
      streamA.close();
      streamB.close();
    });
    const post = (url: string, path: string, body: unknown): Promise<Response> =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify(body) });

    // A command through A, confirmed on B's stream.
    const first = `ha-first-${Date.now()}`;
    const sentAt = Date.now();
    assert.equal((await post(urlA, '/api/commands', { id: first, command: 'silence_horn', params: {} })).status, 202);
    const confirmed = await waitFor('the outcome on B', () => outcomes(streamB).find((o) => o.id === first && o.status !== 'queued'), 15_000, 20);
    assert.equal(confirmed.status, 'confirmed', JSON.stringify(confirmed));
    const commandMs = Date.now() - sentAt;

    // An acknowledgement through B reaches the alarm process and shows on A's stream.
    assert.equal((await fetch(`http://127.0.0.1:${control}/faults/estop`, { method: 'PUT' })).status, 200);
    await waitFor('the estop alarm active and unacknowledged', async () => {
      const alarms = (await (await fetch(`${urlB}/api/alarms`, { headers: { cookie } })).json()) as { id: string; state: string }[];
      return alarms.find((a) => a.id === 'estop' && a.state === 'unack');
    }, 15_000, 50);
    const ackAt = Date.now();
    const ack = await post(urlB, '/api/alarms/ack', { ids: ['estop'], comment: 'seen from node B' });
    assert.equal(ack.status, 200, await ack.clone().text());
    await waitFor('the acknowledgement on A', () =>
      streamA.events
        .filter((e) => e.event === 'alarms')
        .flatMap((e) => JSON.parse(e.data) as { id: string; acked: boolean }[])
        .find((a) => a.id === 'estop' && a.acked), 10_000, 20);
    const ackMs = Date.now() - ackAt;
    const journal = await fetch(`${urlA}/api/journal?kinds=ack`, { headers: { cookie } });
    assert.equal(journal.status, 200, await journal.clone().text());
    assert.ok(((await journal.json()) as { text: string }[]).some((e) => e.text.includes('seen from node B')));
    await fetch(`http://127.0.0.1:${control}/faults/estop`, { method: 'DELETE' });

    // Commands keep coming while the active poller is killed.
    await fetch(`http://127.0.0.1:${control}/writes`, { method: 'DELETE' });
    const ids: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const id = `ha-${i}-${Date.now()}`;
        const res = await post(i % 2 === 0 ? urlA : urlB, '/api/commands', { id, command: 'silence_horn', params: {} });
        if (res.status === 202) ids.push(id);
        // A pace, not a wait: an operator's commands, one every 150 ms.
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    await waitFor('commands accepted before the kill', () => ids.length >= 4, 10_000, 20);
    const killedAt = Date.now();
    pollerA.child.kill('SIGKILL');
    await waitFor('poller B holding the lease', async () => (await redis.get(leaseKey)) === pollerB.match[1], LEASE_MS * 3, 20);
    const takeoverMs = Date.now() - killedAt;
    const good = await waitFor('good values again', async () => {
      const level = (await tags(urlA)).get('reactor.level');
      return level && level.quality === 'Good' && level.sourceTs > killedAt ? level : undefined;
    }, 10_000, 50);
    const sentBeforeGood = ids.length;
    await waitFor('commands sent after the takeover confirmed', () =>
      outcomes(streamB).filter((o) => o.status === 'confirmed' && ids.indexOf(o.id) >= sentBeforeGood).length >= 3, 10_000, 50);
    sending = false;
    await sender;

    // Every command has one final outcome; the PLC saw at most one write for each, none for those never taken.
    const finals = await waitFor('every command finished', () => {
      const byId = new Map<string, Outcome[]>();
      for (const o of outcomes(streamB)) if (ids.includes(o.id) && o.status !== 'queued') byId.set(o.id, [...(byId.get(o.id) ?? []), o]);
      return byId.size === ids.length ? byId : undefined;
    }, 30_000, 50);
    for (const [id, list] of finals) assert.equal(list.length, 1, `${id}: ${JSON.stringify(list)}`);
    const statuses = [...finals.values()].map((l) => l[0]!);
    const confirmedN = statuses.filter((o) => o.status === 'confirmed').length;
    const interrupted = statuses.filter((o) => o.code === 'PLANTA_COMMAND_INTERRUPTED').length;
    assert.equal(confirmedN + interrupted, statuses.length, JSON.stringify(statuses.filter((o) => o.status !== 'confirmed')));
    const { writes } = (await (await fetch(`http://127.0.0.1:${control}/writes`)).json()) as { writes: unknown[] };
    assert.ok(writes.length >= confirmedN && writes.length <= confirmedN + interrupted, `${writes.length} writes for ${confirmedN} confirmed and ${interrupted} interrupted commands`);
    assert.ok(takeoverMs <= LEASE_MS * 1.5, `takeover after ${takeoverMs} ms`);
    assert.equal(await waitFor('the new holder in the device status', async () => ((await holder(urlA)) === pollerB.match[1] ? 'yes' : undefined), 5000, 50), 'yes');
    t.diagnostic(
      `same values on both web nodes: ${same.equal}/${same.of} tags at equal source times; command A→B ${commandMs} ms; ack B→alarms→A ${ackMs} ms; ` +
        `SIGKILL → standby holds the lease after ${takeoverMs} ms (lease ${LEASE_MS} ms), good values ${good.sourceTs - killedAt} ms after the kill; ` +
        `${ids.length} commands around the kill: ${confirmedN} confirmed, ${interrupted} interrupted, ${writes.length} writes`,
    );
  });
});
