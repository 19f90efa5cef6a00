/**
 * The HMI's command logic without a browser: parameter checks and words
 * (test/e2e/commands.test.ts drives the screens), and the command store's
 * safety rules against a scripted server — one request per click, nothing
 * sent while blocked or after the reservation ran out, reservations given
 * back, a final outcome never replaced by an earlier one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandApi, QueuedAnswer, SelectAnswer } from '../../hmi/src/commands/command-api.js';
import type { CallResult } from '../../hmi/src/shared/call-result.js';
import {
  actionText,
  choices,
  commandBlocker,
  describeParams,
  expandTemplate,
  fillConfirmation,
  localDeadline,
  newCommandId,
  onOverview,
  outcomeLine,
  outcomeReason,
  rangeText,
  readParam,
  reasonInWords,
  refusalInWords,
} from '../../hmi/src/commands/command-model.js';
import { CommandStore } from '../../hmi/src/commands/command-store.js';
import type { CommandInfo, CommandOutcome } from '../../src/web/protocol.js';

const START: CommandInfo = {
  name: 'start_program',
  label: 'Start program',
  description: 'Select the program and start the SBR cycle with it',
  confirmation: 'Start program {program} on the SBR reactor?',
  role: 'operator',
  critical: true,
  expiryMs: 5000,
  device: 'plc',
  params: { program: { label: 'Program', integer: true, unit: '', decimals: 0, type: 'number', min: 1, max: 3, tag: 'program.current' } },
  tags: ['program.current', 'cmd.start', 'phase.stopped'],
};
const HORN: CommandInfo = {
  name: 'silence_horn',
  label: 'Silence the horn',
  description: '',
  confirmation: 'Silence the alarm horn?',
  role: 'operator',
  critical: false,
  expiryMs: 5000,
  device: 'plc',
  params: {},
  tags: ['cmd.silence_horn'],
};
const minutes = { integer: true, unit: 'min', decimals: 0, type: 'number', min: 1, max: 9999 } as const;
const EDIT: CommandInfo = {
  name: 'edit_program',
  label: 'Edit program durations',
  description: '',
  confirmation: 'Set program {program} to fill {fill} min?',
  role: 'engineer',
  critical: true,
  expiryMs: 5000,
  device: 'plc',
  params: {
    program: { label: 'Program', integer: true, unit: '', decimals: 0, type: 'number', min: 1, max: 3 },
    fill: { label: 'Aerated fill', ...minutes, tag: 'program{program}.fill' },
  },
  tags: ['program{program}.fill'],
};
const OXYGEN = { label: 'Oxygen minimum (mg/L)', integer: false, unit: 'mg/L', decimals: 2, type: 'number', min: 0.01, max: 99.99 } as const;

const words = {
  describe: (t: string) => ({ 'phase.stopped': 'Reactor stopped', 'cmd.start': 'Command: start' })[t],
  time: (ts: number) => new Date(ts).toISOString().slice(11, 19),
  label: (c: string) => ({ stop_cycle: 'Stop the cycle', edit_limits: 'Edit limits' })[c],
};
const TAGS = ['phase.stopped', 'phase.stopped.elapsed', 'cmd.start'];

describe('command words and checks', () => {
  it('fills templates and confirmations with each value in its decimals', () => {
    assert.equal(expandTemplate('program{program}.fill', { program: 3 }), 'program3.fill');
    assert.equal(expandTemplate('program{program}.fill', {}), undefined);
    assert.equal(fillConfirmation(START, { program: 2 }), 'Start program 2 on the SBR reactor?');
    const limits = { confirmation: 'Limits {lo}–{hi} mg/L?', params: { lo: OXYGEN, hi: OXYGEN } };
    assert.equal(fillConfirmation(limits, { lo: 2.5, hi: 8 }), 'Limits 2.50–8.00 mg/L?');
  });

  it('makes fresh ids the server accepts', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newCommandId()));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{8,64}$/);
  });

  it('reads what was typed as the server will check it', () => {
    const fill = EDIT.params.fill!;
    assert.deepEqual(readParam(fill, ' 35 '), { ok: true, value: 35 });
    assert.deepEqual(readParam(fill, ''), { ok: false, error: 'Enter a value (1–9999\u00a0min)' });
    assert.deepEqual(readParam(fill, 'abc'), { ok: false, error: 'Enter a number (1–9999\u00a0min)' });
    assert.deepEqual(readParam(fill, '12.5'), { ok: false, error: 'Enter a whole number (1–9999\u00a0min)' });
    assert.deepEqual(readParam(fill, '0'), { ok: false, error: '0\u00a0min is out of range: it must be within 1–9999\u00a0min' });
    assert.deepEqual(readParam(fill, '10000'), { ok: false, error: '10,000\u00a0min is out of range: it must be within 1–9999\u00a0min' });
    assert.deepEqual(readParam(OXYGEN, '2.5'), { ok: true, value: 2.5 });
    assert.deepEqual(readParam(OXYGEN, '2.05'), { ok: true, value: 2.05 });
    assert.deepEqual(readParam(OXYGEN, '2.005'), { ok: false, error: 'Use at most 2 decimals (steps of 0.01)' });
    assert.equal(rangeText(OXYGEN), '0.01–99.99\u00a0mg/L');
    assert.equal(rangeText({ ...OXYGEN, max: undefined } as never), 'at least 0.01\u00a0mg/L');
  });

  it('offers small whole-number parameters as a choice, and places commands by role and parameters', () => {
    assert.deepEqual(choices(START.params.program!), [1, 2, 3]);
    assert.equal(choices(EDIT.params.fill!), undefined);
    assert.equal(choices(OXYGEN as never), undefined);
    assert.equal(onOverview(START), true);
    assert.equal(onOverview(HORN), true);
    assert.equal(onOverview(EDIT), false);
  });

  it('says what a button does and with which values', () => {
    assert.equal(actionText(START, { program: 2 }), 'Start program 2');
    assert.equal(actionText(HORN, {}), 'Silence the horn');
    assert.equal(actionText(EDIT, { program: 3 }), 'Edit program durations for program 3');
    assert.equal(describeParams(EDIT, { fill: 35, program: 3 }), 'Program 3, Aerated fill 35\u00a0min');
  });

  it('refuses commands without live data (at the browser or at the server), without the PLC, or with a stale configuration', () => {
    const ok = { link: 'live' as const, busUp: true, devices: [{ name: 'plc', status: { state: 'connected' } }], configChanged: false };
    assert.equal(commandBlocker(ok, 'plc'), null);
    assert.equal(commandBlocker({ ...ok, link: 'down' }, 'plc'), 'No live data: commands are disabled');
    assert.equal(commandBlocker({ ...ok, link: 'connecting' }, 'plc'), 'Not connected to live data yet: commands are disabled');
    assert.equal(commandBlocker({ ...ok, devices: [{ name: 'plc', status: { state: 'connecting' } }] }, 'plc'), 'PLC plc is not connected: commands are disabled');
    assert.equal(commandBlocker({ ...ok, devices: [{ name: 'plc', status: null }] }, 'plc'), 'PLC plc: connection state not known yet: commands are disabled');
    assert.match(commandBlocker({ ...ok, configChanged: true }, 'plc')!, /configuration changed/);
    assert.equal(commandBlocker({ ...ok, busUp: false }, 'plc'), 'Live data stopped at the server (no connection to its message bus): commands are disabled');
  });

  it('puts server reasons in words', () => {
    assert.equal(
      reasonInWords('phase.stopped is true, not false, 3000 ms after the command: the PLC did not take it', words, TAGS),
      '“Reactor stopped” is ON, not OFF, 3\u00a0s after the command: the PLC did not take it',
    );
    assert.equal(reasonInWords('phase.stopped.elapsed is 250 ms', words, TAGS), 'phase.stopped.elapsed is 250 ms', 'a longer name is not cut');
    assert.equal(
      refusalInWords({ code: 'PLANTA_COMMAND_DEVICE_SELECTED', message: 'plc is selected by bob for "stop_cycle" until 2026-11-25T18:01:49.000Z' }, words, TAGS),
      'PLC plc is reserved by bob, who is about to send “Stop the cycle”, until 18:01:49. Try again after that.',
    );
    assert.equal(
      refusalInWords({ code: 'PLANTA_COMMAND_FORBIDDEN', message: 'ana (operator) may not run "edit_limits": it needs engineer' }, words, TAGS),
      'Not allowed: “Edit limits” needs the engineer role, and ana is signed in as operator.',
    );
    assert.equal(refusalInWords({ code: 'PLANTA_AUTH_REQUIRED', message: 'commands need a signed-in user' }, words, TAGS), 'Commands need a signed-in user: sign in (top right), then send it again');
    assert.match(refusalInWords({ code: 'PLANTA_COMMAND_NOT_QUEUED', message: 'not queued, and it will not run later: Redis at redis://h:6379 is out of reach' }, words, TAGS), /not queued and will not run later/);
    assert.match(refusalInWords({ code: 'PLANTA_COMMAND_UNCONFIRMED', message: 'the bus did not confirm it' }, words, TAGS), /probably not queued.*Check the event list/);
    const o: CommandOutcome = { id: 'x1234567', command: 'start_program', device: 'plc', user: 'ana', params: { program: 1 }, status: 'not-accepted', reason: 'phase.stopped is true, not false, 3000 ms after the command: the PLC did not take it', createdAt: 0, at: 0 };
    assert.equal(outcomeReason(o, words, TAGS), '“Reactor stopped” is ON, not OFF, 3\u00a0s after the command');
    assert.equal(outcomeLine(o, START, words, TAGS), 'ana — Start program (Program 1): “Reactor stopped” is ON, not OFF, 3\u00a0s after the command');
    assert.equal(outcomeLine({ ...o, status: 'confirmed' }, START, words, TAGS), 'ana — Start program (Program 1)');
  });

  it('says why a precondition or relation refused a command: the configured message, from the web or the poller', () => {
    const estop = 'the emergency stop is pressed; release it first — precondition no_emergency_stop (alarm.estop == false) does not hold with alarm.estop = true';
    assert.equal(refusalInWords({ code: 'PLANTA_COMMAND_PRECONDITION', message: estop }, words, TAGS), 'Not sent: the emergency stop is pressed; release it first.');
    const o: CommandOutcome = { id: 'x1234567', command: 'start_program', device: 'plc', user: 'ana', params: { program: 1 }, status: 'rejected', code: 'PLANTA_COMMAND_PRECONDITION', reason: `not sent: ${estop}`, createdAt: 0, at: 0 };
    assert.equal(outcomeReason(o, words, TAGS), 'Not sent: the emergency stop is pressed; release it first.');
    assert.equal(
      refusalInWords({ code: 'PLANTA_COMMAND_RELATION', message: 'relation order (lo < hi) does not hold with phase.stopped = true' }, words, TAGS),
      'Not sent: relation order (lo < hi) does not hold with “Reactor stopped” = ON.',
    );
  });

  it('never promises more time to confirm than the server gives, whatever the browser clock says', () => {
    // The server's clock: now 100_000 (its Date header, whole seconds), expiry in 10 s; the browser's clock is 1 h ahead.
    const received = 3_700_000;
    assert.equal(localDeadline(110_000, 100_000, received), received + 9000);
    assert.equal(localDeadline(110_000, undefined, received), 110_000, 'without a Date header: the server time as is');
    assert.equal(localDeadline(90_000, 100_000, received), received, 'already gone');
  });
});

// ---------------------------------------------------------------- the store

type Call = [string, ...unknown[]];

/** A scripted server: answers are queued per call kind; every call is recorded. */
function fakeApi(now: { t: number }) {
  const calls: Call[] = [];
  const answers: Record<string, (() => CallResult<unknown>)[]> = { submit: [], select: [], operate: [], cancel: [], outcome: [] };
  const gates: Record<string, Promise<void> | undefined> = {};
  const answer = async <T>(kind: string): Promise<CallResult<T>> => {
    await gates[kind];
    const next = answers[kind]!.shift();
    return (next ? next() : { kind: 'ok', status: 200, body: {}, serverDate: undefined }) as CallResult<T>;
  };
  const api: CommandApi = {
    submit: (id, command, params) => (calls.push(['submit', id, command, params]), answer<QueuedAnswer>('submit')),
    select: (command, params) => (calls.push(['select', command, params]), answer<SelectAnswer>('select')),
    operate: (id, token, command, params) => (calls.push(['operate', id, token, command, params]), answer<QueuedAnswer>('operate')),
    cancel: (token) => (calls.push(['cancel', token]), answer<{ cancelled: boolean }>('cancel')),
    outcome: (id) => (calls.push(['outcome', id]), answer<CommandOutcome>('outcome')),
  };
  const selected = (token = 'tok-1', validMs = 10_000): (() => CallResult<SelectAnswer>) => () => ({
    kind: 'ok',
    status: 200,
    serverDate: now.t,
    body: { token, expiresAt: now.t + validMs, command: 'start_program', params: { program: 2 }, confirmation: '', device: 'plc', current: { 'phase.stopped': { value: true, quality: 'Good', sourceTs: 1 } } },
  });
  const queued = (): (() => CallResult<QueuedAnswer>) => () => ({ kind: 'ok', status: 202, serverDate: now.t, body: { id: 'x', status: 'queued', expiresAt: now.t + 5000 } });
  /** Holds the answers of one kind until released. */
  const hold = (kind: string): (() => void) => {
    let release!: () => void;
    gates[kind] = new Promise<void>((r) => (release = r));
    return () => {
      gates[kind] = undefined;
      release();
    };
  };
  return { api, calls, answers, selected, queued, hold };
}

