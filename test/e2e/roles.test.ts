/**
 * Role-gated controls in the browser: a user who may not use a control sees
 * it disabled, with the role it needs written on it and the reason beside
 * it, before any click — a guest (not signed in) on the overview's commands
 * and alarm acknowledgement, an operator on taking alarms out of service and
 * on shelving a critical alarm; at 360 and 1440 px.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import type { Identity } from '../../src/commands/prepare.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { TestPlant, buildHmi, hasChromium, identifyBy, launchBrowser, openPage, removeDir, screenshot } from './harness.js';

const WIDTHS = [360, 1440];

describe('role-gated controls', { timeout: 240_000 }, () => {
  let hmiDir: string | undefined;
  let plant: TestPlant | undefined;
  let browser: Browser | undefined;
  let visitor: Identity | undefined;

  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    plant = await TestPlant.start(hmiDir, { identify: identifyBy(() => visitor) });
    browser = await launchBrowser();
    // An alarm waiting for an acknowledgement, and the e-stop (critical) to shelve.
    plant.sim!.plant!.setFault(FAULTS['inlet-pump-1']!, true);
    plant.sim!.plant!.setFault(FAULTS.estop!, true);
    await waitFor('two alarms', async () => (await plant!.bus.alarmStates()).filter((a) => a.state === 'unack').length >= 2, 10_000);
  });

  after(async () => {
    await browser?.close();
    await plant?.close();
    if (hmiDir) removeDir(hmiDir);
  });

  const disabledWith = async (button: Locator, role: string): Promise<void> => {
    await button.waitFor();
    assert.equal(await button.isDisabled(), true, `${await button.getAttribute('aria-label') ?? await button.textContent()} disabled`);
    assert.equal((await button.locator('.needs-role').textContent())?.trim(), `⊘ ${role}`);
    assert.ok(await button.locator('.needs-role').isVisible());
  };

  it('a guest sees the commands and Acknowledge disabled, with the role they need, and why', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    visitor = undefined;
    for (const width of WIDTHS) {
      const o = await openPage(browser!, plant!.url, { width, height: width === 360 ? 740 : 900 });
      t.after(() => o.context.close());
      const { page } = o;
      const commands = page.getByRole('region', { name: 'Commands' });
      await disabledWith(commands.getByRole('button', { name: /^Start program 1…/ }), 'operator');
      await disabledWith(commands.getByRole('button', { name: /^Silence the horn…/ }), 'operator');
      await commands.getByRole('status').filter({ hasText: 'Sign in as an operator to send commands.' }).waitFor();
      const ack = page.getByRole('button', { name: 'Acknowledge: Inlet well pump 1 failure' });
      await disabledWith(ack, 'sign in');
      await page.locator('#overview-alarms-blocked').filter({ hasText: 'Sign in (any role) to acknowledge, shelve or unshelve alarms.' }).waitFor();
      await screenshot(page, `roles-guest-${width}.png`);
      assert.deepEqual(o.errors, []);
    }
  });

  it('an operator sends commands and acknowledges, but sees out of service and shelving a critical alarm disabled, needing an engineer', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    visitor = { user: 'ana', role: 'operator' };
    t.after(() => {
      visitor = undefined;
    });
    for (const width of WIDTHS) {
      const o = await openPage(browser!, plant!.url, { width, height: width === 360 ? 740 : 900 });
      t.after(() => o.context.close());
      const { page } = o;
      const start = page.getByRole('region', { name: 'Commands' }).getByRole('button', { name: /^Start program 1…/ });
      await start.waitFor();
      assert.equal(await start.locator('.needs-role').count(), 0);
      const ack = page.getByRole('button', { name: 'Acknowledge: Inlet well pump 1 failure' });
      await ack.and(page.locator(':enabled')).waitFor();
      assert.equal(await ack.locator('.needs-role').count(), 0);

      await page.goto(`${plant!.url}#/alarms`);
      const estop = page.locator('table.alarm-table tbody tr[data-alarm="estop"]');
      await disabledWith(estop.getByRole('button', { name: 'Shelve: Emergency stop pressed…' }), 'engineer');
      await disabledWith(estop.getByRole('button', { name: 'Out of service: Emergency stop pressed… (engineers)' }), 'engineer');
      const pump = page.locator('table.alarm-table tbody tr[data-alarm="inlet_pump_1"]');
      await pump.getByRole('button', { name: 'Shelve: Inlet well pump 1 failure…' }).and(page.locator(':enabled')).waitFor();
      await page.locator('#summary-blocked').filter({ hasText: 'ana is an operator: only an engineer or above may take alarms out of service or return them to service.' }).waitFor();
      await screenshot(page, `roles-operator-alarms-${width}.png`);
      assert.deepEqual(o.errors, []);
    }
  });
});
