/** What is notified and when: rules, hours, escalation (fake clock), acknowledgement, onClear, shelving, chattering and floods. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlarmPriority, AlarmState, JournalEntry, JournalKind } from '../../src/bus/alarm-messages.js';
import { notificationsSchema } from '../../src/config/schema.js';
import { type HeldMemory, type NewNotice, NotifyPolicy } from '../../src/notify/policy.js';
import { FakeClock } from './clock.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0); // a Monday, 09:00 in Buenos Aires

/** What a crash leaves: the kept keys (as JSON, like the outbox) and the notices queued with them. */
class CrashSafe implements HeldMemory {
  readonly kept = new Map<string, string>();
  held(): Map<string, unknown> {
    return new Map([...this.kept].map(([k, v]) => [k, JSON.parse(v) as unknown]));
  }
  keep(changes: ReadonlyMap<string, unknown>, queue: () => void): void {
    for (const [k, v] of changes) {
      if (v === undefined) this.kept.delete(k);
      else this.kept.set(k, JSON.stringify(v));
    }
    queue();
  }
}

function setup(extra: Record<string, unknown> = {}, rules?: unknown[], o: { held?: HeldMemory; at?: number } = {}) {
  const config = notificationsSchema.parse({
    channels: {
      oncall: { smtp: 'smtp://mail.example.org:587', from: 'planta@example.org', to: ['oncall@example.org'] },
      chief: { smtp: 'smtp://mail.example.org:587', from: 'planta@example.org', to: ['chief@example.org'] },
      ops: { webhook: 'https://hooks.example.org/planta' },
    },
    rules: rules ?? [
      { priorities: ['critical', 'high'], channels: ['oncall', 'ops'], escalate: { after: '10m', channels: ['chief'] }, onClear: true },
      { priorities: ['medium'], channels: ['ops'], hours: 'Mon-Fri 07:00-19:00' },
    ],
    ...extra,
  });
  const clock = new FakeClock(o.at ?? T0);
  const sent: NewNotice[] = [];
  const escalated = new Set<string>();
  const policy = new NotifyPolicy({
    config, timeZone: 'America/Argentina/Buenos_Aires', clock, emit: (n) => sent.push(...n), escalated, source: async () => ({ value: true, quality: 'Good' }), ...(o.held ? { held: o.held } : {}),
  });
  // What the engine publishes at its start: every alarm normal.
  policy.start([{ id: 'estop', message: 'estop message', priority: 'critical', source: 'alarm.estop', state: 'normal', active: false, acked: true, activeSince: null, changedAt: T0, value: false }]);
  let seq = 0;
  const entry = (kind: JournalKind, source: string, priority: AlarmPriority = 'critical', text = `${source} message`): Promise<void> =>
    policy.entry({ seq: ++seq, ts: clock.now(), kind, source, text, priority } satisfies JournalEntry);
  return { policy, clock, sent, entry, escalated };
}

const kinds = (ns: NewNotice[]): string[] => ns.map((n) => `${n.kind}:${n.channel}${n.alarm ? `:${n.alarm.id}` : ''}`);

