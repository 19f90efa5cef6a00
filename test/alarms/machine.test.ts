/** Every transition of one alarm's ISA-18.2 state machine, with a fake clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AlarmDefinition, AlarmMachine, type Reading } from '../../src/alarms/machine.js';

const digital: AlarmDefinition = { id: 'pump', message: 'Pump failure', priority: 'medium', source: 'alarm.pump', deadband: 0, onDelayMs: 0, offDelayMs: 0 };
const on: Reading = { value: true, good: true };
const off: Reading = { value: false, good: true };
const bad: Reading = { value: null, good: false };
const kinds = (ts: { kind: string }[]) => ts.map((t) => t.kind);

describe('alarm state machine', () => {
  it('normal → unack → acked → normal, and normal → unack → rtn-unack → normal', () => {
    const m = new AlarmMachine(digital);
    assert.deepEqual(kinds(m.update(off, 0)), []);
    assert.equal(m.displayState, 'normal');
    assert.deepEqual(kinds(m.update(on, 10)), ['alarm']);
    assert.equal(m.displayState, 'unack');
    assert.equal(m.state().activeSince, 10);
    assert.deepEqual(kinds(m.acknowledge('ana', 20, 'pump 1 tripped, electrician called')), ['ack']);
    assert.equal(m.displayState, 'acked');
    assert.deepEqual(m.state().ack, { user: 'ana', at: 20, comment: 'pump 1 tripped, electrician called' });
    assert.deepEqual(kinds(m.acknowledge('bob', 25)), [], 'a second acknowledgement changes nothing');
    assert.deepEqual(kinds(m.update(off, 30)), ['return']);
    assert.equal(m.displayState, 'normal');

    assert.deepEqual(kinds(m.update(on, 40)), ['alarm']);
    assert.equal(m.state().ack, undefined, 'a new activation needs a new acknowledgement');
    assert.deepEqual(kinds(m.update(off, 50)), ['return']);
    assert.equal(m.displayState, 'rtn-unack');
    assert.equal(m.annunciating, true);
    m.acknowledge('ana', 60);
    assert.equal(m.displayState, 'normal');
    assert.equal(m.annunciating, false);
  });

  it('active low digital alarms', () => {
    const m = new AlarmMachine({ ...digital, activeWhen: false });
    m.update(on, 0);
    assert.equal(m.displayState, 'normal');
    assert.deepEqual(kinds(m.update(off, 1)), ['alarm']);
  });

  it('analog high limit with deadband', () => {
    const m = new AlarmMachine({ ...digital, condition: 'high', deadband: 0.5 });
    const r = (value: number, limit = 10): Reading => ({ value, good: true, limit });
    m.update(r(9.9), 0);
    assert.equal(m.displayState, 'normal');
    assert.deepEqual(kinds(m.update(r(10.1), 1)), ['alarm']);
    assert.deepEqual(kinds(m.update(r(9.8), 2)), [], 'within the deadband it stays active');
    assert.deepEqual(kinds(m.update(r(9.4), 3)), ['return']);
    assert.deepEqual(kinds(m.update(r(9.8), 4)), [], 'below the limit, no new alarm');
    assert.deepEqual(kinds(m.update(r(9.8, 9.5), 5)), ['alarm'], 'a limit tag moving under the value raises it');
  });

  it('analog low limit: the deadband works upwards', () => {
    const m = new AlarmMachine({ ...digital, condition: 'low', deadband: 0.2 });
    const r = (value: number): Reading => ({ value, good: true, limit: 2 });
    m.update(r(1.9), 0);
    assert.equal(m.displayState, 'unack');
    assert.deepEqual(kinds(m.update(r(2.1), 1)), []);
    assert.deepEqual(kinds(m.update(r(2.25), 2)), ['return']);
  });

  it('on-delay: a condition shorter than the delay raises nothing; off-delay likewise', () => {
    const m = new AlarmMachine({ ...digital, onDelayMs: 1000, offDelayMs: 500 });
    m.update(off, 0);
    m.update(on, 100);
    assert.deepEqual(kinds(m.tick(900)), []);
    m.update(off, 1000);
    assert.deepEqual(kinds(m.tick(2000)), [], 'the blip never became an alarm');
    m.update(on, 3000);
    assert.deepEqual(kinds(m.tick(3999)), []);
    assert.deepEqual(kinds(m.tick(4000)), ['alarm']);
    m.update(off, 5000);
    assert.deepEqual(kinds(m.tick(5400)), [], 'still active within the off-delay');
    m.update(on, 5450);
    assert.deepEqual(kinds(m.tick(6000)), [], 'the condition came back: no return, no new alarm');
    m.update(off, 6000);
    assert.deepEqual(kinds(m.tick(6500)), ['return']);
  });

  it('bad quality makes the state unknown instead of returning to normal', () => {
    const m = new AlarmMachine(digital);
    m.update(on, 0);
    assert.deepEqual(kinds(m.update(bad, 10)), ['unknown']);
    assert.equal(m.displayState, 'unknown');
    assert.equal(m.state().active, null);
    assert.equal(m.state().acked, false, 'still unacknowledged');
    assert.deepEqual(kinds(m.update(on, 20)), [], 'still active: no second alarm');
    assert.equal(m.displayState, 'unack');
    m.update(bad, 30);
    assert.deepEqual(kinds(m.update(off, 40)), ['return']);
    const limitGone = new AlarmMachine({ ...digital, condition: 'high' });
    limitGone.update({ value: 12, good: true, limit: 10 }, 0);
    assert.deepEqual(kinds(limitGone.update({ value: 12, good: true, limit: null }, 1)), ['unknown'], 'an unknown limit is an unknown state');
  });

  it('shelving hides the alarm until it expires by itself; unshelve earlier by hand', () => {
    const m = new AlarmMachine(digital);
    m.update(on, 0);
    assert.deepEqual(kinds(m.shelve('ana', 'sensor being replaced', 60_000, 10)), ['shelve']);
    assert.equal(m.displayState, 'shelved');
    assert.equal(m.annunciating, false);
    assert.deepEqual(kinds(m.tick(59_999)), []);
    assert.deepEqual(kinds(m.tick(60_000)), ['unshelve']);
    assert.equal(m.displayState, 'unack', 'back as it really is');
    m.shelve('ana', 'again', 120_000, 61_000);
    assert.deepEqual(kinds(m.unshelve('bob', 62_000)), ['unshelve']);
    assert.deepEqual(kinds(m.unshelve('bob', 63_000)), []);
  });

  it('suppressed by design while its enabling condition is false', () => {
    const m = new AlarmMachine({ ...digital, condition: 'high' });
    m.update({ value: 25, good: true, limit: 10, enabled: false }, 0);
    assert.equal(m.displayState, 'suppressed');
    assert.deepEqual(kinds(m.update({ value: 25, good: true, limit: 10, enabled: true }, 10)), ['alarm']);
    assert.deepEqual(kinds(m.update({ value: 25, good: true, limit: 10, enabled: false }, 20)), ['return']);
    assert.equal(m.displayState, 'suppressed');
  });

  it('out of service and back', () => {
    const m = new AlarmMachine(digital);
    m.update(on, 0);
    assert.deepEqual(kinds(m.removeFromService('eve', 'pump removed for overhaul', 5)), ['out-of-service']);
    assert.equal(m.displayState, 'out-of-service');
    m.update(off, 6);
    m.update(on, 7);
    assert.equal(m.displayState, 'out-of-service');
    assert.deepEqual(kinds(m.returnToService('eve', 8)), ['in-service']);
    assert.equal(m.displayState, 'unack');
  });

  it('survives a restart: unacknowledged alarms stay unacknowledged', () => {
    const m = new AlarmMachine(digital);
    m.update(on, 0);
    m.update(off, 10);
    m.shelve('ana', 'why', 1_000_000, 20);
    const restarted = new AlarmMachine(digital, JSON.parse(JSON.stringify(m.persisted())));
    assert.equal(restarted.displayState, 'shelved');
    restarted.unshelve('ana', 30);
    assert.equal(restarted.displayState, 'rtn-unack');
    assert.deepEqual(kinds(restarted.update(off, 40)), [], 'the same condition after restart is no transition');
    const active = new AlarmMachine(digital);
    active.update(on, 0);
    const again = new AlarmMachine(digital, active.persisted());
    assert.deepEqual(kinds(again.update(on, 50)), [], 'still active: no duplicate alarm in the journal');
    assert.equal(again.displayState, 'unack');
  });
});

describe('alarm state machine: the first reading', () => {
  it('waits for the on-delay even when the very first reading is active', () => {
    const m = new AlarmMachine({ ...digital, onDelayMs: 3000 });
    assert.deepEqual(kinds(m.update(on, 0)), []);
    assert.deepEqual(kinds(m.tick(2999)), []);
    assert.deepEqual(kinds(m.tick(3000)), ['alarm']);
    const quick = new AlarmMachine({ ...digital, onDelayMs: 3000 });
    quick.update(on, 0);
    assert.deepEqual(kinds(quick.update(off, 100)), [], 'gone before the delay: never an alarm');
    assert.deepEqual(kinds(quick.tick(5000)), []);
  });
});
