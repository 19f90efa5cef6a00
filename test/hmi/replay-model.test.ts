/** Replay's plain functions without a browser: the moment in the URL, ISO in the plant's zone, markers, the event list's query, commands blocked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atOf, inputValue, isoInZone, markerKind, replayBlocker, replayJournalQuery, withAt } from '../../hmi/src/replay/replay-model.js';

const T = Date.UTC(2026, 11, 7, 6, 12, 5); // 03:12:05 in Buenos Aires (UTC−3)

describe('replay model', () => {
  it('reads the moment of a link, with its offset, epoch ms, or a "+" turned into a space; nothing else', () => {
    assert.equal(atOf('#/overview?at=2026-12-07T03:12:05-03:00'), T);
    assert.equal(atOf('#/overview?at=2026-12-07T03%3A12%3A05-03%3A00'), T);
    assert.equal(atOf(`#/?at=${T}`), T);
    assert.equal(atOf('#/?at=2026-12-07T07:12:05 01:00'), T, 'a "+" read as a space');
    assert.equal(atOf('#/trends?pens=a&at=2026-12-07T06:12:05Z&last=day'), T);
    assert.equal(atOf('#/overview'), undefined);
    assert.equal(atOf('#/?at=yesterday'), undefined);
    assert.equal(atOf('#/?at=%E0%A4%A'), undefined);
  });

  it('writes the moment into a hash, keeping its other parameters, and takes it out again', () => {
    assert.equal(withAt('#/mimic', '2026-12-07T03:12:05-03:00'), '#/mimic?at=2026-12-07T03:12:05-03:00');
    assert.equal(withAt('', 'X'), '#/?at=X');
    assert.equal(withAt('#/trends?pens=a&at=old&last=day', 'new'), '#/trends?pens=a&last=day&at=new');
    assert.equal(withAt('#/mimic?at=old', undefined), '#/mimic');
  });

  it('an instant in ISO 8601 in the plant zone, with its offset, and back', () => {
    assert.equal(isoInZone(T, 'America/Argentina/Buenos_Aires'), '2026-12-07T03:12:05-03:00');
    assert.equal(isoInZone(T + 250, 'UTC'), '2026-12-07T06:12:05.250Z');
    assert.equal(isoInZone(T, 'Asia/Kolkata'), '2026-12-07T11:42:05+05:30');
    assert.equal(Date.parse(isoInZone(T + 7, 'Europe/Madrid')), T + 7);
    assert.equal(inputValue(T + 999, 'America/Argentina/Buenos_Aires'), '2026-12-07T03:12:05');
  });

  it('markers: alarms, operator actions (anything with a user), other events', () => {
    assert.equal(markerKind({ kind: 'alarm' }), 'alarm');
    assert.equal(markerKind({ kind: 'ack', user: 'ana' }), 'action');
    assert.equal(markerKind({ kind: 'command', user: 'ana' }), 'action');
    assert.equal(markerKind({ kind: 'event' }), 'other');
    assert.equal(markerKind({ kind: 'return' }), 'other');
  });

  it("the event list in replay: the journal up to the moment, command entries only for those who may read the audit trail; commands blocked", () => {
    const who = (role: 'viewer' | 'operator' | 'engineer' | 'admin') => ({ user: 'u', role, via: 'session' as const, usersExist: true, reauth: false });
    assert.deepEqual(replayJournalQuery(T, 50, who('engineer')), { to: T, limit: 50 });
    assert.ok(!replayJournalQuery(T, 50, who('operator')).kinds!.includes('command'));
    assert.ok(!replayJournalQuery(T, 50, null).kinds!.includes('command'));
    assert.equal(replayBlocker(null), null);
    assert.match(replayBlocker({ t: T, playing: false, speed: 1, loading: false, note: null })!, /^Replay: .*live plant/);
  });
});
