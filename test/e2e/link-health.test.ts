/**
 * A dead link announced in the browser: the simulated PLC keeps its TCP
 * connections open and never answers (a hung PLC, a half-open link). Every
 * page's banner and the Devices page say "no valid reply from plc since …" with how
 * long, whatever the TCP connection does; the communication alarm is raised;
 * valid replies again clear the banner. Screenshots at 360 and 1440 px.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { parseMisbehaviour } from '../../src/sim/misbehaviour.js';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

/** "No valid reply from plc since 14:03:27 GMT-3 (12 s)" */
const DEAD = /No valid reply from plc since (\d\d:\d\d:\d\d) GMT-3 \((\d+ s|\d+ min \d\d s)\)/;

/** "Sin respuesta válida de plc desde las 14:03:27 ART (12 s)": the zone in Spanish words */
const DEAD_ES = /Sin respuesta válida de plc desde las (\d\d:\d\d:\d\d) (?:ART|GMT-3) \((\d+ s|\d+ min \d\d s)\)/;

describe('a dead link in the browser', { timeout: 180_000 }, () => {
  const env = plantInBrowser();

  /** The banner line of the dead PLC on the page shown now, and its "since". */
  async function banner(page: Page): Promise<string> {
    const line = page.getByRole('alert').filter({ hasText: DEAD });
    await line.waitFor({ timeout: 15_000 });
    const text = (await line.textContent()) ?? '';
    assert.match(text, /\((TCP connection open: the PLC accepts the connection but sends no valid reply|TCP connection being opened|no TCP connection); last error PLANTA_MODBUS_\w+: /);
    return DEAD.exec(text)![1]!;
  }

  it('a PLC that accepts and never answers: every page and the Devices page say "no valid reply from plc since", whatever TCP does', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    env.plant!.sim!.misbehaviour = parseMisbehaviour('silent');
    const since = await banner(page);

    const pages = await page.locator('nav.nav a').evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
    assert.ok(pages.length >= 8, pages.join());
    for (const href of [...pages, '#/tags/reactor.level']) {
      await page.evaluate((h) => (window.location.hash = h), href);
      assert.equal(await banner(page), since, `the same "since" on ${href}`);
    }

    await page.evaluate(() => (window.location.hash = '#/devices'));
    const state = page.locator('[data-device="plc"] .device-state');
    await state.filter({ hasText: /Down — no valid reply from plc since (\d\d:\d\d:\d\d) GMT-3 \(\d+ s\)/ }).waitFor();
    assert.match((await state.textContent()) ?? '', new RegExp(`no valid reply from plc since ${since} GMT-3`));
    assert.match((await page.locator('[data-device="plc"] .device-tcp').textContent()) ?? '', /^TCP connection: (open since .+|being opened|closed)\. The link counts as down after 3\.0\ss without a valid reply\.$/);
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, 'devices-no-valid-reply-1440.png');
    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, 'devices-no-valid-reply-360.png');
    await page.evaluate(() => (window.location.hash = '#/'));
    await banner(page);
    await screenshot(page, 'overview-no-valid-reply-360.png', false);
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, 'overview-no-valid-reply-1440.png', false);

    // The same in Spanish: the banner on a page and the Devices page, with the same "since".
    const es = await env.browser!.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC', locale: 'es-AR' });
    t.after(() => es.close());
    const esPage = await es.newPage();
    await esPage.goto(env.plant!.url);
    const esLine = esPage.getByRole('alert').filter({ hasText: DEAD_ES });
    await esLine.waitFor({ timeout: 15_000 });
    assert.equal(DEAD_ES.exec((await esLine.textContent()) ?? '')![1], since);
    await esPage.evaluate(() => (window.location.hash = '#/devices'));
    await esPage
      .locator('[data-device="plc"] .device-state')
      .filter({ hasText: new RegExp(`Caído — sin respuesta válida de plc desde las ${since} (?:ART|GMT-3) \\((\\d+ s|\\d+ min \\d\\d s)\\)`) })
      .waitFor();

    // The alarm is raised, and the banner goes once valid replies come again.
    assert.equal(env.plant!.alarms!.states().find((a) => a.id === 'comm.plc')?.state, 'unack');
    env.plant!.sim!.misbehaviour = { mode: 'normal' };
    await page.getByRole('alert').filter({ hasText: DEAD }).waitFor({ state: 'detached', timeout: 15_000 });
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    assert.deepEqual(errors, []);
  });
});
