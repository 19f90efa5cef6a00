/**
 * The tag browser, the faceplate and the devices page in a real browser:
 * search filters the list, a row opens the tag's faceplate, the faceplate
 * says why a value is not good, and the devices page shows the PLC's state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

describe('tag browser, faceplate and devices', { timeout: 120_000 }, () => {
  const env = plantInBrowser();

  it('filters tags by a search and opens a faceplate from a row', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/tags`);
    t.after(() => context.close());
    const total = env.plant!.config.tags.length;
    const rows = page.locator('tbody tr');
    await page.getByRole('status').filter({ hasText: `${total} of ${total} tags` }).waitFor();
    assert.equal(await rows.count(), total);
    // Grouped by device, with name, description, value, quality and age.
    await page.getByRole('heading', { name: /^PLC plc/ }).waitFor();
    assert.deepEqual(await page.getByRole('columnheader').allTextContents(), ['Name', 'Description', 'Value', 'Quality', 'Age']);

    await page.getByLabel('Search tags').fill('oxygen');
    const expected = env.plant!.config.tags.filter((x) => `${x.name} ${x.description}`.toLowerCase().includes('oxygen')).length;
    await page.getByRole('status').filter({ hasText: `${expected} of ${total} tags` }).waitFor();
    assert.equal(await rows.count(), expected);
    for (const text of await rows.allTextContents()) assert.match(text, /oxygen/i);
    const row = page.locator('tbody tr[data-tag="reactor.oxygen"]');
    assert.match((await row.textContent()) ?? '', /\d+\.\d\d\u00a0mg\/L/);
    assert.match((await row.locator('.col-quality').textContent()) ?? '', /Good/);

    await page.getByLabel('Search tags').fill('no such tag anywhere');
    await page.getByText('No tag matches').waitFor();
    await page.getByLabel('Search tags').fill('dissolved oxygen minimum');
    await page.getByRole('status').filter({ hasText: `1 of ${total} tags` }).waitFor();

    await page.getByRole('link', { name: 'limits.oxygen_min' }).click();
    await page.waitForURL(/#\/tags\/limits\.oxygen_min$/);
    await page.getByRole('heading', { level: 1, name: 'Dissolved oxygen, minimum limit' }).waitFor();
    assert.match((await page.locator('.face-value').textContent()) ?? '', /\d\.\d\d\u00a0mg\/L/);
    // Display only: the writable range, no command buttons yet.
    assert.match((await page.locator('.facts').textContent()) ?? '', /Writable0\.01\u00a0mg\/L to 99\.99\u00a0mg\/L by engineer/);
    assert.equal(await page.locator('main').getByRole('button').count(), 0);
    assert.deepEqual(errors, []);
  });

  it('shows the quality reason on the faceplate, and the device state, when the PLC stops', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/tags/reactor.oxygen`);
    t.after(() => context.close());
    await page.getByRole('heading', { level: 1, name: 'Dissolved oxygen in the SBR reactor' }).waitFor();
    const reason = page.getByTestId('quality-reason');
    await reason.filter({ hasText: 'read from the device' }).waitFor();
    // A trend of what this browser received, drawn as it arrives.
    await page.getByRole('img', { name: /^Trend of the last (minute|\d+ minutes): \d+ values from / }).waitFor();
    // Limits drawn on the dashboard's bar are listed with their tags.
    await page.getByRole('link', { name: 'limits.oxygen_min' }).waitFor();

    await env.plant!.stopSim();
    t.after(() => env.plant!.startSim());
    await reason.filter({ hasText: /no connection to the device|the device did not answer in time/ }).waitFor({ timeout: 20_000 });
    const value = page.locator('.face-value .tagvalue');
    assert.match((await value.getAttribute('data-quality')) ?? '', /^Bad_/);
    assert.match((await value.getByRole('img').getAttribute('aria-label')) ?? '', /^Quality (No comms|Timeout): /);
    await screenshot(page, 'faceplate-plc-down-1280.png');

    await page.getByRole('navigation', { name: 'Displays' }).getByRole('link', { name: 'Devices' }).click();
    const device = page.locator('[data-device="plc"]');
    await device.getByRole('status').filter({ hasText: /Down — no valid reply from plc since \d\d:\d\d:\d\d GMT-3/ }).waitFor({ timeout: 20_000 });
    const facts = (await device.locator('.facts').textContent()) ?? '';
    for (const label of ['Requests / responses', 'Timeouts', 'Connection errors', 'Exceptions', 'Latency p50 / p99', 'Reconnects', 'Scans / overruns', 'Overruns by cause', 'Scan groups: scans / missed / shed', 'Jitter p50 / p99', 'Tags by quality']) {
      assert.ok(facts.includes(label), `devices page shows ${label}`);
    }
    // Each overrun's cause, and each scan group's scans, missed slots and scans shed while the device was behind.
    assert.match(facts, /Planta late \d+, device slow \d+, CPU starved \d+/);
    assert.match((await device.locator('[data-scan-groups]').textContent()) ?? '', /^fast \(\d+\sms\) [\d,.]+ \/ [\d,.]+ \/ [\d,.]+, settings \(\d[\d,.]*\sms\) [\d,.]+ \/ [\d,.]+ \/ [\d,.]+/);
    assert.match((await device.textContent()) ?? '', /Last error \d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT-3: PLANTA_/);
    await screenshot(page, 'devices-plc-down-1280.png');
    assert.deepEqual(errors, []);
  });
});
