/**
 * The HMI's journal and rate logic without a browser: command entries read
 * back into the operator's words, the overview's event list (deduplicated
 * by sequence, read anew at a snapshot), the journal page's list (pages
 * back, live entries on top only while the range reaches now), the query
 * string, and the alarm-rate figures against their targets and the chart's
 * geometry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type JournalQuery, journalQueryString } from '../../hmi/src/alarms/alarm-api.js';
import type { CallResult } from '../../hmi/src/shared/call-result.js';
import type { Words } from '../../hmi/src/commands/command-model.js';
import { LiveJournal } from '../../hmi/src/journal/journal.js';
import { JournalBrowser, entryMatches, rangeIncludesNow, readCommandEntry, viewEntry } from '../../hmi/src/journal/journal-model.js';
import { chartGeometry, figureRows } from '../../hmi/src/alarms/rates-model.js';
import type { CommandInfo, JournalEntry, RateFigures } from '../../src/web/protocol.js';

const words: Words = { describe: (t) => (t === 'phase.stopped' ? 'Reactor stopped' : undefined), time: (ts) => `T${ts}` };
const START: CommandInfo = {
  name: 'start_program',
  label: 'Start program',
  description: '',
  confirmation: 'Start program {program}?',
  role: 'operator',
  critical: true,
  expiryMs: 5000,
  device: 'plc',
  params: { program: { label: 'Program', integer: true, unit: '', decimals: 0, type: 'number', min: 1, max: 3, tag: 'program.current' } },
  tags: ['program.current', 'cmd.start', 'phase.stopped'],
};

const entry = (seq: number, over: Partial<JournalEntry> = {}): JournalEntry => ({ seq, ts: seq * 1000, kind: 'event', source: 'aeration', text: `entry ${seq}`, ...over });
const ok = <T>(body: T): CallResult<T> => ({ kind: 'ok', status: 200, body, serverDate: undefined });

describe('journal entries in words', () => {
  it("reads a command outcome back into the command's label, values and reason", () => {
    const c = readCommandEntry({ source: 'start_program', text: 'command start_program (program=2): not-accepted — phase.stopped is true, not false, 3000 ms after the command' }, START, words, ['phase.stopped']);
    assert.deepEqual(c, { status: 'not-accepted', what: 'Start program (Program 2)', reason: '“Reactor stopped” is ON, not OFF, 3\u00a0s after the command' });
    assert.deepEqual(readCommandEntry({ source: 'silence_horn', text: 'command silence_horn: confirmed' }, undefined, words, []), { status: 'confirmed', what: 'silence_horn' });
    assert.equal(readCommandEntry({ source: 'x', text: 'something else' }, undefined, words, []), undefined);
    assert.equal(readCommandEntry({ source: 'x', text: 'command x: exploded' }, undefined, words, []), undefined);
  });

  it('kinds as words with marks; ISO times in plant time; what went wrong is marked', () => {
    const v = (e: Partial<JournalEntry>) => viewEntry(entry(1, e), { words, tagNames: [] });
    assert.deepEqual(v({ kind: 'alarm', text: 'Pump failure' }), { word: 'ALARM', mark: '▲', text: 'Pump failure', bad: true });
    assert.equal(v({ kind: 'shelve', text: 'Pump failure: shelved until 2026-11-25T18:00:00.000Z — repair' }).text, `Pump failure: shelved until T${Date.parse('2026-11-25T18:00:00Z')} — repair`);
    assert.equal(v({ kind: 'ack' }).word, 'ACK');
    assert.equal(v({ kind: 'return' }).word, 'RETURN');
    assert.equal(v({ kind: 'device', text: 'plc: connected' }).bad, false);
    assert.equal(v({ kind: 'device', text: 'plc: connection lost — timeout' }).bad, true);
    const cmd = viewEntry(entry(2, { kind: 'command', source: 'start_program', text: 'command start_program (program=2): confirmed', user: 'ana' }), { command: START, words, tagNames: [] });
    assert.deepEqual(cmd, { word: 'COMMAND', mark: '✓', text: 'Start program (Program 2): CONFIRMED', status: 'confirmed', bad: false });
  });

  it('which live entries match a query, and whether the range reaches now', () => {
    const e = entry(5, { kind: 'alarm', source: 'inlet_pump_1', text: 'Inlet well pump 1 failure' });
    assert.equal(entryMatches(e, {}), true);
    assert.equal(entryMatches(e, { q: 'pump INLET' }), true);
    assert.equal(entryMatches(e, { q: 'pump 2' }), false);
    assert.equal(entryMatches(e, { q: 'inlet_pump_1' }), true, 'the source counts too');
    assert.equal(entryMatches(e, { kinds: ['event'] }), false);
    assert.equal(entryMatches(e, { from: 6000 }), false);
    assert.equal(entryMatches(e, { to: 4000 }), false);
    assert.equal(rangeIncludesNow({ from: 0 }, 10), true);
    assert.equal(rangeIncludesNow({ from: 0, to: 5 }, 10), false);
  });

  it('the query string', () => {
    const q: JournalQuery = { from: 1.7, to: 99, q: '  pump 1 ', kinds: ['alarm', 'ack'], before: 40, limit: 100 };
    assert.equal(journalQueryString(q), '?from=1&to=99&q=pump+1&kinds=alarm%2Cack&before=40&limit=100');
    assert.equal(journalQueryString({}), '');
  });
});

describe("the overview's event list", () => {
  it('keeps each entry once, newest first, with this browser’s link notes between them', async () => {
    let answer: JournalEntry[] = [entry(2), entry(1)];
    const j = new LiveJournal({ fetchRecent: () => Promise.resolve(ok(answer)), max: 5 });
    assert.equal(j.load.value.status, 'loading');
    await j.refresh();
    j.add([entry(3)]);
    j.add([entry(3)]);
    j.link(2500, 'Live data lost');
    assert.deepEqual(j.items.value.map((i) => i.key), ['p3', 'b1', 'p2', 'p1']);
    // A snapshot after a gap reads the journal anew: what it brings replaces what was kept (a restarted server numbers anew).
    answer = [entry(2, { text: 'other' })];
    await j.refresh();
    assert.deepEqual(j.items.value.map((i) => i.key), ['b1', 'p2']);
    for (let s = 10; s < 20; s++) j.add([entry(s)]);
    assert.equal(j.items.value.length, 5, 'at most max entries');
  });

  it('entries arriving while the journal is read are kept; a failed read says why', async () => {
    let release!: (r: CallResult<JournalEntry[]>) => void;
    const j = new LiveJournal({ fetchRecent: () => new Promise((r) => (release = r)) });
    const seen: number[] = [];
    j.onEntries((e) => seen.push(...e.map((x) => x.seq)));
    const p = j.refresh();
    j.add([entry(9)]);
    release(ok([entry(8)]));
    await p;
    assert.deepEqual(j.items.value.map((i) => i.key), ['p9', 'p8']);
    assert.deepEqual(seen, [9]);
    const failing = new LiveJournal({ fetchRecent: () => Promise.resolve({ kind: 'refused', status: 503, error: { code: 'PLANTA_ALARMS_UNAVAILABLE', message: 'no engine' } }) });
    await failing.refresh();
    assert.deepEqual(failing.load.value, { status: 'error', message: 'no engine [PLANTA_ALARMS_UNAVAILABLE]' });
  });
});

describe("the journal page's list", () => {
  /** A server holding entries 1..n, answering like GET /api/journal (newest first, before, limit). */
  function server(n: number) {
    const all = Array.from({ length: n }, (_, i) => entry(i + 1));
    const queries: JournalQuery[] = [];
    const fetch = (q: JournalQuery): Promise<CallResult<JournalEntry[]>> => {
      queries.push(q);
      const list = all.filter((e) => (q.before === undefined || e.seq < q.before) && entryMatches(e, q)).reverse();
      return Promise.resolve(ok(list.slice(0, q.limit ?? 200)));
    };
    return { all, queries, fetch };
  }

  it('pages back with before until the start of the range', async () => {
    const s = server(250);
    const b = new JournalBrowser({ fetch: s.fetch, pageSize: 100 });
    await b.load({ from: 0 });
    assert.equal(b.entries.value.length, 100);
    assert.equal(b.hasMore.value, true);
    await b.loadOlder();
    await b.loadOlder();
    assert.equal(b.entries.value.length, 250);
    assert.equal(b.hasMore.value, false);
    assert.deepEqual(s.queries.map((q) => q.before), [undefined, 151, 51]);
    assert.deepEqual(b.entries.value.map((e) => e.seq).slice(0, 3), [250, 249, 248]);
    await b.loadOlder();
    assert.equal(s.queries.length, 3, 'nothing more to ask');
  });

  it('puts live entries on top while the range reaches now, matching the query; not for a range that ended', async () => {
    let now = 1_000_000;
    const s = server(3);
    const b = new JournalBrowser({ fetch: s.fetch, now: () => now });
    await b.load({ from: 0, q: 'entry' });
    b.live([entry(4), entry(3), { ...entry(5), text: 'nothing to see' }]);
    assert.deepEqual(b.entries.value.map((e) => e.seq), [4, 3, 2, 1]);
    assert.equal(b.liveCount.value, 1);
    await b.load({ from: 0, to: 4500 });
    now = 5000;
    b.live([entry(6)]);
    assert.deepEqual(b.entries.value.map((e) => e.seq), [3, 2, 1]);
  });

  it('keeps entries that arrive while the first page loads; a newer query wins over a slower older one', async () => {
    const s = server(2);
    const slow: ((r: CallResult<JournalEntry[]>) => void)[] = [];
    const b = new JournalBrowser({ fetch: (q) => (q.q === 'slow' ? new Promise((r) => slow.push(r)) : s.fetch(q)) });
    const first = b.load({ q: 'slow' });
    const second = b.load({});
    b.live([entry(3)]);
    await second;
    slow[0]!(ok([entry(99)]));
    await first;
    assert.deepEqual(b.entries.value.map((e) => e.seq), [3, 2, 1]);
    const failing = new JournalBrowser({ fetch: () => Promise.resolve({ kind: 'refused', status: 400, error: { code: 'PLANTA_JOURNAL_BAD_QUERY', message: 'from must be before to' } }) });
    await failing.load({});
    assert.deepEqual(failing.status.value, { status: 'error', message: 'from must be before to [PLANTA_JOURNAL_BAD_QUERY]' });
  });
});

