/**
 * The overview in a real browser against the running system: live values,
 * the cycle's steps and the event list (the plant's journal) follow the
 * simulated plant; alarms from the alarm engine reach the banner and the
 * active alarms, and are acknowledged there; the layout holds at 360 px.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

const LEVEL = 'Level in the SBR reactor';
const FAULT_INLET_PUMP_1 = 7;

async function valueNow(page: Page, name: string): Promise<number> {
  const v = await page.getByRole('progressbar', { name, exact: true }).getAttribute('aria-valuenow');
  assert.ok(v !== null, `${name} has no value`);
  return Number(v);
}

describe('overview page', { timeout: 120_000 }, () => {
  // An operator, so alarms can be acknowledged (anonymous actions are refused).
  const env = plantInBrowser({ identify: () => ({ user: 'ana', role: 'operator' }) });

  it('shows live values that change, with unit and fixed decimals', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    const bar = page.getByRole('progressbar', { name: LEVEL, exact: true });
    await bar.waitFor();
    await page.waitForFunction((name) => document.querySelector(`[aria-label="${name}"]`)?.hasAttribute('aria-valuenow'), LEVEL);
    // Some measurement changes soon (the level holds still through aeration and settling; the others do not).
    const bars = page.locator('.abar [role="progressbar"]');
    const first = await bars.evaluateAll((els) => els.map((e) => e.getAttribute('aria-valuenow')).join('|'));
    await page.waitForFunction((first) => [...document.querySelectorAll('.abar [role="progressbar"]')].map((e) => e.getAttribute('aria-valuenow')).join('|') !== first, first, { timeout: 20_000 });
    assert.ok((await valueNow(page, LEVEL)) >= 0);
    // The reading: one decimal (the tag's decimals) and the unit.
    const reading = await page.locator('.abar[data-tag="reactor.level"] .abar-value').textContent();
    assert.match(reading ?? '', /^\d{1,3}\.\d\u00a0%$/);
    const oxygen = await page.locator('.abar[data-tag="reactor.oxygen"] .abar-value').textContent();
    assert.match(oxygen ?? '', /^\d+\.\d\d\u00a0mg\/L$/);
    // Limits from tags, drawn as markers with the normal band between them.
    assert.equal(await page.locator('.abar[data-tag="reactor.oxygen"] .abar-limit').count(), 2);
    assert.equal(await page.locator('.abar[data-tag="reactor.oxygen"] .abar-band').count(), 1);
    // The plant's time zone is named.
    await page.getByText(/Times in GMT-3 \(America\/Argentina\/Buenos_Aires\)/).waitFor();
    assert.deepEqual(errors, []);
  });

  it('lists a phase change in the event list and moves the active step', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    const events = page.getByRole('list', { name: 'Events, newest first' });
    // Program 1 at 600×: each phase lasts 3 to 9 s, so a change comes soon.
    const started = events.getByRole('listitem').filter({ hasText: /EVENT/ }).filter({ hasText: /Reactor in / }).first();
    await started.waitFor({ timeout: 20_000 });
    const text = (await started.textContent()) ?? '';
    assert.match(text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/, 'date and time to the second');
    // The step that the newest ON event names is the active one (marked by shape and word, not colour).
    const active = page.locator('li.step[aria-current="step"]');
    await active.waitFor();
    assert.match((await active.textContent()) ?? '', /Active/);
    assert.equal(await page.locator('li.step[aria-current="step"]').count(), 1);
    const progress = active.getByRole('progressbar');
    assert.ok(Number(await progress.getAttribute('aria-valuemax')) > 0, 'the duration comes from the selected program');
    assert.deepEqual(errors, []);
  });

  it('counts unacknowledged alarms in the banner on every page, lists them with their time, acknowledges from the overview', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/tags`);
    t.after(() => context.close());
    const banner = page.getByRole('link', { name: /: open the alarm summary$/ });
    await banner.filter({ hasText: 'No unacknowledged alarms' }).waitFor();
    env.plant!.sim!.plant!.setFault(FAULT_INLET_PUMP_1, true);
    t.after(() => env.plant!.sim?.plant?.setFault(FAULT_INLET_PUMP_1, false));
    await banner.filter({ hasText: '1 unacknowledged' }).filter({ hasText: 'MEDIUM' }).waitFor();
    await banner.click();
    await page.waitForURL(/#\/alarms$/);
    const row = page.locator('table.alarm-table tbody tr').filter({ hasText: 'Inlet well pump 1 failure' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT-3/);
    await page.getByRole('navigation', { name: 'Displays' }).getByRole('link', { name: 'Overview' }).click();
    const list = page.getByRole('list', { name: 'Active alarms, by priority' });
    const item = list.getByRole('listitem').filter({ hasText: 'Inlet well pump 1 failure' });
    await item.waitFor();
    assert.match((await item.textContent()) ?? '', /since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT-3/);
    const events = page.getByRole('list', { name: 'Events, newest first' });
    await events.getByRole('listitem').filter({ hasText: 'ALARM' }).filter({ hasText: 'Inlet well pump 1 failure' }).waitFor();
    // Cleared but not acknowledged: it still waits for the operator.
    env.plant!.sim!.plant!.setFault(FAULT_INLET_PUMP_1, false);
    await events.getByRole('listitem').filter({ hasText: 'RETURN' }).filter({ hasText: 'Inlet well pump 1 failure' }).waitFor();
    await item.filter({ hasText: 'Returned to normal, unacknowledged' }).waitFor();
    await banner.filter({ hasText: '1 unacknowledged' }).waitFor();
    await item.getByRole('button', { name: 'Acknowledge: Inlet well pump 1 failure' }).click();
    await waitFor('the banner without unacknowledged alarms', async () => {
      const text = (await banner.textContent()) ?? '';
      if (text.includes('No unacknowledged alarms')) return true;
      const open = (await env.plant!.bus.alarmStates()).filter((a) => a.state === 'unack' || a.state === 'rtn-unack').map((a) => `${a.id} ${a.state}`);
      throw new Error(`banner "${text}"; server: ${open.join(', ')}`);
    }, 10_000, 100);
    await item.waitFor({ state: 'detached' });
    await events.getByRole('listitem').filter({ hasText: 'ACK' }).filter({ hasText: 'Inlet well pump 1 failure: acknowledged' }).waitFor();
    assert.deepEqual(errors, []);
  });

  it('fits a 360 px phone with no horizontal overflow and 44 px touch targets; screenshots', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const wide = await openPage(env.browser!, env.plant!.url, { width: 1280, height: 900 });
    t.after(() => wide.context.close());
    await wide.page.getByRole('progressbar', { name: LEVEL, exact: true }).waitFor();
    await wide.page.waitForSelector('li.step[aria-current="step"]');
    await screenshot(wide.page, 'dashboard-1280.png');

    const phone = await openPage(env.browser!, env.plant!.url, { width: 360, height: 740 });
    t.after(() => phone.context.close());
    const { page } = phone;
    await page.getByRole('progressbar', { name: LEVEL, exact: true }).waitFor();
    await page.waitForSelector('li.step[aria-current="step"]');
    await screenshot(page, 'dashboard-360.png');
    for (const route of ['#/', '#/mimic', '#/tags', '#/tags/reactor.oxygen', '#/devices', '#/alarms', '#/journal', '#/alarm-rates']) {
      await page.goto(`${env.plant!.url}${route}`);
      await page.locator('#page-title').waitFor();
      if (route === '#/mimic') await page.locator('.mimic-drawing svg').waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${route}: the page is ${width} px wide at 360 px`);
      for (const target of [page.getByRole('navigation', { name: 'Displays' }).getByRole('link'), page.getByRole('button', { name: 'Dark theme' }), page.getByRole('link', { name: /open the alarm summary/ })]) {
        for (const box of await target.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect))) {
          assert.ok(box.height >= 44 && box.width >= 44, `${route}: a touch target is ${box.width}×${box.height} px`);
        }
      }
    }
    assert.deepEqual(phone.errors, []);
  });

  it('each step shows elapsed, planned and time left, the cycle its expected end; a 360 px phone holds banner, alarms, measurements and the current step on its first screen', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    // Four alarms, so the phone shows the first three and says how many more.
    const faults = [FAULT_INLET_PUMP_1, 8, 15, 16];
    for (const f of faults) env.plant!.sim!.plant!.setFault(f, true);
    t.after(() => {
      for (const f of faults) env.plant!.sim?.plant?.setFault(f, false);
    });
    await waitFor('four alarms', async () => (await env.plant!.bus.alarmStates()).filter((a) => a.state === 'unack').length >= 4, 10_000);

    const wide = await openPage(env.browser!, env.plant!.url, { width: 1440, height: 900 });
    t.after(() => wide.context.close());
    const active = wide.page.locator('li.step[aria-current="step"]');
    await active.waitFor();
    const time = (await active.locator('.step-time').textContent()) ?? '';
    assert.match(time, /^\d+\u00a0min \/ \d+\u00a0min\d+\u00a0min left$/, 'elapsed / planned, time left');
    const [, e, d, l] = /^(\d+)\u00a0min \/ (\d+)\u00a0min(\d+)\u00a0min left$/.exec(time)!.map(Number);
    assert.equal(l, Math.max(0, d! - e!));
    for (const step of await wide.page.locator('li.step .step-left').allTextContents()) assert.match(step, /^\d+\u00a0min left$/);
    const now = wide.page.locator('.dash-phases .phase-now');
    await now.filter({ hasText: /cycle ends about \d\d:\d\d:\d\d GMT-3/ }).waitFor();
    assert.match((await now.textContent()) ?? '', /^▶ (Aerated fill|Aeration|Settling|Discharge): \d+\u00a0min left · cycle ends about/);
    assert.equal(await wide.page.locator('.glance').count(), 0, 'the phone summary only on phones');
    await screenshot(wide.page, 'overview-phases-1440.png');
    assert.deepEqual(wide.errors, []);

    const phone = await openPage(env.browser!, env.plant!.url, { width: 360, height: 740 });
    t.after(() => phone.context.close());
    const { page } = phone;
    const glance = page.getByRole('region', { name: 'At a glance' });
    await glance.locator('.glance-more').filter({ hasText: /^\d+ more in the alarm summary ›$/ }).waitFor();
    await glance.locator('.phase-now').filter({ hasText: /left · cycle ends about/ }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.glance-reading .glance-value').length === 3 && [...document.querySelectorAll('.glance-reading .glance-value')].every((e) => /\d/.test(e.textContent ?? '')));
    const box = async (l: Locator): Promise<{ top: number; bottom: number }> => {
      const b = (await l.boundingBox())!;
      return { top: b.y, bottom: b.y + b.height };
    };
    // In this order, each wholly on the first screen (740 px): banner, alarm count, first three alarms, level / O2 / turbidity, current step.
    const parts = [
      page.getByRole('link', { name: /open the alarm summary$/ }),
      glance.locator('.glance-head'),
      ...[0, 1, 2].map((i) => glance.locator('.glance-alarm').nth(i)),
      ...['reactor.level', 'reactor.oxygen', 'reactor.turbidity'].map((tag) => glance.locator(`.glance-reading[data-tag="${tag}"]`)),
      glance.locator('.phase-now'),
    ];
    let last = 0;
    for (const [i, p] of parts.entries()) {
      const b = await box(p);
      assert.ok(b.top >= last - 1, `part ${i} comes after the one before (${b.top} < ${last})`);
      assert.ok(b.bottom <= 740, `part ${i} ends at ${b.bottom} px, below the first screen`);
      last = b.bottom;
    }
    // The first three by priority, the same as the overview's full list further down.
    const first = await glance.locator('.glance-alarm').evaluateAll((els) => els.map((e) => e.getAttribute('data-alarm')));
    const full = await page.getByRole('list', { name: 'Active alarms, by priority' }).getByRole('listitem').evaluateAll((els) => els.map((e) => e.getAttribute('data-alarm')));
    assert.deepEqual(first, full.slice(0, 3));
    await screenshot(page, 'overview-first-screen-360.png', false);
    assert.deepEqual(phone.errors, []);
  });

  it('oxygen limits apply only during aeration: outside it the bar is neutral grey, never LOW or HIGH, and says when they apply', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(env.browser!, env.plant!.url, { width: 1440, height: 900 });
    t.after(() => o.context.close());
    const { page } = o;
    const bar = page.locator('.abar[data-tag="reactor.oxygen"]');
    const reading = page.locator('.glance-reading[data-tag="reactor.oxygen"]');
    await page.waitForSelector('.abar[data-tag="reactor.oxygen"] [role="progressbar"][aria-valuenow]');
    // Program 1 at 600×: the cycle passes through aeration and out of it within half a minute.
    for (const inAeration of [false, true]) {
      await waitFor(`the reactor ${inAeration ? 'in' : 'out of'} aeration`, async () => (await page.locator('li.step[data-step="Aeration"][aria-current="step"]').count()) === (inAeration ? 1 : 0), 40_000, 100);
      const cls = (await bar.getAttribute('class')) ?? '';
      if (inAeration) {
        assert.doesNotMatch(cls, /limits-idle/);
        assert.equal(await bar.locator('.abar-note').count(), 0);
      } else {
        assert.match(cls, /limits-idle/);
        assert.doesNotMatch(cls, /is-abnormal|is-low|is-high/);
        assert.equal(await bar.locator('.abar-word').count(), 0, 'no LOW or HIGH outside aeration');
        assert.equal(await reading.locator('.abar-word').count(), 0);
        assert.match((await bar.locator('.abar-note').textContent()) ?? '', /limit applies only when: Reactor in aeration/);
        // Neutral grey: the pointer and fill in the normal grey, whatever the value.
        const fill = await bar.locator('.abar-fill').evaluate((e) => getComputedStyle(e).backgroundColor);
        const normal = await page.locator('.abar[data-tag="reactor.level"] .abar-fill').evaluate((e) => getComputedStyle(e).backgroundColor);
        assert.equal(fill, normal);
        await screenshot(page, 'oxygen-limits-idle-1440.png');
      }
    }
    assert.deepEqual(o.errors, []);
  });

  it('remembers the dark theme', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    const toggle = page.getByRole('button', { name: 'Dark theme' });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.reload();
    await page.getByRole('button', { name: 'Dark theme', pressed: true }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  });
});

describe('overview without a dashboard page', { timeout: 90_000 }, () => {
  const env = plantInBrowser({ adjust: (c) => delete c.pages.overview });

  it('shows every tag that has a display range as a bar', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const ranged = env.plant!.config.tags.filter((x) => x.range);
    await page.getByRole('progressbar', { name: LEVEL, exact: true }).waitFor();
    assert.equal(await page.getByRole('progressbar').count(), ranged.length);
    // The mimic is still there; alarms come from the alarm engine, dashboard or not.
    await page.getByRole('navigation', { name: 'Displays' }).getByRole('link', { name: 'Mimic' }).waitFor();
    await page.getByRole('region', { name: /Active alarms/ }).getByText('No active or unacknowledged alarms.').waitFor();
    assert.deepEqual(errors, []);
  });
});
