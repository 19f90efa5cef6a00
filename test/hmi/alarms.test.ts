/**
 * The HMI's alarm logic without a browser (test/e2e/alarms.test.ts drives
 * the screens): counts for the banner, the summary's filters and sorts,
 * which alarms are new; the alarm board against a scripted server (states
 * applied in order, refusals kept where clicked); the annunciation's tones
 * (armed by a gesture, a least gap, reminders, mute remembered, never a
 * throw); zoned date inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlarmApi } from '../../hmi/src/alarms/alarm-api.js';
import { AlarmBoard } from '../../hmi/src/alarms/alarm-board.js';
import { canAck, filterAlarms, newlyUnacked, overviewAlarms, sinceOf, sortAlarms, summarise } from '../../hmi/src/alarms/alarm-model.js';
import { Annunciator, type ToneContext, toneDue } from '../../hmi/src/alarms/annunciator.js';
import type { CallResult } from '../../hmi/src/shared/call-result.js';
import { fromZonedInput, toZonedInput } from '../../hmi/src/shared/format.js';
import type { AlarmState } from '../../src/web/protocol.js';

function alarm(id: string, over: Partial<AlarmState> = {}): AlarmState {
  return { id, message: `${id} message`, priority: 'medium', source: `alarm.${id}`, state: 'normal', active: false, acked: true, activeSince: null, changedAt: 1000, value: false, ...over };
}

const unack = (id: string, t: number, over: Partial<AlarmState> = {}): AlarmState => alarm(id, { state: 'unack', active: true, acked: false, activeSince: t, changedAt: t, value: true, ...over });

describe('alarm model', () => {
  const list = [
    unack('pump', 5000),
    unack('estop', 4000, { priority: 'critical' }),
    alarm('level', { state: 'acked', active: true, acked: true, activeSince: 3000, changedAt: 3500, priority: 'high', ack: { user: 'ana', at: 3500 } }),
    alarm('valve', { state: 'rtn-unack', active: false, acked: false, changedAt: 6000, priority: 'low' }),
    alarm('oxygen', { state: 'suppressed', changedAt: 2000 }),
    alarm('comm', { state: 'unknown', active: null, acked: true, changedAt: 7000, priority: 'high' }),
    alarm('foam', { state: 'shelved', priority: 'low', shelved: { user: 'ana', reason: 'r', at: 1, until: 2 } }),
    alarm('quiet'),
  ];

  it('counts for the banner: unacknowledged (active or returned), the highest among them, active acknowledged, unknown', () => {
    const s = summarise(list);
    assert.equal(s.unacked, 3);
    assert.equal(s.highest, 'critical');
    assert.equal(s.activeAcked, 1);
    assert.equal(s.unknown, 1);
    assert.equal(s.shelved, 1);
    assert.equal(s.ackedHighest, 'high');
    assert.equal(s.top?.id, 'estop', 'the highest priority first');
    assert.equal(s.urgent, true);
    // Unknown is never counted as normal, nor as unacknowledged; an acknowledged high alarm is not urgent.
    const quiet = summarise([list[2]!, list[5]!]);
    assert.deepEqual([quiet.unacked, quiet.highest, quiet.urgent, quiet.unknown], [0, null, false, 1]);
    // Acknowledged and still active (the e-stop still pressed): still the one the banner names, as acknowledged.
    const pressed = summarise([alarm('estop', { state: 'acked', active: true, acked: true, activeSince: 3000, priority: 'critical' }), list[0]!]);
    assert.deepEqual([pressed.top?.id, pressed.ackedHighest, pressed.highest], ['estop', 'critical', 'medium']);
  });

  it('filters: not normal leaves out normal and suppressed; by state, priority and words', () => {
    const ids = (f: Parameters<typeof filterAlarms>[1]) => filterAlarms(list, f).map((a) => a.id).sort();
    assert.deepEqual(ids({ state: 'not-normal', priority: 'all', text: '' }), ['comm', 'estop', 'foam', 'level', 'pump', 'valve']);
    assert.deepEqual(ids({ state: 'all', priority: 'all', text: '' }).length, list.length);
    assert.deepEqual(ids({ state: 'unacked', priority: 'all', text: '' }), ['estop', 'pump', 'valve']);
    assert.deepEqual(ids({ state: 'active', priority: 'all', text: '' }), ['estop', 'level', 'pump']);
    assert.deepEqual(ids({ state: 'suppressed', priority: 'all', text: '' }), ['oxygen']);
    assert.deepEqual(ids({ state: 'all', priority: 'high', text: '' }), ['comm', 'level']);
    assert.deepEqual(ids({ state: 'all', priority: 'all', text: 'ESTOP mess' }), ['estop']);
    assert.deepEqual(ids({ state: 'all', priority: 'all', text: 'alarm.foam' }), ['foam']);
  });

  it('sorts by priority (then what needs the operator, then newest), by time, by state', () => {
    const shown = filterAlarms(list, { state: 'not-normal', priority: 'all', text: '' });
    assert.deepEqual(sortAlarms(shown, 'priority').map((a) => a.id), ['estop', 'comm', 'level', 'pump', 'valve', 'foam']);
    assert.deepEqual(sortAlarms(shown, 'time').map((a) => a.id), ['comm', 'valve', 'pump', 'estop', 'level', 'foam']);
    assert.deepEqual(sortAlarms(shown, 'state').map((a) => a.id), ['estop', 'pump', 'valve', 'comm', 'level', 'foam']);
  });

  it("the overview's list: active (acknowledged too), unacknowledged and unknown, by priority, then unacknowledged first, then newest; acknowledging applies to the unacknowledged", () => {
    assert.deepEqual(overviewAlarms(list).map((a) => a.id), ['estop', 'comm', 'level', 'pump', 'valve']);
    const same = [alarm('old', { state: 'acked', active: true, activeSince: 9000, priority: 'high' }), unack('late', 8000, { priority: 'high' }), unack('new', 8500, { priority: 'high' })];
    assert.deepEqual(overviewAlarms(same).map((a) => a.id), ['new', 'late', 'old']);
    assert.deepEqual(list.filter(canAck).map((a) => a.id), ['pump', 'estop', 'valve']);
    assert.equal(canAck(alarm('x', { state: 'unknown', active: null, acked: false })), true, 'an unknown alarm may still wait for its acknowledgement');
    assert.equal(sinceOf(list[0]!), 5000);
    assert.equal(sinceOf(list[3]!), 6000);
  });

  it('new alarms: first seen unacknowledged, or activated again; not back from unknown as it was', () => {
    const before = new Map([
      ['a', alarm('a')],
      ['b', unack('b', 100)],
      ['c', alarm('c', { state: 'rtn-unack', acked: false })],
      ['d', alarm('d', { state: 'unknown', active: null, acked: false, activeSince: 100 })],
    ]);
    const after = [unack('a', 200), unack('b', 100), unack('c', 300), unack('d', 100), unack('e', 400), alarm('f', { state: 'acked', active: true })];
    assert.deepEqual(newlyUnacked(before, after).map((a) => a.id), ['a', 'c', 'e']);
  });
});

// ------------------------------------------------------------------ the board

type Answer<T> = () => CallResult<T> | Promise<CallResult<T>>;

function scripted() {
  const calls: string[] = [];
  const answers = { ack: [] as Answer<AlarmState[]>[], one: [] as Answer<AlarmState>[] };
  const next = <T>(list: Answer<T>[], name: string): Promise<CallResult<T>> => {
    const a = list.shift();
    if (!a) throw new Error(`no scripted answer for ${name}`);
    return Promise.resolve(a());
  };
  const api: AlarmApi = {
    ack: (ids, comment) => {
      calls.push(`ack ${ids.join(',')}${comment ? ` "${comment}"` : ''}`);
      return next(answers.ack, 'ack');
    },
    shelve: (id, reason, minutes) => {
      calls.push(`shelve ${id} ${minutes} "${reason}"`);
      return next(answers.one, 'shelve');
    },
    unshelve: (id) => {
      calls.push(`unshelve ${id}`);
      return next(answers.one, 'unshelve');
    },
    outOfService: (id, reason) => {
      calls.push(`oos ${id} "${reason}"`);
      return next(answers.one, 'oos');
    },
    inService: (id) => {
      calls.push(`in ${id}`);
      return next(answers.one, 'in');
    },
    journal: () => Promise.resolve({ kind: 'ok', status: 200, body: [], serverDate: undefined }),
    rates: () => Promise.reject(new Error('not scripted')),
  };
  return { api, calls, answers };
}

const ok = <T>(body: T): CallResult<T> => ({ kind: 'ok', status: 200, body, serverDate: undefined });

describe('alarm board', () => {
  it('takes the first snapshot as the baseline, then reports new unacknowledged alarms; a resync reports what it finds new', () => {
    const s = scripted();
    const news: string[][] = [];
    const board = new AlarmBoard({ api: s.api, onNew: (a) => news.push(a.map((x) => x.id)) });
    assert.equal(board.known.value, false);
    board.snapshot([unack('old', 100), alarm('a')]);
    assert.equal(board.known.value, true);
    assert.deepEqual(news, [], 'no tone for what was there before the page opened');
    board.update([unack('a', 2000)]);
    board.update([alarm('a', { state: 'acked', active: true, acked: true, activeSince: 2000, changedAt: 2500 })]);
    board.update([unack('a', 1500)]);
    board.snapshot([unack('old', 100), unack('a', 5000), unack('b', 6000)]);
    assert.deepEqual(news, [['a'], ['a', 'b']], 'a state older than the one shown is ignored');
    assert.equal(board.summary.value.unacked, 3);
  });

  it('an older snapshot without alarms leaves them unknown', () => {
    const board = new AlarmBoard({ api: scripted().api });
    board.snapshot(undefined);
    assert.equal(board.known.value, false);
  });

  it("applies an action's answer unless the stream already brought a newer state", async () => {
    const s = scripted();
    const board = new AlarmBoard({ api: s.api, now: () => 42 });
    board.snapshot([unack('a', 100)]);
    const acked = alarm('a', { state: 'acked', active: true, acked: true, activeSince: 100, changedAt: 200, ack: { user: 'ana', at: 200, comment: 'seen' } });
    const returned = alarm('a', { state: 'normal', changedAt: 300 });
    s.answers.ack.push(() => {
      board.update([returned]);
      return ok([acked]);
    });
    assert.equal(await board.acknowledge('here', ['a'], '  seen  '), true);
    assert.deepEqual(s.calls, ['ack a "seen"']);
    assert.equal(board.get('a')?.state, 'normal', 'the newer state stays');
    assert.deepEqual(board.actionAt('here'), { status: 'done', what: 'Acknowledge 1 alarm', at: 42 });
  });

  it("keeps the server's refusal (code and message) where it was clicked; one request per click", async () => {
    const s = scripted();
    const board = new AlarmBoard({ api: s.api });
    board.snapshot([unack('a', 100)]);
    let release!: (r: CallResult<AlarmState>) => void;
    s.answers.one.push(() => new Promise((r) => (release = r)));
    const first = board.outOfService('row:a', 'a', 'sensor removed');
    assert.equal(board.actionAt('row:a')?.status, 'pending');
    assert.equal(await board.outOfService('row:a', 'a', 'again'), false, 'a second click while pending sends nothing');
    release({ kind: 'refused', status: 403, error: { code: 'PLANTA_ALARM_FORBIDDEN', message: 'ana (operator) may not take alarms out of service: it needs engineer' } });
    assert.equal(await first, false);
    assert.deepEqual(s.calls, ['oos a "sensor removed"']);
    const r = board.actionAt('row:a');
    assert.equal(r?.status, 'error');
    assert.equal(r?.status === 'error' && r.code, 'PLANTA_ALARM_FORBIDDEN');
    assert.match(r?.status === 'error' ? r.text : '', /may not take alarms out of service: it needs engineer \[PLANTA_ALARM_FORBIDDEN\]/);
    assert.equal(board.get('a')?.state, 'unack');
    // No answer at all: said as such.
    s.answers.one.push(() => ({ kind: 'no-answer', message: 'Failed to fetch' }));
    await board.unshelve('row:a', 'a');
    const n = board.actionAt('row:a');
    assert.equal(n?.status === 'error' && n.code, 'PLANTA_NO_ANSWER');
    board.clearAction('row:a');
    assert.equal(board.actionAt('row:a'), undefined);
  });

  it('refuses an acknowledgement of nothing without a request', async () => {
    const s = scripted();
    const board = new AlarmBoard({ api: s.api });
    assert.equal(await board.acknowledge('bar', []), false);
    assert.deepEqual(s.calls, []);
    assert.equal(board.actionAt('bar')?.status, 'error');
  });
});

// ------------------------------------------------------------------ annunciation

function fakeAudio(state: 'running' | 'suspended' = 'running') {
  const notes: number[] = [];
  const param = { setValueAtTime: () => undefined, exponentialRampToValueAtTime: () => undefined, linearRampToValueAtTime: () => undefined };
  const ctx = {
    state,
    currentTime: 0,
    destination: {},
    resume() {
      ctx.state = 'running';
      return Promise.resolve();
    },
    createOscillator() {
      const osc = {
        type: 'sine',
        frequency: { setValueAtTime: (f: number) => notes.push(f) },
        connect: () => undefined,
        start: () => undefined,
        stop: () => undefined,
      };
      return osc;
    },
    createGain: () => ({ gain: param, connect: () => undefined }),
  };
  return { ctx: ctx as unknown as ToneContext, notes };
}

function memoryStorage(init: Record<string, string> = {}) {
  const data = new Map(Object.entries(init));
  return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), data };
}

describe('annunciation', () => {
  it('which tone is due: a new alarm after the least gap; the reminder only for urgent ones; nothing when muted', () => {
    const t = { minGapMs: 2000, repeatMs: 10_000 };
    assert.equal(toneDue({ now: 5000, lastToneAt: 0, pendingNew: true, urgentUnacked: false, muted: false, timing: t }), 'new');
    assert.equal(toneDue({ now: 1000, lastToneAt: 0, pendingNew: true, urgentUnacked: true, muted: false, timing: t }), null);
    assert.equal(toneDue({ now: 9000, lastToneAt: 0, pendingNew: false, urgentUnacked: true, muted: false, timing: t }), null);
    assert.equal(toneDue({ now: 10_000, lastToneAt: 0, pendingNew: false, urgentUnacked: true, muted: false, timing: t }), 'repeat');
    assert.equal(toneDue({ now: 60_000, lastToneAt: 0, pendingNew: false, urgentUnacked: false, muted: false, timing: t }), null);
    assert.equal(toneDue({ now: 60_000, lastToneAt: 0, pendingNew: true, urgentUnacked: true, muted: true, timing: t }), null);
  });

  it('plays nothing before a gesture, then a tone per new alarm (not closer than the gap) and reminders while urgent', () => {
    let now = 100_000;
    const audio = fakeAudio();
    const played: string[] = [];
    const a = new Annunciator({ createContext: () => audio.ctx, storage: memoryStorage(), now: () => now, play: (_c, kind, p) => played.push(`${kind} ${p}`) });
    a.noteNew('high', true);
    assert.deepEqual(played, [], 'not armed: skipped, not queued');
    assert.equal(a.pulse.value, 1, 'the banner pulses anyway');
    a.arm();
    assert.equal(a.audio.value, 'ready');
    now += 2000;
    a.noteNew('medium', false);
    now += 500;
    a.noteNew('low', false);
    a.tick(false, 'medium');
    now += 1600;
    a.tick(false, 'medium');
    assert.deepEqual(played, ['new medium', 'new low'], 'the second waits for the gap, then plays');
    now += 9000;
    a.tick(true, 'critical');
    now += 1000;
    a.tick(true, 'critical');
    assert.deepEqual(played.slice(2), ['repeat critical']);
    assert.equal(a.tones.value, 3);
  });

  it('a suspended context resumes in the gesture; the real tone is two notes, higher for urgent', async () => {
    const audio = fakeAudio('suspended');
    const a = new Annunciator({ createContext: () => audio.ctx, storage: null, now: () => 50_000 });
    a.arm();
    await new Promise((r) => setImmediate(r));
    assert.equal(a.audio.value, 'ready');
    a.noteNew('critical', true);
    assert.deepEqual(audio.notes, [988, 784]);
  });

  it('mute is remembered in storage and read back; it stops tones', () => {
    const storage = memoryStorage();
    const audio = fakeAudio();
    const played: string[] = [];
    const a = new Annunciator({ createContext: () => audio.ctx, storage, now: () => 1e6, play: (_c, k) => played.push(k) });
    a.arm();
    a.setMuted(true);
    a.noteNew('critical', true);
    a.tick(true, 'critical');
    assert.deepEqual(played, []);
    assert.equal(storage.data.get('planta.sound'), 'muted');
    assert.equal(new Annunciator({ storage, createContext: () => null }).muted.value, true);
    a.setMuted(false);
    assert.equal(new Annunciator({ storage, createContext: () => null }).muted.value, false);
  });

  it('never throws: no WebAudio, a context that fails, a tone that fails, storage that refuses', () => {
    const none = new Annunciator({ createContext: () => null, storage: null });
    none.arm();
    assert.equal(none.audio.value, 'unavailable');
    none.noteNew('critical', true);
    const broken = new Annunciator({
      createContext: () => {
        throw new Error('NotAllowedError');
      },
      storage: {
        getItem: () => {
          throw new Error('SecurityError');
        },
        setItem: () => {
          throw new Error('QuotaExceededError');
        },
      },
    });
    broken.arm();
    assert.equal(broken.audio.value, 'unavailable');
    broken.setMuted(true);
    assert.equal(broken.muted.value, true);
    const audio = fakeAudio();
    const failing = new Annunciator({
      createContext: () => audio.ctx,
      storage: null,
      play: () => {
        throw new Error('InvalidStateError');
      },
    });
    failing.arm();
    failing.noteNew('high', true);
    assert.equal(failing.audio.value, 'unavailable');
  });
});

// ------------------------------------------------------------------ zoned inputs

describe('date inputs in the plant zone', () => {
  it('round-trips wall-clock times, also across a change of summer time', () => {
    const ba = 'America/Argentina/Buenos_Aires';
    const t = Date.parse('2026-11-25T17:03:00Z');
    assert.equal(toZonedInput(t, ba), '2026-11-25T14:03');
    assert.equal(fromZonedInput('2026-11-25T14:03', ba), t);
    assert.equal(fromZonedInput('2026-11-25T14:03:30', ba), t + 30_000);
    // Berlin: CEST until 2026-10-25 03:00, then CET.
    assert.equal(fromZonedInput('2026-10-24T12:00', 'Europe/Berlin'), Date.parse('2026-10-24T10:00:00Z'));
    assert.equal(fromZonedInput('2026-10-26T12:00', 'Europe/Berlin'), Date.parse('2026-10-26T11:00:00Z'));
    assert.equal(toZonedInput(Date.parse('2026-07-01T00:30:00Z'), 'Europe/Berlin'), '2026-07-01T02:30');
    assert.equal(fromZonedInput('not a date', ba), undefined);
    assert.equal(fromZonedInput('', ba), undefined);
  });
});