describe('alarm-rate figures in words', () => {
  const targets: RateFigures['targets'] = {
    acceptablePer10Min: 1,
    manageablePer10Min: 2,
    floodPer10Min: 10,
    floodTimeShare: 0.01,
    chatterCount: 3,
    staleMs: 86_400_000,
    priorityMix: { critical: 0.05, high: 0.15, low: 0.8 },
  };
  const figures = (over: Partial<RateFigures>): RateFigures => ({
    from: 0,
    to: 3_600_000,
    activations: 0,
    averagePer10Min: 0,
    peakPer10Min: 0,
    floodTimeShare: 0,
    chattering: [],
    stale: [],
    top10: [],
    top10Share: 0,
    priorities: { critical: 0, high: 0, medium: 0, low: 0 },
    buckets: [],
    bucketMs: 60_000,
    rating: 'acceptable',
    targets,
    ...over,
  });
  const verdicts = (f: RateFigures) => Object.fromEntries(figureRows(f).map((r) => [r.key, `${r.verdict}: ${r.words}`]));

  it('a flood of 200: overloaded, time in flood, chattering, the priority mix judged', () => {
    const f = figures({
      activations: 200,
      averagePer10Min: 33.3,
      peakPer10Min: 200,
      floodTimeShare: 0.17,
      chattering: [{ source: 'foam_valve', maxPerMinute: 20 }],
      top10Share: 1,
      priorities: { critical: 0, high: 60, medium: 60, low: 80 },
      rating: 'overloaded',
    });
    const v = verdicts(f);
    assert.equal(v.average, 'bad: Overloaded');
    assert.equal(v.peak, 'bad: A flood happened');
    assert.equal(v.flood, 'bad: Too long in flood');
    assert.equal(v.chattering, 'bad: 1 alarm chattering');
    assert.equal(v.stale, 'ok: None');
    assert.match(v.top10!, /^bad: /);
    assert.equal(v.critical, 'ok: About as recommended', 'within 5 points');
    assert.equal(v.high, 'warn: More than recommended: priority loses its meaning');
    assert.equal(v.low, 'warn: Fewer than recommended: priorities are too high');
    assert.equal(figureRows(f).find((r) => r.key === 'flood')!.value, '17.00\u00a0%');
  });

  it('too few activations are not judged by their shares', () => {
    const v = verdicts(figures({ activations: 2, averagePer10Min: 0.01, peakPer10Min: 2, top10Share: 1, priorities: { critical: 1, high: 0, medium: 1, low: 0 } }));
    assert.match(v.top10!, /^none: Too few activations to judge \(2; at least 30\)/);
    assert.match(v.critical!, /^none: /);
    assert.equal(v.peak, 'ok: No flood');
  });

  it('the chart: bars to scale, the flood line only for buckets of 10 minutes or more', () => {
    const minute = chartGeometry([0, 3, 12], 60_000, 10, { width: 348, height: 134 });
    assert.equal(minute.flood, null);
    assert.equal(minute.yMax, 20);
    assert.deepEqual(minute.bars.map((b) => b.over), [false, false, false]);
    assert.equal(minute.bars[2]!.height, (12 / 20) * 100);
    const tens = chartGeometry([0, 4, 30], 600_000, 10, { width: 348, height: 134 });
    assert.equal(tens.flood?.value, 10);
    assert.deepEqual(tens.bars.map((b) => b.over), [false, false, true]);
    assert.ok(tens.bars.every((b) => b.x >= tens.plot.left && b.x + b.width <= tens.plot.left + tens.plot.width + 0.001));
  });
});
