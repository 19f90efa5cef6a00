/**
 * Alarms and events in a real browser against the running system
 * (simulated PLC → poller → bus → alarm engine → web server → HMI): the
 * banner on every page, the alarm summary, acknowledging with a comment,
 * the horn silenced through the command panel without acknowledging,
 * shelving and service with the server's refusals, the journal page (order,
 * users, comments, phase events, paging), annunciation (tone once armed,
 * mute remembered, never an error), a flood of 200 that leaves the page
 * responsive and shows on the rates page, and the layout at 360 px.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Identity } from '../../src/commands/prepare.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import type { AlarmState, JournalEntry } from '../../src/web/protocol.js';
import { needPeer } from '../helpers/peers.js';
import { assertThroughout, waitFor } from '../helpers/wait.js';
import { TestPlant, buildHmi, hasChromium, identifyBy, launchBrowser, openPage, removeDir, screenshot, screenshotOf } from './harness.js';

const ANA: Identity = { user: 'ana', role: 'operator' };
const TIME_ZONED = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT-3/;

/** A stand-in for WebAudio that counts the notes played (each oscillator started). */
const AUDIO_STUB = `(() => {
  window.__notes = 0;
  window.__contexts = 0;
  const param = () => ({ setValueAtTime() {}, exponentialRampToValueAtTime() {}, linearRampToValueAtTime() {} });
  class FakeAudioContext {
    constructor() { window.__contexts++; this.state = 'suspended'; this.currentTime = 0; this.destination = {}; }
    resume() { this.state = 'running'; return Promise.resolve(); }
    createOscillator() { return { type: 'sine', frequency: param(), connect() {}, start() { window.__notes++; }, stop() {} }; }
    createGain() { return { gain: param(), connect() {} }; }
  }
  window.AudioContext = FakeAudioContext;
})()`;

/** The faults of test/alarms/system.test.ts's flood (no side effects on the process), and their alarms. */
const FLOOD: [fault: string, alarm: string][] = [
  ['generator', 'generator_running'],
  ['high-level-inlet', 'high_level_inlet'],
  ['high-level-equalisation', 'high_level_equalisation'],
  ['high-level-outlet', 'high_level_outlet'],
  ['inlet-pump-2', 'inlet_pump_2'],
  ['transfer-pump-1', 'transfer_pump_1'],
  ['equalisation-aerator', 'equalisation_aerator'],
  ['foam-valve', 'foam_valve'],
  ['chlorine-doser', 'chlorine_doser'],
  ['recirculation-valve', 'recirculation_valve'],
];

