/**
 * A poller lost with nobody to take over, in the browser: the plant as
 * processes on Redis (simulator, one poller with a 1 s lease, a web node).
 * The poller is killed (kill -9: its lease is never given back). Within its
 * lease + the grace, every page says "No live data from plc since …" with how
 * long — in English and in Spanish —, the Devices page says the same, and the
 * values are stale; a new poller brings them back without a reload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plantProcesses } from '../bus/plant-processes.js';
import { needRedis } from '../bus/redis-helpers.js';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, launchBrowser, openPage } from './harness.js';

const LOST = /No live data from plc since (\d\d:\d\d:\d\d) GMT-3 \((\d+ s)\)/;
const LOST_ES = /Sin datos en vivo de plc desde las (\d\d:\d\d:\d\d) (?:ART|GMT-3) \((\d+ s)\)/;

describe('a poller lost, in the browser', { timeout: 150_000 }, () => {
  it('every page and the Devices page say since when there is no live data, in both languages; back with a new poller', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'e2e-poller-lost');
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
    const poller = await plant.start(['poll', '--config', plant.config, '--lease', '1s'], /planta poll: polling/);
    const web = await plant.start(['web', '--config', plant.config, '--port', '0', '--db', plant.db], /planta web: http:\/\/localhost:(\d+)/);
    const url = `http://127.0.0.1:${web.match[1]}`;

    const browser = await launchBrowser();
    t.after(() => browser.close());
    const { page, errors } = await openPage(browser, url);
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor({ timeout: 20_000 });
    const es = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC', locale: 'es-AR' });
    t.after(() => es.close());
    const esPage = await es.newPage();
    await esPage.goto(url);
    await esPage.locator('.abar.q-good[data-tag="reactor.level"]').waitFor({ timeout: 20_000 });

    const killedAt = Date.now();
    poller.child.kill('SIGKILL');
    const line = page.getByRole('alert').filter({ hasText: LOST });
    await line.waitFor({ timeout: 15_000 });
    t.diagnostic(`banner ${Date.now() - killedAt} ms after the poller was killed (lease 1 s)`);
    const since = LOST.exec((await line.textContent()) ?? '')![1]!;
    await page.locator('.abar.q-uncertain[data-tag="reactor.level"]').waitFor();
    await page.evaluate(() => (window.location.hash = '#/devices'));
    await page.locator('[data-device="plc"] .device-state').filter({ hasText: new RegExp(`Down — no live data from plc since ${since} GMT-3 \\(\\d+ s\\)`) }).waitFor();
    assert.equal(LOST.exec((await page.getByRole('alert').filter({ hasText: LOST }).textContent()) ?? '')![1], since, 'the same "since" on the Devices page');

    const esLine = esPage.getByRole('alert').filter({ hasText: LOST_ES });
    await esLine.waitFor({ timeout: 15_000 });
    assert.equal(LOST_ES.exec((await esLine.textContent()) ?? '')![1], since);

    await plant.start(['poll', '--config', plant.config, '--lease', '1s'], /planta poll: polling/);
    await page.getByRole('alert').filter({ hasText: LOST }).waitFor({ state: 'detached', timeout: 20_000 });
    await esLine.waitFor({ state: 'detached', timeout: 20_000 });
    await page.evaluate(() => (window.location.hash = '#/'));
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    assert.deepEqual(errors, []);
  });
});
