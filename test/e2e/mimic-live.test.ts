/**
 * The live mimic (issue 21) in a real browser, at 1440 and 360 px: every
 * equipment item of the SBR drawing is a button bound to its tags; a blower
 * fault and the emergency stop change an item's state (class, colour and its
 * word); a click or Enter/Space shows the item's faceplate under the drawing;
 * a tag gone Bad shows its quality mark on the items; on a phone the drawing
 * is drawn large enough to read and pans sideways; the dark theme redraws it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

const ESTOP = 1;
const FAULT_AERATOR_1 = 12;
/** The PLC's start command bit: the e-stop stops the cycle, and once released it stays stopped until started. */
const START = 31;
const SIZES = [
  { width: 1440, height: 900 },
  { width: 360, height: 740 },
] as const;

const stateWord = (page: Page, id: string): Promise<string> => page.locator(`.mimic-drawing #${id}-state`).evaluate((e) => e.textContent ?? '');
const classes = (page: Page, id: string): Promise<string[]> => page.locator(`.mimic-drawing #${id}`).evaluate((e) => [...e.classList]);
const stroke = (page: Page, id: string): Promise<string> => page.locator(`.mimic-drawing #${id}`).evaluate((e) => getComputedStyle(e).stroke);

describe('live mimic', { timeout: 240_000 }, () => {
  const env = plantInBrowser();

  for (const size of SIZES) {
    it(`at ${size.width} px: every item is a button with its state in a word; a blower fault and the e-stop change them; click and keys open the faceplate`, async (t) => {
      if (!needPeer(t, hasChromium, 'chromium')) return;
      const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/mimic`, size);
      t.after(() => context.close());
      await page.waitForFunction(() => /\d/.test(document.querySelector('#reactor-oxygen-text .pl-text')?.textContent ?? ''));
      // Every item of the drawing is bound: a button named for people, with its state.
      const items = await page.locator('.mimic-drawing [role="button"]').evaluateAll((els) => els.map((e) => ({ id: e.id, name: e.getAttribute('aria-label') ?? '', tab: e.getAttribute('tabindex') })));
      for (const id of ['aerator-1', 'aerator-2', 'inlet-pump-1', 'transfer-pump-2', 'outlet-pump-2', 'recirculation-pump', 'recirculation-valve', 'foam-valve', 'discharge-valve', 'equalisation-aerator', 'chlorine-doser', 'oxygen-probe', 'turbidity-probe', 'reactor-level', 'discharge-volume-text', 'estop', 'generator']) {
        const item = items.find((i) => i.id === id);
        assert.ok(item, `${id} is bound`);
        assert.equal(item.tab, '0', `${id} is reachable by keyboard`);
      }
      assert.ok(items.length >= 25, `${items.length} bound items`);
      assert.equal(await stateWord(page, 'inlet-pump-1'), 'OK');
      assert.match(items.find((i) => i.id === 'oxygen-probe')!.name, /^Oxygen probe: \d+\.\d\d\u00a0mg\/L$/);
      await page.locator('.mimic-drawing #aerator-1.pl-running').waitFor({ timeout: 40_000 });
      assert.equal(await stateWord(page, 'aerator-1'), 'RUN');
      const normalStroke = await stroke(page, 'aerator-1');

      // A blower fault: the aerator turns abnormal (colour, marker) and its word says ALARM.
      env.plant!.sim!.plant!.setFault(FAULT_AERATOR_1, true);
      t.after(() => env.plant!.sim?.plant?.setFault(FAULT_AERATOR_1, false));
      await page.locator('.mimic-drawing #aerator-1.pl-alarm').waitFor();
      assert.equal(await stateWord(page, 'aerator-1'), 'ALARM');
      assert.notEqual(await stroke(page, 'aerator-1'), normalStroke, 'the fault changes its colour');
      assert.match((await page.locator('.mimic-drawing #aerator-1').getAttribute('aria-label')) ?? '', /^Aerator \(blower\) 1: ALARM$/);
      assert.equal(await stateWord(page, 'aerator-2'), await stateWord(page, 'aerator-2')); // the other aerator untouched
      assert.ok(!(await classes(page, 'aerator-2')).includes('pl-alarm'));
      await screenshot(page, `mimic-blower-fault-${size.width}.png`);

      // The e-stop: its own item says ALARM, and the stopped cycle stops the aerators (outline and STOP, not colour).
      env.plant!.sim!.plant!.setFault(ESTOP, true);
      t.after(() => {
        env.plant!.sim?.plant?.setFault(ESTOP, false);
        env.plant!.sim?.plant?.bits.set(START, true);
      });
      await page.locator('.mimic-drawing #estop.pl-alarm').waitFor();
      assert.equal(await stateWord(page, 'estop'), 'ALARM');
      await page.locator('.mimic-drawing #aerator-2.pl-stopped').waitFor({ timeout: 10_000 });
      assert.equal(await stateWord(page, 'aerator-2'), 'STOP');
      await screenshot(page, `mimic-estop-${size.width}.png`);

      // Click: the faceplate of the item's first tag, under the drawing.
      await page.locator('.mimic-drawing #aerator-1').click();
      const plate = page.getByRole('region', { name: 'Faceplate of the selected item' });
      await plate.getByRole('heading', { name: 'SBR aerator 1 failure', level: 2 }).waitFor();
      assert.equal(await plate.getAttribute('data-tag'), 'alarm.reactor_aerator_1');
      await screenshot(page, `mimic-faceplate-${size.width}.png`);
      await plate.getByRole('button', { name: 'Close' }).click();
      await plate.waitFor({ state: 'detached' });

      // Keyboard: Tab reaches the items; Enter and Space open their faceplates.
      await page.locator('.mimic-drawing #inlet-pump-2').focus();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'inlet-pump-2');
      await page.keyboard.press('Enter');
      await plate.getByRole('heading', { name: 'Inlet well pump 2 failure', level: 2 }).waitFor();
      await page.keyboard.press('Escape');
      await plate.waitFor({ state: 'detached' });
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'inlet-pump-2', 'the focus goes back to the item');
      await page.locator('.mimic-drawing #reactor-level').focus();
      await page.keyboard.press(' ');
      await plate.getByRole('heading', { name: 'Level in the SBR reactor', level: 2 }).waitFor();

      env.plant!.sim!.plant!.setFault(ESTOP, false);
      env.plant!.sim!.plant!.bits.set(START, true);
      env.plant!.sim!.plant!.setFault(FAULT_AERATOR_1, false);
      await page.locator('.mimic-drawing #aerator-1.pl-alarm').waitFor({ state: 'detached' });
      assert.deepEqual(errors, []);
    });
  }

  it('at 360 px the drawing is drawn at twice the width, readable, and pans sideways inside its frame', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/mimic`, { width: 360, height: 740 });
    t.after(() => context.close());
    await page.locator('.mimic-drawing svg').waitFor();
    const m = await page.evaluate(() => {
      const frame = document.querySelector('.mimic-scroll')!;
      const label = document.querySelector('.mimic-drawing #inlet-pump-1-state')!.getBoundingClientRect();
      return { doc: document.documentElement.scrollWidth, frame: frame.clientWidth, inner: frame.scrollWidth, stateHeight: label.height };
    });
    assert.ok(m.doc <= 360, `the page itself does not overflow (${m.doc} px)`);
    assert.ok(m.inner >= 2 * m.frame - 2, `drawn at twice the frame's width (${m.inner} of ${m.frame} px)`);
    assert.ok(m.stateHeight >= 8, `a state word is ${m.stateHeight} px tall`);
    await page.getByRole('button', { name: 'Fit to width' }).click();
    assert.ok((await page.evaluate(() => document.querySelector('.mimic-scroll')!.scrollWidth)) <= 362);
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.locator('.mimic-drawing[data-zoom="200"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'mimic-phone-360.png', false);
    assert.deepEqual(errors, []);
  });

  it('draws with the dark theme', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context } = await openPage(env.browser!, `${env.plant!.url}#/mimic`, { width: 1440, height: 900 });
    t.after(() => context.close());
    await page.locator('.mimic-drawing #reactor').waitFor();
    const light = await page.locator('.mimic-drawing #reactor').evaluate((e) => getComputedStyle(e).fill);
    await page.getByRole('button', { name: 'Dark theme' }).click();
    const dark = await page.locator('.mimic-drawing #reactor').evaluate((e) => getComputedStyle(e).fill);
    assert.notEqual(dark, light);
    const bg = await page.locator('.mimic-drawing').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.match(bg, /^rgb\((\d{1,2}), (\d{1,2}), (\d{1,2})\)$/, `a dark background (${bg})`);
    await screenshot(page, 'mimic-dark-1440.png');
  });

  for (const size of SIZES) {
    it(`at ${size.width} px: marks the items of a Bad tag with its quality mark and word`, async (t) => {
      if (!needPeer(t, hasChromium, 'chromium')) return;
      const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/mimic`, size);
      t.after(() => context.close());
      await page.locator('.mimic-drawing #oxygen-probe[data-quality="good"]').waitFor();
      await env.plant!.stopSim();
      t.after(async () => {
        if (!env.plant!.sim) await env.plant!.startSim();
      });
      await page.locator('.mimic-drawing #oxygen-probe.pl-bad').waitFor({ timeout: 20_000 });
      assert.match((await page.locator('.mimic-drawing #reactor-oxygen-text .pl-text').textContent()) ?? '', /✕$/);
      await page.locator('.mimic-drawing #aerator-1.pl-bad').waitFor();
      assert.equal(await stateWord(page, 'aerator-1'), '✕');
      assert.match((await page.locator('.mimic-drawing #aerator-1').getAttribute('aria-label')) ?? '', /^Aerator \(blower\) 1: ✕ (No comms|Timeout)$/);
      assert.match((await page.locator('.mimic-drawing #aerator-1 > title').textContent()) ?? '', /— (No comms|Timeout): /);
      assert.match((await page.locator('.mimic-drawing #oxygen-probe').getAttribute('aria-label')) ?? '', /^Oxygen probe: .*✕/);
      await screenshot(page, `mimic-bad-${size.width}.png`);
      await env.plant!.startSim();
      await page.locator('.mimic-drawing #oxygen-probe[data-quality="good"]').waitFor({ timeout: 20_000 });
      assert.deepEqual(errors, []);
    });
  }
});
