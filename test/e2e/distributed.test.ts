/**
 * Distributed mode in the browser: the SBR plant as separate processes on
 * Redis (simulator, poller, alarm process, two web nodes sharing users and
 * the audit trail on PostgreSQL). An operator signed in on web node A stops
 * the cycle; a viewer's browser on web node B shows the same plant, then the
 * cycle stopped and the command confirmed in its event list, without
 * reloading. An admin on node B adds an engineer, who signs in on node A and
 * finds the command in the one audit trail, once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { plantProcesses } from '../bus/plant-processes.js';
import { needRedis } from '../bus/redis-helpers.js';
import { needPeer } from '../helpers/peers.js';
import { PG_URL, dropSchemaAfter, needPostgres, schemaName } from '../historian/pg-helpers.js';
import { hasChromium, launchBrowser, openPage, screenshot, signIn } from './harness.js';

const panel = (page: Page): Locator => page.getByRole('region', { name: 'Commands' });
const events = (page: Page): Locator => page.getByRole('list', { name: 'Events, newest first' }).getByRole('listitem');
const phaseShown = (page: Page): Promise<string | null> => page.locator('li.step[aria-current="step"]').getAttribute('data-step');

describe('distributed mode in the browser: two web nodes', { timeout: 180_000 }, () => {
  it('a command sent through web node A is confirmed in the browser on web node B', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    if (!(await needRedis(t)) || !(await needPostgres(t))) return;
    const schema = schemaName();
    const plant = await plantProcesses(t, 'e2e-nodes', { usersUrl: `${PG_URL}?schema=${schema}` });
    dropSchemaAfter(t, schema);
    const { config, db, user, password } = plant;
    const adminPassword = 'e2e-nodes-admin-pass-1';
    await plant.addUser('root-admin', 'admin', adminPassword);
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
    await signIn(a.page, user, password);
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

    // The admin, on node B, adds an engineer; the engineer signs in on node A and reads the one trail.
    const admin = await openPage(browser, `${urlB}#/login/${encodeURIComponent('#/users')}`);
    await signIn(admin.page, 'root-admin', adminPassword);
    const add = admin.page.getByRole('form', { name: 'Add a user' });
    await add.getByLabel('Name').fill('ivan');
    await add.getByLabel('Role').selectOption('engineer');
    await add.getByLabel('Password (12 characters or more)').fill('settling-tank-weir-8');
    await add.getByRole('button', { name: 'Add user' }).click();
    await admin.page.locator('tr[data-user="ivan"]').filter({ hasText: 'Active' }).waitFor();
    const ivan = await openPage(browser, `${urlA}#/login/${encodeURIComponent('#/audit')}`);
    await signIn(ivan.page, 'ivan', 'settling-tank-weir-8');
    await ivan.page.getByRole('heading', { name: 'Audit trail' }).waitFor();
    const rows = ivan.page.locator('table.audit-table tbody tr');
    await rows.filter({ hasText: 'user-add' }).filter({ hasText: 'ivan' }).waitFor();
    const stopped = rows.filter({ hasText: 'command-confirmed' }).filter({ hasText: 'stop_cycle' });
    await stopped.first().waitFor({ timeout: 10_000 });
    assert.equal(await stopped.count(), 1, 'audited once, not once per web node');
    await screenshot(ivan.page, 'distributed-audit-node-a-1280.png');
    for (const p of [a, b, admin, ivan]) assert.deepEqual(p.errors, []);
  });
});
