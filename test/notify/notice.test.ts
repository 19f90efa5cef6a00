/** The words of each kind of notification: digest, flood, escalation, clear, late; times in the plant's zone with its offset. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Notice, type RenderContext, render, zonedTime } from '../../src/notify/notice.js';

const T = Date.UTC(2026, 6, 1, 12, 0, 0); // July: Madrid is UTC+2
const ctx: RenderContext = { plant: 'SBR', timeZone: 'Europe/Madrid', hmiUrl: 'https://scada.example.org/', now: T, lateMs: 15 * 60_000 };
const alarm = { id: 'estop', message: 'Emergency stop pressed', priority: 'critical' as const, source: 'alarm.estop', value: true, quality: 'Good' };
const notice = (n: Partial<Notice>): Notice => ({ kind: 'alarm', channel: 'ops', at: T, queuedAt: T, alarm, ...n });

describe('notification words', () => {
  it('times in the plant zone, with the offset of that day', () => {
    assert.deepEqual(zonedTime(T, 'Europe/Madrid'), { text: '2026-07-01 14:00:00 Europe/Madrid (UTC+02:00)', iso: '2026-07-01T14:00:00+02:00' });
    assert.deepEqual(zonedTime(T, 'UTC'), { text: '2026-07-01 12:00:00 UTC (UTC+00:00)', iso: '2026-07-01T12:00:00+00:00' });
  });

  it('a digest of a chattering alarm, a flood with its first alarms, an escalation with when it was raised', () => {
    const d = render(notice({ kind: 'digest', count: 4, since: T - 50_000, chattering: true }), ctx);
    assert.equal(d.subject, '[SBR] Chattering: Emergency stop pressed (4 more times)');
    assert.match(d.text, /Repeats: {2}4 since 2026-07-01 13:59:10 .* chattering: its repeats are summarised/);
    const f = render({ kind: 'flood', channel: 'ops', at: T, queuedAt: T, count: 15, since: T - 60_000, first: [{ id: 'a1', message: 'Pump 1', priority: 'high', at: T - 60_000 }] }, ctx);
    assert.equal(f.subject, '[SBR] Alarm flood: 15 alarms');
    assert.match(f.text, /- 2026-07-01 13:59:00 Europe\/Madrid \(UTC\+02:00\) {2}high {2}a1: Pump 1/);
    assert.equal(f.json.count, 15);
    const e = render(notice({ kind: 'escalation', since: T - 600_000 }), ctx);
    assert.equal(e.subject, '[SBR] ESCALATED, still unacknowledged: Emergency stop pressed');
    assert.match(e.text, /Raised: {3}2026-07-01 13:50:00 .*, not acknowledged since/);
    assert.equal(e.json.raised, '2026-07-01T13:50:00+02:00');
    assert.equal(e.json.link, 'https://scada.example.org/#/alarms/estop');
    assert.equal(render(notice({ kind: 'clear' }), ctx).json.state, 'normal');
  });

  it('late past the configured age: marked in the subject, the text and the JSON, never dropped', () => {
    const r = render(notice({ at: T - 20 * 60_000 }), ctx);
    assert.equal(r.late, true);
    assert.match(r.subject, /^\[LATE\] \[SBR\] CRITICAL alarm/);
    assert.match(r.text, /LATE: sent 20 min after it happened/);
    assert.equal(r.json.delaySeconds, 1200);
    assert.equal(render(notice({ at: T - 14 * 60_000 }), ctx).late, false);
  });
});
