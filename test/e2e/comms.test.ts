/**
 * Losing and regaining communication, in a real browser: a PLC that stops
 * answering turns values bad and raises the device banner (no valid reply
 * since when, and no TCP connection); a PLC back on the
 * same port recovers them without a reload. A web server that goes away
 * raises the "live data lost" banner and greys every value; once it is back
 * the page resyncs by itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

/**
 * Waits until some bar or step changes: proof that live values arrive. (The level alone holds still through
 * aeration and settling; the active step's elapsed time moves every 0.1 s at 600×.)
 */
async function valuesMove(page: Page): Promise<void> {
  const read = () => [...document.querySelectorAll('[role="progressbar"]')].map((e) => e.getAttribute('aria-valuenow')).join('|');
  const before = await page.evaluate(read);
  await page.waitForFunction((before) => [...document.querySelectorAll('[role="progressbar"]')].map((e) => e.getAttribute('aria-valuenow')).join('|') !== before, before, { timeout: 20_000 });
}

describe('communication loss and recovery', { timeout: 120_000 }, () => {
  const env = plantInBrowser();

  it('shows bad quality and the device banner when the PLC stops, and recovers without a reload', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    const level = page.locator('.abar[data-tag="reactor.level"]');
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    await valuesMove(page);
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42; // gone if the page reloads
    });

    await env.plant!.stopSim();
    const banner = page.getByRole('alert').filter({ hasText: 'No valid reply from plc since' });
    await banner.waitFor({ timeout: 20_000 });
    assert.match((await banner.textContent()) ?? '', /No valid reply from plc since \d\d:\d\d:\d\d GMT-3 \(\d+ s\) \((no TCP connection|TCP connection being opened); /);
    await page.locator('.abar.q-bad[data-tag="reactor.level"]').waitFor();
    const mark = level.getByRole('img', { name: /^Quality (No comms|Timeout|Comms error): / });
    await mark.waitFor();
    assert.match((await mark.textContent()) ?? '', /✕/);
    const valuetext = await level.getByRole('progressbar').getAttribute('aria-valuetext');
    assert.match(valuetext ?? '', /quality (no connection to the device|the device did not answer in time)/);
    // Every value of the device is bad, not only the bar's.
    await page.locator('.values-row[data-tag="volume.total"] .tagvalue.q-bad').waitFor();
    await screenshot(page, 'dashboard-plc-down-1280.png');

    await env.plant!.startSim();
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    await valuesMove(page);
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'recovered without a reload');
    assert.deepEqual(errors, []);
  });

  it('shows "live data lost" when the server goes away and resyncs when it is back', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    await valuesMove(page);
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 7;
    });

    await env.plant!.stopWeb();
    const lost = page.getByRole('alert').filter({ hasText: /Live data lost since \d\d:\d\d:\d\d GMT-3 — reconnecting/ });
    await lost.waitFor({ timeout: 10_000 });
    // The last values stay on screen, drawn as stale: never like a good value.
    await page.locator('.abar.q-uncertain[data-tag="reactor.level"]').waitFor();
    await page.locator('.abar[data-tag="reactor.level"]').getByRole('img', { name: /^Quality Stale: live data lost since/ }).waitFor();
    await screenshot(page, 'dashboard-stream-lost-1280.png');

    await env.plant!.startWeb();
    await lost.waitFor({ state: 'detached', timeout: 30_000 });
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    await valuesMove(page);
    const events = page.getByRole('list', { name: 'Events, newest first' });
    await events.getByRole('listitem').filter({ hasText: 'Live data lost' }).waitFor();
    await events.getByRole('listitem').filter({ hasText: 'Live data restored after' }).waitFor();
    // A new server run cannot replay what was missed: the page took a fresh snapshot and says so.
    await events.getByRole('listitem').filter({ hasText: 'Resynchronised from a fresh snapshot' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 7, 'recovered without a reload');
    assert.deepEqual(errors, []);
  });

  it('asks for a reload when the server comes back with another configuration', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, env.plant!.url);
    t.after(() => context.close());
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    const original = env.plant!.config;
    await env.plant!.stopWeb();
    env.plant!.config = { ...original, tags: original.tags.filter((x) => x.name !== 'volume.partial') };
    t.after(() => {
      env.plant!.config = original;
    });
    await env.plant!.startWeb();
    const banner = page.getByRole('alert').filter({ hasText: "The server's configuration changed." });
    await banner.waitFor({ timeout: 30_000 });
    await banner.getByRole('button', { name: 'Reload the page' }).click();
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    await banner.waitFor({ state: 'detached' });
    assert.equal(await page.locator('.values-row[data-tag="volume.partial"]').count(), 1, 'the dashboard still names it; it shows as not configured');
    await page.locator('.values-row[data-tag="volume.partial"] .tagvalue.q-bad').waitFor();
    assert.deepEqual(errors, []);
  });
});
