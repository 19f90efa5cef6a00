/**
 * A web node cut off from Redis, in the browser: the plant as processes on
 * Redis (simulator, poller, one web node reaching Redis through a TCP proxy).
 * The proxy stops: the operator's page, still connected to its web node,
 * shows at once that live data stopped (and since when) with the level as
 * stale (not Good), then a banner saying there is no live data from the PLC
 * because the server has no answer from Redis — not that the PLC is down;
 * the same in Spanish; the link back, Good again, without a reload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plantProcesses } from '../bus/plant-processes.js';
import { needRedis, redisProxy } from '../bus/redis-helpers.js';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, launchBrowser, openPage, screenshot, signIn } from './harness.js';

describe('a web node cut off from Redis, in the browser', { timeout: 120_000 }, () => {
  it('shows the values as stale and says the server has no answer from Redis; Good again when the link is back', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'e2e-bus-cut');
    const proxy = await redisProxy(t);
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', plant.config, '--lease', '1s'], /planta poll: polling/);
    const web = await plant.start(['web', '--config', plant.config, '--port', '0', '--db', plant.db, '--bus', `redis://127.0.0.1:${proxy.port}`], /planta web: http:\/\/localhost:(\d+)/);

    const browser = await launchBrowser();
    t.after(() => browser.close());
    // The operator is signed in: while the server is cut off from the bus, the commands are disabled, saying why.
    const { page, errors } = await openPage(browser, `http://127.0.0.1:${web.match[1]}#/login/${encodeURIComponent('#/')}`);
    await signIn(page, plant.user, plant.password);
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor({ timeout: 20_000 });
    const stopCycle = page.getByRole('region', { name: 'Commands' }).getByRole('button', { name: /^Stop the cycle/ });
    await stopCycle.and(page.locator(':enabled')).waitFor();
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 7; // gone if the page reloads
    });

    await proxy.stop();
    // At once: the web node knows its link to Redis is gone.
    const stopped = page.getByRole('alert').filter({ hasText: /Live data stopped since \d\d:\d\d:\d\d GMT-3 \(\d+ s\)/ });
    await stopped.waitFor({ timeout: 5000 });
    assert.match((await stopped.textContent()) ?? '', /the server has no connection to the plant's bus \(no connection to Redis at redis:\/\/127\.0\.0\.1:\d+ \(.+\)\)\. Values shown are the last known, marked stale\./);
    await page.locator('.abar.q-uncertain[data-tag="reactor.level"]').waitFor({ timeout: 5000 });
    await stopCycle.and(page.locator(':disabled')).waitFor({ timeout: 5000 });
    await page.getByRole('region', { name: 'Commands' }).getByText('Live data stopped at the server (no connection to its message bus): commands are disabled').waitFor();
    await screenshot(page, 'live-data-stopped-1280.png');
    const banner = page.getByRole('alert').filter({ hasText: /No live data from plc since \d\d:\d\d:\d\d GMT-3 \(\d+ s\)/ });
    await banner.waitFor({ timeout: 15_000 });
    assert.match((await banner.textContent()) ?? '', /PLANTA_BUS_UNREACHABLE: no answer from Redis here: nothing heard from this device for \d+ s \(its poller may be fine\)/);
    await page.locator('.abar.q-uncertain[data-tag="reactor.level"]').waitFor();
    await page.locator('.values-row[data-tag="volume.total"] .tagvalue.q-uncertain').waitFor();
    await screenshot(page, 'web-node-cut-from-redis-1280.png');

    // The same banner in Spanish: the operator switches the language during the outage.
    await page.getByRole('button', { name: 'Español' }).click();
    const detenidos = page.getByRole('alert').filter({ hasText: /Datos en vivo detenidos desde las \d\d:\d\d:\d\d (GMT-3|ART) \((\d+ min )?\d+ s\)/ });
    await detenidos.waitFor({ timeout: 15_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\nalerts: ${JSON.stringify(await page.getByRole('alert').allTextContents())}`);
    });
    assert.match((await detenidos.textContent()) ?? '', /el servidor no tiene conexión con el bus de la planta \(.+\)\. Los valores mostrados son los últimos conocidos, marcados como desactualizados\./);
    await page.locator('.abar.q-uncertain[data-tag="reactor.level"]').waitFor();
    await screenshot(page, 'live-data-stopped-es-1280.png');
    await page.getByRole('button', { name: 'English' }).click();
    await stopped.waitFor({ timeout: 5000 });

    await proxy.start();
    await banner.waitFor({ state: 'detached', timeout: 15_000 });
    await stopped.waitFor({ state: 'detached' });
    await page.locator('.abar.q-good[data-tag="reactor.level"]').waitFor();
    await stopCycle.and(page.locator(':enabled')).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 7, 'recovered without a reload');
    assert.deepEqual(errors, []);
  });
});