describe('alarms and events in the browser', { timeout: 300_000 }, () => {
  let hmiDir: string | undefined;
  let plant: TestPlant | undefined;
  let browser: Browser | undefined;
  /** Who the browser is (tests change it); requests from the test itself name their user in a header. */
  let visitor: Identity | undefined = ANA;

  const identify = identifyBy(() => visitor);

  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    // A running plant (program 1 at 600×: a cycle in 22.5 s), so phase events come by themselves.
    plant = await TestPlant.start(hmiDir, { identify });
    browser = await launchBrowser();
    await waitFor('the first reads', async () => (await plant!.bus.alarmStates()).find((a) => a.id === 'estop')?.state === 'normal', 10_000);
  });

  after(async () => {
    await browser?.close();
    await plant?.close();
    if (hmiDir) removeDir(hmiDir);
  });

  const sim = () => plant!.sim!;
  const fault = (name: string, on: boolean): void => sim().plant!.setFault(FAULTS[name]!, on);
  const alarmState = async (id: string): Promise<AlarmState> => (await plant!.bus.alarmStates()).find((a) => a.id === id)!;
  const waitState = (id: string, state: AlarmState['state'], ms = 5000) => waitFor(`${id} ${state}`, async () => (await alarmState(id)).state === state, ms);
  const api = async <T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> => {
    const res = await fetch(`${plant!.url}${path}`, {
      method,
      headers: { 'x-test-user': 'tester:operator', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as T;
  };
  /** Back to quiet: every fault cleared, every alarm acknowledged, in service and unshelved. */
  async function quiet(): Promise<void> {
    for (const n of Object.keys(FAULTS)) fault(n, false);
    await waitFor('no active alarm', async () => !(await plant!.bus.alarmStates()).some((a) => a.active === true), 5000);
    for (const a of await plant!.bus.alarmStates()) {
      if (a.state === 'shelved') await api('POST', `api/alarms/${a.id}/unshelve`, {});
      if (a.state === 'out-of-service') await fetch(`${plant!.url}api/alarms/${a.id}/in-service`, { method: 'POST', headers: { 'x-test-user': 'eve:engineer', 'content-type': 'application/json' }, body: '{}' });
    }
    const unacked = (await plant!.bus.alarmStates()).filter((a) => !a.acked).map((a) => a.id);
    if (unacked.length) await api('POST', 'api/alarms/ack', { ids: unacked, comment: 'test cleanup' });
  }

  const banner = (page: Page): Locator => page.getByRole('link', { name: /: open the alarm summary$/ });
  const nav = (page: Page, name: string): Locator => page.getByRole('navigation', { name: 'Displays' }).getByRole('link', { name, exact: true });
  const summaryRow = (page: Page, message: string): Locator => page.locator('table.alarm-table tbody tr').filter({ has: page.getByRole('link', { name: message, exact: true }) });
  async function journalRows(page: Page): Promise<{ kind: string; text: string; user: string; source: string }[]> {
    return page.locator('table.journal-table tbody tr').evaluateAll((rows) =>
      rows.map((r) => ({
        kind: r.getAttribute('data-kind') ?? '',
        text: r.querySelector('.col-what')?.textContent ?? '',
        user: r.querySelector('.col-user')?.textContent ?? '',
        source: r.querySelector('.col-source')?.textContent ?? '',
      })),
    );
  }

  it('a pump failure: banner and summary; the horn silenced (coil 23) is not an acknowledgement; acknowledged with a comment; normal; the journal in order', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, `${plant!.url}#/tags`);
    t.after(() => o.context.close());
    const { page } = o;
    t.after(() => quiet());
    // On any page: the banner, with nothing to acknowledge.
    await banner(page).filter({ hasText: 'No unacknowledged alarms' }).waitFor();

    fault('inlet-pump-1', true);
    const one = banner(page).and(page.locator('[data-unacked="1"]'));
    await one.waitFor();
    assert.equal(await one.getAttribute('data-highest'), 'medium');
    assert.match((await one.textContent()) ?? '', /1 unacknowledged · highest MEDIUM/);
    assert.match((await one.textContent()) ?? '', /0 active acknowledged/);
    assert.match((await one.getAttribute('aria-label')) ?? '', /^1 unacknowledged alarm, highest priority medium; 0 active acknowledged; first: Inlet well pump 1 failure \(active, unacknowledged\): open the alarm summary$/);
    // The shape as well as the colour: ■ for medium.
    assert.equal(await one.locator('.alarm-icon').textContent(), '■');

    // One tap to the summary: listed as active and unacknowledged, with priority and time to the second.
    await one.click();
    await page.waitForURL(/#\/alarms$/);
    await page.getByRole('heading', { level: 1, name: 'Alarms' }).waitFor();
    const row = summaryRow(page, 'Inlet well pump 1 failure');
    await row.locator('[data-state="unack"]').waitFor();
    assert.match((await row.textContent()) ?? '', /MEDIUM/);
    assert.match((await row.locator('.alarm-state').textContent()) ?? '', /Active, unacknowledged/);
    assert.match((await row.locator('.col-since').textContent()) ?? '', TIME_ZONED);
    assert.equal(sim().plant!.state().hornSounding, true);

    // The overview lists it among the active alarms, newest first, with its own Acknowledge.
    await nav(page, 'Overview').click();
    const active = page.getByRole('list', { name: 'Active alarms, by priority' });
    const item = active.getByRole('listitem').filter({ hasText: 'Inlet well pump 1 failure' });
    await item.getByRole('button', { name: 'Acknowledge: Inlet well pump 1 failure' }).waitFor();
    assert.match((await item.textContent()) ?? '', /Active, unacknowledged/);

    // Silencing the horn is a command to the PLC (coil 23 pulsed), not an acknowledgement.
    const mark = sim().writes.list().at(-1)?.seq ?? 0;
    const horn = page.getByRole('region', { name: 'Commands' }).getByRole('button', { name: 'Silence the horn…' });
    await horn.and(page.locator(':enabled')).click();
    await page.getByRole('dialog', { name: 'Silence the alarm horn?' }).getByRole('button', { name: 'Confirm' }).click();
    await page.locator('[data-cmd-source="overview:silence_horn"] .cmd-status[data-status="confirmed"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(sim().writes.list(mark).map((w) => [w.fc, w.address, w.values]), [[5, 23, [true]]]);
    await waitFor('the horn silent', () => !sim().plant!.state().hornSounding, 3000);
    assert.equal((await alarmState('inlet_pump_1')).state, 'unack', 'still active and unacknowledged');
    await banner(page).and(page.locator('[data-unacked="1"]')).waitFor();
    // The outcome reaches the event list once, from the journal (the pending state stayed where it was clicked).
    const events = page.getByRole('list', { name: 'Events, newest first' });
    await events.getByRole('listitem').filter({ hasText: 'Silence the horn: CONFIRMED' }).filter({ hasText: 'by ana' }).waitFor();
    assert.equal(await events.getByRole('listitem').filter({ hasText: 'Silence the horn' }).count(), 1, 'no double entry for the command');
    await events.getByRole('listitem').filter({ hasText: 'ALARM' }).filter({ hasText: 'Inlet well pump 1 failure' }).waitFor();

    // Acknowledge from the summary, selected, with a comment.
    await nav(page, 'Alarms').click();
    await row.getByRole('checkbox', { name: 'Select Inlet well pump 1 failure' }).check();
    await page.getByRole('textbox', { name: 'Comment (optional)' }).fill('pump 1 tripped, maintenance called');
    await page.getByRole('button', { name: 'Acknowledge selected (1)' }).click();
    await row.locator('[data-state="acked"]').waitFor();
    assert.match((await row.locator('.alarm-state').textContent()) ?? '', /Active, acknowledged/);
    assert.match((await row.locator('.col-state .who-why').textContent()) ?? '', /Acknowledged by ana at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT-3 — “pump 1 tripped, maintenance called”/);
    await banner(page).and(page.locator('[data-unacked="0"]')).filter({ hasText: '1 active acknowledged' }).waitFor();
    assert.equal(sim().writes.list(mark).length, 1, 'acknowledging wrote nothing to the PLC');

    // The fault cleared: normal (and off the "not normal" list).
    fault('inlet-pump-1', false);
    await waitState('inlet_pump_1', 'normal');
    await row.waitFor({ state: 'detached' });
    await page.getByRole('combobox', { name: 'State' }).selectOption('all');
    await row.locator('[data-state="normal"]').waitFor();
    await banner(page).filter({ hasText: '0 active acknowledged' }).waitFor();

    // The journal page: ALARM, ACK (with the user and the comment), RETURN, in this order.
    await nav(page, 'Journal').click();
    await page.getByRole('searchbox', { name: 'Search' }).fill('Inlet well pump 1');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    const trail = await waitFor('the pump 1 trail', async () => {
      // A read that times out under load makes the alarm "unknown" for a moment, journalled as such: left out here.
      const rows = (await journalRows(page)).filter((r) => r.source === 'inlet_pump_1' && r.kind !== 'unknown').reverse();
      return rows.length >= 3 ? rows : undefined;
    });
    assert.deepEqual(trail.map((r) => r.kind), ['alarm', 'ack', 'return']);
    assert.equal(trail[1]!.user, 'ana');
    assert.match(trail[1]!.text, /acknowledged — pump 1 tripped, maintenance called/);
    assert.match(trail[2]!.text, /returned to normal/);
    const shown = await page.locator('table.journal-table tbody tr[data-kind="alarm"]').first().textContent();
    assert.match(shown ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d▲ ALARM■\s*Priority MEDIUMInlet well pump 1 failure/);
    // The command, in words, with its user.
    await page.getByRole('searchbox', { name: 'Search' }).fill('silence_horn');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await page.locator('table.journal-table tbody tr[data-kind="command"]').filter({ hasText: 'Silence the horn: CONFIRMED' }).filter({ hasText: 'ana' }).waitFor();

    // Phase events in order: a whole cycle, arriving live on top of the list.
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await page.getByRole('combobox', { name: 'Show' }).selectOption('events');
    const cycle = ['Reactor in aeration', 'Reactor in settling', 'Reactor in discharge', 'Reactor in aerated fill'];
    await waitFor(
      'a whole cycle of phase events',
      async () => {
        const texts = (await journalRows(page)).map((r) => r.text).reverse();
        const i = texts.indexOf(cycle[0]!);
        return i >= 0 && texts.slice(i, i + 4).join() === cycle.join();
      },
      40_000,
      250,
    );
    assert.ok((await journalRows(page)).every((r) => r.kind === 'event'));
    await screenshot(page, 'journal-1280.png');

    // The overview's events come from the journal: another browser shows the same entries.
    await nav(page, 'Overview').click();
    const other = await openPage(browser!, plant!.url);
    t.after(() => other.context.close());
    const seqs = async (p: Page): Promise<string[]> => p.locator('ol.event-list li[data-seq]').evaluateAll((els) => els.map((e) => e.getAttribute('data-seq')!));
    await other.page.locator('ol.event-list li[data-seq]').first().waitFor();
    await waitFor('the same events in both browsers', async () => {
      const [a, b] = [await seqs(page), await seqs(other.page)];
      return a.length > 5 && a.join() === b.join();
    }, 10_000, 200);
    assert.deepEqual(o.errors, []);
    assert.deepEqual(other.errors, []);
  });

  it('a critical alarm: an operator is not offered shelving; an engineer is offered only what the rule allows (1 h at most)', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    t.after(() => {
      visitor = ANA;
    });
    t.after(() => quiet());
    fault('estop', true);
    await waitState('estop', 'unack');
    const o = await openPage(browser!, `${plant!.url}#/alarms`);
    t.after(() => o.context.close());
    const row = summaryRow(o.page, 'Emergency stop pressed');
    const shelve = row.getByRole('button', { name: 'Shelve: Emergency stop pressed…' });
    await shelve.waitFor();
    assert.equal(await shelve.isDisabled(), true, 'an operator may not shelve a critical alarm');
    assert.equal(await shelve.getAttribute('title'), 'ana is an operator: only an engineer or above may shelve a critical alarm.');
    // A medium one stays offered to the operator, with every duration up to a day.
    fault('outlet-pump-2', true);
    const pump = summaryRow(o.page, 'Outlet well pump 2 failure');
    await pump.getByRole('button', { name: 'Shelve: Outlet well pump 2 failure…' }).and(o.page.locator(':enabled')).click();
    const pumpDialog = o.page.getByRole('dialog', { name: 'Shelve: Outlet well pump 2 failure' });
    assert.deepEqual(await pumpDialog.getByRole('radio').evaluateAll((r) => r.map((x) => (x as HTMLInputElement).value)), ['15', '60', '240', '480', '1440']);
    await pumpDialog.getByRole('button', { name: 'Cancel' }).click();

    visitor = { user: 'eve', role: 'engineer' };
    const e = await openPage(browser!, `${plant!.url}#/alarms`);
    t.after(() => e.context.close());
    const engineerRow = summaryRow(e.page, 'Emergency stop pressed');
    await engineerRow.getByRole('button', { name: 'Shelve: Emergency stop pressed…' }).and(e.page.locator(':enabled')).click();
    const dialog = e.page.getByRole('dialog', { name: 'Shelve: Emergency stop pressed' });
    await dialog.getByText('For (a critical alarm: 1 h at most)').waitFor();
    assert.deepEqual(await dialog.getByRole('radio').evaluateAll((r) => r.map((x) => (x as HTMLInputElement).value)), ['15', '60']);
    assert.equal(await dialog.locator('input[type="radio"][value="60"]').isChecked(), true, '1 h chosen at first');
    await dialog.getByRole('textbox', { name: 'Reason (required)' }).fill('testing the e-stop circuit');
    await screenshot(e.page, 'alarm-shelve-critical-1280.png', false);
    await dialog.getByRole('button', { name: 'Shelve for 1 h' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await engineerRow.locator('[data-state="shelved"]').waitFor();
    const shelved = await alarmState('estop');
    assert.ok(Math.abs(shelved.shelved!.until - shelved.shelved!.at - 3_600_000) < 1000, 'for 1 hour');
    assert.deepEqual(o.errors, []);
    assert.deepEqual(e.errors, []);
  });

  it('shelves with a reason and a duration, unshelves; out of service is disabled for an operator (the role it needs said on it) and done by an engineer', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, `${plant!.url}#/alarms`);
    t.after(() => o.context.close());
    t.after(() => {
      visitor = ANA;
    });
    t.after(() => quiet());
    const { page } = o;
    fault('recirculation-pump', true);
    const row = summaryRow(page, 'Recirculation pump failure');
    await row.locator('[data-state="unack"]').waitFor();

    await row.getByRole('button', { name: 'Shelve: Recirculation pump failure…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Shelve: Recirculation pump failure' });
    await dialog.waitFor();
    // A reason is required (said in the browser, nothing sent).
    await dialog.getByRole('button', { name: 'Shelve for 1 h' }).click();
    await dialog.getByText('Say why: a reason is required.').waitFor();
    await dialog.getByRole('textbox', { name: 'Reason (required)' }).fill('pump out for repair until tonight');
    await dialog.getByRole('radio', { name: '4 h', exact: true }).check();
    await dialog.getByRole('button', { name: 'Shelve for 4 h' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.locator('[data-state="shelved"]').waitFor();
    const who = (await row.locator('.col-state .who-why').textContent()) ?? '';
    assert.match(who, /Shelved by ana at \d\d:\d\d:\d\d GMT-3 until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT-3 — “pump out for repair until tonight”/);
    const shelved = await alarmState('recirculation_pump');
    assert.ok(Math.abs(shelved.shelved!.until - shelved.shelved!.at - 4 * 3_600_000) < 1000, 'for 4 hours');
    // Shelved: not counted as unacknowledged in the banner.
    await banner(page).and(page.locator('[data-unacked="0"]')).filter({ hasText: '1 shelved' }).waitFor();

    await row.getByRole('button', { name: 'Unshelve: Recirculation pump failure' }).click();
    await row.locator('[data-state="unack"]').waitFor();
    await banner(page).and(page.locator('[data-unacked="1"]')).waitFor();

    // Out of service: disabled for an operator before any click, the role it needs on the button and the reason above the list.
    const oosButton = row.getByRole('button', { name: 'Out of service: Recirculation pump failure… (engineers)' });
    assert.equal(await oosButton.isDisabled(), true);
    assert.match((await oosButton.textContent()) ?? '', /⊘ engineer/);
    assert.equal(await oosButton.getAttribute('title'), 'ana is an operator: only an engineer or above may take alarms out of service or return them to service.');
    await page.locator('#summary-blocked').filter({ hasText: 'ana is an operator: only an engineer or above may take alarms out of service' }).waitFor();
    await screenshot(page, 'alarm-oos-needs-engineer-1280.png', false);
    // An engineer may.
    visitor = { user: 'eve', role: 'engineer' };
    await page.reload();
    await row.locator('[data-state="unack"]').waitFor();
    assert.equal(await oosButton.locator('.needs-role').count(), 0);
    await oosButton.and(page.locator(':enabled')).click();
    const oos = page.getByRole('dialog', { name: 'Take out of service: Recirculation pump failure' });
    await oos.getByRole('textbox', { name: 'Reason (required)' }).fill('sensor removed');
    await oos.getByRole('button', { name: 'Take out of service' }).click();
    await oos.waitFor({ state: 'hidden' });
    await row.locator('[data-state="out-of-service"]').waitFor();
    assert.match((await row.locator('.col-state .who-why').textContent()) ?? '', /Out of service by eve since .* — “sensor removed”/);
    await row.getByRole('button', { name: 'In service: Recirculation pump failure (engineers)' }).click();
    await row.locator('[data-state="unack"]').waitFor();
    // Without live data the alarms shown may be out of date: nothing can be acknowledged or shelved, and the page says why.
    const ack = row.getByRole('button', { name: 'Acknowledge: Recirculation pump failure' });
    await plant!.stopWeb();
    await page.getByRole('status').filter({ hasText: 'No live data: acknowledging and shelving are disabled' }).waitFor({ timeout: 20_000 });
    assert.equal(await ack.isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: /^Acknowledge all visible/ }).isDisabled(), true);
    await plant!.startWeb();
    await ack.and(page.locator(':enabled')).waitFor({ timeout: 30_000 });
    // The journal keeps who and why.
    const trail = await api<JournalEntry[]>('GET', 'api/journal?q=recirculation+pump+failure');
    assert.deepEqual(
      trail.filter((e) => e.kind !== 'unknown').map((e) => [e.kind, e.user ?? '']).reverse(),
      [['alarm', ''], ['shelve', 'ana'], ['unshelve', 'ana'], ['out-of-service', 'eve'], ['in-service', 'eve']],
    );
    assert.deepEqual(o.errors.filter((e) => !/status of 403|Failed to fetch/.test(e)), []);
  });

  it('annunciation: a tone for a new alarm once a click armed the sound, reminders while a high alarm waits, a pulse that stops when acknowledged; mute remembered', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, `${plant!.url}#/alarms`, undefined, AUDIO_STUB);
    t.after(() => o.context.close());
    t.after(() => quiet());
    const { page } = o;
    const notes = (): Promise<number> => page.evaluate(() => (window as unknown as { __notes: number }).__notes);
    const note = page.locator('.sound-note');
    await note.and(page.locator('[data-audio="waiting"]')).waitFor();
    assert.match((await note.textContent()) ?? '', /mutes only this browser; the plant horn is the PLC’s: silence it with “Silence the horn”/);

    // Before any gesture: no sound (the browser would refuse), no error; the count pulses.
    fault('generator', true);
    await banner(page).locator('.alarm-count.is-pulsing').waitFor();
    // Something that must NOT happen: a tone. A new alarm's would come at once; the window leaves it time to.
    await assertThroughout(500, async () => assert.equal(await notes(), 0), 50);
    assert.equal(await page.evaluate(() => (window as unknown as { __contexts: number }).__contexts), 0);

    // A click arms it; a new high alarm sounds at once, and again while it stays unacknowledged.
    await page.getByRole('heading', { level: 1, name: 'Alarms' }).click();
    await note.and(page.locator('[data-audio="ready"]')).waitFor();
    fault('high-level-inlet', true);
    await banner(page).and(page.locator('[data-highest="high"]')).waitFor();
    const first = await waitFor('a tone', async () => ((await notes()) >= 2 ? notes() : 0), 3000);
    await waitFor('the reminder', async () => (await notes()) > first, 13_000, 200);

    // Acknowledged: the pulse stops.
    await page.getByRole('button', { name: /^Acknowledge all visible \(2\)$/ }).click();
    await banner(page).and(page.locator('[data-unacked="0"]')).waitFor();
    assert.equal(await banner(page).locator('.alarm-count.is-pulsing').count(), 0);

    // Muted: no tone for the next alarm; remembered after a reload.
    const mute = page.getByRole('button', { name: 'Mute sound' });
    assert.equal(await mute.getAttribute('aria-pressed'), 'false');
    await mute.click();
    await note.and(page.locator('[data-muted="true"]')).waitFor();
    const before = await notes();
    fault('transfer-pump-1', true);
    await banner(page).and(page.locator('[data-unacked="1"]')).waitFor();
    // Something that must NOT happen: a tone. Unmuted, the new alarm's would come within the least gap between two
    // tones (2 s) of the last one: the window is longer.
    await assertThroughout(2500, async () => assert.equal(await notes(), before, 'muted'), 50);
    await page.reload();
    await page.getByRole('button', { name: 'Mute sound', pressed: true }).waitFor();
    await note.and(page.locator('[data-muted="true"]')).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('planta.sound')), 'muted');
    assert.deepEqual(o.errors, []);
  });

  it('the e-stop acknowledged but still pressed stays in the banner and the lists, as active acknowledged, until released; every list by priority, then unacknowledged first, then time', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    t.after(() => quiet());
    // Activated in this order: two mediums (the later one newer), a high, the e-stop; then the e-stop and pump 1 acknowledged.
    for (const [f, id] of [['inlet-pump-1', 'inlet_pump_1'], ['chlorine-doser', 'chlorine_doser'], ['inlet-pump-2', 'inlet_pump_2'], ['high-level-outlet', 'high_level_outlet'], ['estop', 'estop']] as const) {
      const before = Date.now();
      fault(f, true);
      await waitState(id, 'unack');
      // A later activation carries a later time (to the millisecond), so "then time" has something to order.
      await waitFor(`${id} after the one before`, async () => Date.now() > before + 5, 1000);
    }
    await api('POST', 'api/alarms/ack', { ids: ['estop', 'inlet_pump_1'], comment: 'e-stop pressed on purpose' });
    await waitState('estop', 'acked');
    const order = ['estop', 'high_level_outlet', 'inlet_pump_2', 'chlorine_doser', 'inlet_pump_1'];
    const ids = (l: Locator): Promise<string[]> => l.evaluateAll((els) => els.map((e) => e.getAttribute('data-alarm') ?? ''));

    for (const width of [1440, 360]) {
      const o = await openPage(browser!, `${plant!.url}#/`, { width, height: width === 360 ? 740 : 900 });
      const { page } = o;
      // The overview's list and the summary: critical (acknowledged, still active) first; unacknowledged before acknowledged within a priority; newest first.
      const items = page.getByRole('list', { name: 'Active alarms, by priority' }).getByRole('listitem');
      await waitFor(`the overview's order at ${width} px`, async () => JSON.stringify(await ids(items)) === JSON.stringify(order), 10_000);
      assert.match((await items.first().textContent()) ?? '', /Active, acknowledged/);
      // The banner counts the unacknowledged and names the first of the list: the e-stop, acknowledged.
      const b = banner(page).and(page.locator('[data-unacked="3"]'));
      await b.locator('.alarm-top[data-alarm="estop"][data-state="acked"]').waitFor();
      assert.match((await b.locator('.alarm-top').textContent()) ?? '', /Emergency stop pressed — ✓ active, acknowledged since/);
      assert.ok(await b.locator('.alarm-top').isVisible(), `the e-stop is on the banner at ${width} px`);
      await page.goto(`${plant!.url}#/alarms`);
      const rows = page.locator('table.alarm-table tbody tr');
      await waitFor(`the summary's order at ${width} px`, async () => JSON.stringify(await ids(rows)) === JSON.stringify(order), 10_000);
      assert.deepEqual(o.errors, []);
      await o.context.close();
    }

    // Everything else acknowledged: nothing to acknowledge, but the e-stop is still pressed.
    await api('POST', 'api/alarms/ack', { ids: ['high_level_outlet', 'inlet_pump_2', 'chlorine_doser'], comment: 'seen' });
    for (const width of [1440, 360]) {
      const o = await openPage(browser!, `${plant!.url}#/`, { width, height: width === 360 ? 740 : 900 });
      t.after(() => o.context.close());
      const { page } = o;
      const b = banner(page).and(page.locator('[data-unacked="0"][data-acked-highest="critical"]'));
      await b.waitFor();
      assert.match((await b.getAttribute('class')) ?? '', /has-acked prio-edge-critical/);
      assert.doesNotMatch((await b.getAttribute('class')) ?? '', /has-unacked/, 'not drawn as waiting for an acknowledgement');
      assert.equal(await b.locator('.alarm-icon').textContent(), '◆', 'the shape of a critical alarm, not the ✓ of a quiet plant');
      assert.match((await b.textContent()) ?? '', /CRITICAL still active · none to acknowledge/);
      assert.match((await b.getAttribute('aria-label')) ?? '', /^No unacknowledged alarms; 5 active acknowledged, highest priority critical; first: Emergency stop pressed \(active, acknowledged\): open the alarm summary$/);
      assert.ok(await b.locator('.alarm-top[data-alarm="estop"]').isVisible());
      // The edge in the priority's colour, as well as the word and shape.
      const edge = await b.evaluate((e) => getComputedStyle(e).borderLeftWidth);
      assert.equal(edge, '8px');
      const item = page.getByRole('list', { name: 'Active alarms, by priority' }).getByRole('listitem').first();
      await item.and(page.locator('[data-alarm="estop"][data-state="acked"]')).waitFor();
      await screenshot(page, `estop-acked-${width}.png`);
      await screenshotOf(b, `banner-estop-acked-${width}.png`);
      assert.deepEqual(o.errors, []);
    }

    // Released: the e-stop leaves the banner and the lists; the next still-active alarm is named.
    const o = await openPage(browser!, `${plant!.url}#/`);
    t.after(() => o.context.close());
    fault('estop', false);
    await waitState('estop', 'normal');
    const b = banner(o.page).and(o.page.locator('[data-acked-highest="high"]'));
    await b.locator('.alarm-top[data-alarm="high_level_outlet"]').waitFor();
    await o.page.locator('.alarms [data-alarm="estop"]').waitFor({ state: 'detached' });
    for (const n of Object.keys(FAULTS)) fault(n, false);
    await banner(o.page).and(o.page.locator('[data-acked-highest=""]')).filter({ hasText: 'No unacknowledged alarms' }).waitFor();
    assert.doesNotMatch((await banner(o.page).textContent()) ?? '', /still active/);
    assert.equal(await banner(o.page).locator('.alarm-top').count(), 0);
    assert.equal(await banner(o.page).locator('.alarm-icon').textContent(), '✓');
  });

  it('fits a 360 px phone: no overflow, 44 px targets on the alarm pages; screenshots of several priorities', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    t.after(() => quiet());
    // A critical, a high acknowledged, a medium and a low one shelved.
    fault('estop', true);
    fault('high-level-outlet', true);
    fault('chlorine-doser', true);
    fault('foam-valve', true);
    await waitState('foam_valve', 'unack');
    await waitState('estop', 'unack');
    await waitState('chlorine_doser', 'unack');
    await api('POST', 'api/alarms/ack', { ids: ['high_level_outlet'], comment: 'level checked on site' });
    await api('POST', 'api/alarms/foam_valve/shelve', { reason: 'valve replaced, testing', minutes: 60 });

    const wide = await openPage(browser!, `${plant!.url}#/alarms`);
    t.after(() => wide.context.close());
    await summaryRow(wide.page, 'Emergency stop pressed').waitFor();
    await summaryRow(wide.page, 'Foam valve failure').locator('[data-state="shelved"]').waitFor();
    await screenshot(wide.page, 'alarms-1280.png');
    await screenshotOf(wide.page.locator('.alarm-banner'), 'banner-1280.png');
    await wide.page.goto(`${plant!.url}#/`);
    await wide.page.getByRole('list', { name: 'Active alarms, by priority' }).getByRole('listitem').first().waitFor();
    await screenshot(wide.page, 'dashboard-alarms-1280.png');
    assert.deepEqual(wide.errors, []);

    const phone = await openPage(browser!, `${plant!.url}#/alarms`, { width: 360, height: 740 });
    t.after(() => phone.context.close());
    const { page } = phone;
    await summaryRow(page, 'Emergency stop pressed').waitFor();
    await screenshot(page, 'alarms-360.png');
    await screenshotOf(page.locator('.alarm-banner'), 'banner-360.png');
    for (const route of ['#/alarms', '#/journal', '#/alarm-rates', '#/']) {
      await page.goto(`${plant!.url}${route}`);
      await page.locator('#page-title').waitFor();
      if (route === '#/alarm-rates') await page.getByRole('heading', { name: 'Figures against their targets' }).waitFor();
      if (route === '#/journal') await page.locator('table.journal-table tbody tr').first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${route}: the page is ${width} px wide at 360 px`);
      const boxes = await page
        .locator('main button:visible, main select:visible, main input:visible, main .select-box:visible, main .cmd-choice-option:visible, .alarm-banner, .sound-toggle')
        .evaluateAll((els) =>
          els
            // A checkbox or radio sits inside its 44 px label, which is the target.
            .filter((e) => !(e instanceof HTMLInputElement && (e.type === 'checkbox' || e.type === 'radio')))
            .map((e) => ({ what: `${e.tagName} ${e.textContent?.trim().slice(0, 30) ?? ''}`, ...(e.getBoundingClientRect().toJSON() as DOMRect) })),
        );
      assert.ok(boxes.length > 0);
      for (const b of boxes) assert.ok(b.height >= 44 && b.width >= 44, `${route}: ${b.what} is ${b.width}×${b.height} px`);
      if (route !== '#/') await screenshot(page, `${route.slice(2)}-360.png`);
    }
    assert.deepEqual(phone.errors, []);
  });

  it('a flood of 200 activations: the page stays responsive, the journal keeps every one, the rates page shows the flood', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, `${plant!.url}#/alarms`);
    t.after(() => o.context.close());
    t.after(() => quiet());
    const { page } = o;
    await page.getByRole('heading', { level: 1, name: 'Alarms' }).waitFor();
    const ids = new Set(FLOOD.map(([, a]) => a));
    const countActive = async (): Promise<number> => (await plant!.bus.alarmStates()).filter((a) => ids.has(a.id) && a.active === true).length;
    const alarmsBefore = (await api<JournalEntry[]>('GET', 'api/journal?kinds=alarm&limit=5000')).filter((e) => ids.has(e.source)).length;
    const t0 = Date.now();
    const answers: number[] = [];
    // 10 equipment alarms raised and cleared 20 times, with the page open; twice a nav click is timed mid-flood.
    for (let round = 0; round < 20; round++) {
      for (const [f] of FLOOD) fault(f, true);
      await waitFor('all up', async () => (await countActive()) === FLOOD.length, 5000, 5);
      if (round === 8 || round === 14) {
        const target = round === 8 ? 'Journal' : 'Alarms';
        const started = Date.now();
        await nav(page, target).click();
        await page.getByRole('heading', { level: 1, name: target }).waitFor({ timeout: 5000 });
        answers.push(Date.now() - started);
      }
      for (const [f] of FLOOD) fault(f, false);
      await waitFor('all down', async () => (await countActive()) === 0, 5000, 5);
    }
    assert.ok(answers.every((ms) => ms < 2000), `nav clicks answered in ${answers.join(', ')} ms`);
    // Every activation is in the journal (the API), and the page's paging reaches all of them.
    const since = await waitFor('200 activations journaled', async () => {
      const list = await api<JournalEntry[]>('GET', `api/journal?kinds=alarm&from=${t0}&limit=5000`);
      return list.length >= 200 ? list : undefined;
    }, 5000, 100);
    assert.equal(since.length, 200);
    assert.ok(since.every((e) => ids.has(e.source)));
    // The banner: the ten returned to normal, unacknowledged; highest priority high.
    await banner(page).and(page.locator('[data-unacked="10"][data-highest="high"]')).waitFor();

    await nav(page, 'Journal').click();
    await page.locator('table.journal-table tbody tr').first().waitFor();
    // The alarms' first page is in once its answer has come and the page is no longer reading: the list of everything
    // shown before may hold no phase event either (the flood fills its newest page), so rows alone do not tell.
    const firstPage = page.waitForResponse((r) => r.url().includes('api/journal?') && r.url().includes('kinds=alarm'));
    await page.getByRole('combobox', { name: 'Show' }).selectOption('alarms');
    await firstPage;
    const more = page.getByRole('button', { name: 'Load older' });
    const start = page.getByText('Start of the period reached.');
    await waitFor('the first page of alarms', async () => (await more.count()) > 0 || (await start.count()) > 0, 10_000, 50);
    for (let i = 0; i < 20 && (await start.count()) === 0; i++) {
      const n = await page.locator('table.journal-table tbody tr').count();
      await more.click();
      await waitFor('the next page', async () => (await page.locator('table.journal-table tbody tr').count()) > n || (await start.count()) > 0, 5000, 50);
    }
    await start.waitFor();
    const onPage = (await journalRows(page)).filter((r) => r.kind === 'alarm' && ids.has(r.source)).length;
    assert.equal(onPage, alarmsBefore + 200, 'the page pages back through every activation');

    // The rates page for the last hour: overloaded, time in flood above zero, the peak.
    await page.getByRole('link', { name: 'Alarm rates' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Alarm rates' }).waitFor();
    await page.getByRole('radio', { name: 'Last hour' }).check();
    const rating = page.locator('[data-rating="overloaded"]');
    await rating.waitFor();
    assert.match((await rating.locator('.rating-word').textContent()) ?? '', /OVERLOADED/);
    const flood = page.locator('tr[data-figure="flood"]');
    const share = Number(((await flood.locator('td').first().textContent()) ?? '').replace(/[^\d.]/g, ''));
    assert.ok(share > 0, `time in flood ${share} %`);
    // Seconds of flood in an hour may stay within the 1 % target; said in words either way.
    assert.match((await flood.locator('.verdict').textContent()) ?? '', /Some flood, within target|Too long in flood/);
    assert.match((await page.locator('tr[data-figure="peak"] td').first().textContent()) ?? '', /^2\d\d per 10/);
    // Each of the ten flood alarms chatters; alarms raised by the earlier tests within a minute may chatter too (the
    // page's count is of the last hour, all alarms), so the page is expected to show ten more than those.
    const rates = await api<{ chattering: { source: string }[] }>('GET', `api/alarms/rates?from=${Date.now() - 3_600_000}`);
    const chattering = new Set(rates.chattering.map((c) => c.source));
    assert.deepEqual([...ids].filter((id) => !chattering.has(id)), [], 'every flood alarm chatters');
    const others = [...chattering].filter((id) => !ids.has(id)).length;
    assert.match((await page.locator('tr[data-figure="chattering"]').textContent()) ?? '', new RegExp(`\\b${10 + others} alarms chattering`));
    await page.getByRole('img', { name: /^Alarm activations per 1 min/ }).waitFor();
    await page.getByText('The chart as a table').click();
    assert.ok((await page.locator('.chart-table tbody tr').count()) >= 60);
    await screenshot(page, 'alarm-rates-1280.png');

    // Acknowledge all visible clears the banner.
    await nav(page, 'Alarms').click();
    await page.getByRole('button', { name: /^Acknowledge all visible \(\d+\)$/ }).click();
    await banner(page).and(page.locator('[data-unacked="0"]')).waitFor();
    assert.deepEqual(o.errors, []);
  });
});
