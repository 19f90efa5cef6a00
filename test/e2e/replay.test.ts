/**
 * Incident replay in a real browser (issue 27) against the running system
 * with its historian: the plant runs through an e-stop pressed during
 * aeration and acknowledged by the operator; then a link with ?at= opens
 * the HMI in replay: at T − 1 s the blowers run and no e-stop alarm is on
 * the banner, at T + 1 s the e-stop is on the banner and the blowers are off,
 * stepping to the next event lands on the operator's acknowledgement; every
 * page wears the REPLAY frame and every command is disabled; back to live
 * leaves it. Screenshots at 360 and 1440 px.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Identity } from '../../src/commands/prepare.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import type { JournalEntry } from '../../src/web/protocol.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { hasChromium, identifyBy, openPage, plantInBrowser, screenshot } from './harness.js';

const ANA: Identity = { user: 'ana', role: 'operator' };
const TZ = 'America/Argentina/Buenos_Aires';

/** The moment in the plant's zone as the HMI's links write it ("2026-12-07T03:12:05.250-03:00"; the milliseconds kept). */
function iso(ts: number): string {
  const local = new Date(ts - 3 * 3_600_000).toISOString().replace(/Z$/, '');
  return `${local}-03:00`;
}
const hhmmss = (ts: number): string => new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(ts);

