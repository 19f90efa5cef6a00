/**
 * Distributed mode in the browser: the SBR plant as separate processes on
 * Redis (simulator, poller, alarm process, two web nodes sharing one users
 * file). An operator signed in on web node A stops the cycle; a viewer's
 * browser on web node B shows the same plant, then the cycle stopped and the
 * command confirmed in its event list, without reloading.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { plantProcesses } from '../bus/plant-processes.js';
import { needRedis } from '../bus/redis-helpers.js';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, launchBrowser, openPage, screenshot } from './harness.js';

const panel = (page: Page): Locator => page.getByRole('region', { name: 'Commands' });
const events = (page: Page): Locator => page.getByRole('list', { name: 'Events, newest first' }).getByRole('listitem');
const phaseShown = (page: Page): Promise<string | null> => page.locator('li.step[aria-current="step"]').getAttribute('data-step');

describe('distributed mode in the browser: two web nodes', { timeout: 180_000 }, () => {
  it('a command sent through web node A is confirmed in the browser on web node B', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'e2e-nodes');
    const { config, db, user, password } = plant;
    await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
    await plant.start(['poll', '--config', config], /planta poll: polling/);
    await plant.start(['alarms', '--config', config, '--db', join(plant.dir, 'alarms.db')], /planta alarms:/);
    const webA = await plant.start(['web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/);
    const webB = await plant.start(['web', '--config', config, '--port', '0', '--db', db], /planta web: http:\/\/localhost:(\d+)/);
    const [urlA, urlB] = [webA, webB].map((w) => `http://127.0.0.1:${w.match[1]}`) as [string, string];

    const browser = await launchBrowser();
    t.after(() => browser.close());
    // B: a viewer (not signed in) watching the overview on the other node.
    const b = await openPage(browser, urlB);
    await b.page.getByRole('status').filter({ hasText: 'Running' }).first().waitFor({ timeout: 20_000 });
    // A: the operator signs in on node A.
    const a = await openPage(browser, `${urlA}#/login/${encodeURIComponent('#/')}`);
    await a.page.getByLabel('User name').fill(user);
    await a.page.getByLabel('Password', { exact: true }).fill(password);
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await a.page.locator('.session-box').filter({ hasText: user }).waitFor();
    await a.page.getByRole('status').filter({ hasText: 'Running' }).first().waitFor();
    assert.equal(await phaseShown(b.page), await phaseShown(a.page), 'both nodes show the same phase');

    const stop = panel(a.page).getByRole('button', { name: /^Stop the cycle/ });
    await stop.and(a.page.locator(':enabled')).click();
    const dialog = a.page.getByRole('dialog', { name: 'Stop the SBR cycle?' });
    await dialog.locator('.cmd-countdown').waitFor();
    await dialog.getByLabel('Your password (asked again for a critical command)').fill(password);
    const sent = Date.now();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    // Where it was clicked, on node A: confirmed, read back.
    await a.page.locator('[data-cmd-source="overview:stop_cycle"] .cmd-status[data-status="confirmed"]').waitFor({ timeout: 10_000 });
    // On node B, in the viewer's browser: the journal entry with who sent it, and the plant stopped.
    const confirmedOnB = events(b.page).filter({ hasText: 'Stop the cycle' }).filter({ hasText: 'CONFIRMED' }).filter({ hasText: `by ${user}` });
    await confirmedOnB.waitFor({ timeout: 10_000 });
    const seenOnB = Date.now() - sent;
    await b.page.getByRole('status').filter({ hasText: 'Stopped' }).first().waitFor({ timeout: 10_000 });
    assert.match((await confirmedOnB.textContent()) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    assert.equal((await events(b.page).allTextContents()).filter((x) => x.includes('Stop the cycle')).length, 1, 'one entry for one command');
    await screenshot(b.page, 'distributed-node-b-1280.png');
    t.diagnostic(`confirmed on node B's page ${seenOnB} ms after Confirm on node A`);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  });
});