describe('notification policy', () => {
  it('sends an alarm to the channels of every matching rule once, with when it escalates', async () => {
    const { sent, entry } = setup();
    await entry('alarm', 'estop');
    assert.deepEqual(kinds(sent), ['alarm:oncall:estop', 'alarm:ops:estop']);
    assert.deepEqual(sent[0]!.escalates, { at: T0 + 600_000, channels: ['chief'] });
    assert.equal(sent[0]!.alarm!.source, 'alarm.estop');
    assert.equal(sent[0]!.alarm!.quality, 'Good');
  });

  it('escalates at the configured delay, once, and not after an acknowledgement', async () => {
    const { sent, entry, clock } = setup();
    await entry('alarm', 'estop');
    await entry('alarm', 'pump');
    await clock.advance(5 * 60_000);
    await entry('ack', 'pump');
    await clock.advance(5 * 60_000 - 1);
    assert.equal(sent.filter((n) => n.kind === 'escalation').length, 0, 'nothing before the delay');
    await clock.advance(1);
    assert.deepEqual(kinds(sent.filter((n) => n.kind === 'escalation')), ['escalation:chief:estop']);
    await clock.advance(3_600_000);
    assert.equal(sent.filter((n) => n.kind === 'escalation').length, 1, 'once');
  });

  it('an escalation already sent before a restart is not sent again; one still due is', async () => {
    const a = setup();
    await a.entry('alarm', 'estop');
    await a.clock.advance(600_000);
    assert.equal(a.sent.filter((n) => n.kind === 'escalation').length, 1);
    // Restarted: the states say estop and pump are unacknowledged.
    const state = (id: string, since: number): AlarmState => ({ id, message: id, priority: 'critical', source: `alarm.${id}`, state: 'unack', active: true, acked: false, activeSince: since, changedAt: since, value: true });
    const b = setup();
    for (const k of a.escalated) b.escalated.add(k);
    b.policy.start([state('estop', T0), state('pump', T0 + 300_000)]);
    await b.clock.advance(900_000);
    assert.deepEqual(kinds(b.sent), ['escalation:chief:pump']);
  });

  it('shelved and out-of-service alarms are not notified, nor escalated', async () => {
    const { sent, entry, clock } = setup();
    await entry('alarm', 'estop');
    await entry('shelve', 'estop');
    await entry('out-of-service', 'pump');
    await entry('alarm', 'pump');
    await clock.advance(3_600_000);
    assert.deepEqual(kinds(sent), ['alarm:oncall:estop', 'alarm:ops:estop']);
    await entry('in-service', 'pump');
    await entry('alarm', 'pump');
    assert.equal(sent.filter((n) => n.alarm?.id === 'pump').length, 2);
  });

  it('the return to normal only where a rule asks (onClear)', async () => {
    const { sent, entry } = setup();
    await entry('alarm', 'estop');
    await entry('return', 'estop', 'critical', 'estop message: returned to normal');
    await entry('alarm', 'pump1', 'medium');
    await entry('return', 'pump1', 'medium');
    assert.deepEqual(kinds(sent.filter((n) => n.kind === 'clear')), ['clear:oncall:estop', 'clear:ops:estop']);
    assert.equal(sent.find((n) => n.kind === 'clear')!.alarm!.message, 'estop message');
  });

  it('hours: a medium alarm on a weekday at 09:00 is sent, at 22:00 or on Sunday not', async () => {
    const { sent, entry, clock } = setup();
    await entry('alarm', 'pump1', 'medium');
    await clock.advance(13 * 3_600_000); // 22:00
    await entry('alarm', 'pump2', 'medium');
    await clock.advance(5 * 86_400_000 + 10 * 3_600_000); // Sunday 08:00
    await entry('alarm', 'pump3', 'medium');
    assert.deepEqual(kinds(sent), ['alarm:ops:pump1']);
  });

  it('a chattering alarm (3 in a minute) is sent once, then one digest per window', async () => {
    const { sent, entry, clock } = setup({}, [{ priorities: ['critical'], channels: ['ops'], onClear: true }]);
    for (let i = 0; i < 5; i++) {
      await entry('alarm', 'estop');
      await entry('return', 'estop');
      await clock.advance(10_000);
    }
    assert.deepEqual(kinds(sent), ['alarm:ops:estop', 'clear:ops:estop'], 'the first and its return only, so far');
    await clock.advance(10_000); // the window's end
    assert.deepEqual(kinds(sent), ['alarm:ops:estop', 'clear:ops:estop', 'digest:ops:estop']);
    assert.equal(sent[2]!.count, 4);
    assert.equal(sent[2]!.chattering, true);
    // Quiet for long: the next activation is sent at once again.
    await clock.advance(3_600_000);
    await entry('alarm', 'estop');
    assert.equal(sent.length, 4);
    assert.equal(sent[3]!.kind, 'alarm');
  });

  it('a stop hands over what is held for a digest or a flood message instead of losing it', async () => {
    const { sent, entry, clock, policy } = setup({}, [{ priorities: ['critical', 'high'], channels: ['ops'] }]);
    for (let i = 0; i < 3; i++) {
      await entry('alarm', 'estop');
      await clock.advance(1000);
    }
    for (let i = 0; i < 12; i++) await entry('alarm', `a${i}`, 'high');
    policy.stop();
    assert.deepEqual(kinds(sent.filter((n) => n.kind !== 'alarm')), ['digest:ops:estop', 'flood:ops']);
    assert.equal(sent.find((n) => n.kind === 'digest')!.count, 2);
    assert.equal(clock.pending(), 0, 'no timer left');
  });

  it('a crash (no stop) delays what is held for a digest or a flood message; the next run sends each once, on time or at once when overdue', async () => {
    const held = new CrashSafe();
    const rules = [{ priorities: ['critical', 'high'], channels: ['ops'], onClear: true }];
    const a = setup({}, rules, { held });
    for (let i = 0; i < 3; i++) {
      await a.entry('alarm', 'estop');
      await a.clock.advance(1000);
    }
    for (let i = 0; i < 12; i++) await a.entry('alarm', `a${i}`, 'high');
    assert.deepEqual(kinds(a.sent.filter((n) => n.kind !== 'alarm')), [], 'nothing summarised yet');
    // Crashed: its timers are gone with it. Restarted 20 s later: the digest (due a minute after estop was notified) and the
    // flood message (a minute after the flood began) are still to come, each on its time.
    const b = setup({}, rules, { held, at: a.clock.now() + 20_000 });
    await b.clock.advance(T0 + 60_000 - 1 - b.clock.now());
    assert.deepEqual(kinds(b.sent), [], 'not before its time');
    await b.clock.advance(1);
    assert.deepEqual(kinds(b.sent), ['digest:ops:estop']);
    assert.equal(b.sent[0]!.count, 2);
    assert.equal(b.sent[0]!.since, T0 + 1000);
    await b.clock.advance(3000);
    assert.deepEqual(kinds(b.sent), ['digest:ops:estop', 'flood:ops']);
    assert.equal(b.sent[1]!.count, 3);
    assert.deepEqual(b.sent[1]!.first!.map((f) => f.id), ['a9', 'a10', 'a11']);
    await b.clock.advance(3_600_000);
    assert.equal(b.sent.length, 2, 'each once');
    // The return of an alarm notified before the crash is still notified (onClear).
    await b.entry('return', 'a0', 'high', 'a0 message: returned to normal');
    assert.deepEqual(kinds(b.sent.slice(2)), ['clear:ops:a0']);

    // Restarted long after a crash: overdue, sent at once.
    const late = new CrashSafe();
    const c = setup({}, rules, { held: late });
    for (let i = 0; i < 2; i++) await c.entry('alarm', 'estop');
    const d = setup({}, rules, { held: late, at: T0 + 3_600_000 });
    await d.clock.advance(0);
    assert.deepEqual(kinds(d.sent), ['digest:ops:estop']);
    assert.equal(d.sent[0]!.count, 1);
  });

  it('a flood (more than 10 in 10 minutes) becomes one message with the count and the first alarms', async () => {
    const { sent, entry, clock } = setup({}, [{ priorities: ['critical', 'high'], channels: ['ops'] }]);
    for (let i = 0; i < 25; i++) {
      await entry('alarm', `a${i}`, 'high');
      await clock.advance(1000);
    }
    assert.equal(sent.filter((n) => n.kind === 'alarm').length, 10, 'the first ten one by one');
    await clock.advance(60_000);
    const floods = sent.filter((n) => n.kind === 'flood');
    assert.equal(floods.length, 1);
    assert.equal(floods[0]!.count, 15);
    assert.deepEqual(floods[0]!.first!.map((f) => f.id), ['a10', 'a11', 'a12', 'a13', 'a14']);
    // Long after, alarms are sent one by one again.
    await clock.advance(3_600_000);
    await entry('alarm', 'late', 'high');
    assert.equal(sent.at(-1)!.kind, 'alarm');
  });
});