describe('incident replay in the browser', { timeout: 300_000 }, () => {
  const env = plantInBrowser({ identify: identifyBy(() => ANA), historian: true });
  before(async () => {
    if (!env.plant) return;
    await waitFor('the first reads', async () => (await env.plant!.bus.alarmStates()).find((a) => a.id === 'estop')?.state === 'normal', 10_000);
  });

  const frame = (page: Page) => page.getByTestId('replay-frame');
  const banner = (page: Page) => page.getByRole('link', { name: /: open the alarm summary$/ });
  const aerator = (page: Page) => page.locator('#aerator-1');

  it('replays an e-stop: blowers and banner before and after, the step to the acknowledgement, the frame on every page, commands disabled, back to live', async (t) => {
    if (!needPeer(t, hasChromium, 'Chromium at /usr/bin/chromium')) return;
    const p = env.plant!;
    const tag = async (name: string): Promise<unknown> => (await p.bus.snapshot()).find((v) => v.tag === name)?.value;
    // Pressed during aeration, once the blowers have run for 1.5 s (so T − 1 s shows them running).
    let since = 0;
    await waitFor('1.5 s into aeration', async () => {
      if ((await tag('phase.aeration')) !== true) return (since = 0), false;
      since ||= Date.now();
      return Date.now() - since >= 1500;
    }, 90_000, 50);
    const T = Date.now();
    p.sim!.plant!.setFault(FAULTS.estop!, true);
    await waitFor('the e-stop alarm', async () => (await p.bus.alarmStates()).find((a) => a.id === 'estop')?.state === 'unack', 10_000);
    await waitFor('the aerators stopped', async () => (await tag('phase.aeration')) === false, 10_000);
    // The operator acknowledges 3 s after the press (a pace: T + 1 s must still show it unacknowledged).
    await waitFor('3 s after the press', () => Date.now() - T >= 3000, 10_000);
    await p.alarms!.acknowledge(ANA, ['estop'], 'e-stop pressed for the test');
    await waitFor('the acknowledgement journalled', async () => (await p.alarms!.journal({ kinds: ['ack'] })).some((e) => e.source === 'estop'), 5000);
    const ack = (await p.alarms!.journal({ kinds: ['ack'] })).find((e) => e.source === 'estop') as JournalEntry;
    const between = (await p.alarms!.journal({ from: T + 1001, to: ack.ts - 1 })) as JournalEntry[];
    t.diagnostic(`journal between T + 1 s and the acknowledgement: ${JSON.stringify(between.map((e) => [e.kind, e.source]))}`);
    await p.historian!.flush();
    const stateBefore = (await (await fetch(`${p.url}api/replay/state?at=${T - 1000}`)).json()) as { tags: string[]; values: unknown[][] };
    t.diagnostic(`phase.aeration at T − 1 s: ${JSON.stringify(stateBefore.values[stateBefore.tags.indexOf('phase.aeration')])}; T = ${T}`);

    for (const width of [1440, 360]) {
      // A link with ?at= opens the HMI in replay, here on the mimic, 1 s before the press.
      const { page, errors, context } = await openPage(env.browser!, `${p.url}#/mimic?at=${iso(T - 1000)}`, { width, height: 900 });
      await frame(page).waitFor();
      assert.match((await frame(page).textContent()) ?? '', new RegExp(`REPLAY ${hhmmss(T - 1000)} GMT-3 — not live`));
      await page.locator('#aerator-1.pl-running').waitFor().catch(async (err: unknown) => {
        await screenshot(page, `replay-FAILED-before-${width}.png`);
        t.diagnostic(`aerator-1: ${await aerator(page).evaluate((el) => el.getAttribute('class')).catch(() => 'none')}; frame: ${await frame(page).textContent().catch(() => 'none')}; url ${page.url()}`);
        throw err;
      });
      await banner(page).waitFor();
      assert.equal(await banner(page).locator('[data-alarm="estop"]').count(), 0, 'no e-stop on the banner at T − 1 s');
      await screenshot(page, `replay-before-${width}.png`);

      // 1 s after the press: the e-stop on the banner, the blowers off.
      await page.evaluate((at) => (window.location.hash = `#/mimic?at=${at}`), iso(T + 1000));
      await page.locator('#aerator-1.pl-stopped').waitFor();
      await banner(page).locator('[data-alarm="estop"][data-state="unack"]').waitFor();
      assert.match((await frame(page).textContent()) ?? '', new RegExp(`REPLAY ${hhmmss(T + 1000)}`));
      assert.ok(await aerator(page).evaluate((el) => el.classList.contains('pl-stopped')));
      await screenshot(page, `replay-after-${width}.png`);

      // The next event is the operator's acknowledgement: the moment moves there and the e-stop shows acknowledged.
      if (between.length === 0) {
        await page.getByRole('button', { name: 'Step to the next alarm, event or command' }).click();
        await banner(page).locator('[data-alarm="estop"][data-state="acked"]').waitFor();
        assert.match((await frame(page).textContent()) ?? '', new RegExp(`REPLAY ${hhmmss(ack.ts)}`));
        await waitFor('the URL at the acknowledgement', () => page.evaluate(() => decodeURIComponent(window.location.hash)).then((h) => h.includes(`at=${iso(ack.ts).slice(0, 19)}`)));
        // And back: the entry before the acknowledgement is the e-stop's (or an event after it), unacknowledged again.
        await page.getByRole('button', { name: 'Step back to the previous alarm, event or command' }).click();
        await banner(page).locator('[data-alarm="estop"][data-state="unack"]').waitFor();
        // Forward again, for the pages below.
        await page.getByRole('button', { name: 'Step to the next alarm, event or command' }).click();
        await banner(page).locator('[data-alarm="estop"][data-state="acked"]').waitFor();
      }

      // Every live page wears the frame, keeps the moment in its URL, and offers no command.
      for (const [name, hash] of [['Overview', '#/'], ['Alarms', '#/alarms'], ['Tags', '#/tags'], ['Mimic', '#/mimic']] as const) {
        if (width === 360) await page.evaluate((h) => (window.location.hash = h), hash);
        else await page.getByRole('navigation', { name: 'Displays' }).getByRole('link', { name, exact: true }).click();
        await frame(page).waitFor();
        await waitFor(`${name}: the moment kept in the URL`, () => page.evaluate(() => window.location.hash.includes('?at=')));
        const actions = page.locator('button.cmd-action, button[aria-label^="Acknowledge"], button[aria-label^="Shelve:"], button[aria-label^="Unshelve:"], button[aria-label^="Out of service:"], button[aria-label^="In service:"]');
        for (const b of await actions.all()) assert.ok(await b.isDisabled(), `${name}: ${await b.textContent()} is disabled in replay`);
        if (name === 'Overview') assert.ok((await page.locator('button.cmd-action').count()) > 0, 'the overview has command buttons, all disabled');
        if (name === 'Alarms') assert.ok((await page.locator('button[aria-label^="Shelve:"]').count()) > 0, 'the alarm summary has alarm actions, all disabled');
        await screenshot(page, `replay-${name.toLowerCase()}-${width}.png`);
      }
      // A faceplate, too.
      await page.evaluate(() => (window.location.hash = '#/tags/reactor.level'));
      await frame(page).waitFor();
      await screenshot(page, `replay-faceplate-${width}.png`);
      await page.getByRole('region', { name: 'Replay timeline' }).waitFor();

      // Back to live: the frame goes, the URL loses its moment.
      await page.getByRole('button', { name: 'Back to live' }).click();
      await page.waitForLoadState();
      await page.locator('.topbar').waitFor();
      await waitFor('live again', async () => (await frame(page).count()) === 0 && !(await page.evaluate(() => window.location.hash.includes('at='))), 10_000);
      assert.deepEqual(errors, []);
      await context.close();
    }
    assert.equal(between.length, 0, `nothing journalled between T + 1 s and the acknowledgement: ${JSON.stringify(between)}`);
  });

  it('"Replay from here" on a journal entry, playing at 60×, and the top bar\'s date-time entry', async (t) => {
    if (!needPeer(t, hasChromium, 'Chromium at /usr/bin/chromium')) return;
    const p = env.plant!;
    const alarm = (await p.alarms!.journal({ kinds: ['alarm'] })).find((e) => e.source === 'estop') as JournalEntry | undefined;
    assert.ok(alarm, 'the first test pressed the e-stop');
    await p.historian!.flush();
    const { page, errors, context } = await openPage(env.browser!, `${p.url}#/journal`, { width: 1440, height: 900 });
    assert.equal(await frame(page).count(), 0, 'live');
    const row = page.locator(`tr.journal-row[data-seq="${alarm.seq}"]`);
    await row.getByRole('link', { name: /^Replay the plant from/ }).click();
    await frame(page).waitFor();
    assert.match((await frame(page).textContent()) ?? '', new RegExp(`REPLAY ${hhmmss(alarm.ts)}`));
    await banner(page).locator('[data-alarm="estop"][data-state="unack"]').waitFor();
    // Playing at 60× (a minute of plant time a second): the moment moves on until the replay reaches the present.
    await page.getByRole('button', { name: 'Play at 60 times real time' }).click();
    await waitFor('the replay moving', async () => !((await frame(page).textContent()) ?? '').includes(hhmmss(alarm.ts)), 10_000);
    await page.getByRole('status').filter({ hasText: 'The replay reached the present.' }).waitFor();
    await banner(page).locator('[data-alarm="estop"][data-state="acked"]').waitFor();
    await screenshot(page, 'replay-journal-played-1440.png');
    await page.getByRole('button', { name: 'Back to live' }).click();
    await waitFor('live again', async () => (await frame(page).count()) === 0 && (await page.locator('.topbar').count()) === 1, 10_000);
    // The top bar's entry: a date and time in the plant's zone.
    await page.getByRole('button', { name: 'Replay the plant at a past moment' }).click();
    const form = page.getByRole('form', { name: 'Replay the plant at a moment' });
    await form.getByLabel(/Moment \(plant time\)/).fill(new Date(alarm.ts + 2000 - 3 * 3_600_000).toISOString().slice(0, 19));
    await form.getByRole('button', { name: 'Replay', exact: true }).click();
    await frame(page).waitFor();
    assert.match((await frame(page).textContent()) ?? '', new RegExp(`REPLAY ${hhmmss(Math.floor((alarm.ts + 2000) / 1000) * 1000)}`));
    assert.ok(await page.evaluate(() => window.location.hash.includes('?at=')), 'the moment in the URL');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