function setup(blocked: () => string | null = () => null) {
  const now = { t: 1_000_000 };
  const f = fakeApi(now);
  const store = new CommandStore({ api: f.api, blocked, now: () => now.t });
  store.setDefinitions([START, HORN, EDIT]);
  return { store, now, ...f };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const outcome = (id: string, status: CommandOutcome['status']): CommandOutcome => ({ id, command: 'silence_horn', device: 'plc', user: 'ana', params: {}, status, createdAt: 0, at: 0 });

describe('command store', () => {
  it('a non-critical command: confirm sends it once with a fresh id; the stream brings queued, then the outcome', async () => {
    const s = setup();
    s.answers.submit!.push(s.queued());
    s.store.begin('here', HORN, {});
    assert.equal(s.store.attempt.value?.phase, 'ready');
    assert.equal(s.store.attempt.value?.question, 'Silence the alarm horn?');
    assert.equal(await s.store.confirm(), true);
    assert.equal(await s.store.confirm(), false, 'a second Confirm sends nothing');
    assert.equal(s.calls.length, 1);
    const [kind, id] = s.calls[0]!;
    assert.equal(kind, 'submit');
    assert.match(id as string, /^[A-Za-z0-9_-]{8,64}$/);
    const a = s.store.attempt.value!;
    assert.equal(a.phase, 'sent');
    assert.equal(a.dialog, false);
    s.store.onOutcome(outcome(id as string, 'queued'));
    s.store.onOutcome(outcome(id as string, 'confirmed'));
    s.store.onOutcome(outcome(id as string, 'queued'));
    assert.equal(s.store.attempt.value?.outcome?.status, 'confirmed', 'a final outcome is never replaced by an earlier one');
    s.store.onOutcome(outcome('someone-else', 'failed'));
    assert.equal(s.store.attempt.value?.outcome?.status, 'confirmed');
  });

  it('a final outcome that arrives before the answer to the request is kept', async () => {
    const s = setup();
    s.answers.submit!.push(s.queued());
    const release = s.hold('submit');
    s.store.begin('here', HORN, {});
    const sent = s.store.confirm();
    await tick();
    const id = s.calls[0]![1] as string;
    s.store.onOutcome(outcome(id, 'queued'));
    s.store.onOutcome(outcome(id, 'not-accepted'));
    release();
    await sent;
    assert.equal(s.store.attempt.value?.phase, 'sent');
    assert.equal(s.store.attempt.value?.outcome?.status, 'not-accepted');
  });

  it('a critical command: select, then operate with the token and the same values', async () => {
    const s = setup();
    s.answers.select!.push(s.selected('tok-1'));
    s.answers.operate!.push(s.queued());
    s.store.begin('here', START, { program: 2 });
    assert.equal(s.store.attempt.value?.phase, 'selecting');
    assert.equal(await s.store.confirm(), false, 'nothing to confirm before the selection');
    await tick();
    const a = s.store.attempt.value!;
    assert.equal(a.phase, 'ready');
    assert.equal(a.question, 'Start program 2 on the SBR reactor?');
    assert.equal(a.selection?.token, 'tok-1');
    assert.equal(a.selection?.deadline, s.now.t + 9000);
    assert.deepEqual(a.selection?.current['phase.stopped'], { value: true, quality: 'Good', sourceTs: 1 });
    assert.equal(await s.store.confirm(), true);
    assert.deepEqual(s.calls.map((c) => c[0]), ['select', 'operate']);
    const [, id, token, command, params] = s.calls[1]!;
    assert.match(id as string, /^[A-Za-z0-9_-]{8,64}$/);
    assert.deepEqual([token, command, params], ['tok-1', 'start_program', { program: 2 }]);
  });

  it('never operates once the reservation has run out; selecting again is the operator\'s click', async () => {
    const s = setup();
    s.answers.select!.push(s.selected('tok-1', 10_000), s.selected('tok-2', 10_000));
    s.store.begin('here', START, { program: 1 });
    await tick();
    s.now.t += 9000;
    assert.equal(await s.store.confirm(), false);
    assert.deepEqual(s.calls.map((c) => c[0]), ['select']);
    s.store.reselect();
    await tick();
    assert.deepEqual(s.calls.map((c) => c[0]), ['select', 'cancel', 'select']);
    assert.equal(s.store.attempt.value?.selection?.token, 'tok-2');
  });

  it('gives the reservation back on cancel, even when the server answers after the cancel', async () => {
    const s = setup();
    s.answers.select!.push(s.selected('tok-1'));
    s.store.begin('here', START, { program: 1 });
    await tick();
    s.store.cancel();
    assert.deepEqual(s.calls.at(-1), ['cancel', 'tok-1']);
    assert.equal(s.store.attempt.value?.phase, 'cancelled');
    assert.equal(s.store.attempt.value?.dialog, false);

    s.answers.select!.push(s.selected('tok-late'));
    const release = s.hold('select');
    s.store.begin('here', START, { program: 1 });
    s.store.cancel();
    release();
    await tick();
    await tick();
    assert.deepEqual(s.calls.at(-1), ['cancel', 'tok-late']);
    assert.equal(s.store.attempt.value?.phase, 'cancelled');
  });

  it('sends nothing while commands are blocked, neither at the click nor at Confirm', async () => {
    let reason: string | null = null;
    const s = setup(() => reason);
    reason = 'No live data: commands are disabled';
    s.store.begin('here', HORN, {});
    assert.equal(s.store.attempt.value, null, 'a click while blocked opens nothing');
    reason = null;
    s.store.begin('here', HORN, {});
    reason = 'PLC plc is not connected: commands are disabled';
    assert.equal(await s.store.confirm(), false);
    assert.equal(s.store.blocker(HORN), reason);
    reason = null;
    assert.deepEqual(s.calls, []);
  });

  it('a request without an answer is shown as such and never sent again', async () => {
    const s = setup();
    s.answers.submit!.push(() => ({ kind: 'no-answer', message: 'Failed to fetch' }));
    s.store.begin('here', HORN, {});
    assert.equal(await s.store.confirm(), false);
    const a = s.store.attempt.value!;
    assert.equal(a.phase, 'no-answer');
    assert.equal(a.problem, 'Failed to fetch');
    await s.store.recheck();
    // Neither the store nor the fake API has a timer: after one turn of the event loop, any call made is recorded.
    await tick();
    assert.deepEqual(s.calls.map((c) => c[0]), ['submit']);
  });

  it('keeps the server\'s refusal with the field at fault', async () => {
    const s = setup();
    s.answers.select!.push(() => ({ kind: 'refused', status: 400, error: { code: 'PLANTA_COMMAND_OUT_OF_RANGE', message: 'params.fill: 0 is outside 1..9999 min', field: 'params.fill' } }));
    s.store.begin('form', EDIT, { program: 3, fill: 0 });
    await tick();
    let a = s.store.attempt.value!;
    assert.equal(a.phase, 'select-refused');
    assert.equal(a.error?.field, 'params.fill');
    assert.equal(a.error?.status, 400);
    s.store.cancel();
    a = s.store.attempt.value!;
    assert.equal(a.dialog, false);
    assert.equal(a.phase, 'select-refused', 'the refusal stays shown where the operator clicked');
    s.store.dismiss();
    assert.equal(s.store.attempt.value, null);
  });

  it('after a resync, asks once for the outcome of a command still pending', async () => {
    const s = setup();
    s.answers.submit!.push(s.queued());
    s.store.begin('here', HORN, {});
    await s.store.confirm();
    const id = s.calls[0]![1] as string;
    s.answers.outcome!.push(() => ({ kind: 'ok', status: 200, serverDate: undefined, body: outcome(id, 'expired') }));
    await s.store.recheck();
    assert.equal(s.store.attempt.value?.outcome?.status, 'expired');
    await s.store.recheck();
    assert.equal(s.calls.filter((c) => c[0] === 'outcome').length, 1, 'not asked again once final');

    s.answers.submit!.push(s.queued());
    s.store.begin('here', HORN, {});
    await s.store.confirm();
    s.answers.outcome!.push(() => ({ kind: 'refused', status: 404, error: { code: 'PLANTA_COMMAND_NOT_FOUND', message: 'no command' } }));
    await s.store.recheck();
    assert.equal(s.store.attempt.value?.phase, 'lost');
  });
});
