/**
 * The Notifications page in a real browser: an engineer sees the channel,
 * sends a test message (it arrives at the webhook), and finds the alarm the
 * plant raised in the log; its link opens the alarm summary on that alarm,
 * as a notification's link does; the page in Spanish. An operator is told
 * the page is not for them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Identity } from '../../src/commands/prepare.js';
import { notificationsSchema } from '../../src/config/schema.js';
import { Notifier } from '../../src/notify/notifier.js';
import { NotifyOutbox } from '../../src/notify/outbox.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { type WebhookSink, webhookSink } from '../notify/sinks.js';
import { TestPlant, buildHmi, hasChromium, identifyBy, launchBrowser, openPage, removeDir, screenshot } from './harness.js';

describe('the Notifications page in the browser', { timeout: 300_000 }, () => {
  let hmiDir: string | undefined;
  let plant: TestPlant | undefined;
  let browser: Browser | undefined;
  let hook: WebhookSink | undefined;
  let notifier: Notifier | undefined;
  const outbox = new NotifyOutbox(':memory:', 1 << 20);
  let visitor: Identity = { user: 'eve', role: 'engineer' };

  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    hook = await webhookSink();
    notifier = new Notifier({
      config: notificationsSchema.parse({ channels: { ops: { webhook: hook.url, onCall: 'the day shift' } }, rules: [{ priorities: ['critical'], channels: ['ops'] }] }),
      plant: 'SBR',
      timeZone: 'UTC',
      outbox,
    });
    plant = await TestPlant.start(hmiDir, { identify: identifyBy(() => visitor), notifications: notifier, autostart: false });
    await notifier.attach(plant.bus);
    browser = await launchBrowser();
    await waitFor('the first reads', async () => (await plant!.bus.alarmStates()).find((a) => a.id === 'estop')?.state === 'normal', 10_000);
  });

  after(async () => {
    await browser?.close();
    await notifier?.stop();
    await plant?.close();
    outbox.close();
    await hook?.close();
    if (hmiDir) removeDir(hmiDir);
  });

  it('an engineer sees the channel, sends a test, and follows the alarm link; an operator may not', async (t) => {
    if (!needPeer(t, hasChromium, 'Chromium at /usr/bin/chromium')) return;
    plant!.sim!.plant!.setFault(FAULTS['estop']!, true);
    await waitFor('the estop notification', () => hook!.bodies.some((b) => (b.body as { alarm?: string }).alarm === 'estop'), 10_000);

    const { page, errors, context } = await openPage(browser!, `${plant!.url}#/notifications`);
    const channels = page.getByRole('table').filter({ hasText: 'Sends to' });
    await channels.getByRole('row', { name: /ops/ }).waitFor();
    assert.match(await channels.innerText(), /Webhook[\s\S]*json webhook at 127\.0\.0\.1:\d+[\s\S]*the day shift[\s\S]*✓ working/);

    await page.getByRole('button', { name: 'Send a test message through ops' }).click();
    await page.getByRole('status').filter({ hasText: 'Sent “[SBR] Test notification”' }).waitFor();
    await waitFor('the test at the webhook', () => hook!.bodies.some((b) => (b.body as { kind: string }).kind === 'test'));

    const log = page.getByRole('table', { name: 'Notification log' });
    await log.getByRole('row', { name: /CRITICAL alarm: Emergency stop pressed/ }).waitFor();
    // To whom: the webhook's host, in its own column.
    assert.match(await log.getByRole('row', { name: /CRITICAL alarm: Emergency stop pressed/ }).innerText(), /ops\s+json webhook at 127\.0\.0\.1:\d+/);
    await log.getByRole('row', { name: /Test notification/ }).waitFor();
    assert.match(await log.innerText(), /✓ sent/);
    await screenshot(page, 'notifications-page.png');

    await log.getByRole('link', { name: 'estop' }).first().click();
    await page.waitForURL(/#\/alarms\/estop$/);
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();
    // The summary opens on that alarm alone, whatever its state.
    await page.getByRole('heading', { name: /^1 of 26 alarms: all alarms/ }).waitFor();
    await page.getByText('Emergency stop pressed').first().waitFor();
    assert.deepEqual(errors, []);
    await context.close();

    // The same page in Spanish: its words from the Spanish catalogue, none of the English ones.
    const es = await browser!.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC', locale: 'es-AR' });
    const esPage = await es.newPage();
    await esPage.goto(`${plant!.url}#/notifications`);
    await esPage.getByRole('heading', { name: 'Notificaciones', exact: true }).waitFor();
    const esChannels = esPage.getByRole('table').filter({ hasText: 'Envía a' });
    await esChannels.getByRole('row', { name: /ops/ }).waitFor();
    assert.match(await esChannels.innerText(), /Webhook[\s\S]*the day shift[\s\S]*✓ funcionando/);
    await esPage.getByRole('button', { name: 'Enviar un mensaje de prueba por ops' }).waitFor();
    const esLog = esPage.getByRole('table', { name: 'Registro de notificaciones' });
    await esLog.getByRole('row', { name: /CRITICAL alarm: Emergency stop pressed/ }).waitFor();
    const esText = await esPage.locator('main').innerText();
    assert.match(esText, /Enviados y fallidos[\s\S]*Para[\s\S]*json webhook at 127\.0\.0\.1:\d+[\s\S]*✓ enviado/);
    assert.match(await esLog.getByRole('row', { name: /CRITICAL alarm: Emergency stop pressed/ }).innerText(), /alarma\s+estop/);
    assert.match(await esLog.getByRole('row', { name: /Test notification/ }).innerText(), /prueba/);
    for (const english of ['Sends to', 'Sent and failed', 'working', 'Send test', 'Notification log', 'Outcome']) assert.ok(!esText.includes(english), `no English "${english}" on the Spanish page`);
    await es.close();

    visitor = { user: 'ana', role: 'operator' };
    const op = await openPage(browser!, `${plant!.url}#/notifications`);
    await op.page.getByText('Notifications are for engineers and administrators').waitFor();
    await op.context.close();
    plant!.sim!.plant!.setFault(FAULTS['estop']!, false);
  });
});
