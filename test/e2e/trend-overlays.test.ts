/**
 * Trends with their context (issue 21) in a real browser, at 1440 and 360
 * px, against the running system with a historian (a program 1 cycle in
 * 22.5 s at 600×): the SBR phases shaded behind the pens, from the phase
 * tags' history, and the oxygen limits configured on its bar drawn as
 * horizontal lines at the limit tags' values, both named in the caption.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

describe('trend bands and limit lines', { timeout: 240_000 }, () => {
  const env = plantInBrowser({ historian: true, identify: () => ({ user: 'vera', role: 'viewer' }) });

  for (const size of [
    { width: 1440, height: 900 },
    { width: 360, height: 740 },
  ]) {
    it(`at ${size.width} px: the phases as named bands and the oxygen limits as lines`, async (t) => {
      if (!needPeer(t, hasChromium, 'chromium')) return;
      // A full cycle recorded first (22.5 s), so that every phase has a band.
      await waitFor('a cycle recorded', async () => {
        const h = await env.plant!.historian!.query(['phase.discharge'], Date.now() - 3_600_000, Date.now(), 1000);
        return h[0]!.v.some((v) => v === 1);
      }, 60_000, 250);
      const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/trends?pens=reactor.oxygen,reactor.level&from=${Date.now() - 60_000}`, size);
      t.after(() => context.close());
      const canvas = page.locator('.trend-canvas');
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('.trend-canvas')?.dataset.limits ?? 0) === 2);
      // Bands for each phase of the cycle (fill, aeration, settling, discharge), drawn on the canvas.
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('.trend-canvas')?.dataset.bands ?? 0) >= 4);
      const caption = page.locator('.trend-overlays');
      const text = (await caption.textContent()) ?? '';
      const min = (await env.plant!.bus.snapshot()).find((v) => v.tag === 'limits.oxygen_min')!.value as number;
      const max = (await env.plant!.bus.snapshot()).find((v) => v.tag === 'limits.oxygen_max')!.value as number;
      assert.match(text, new RegExp(`Dissolved oxygen in the SBR reactor low ${min.toFixed(2)}\\u00a0mg/L; Dissolved oxygen in the SBR reactor high ${max.toFixed(2)}\\u00a0mg/L`));
      assert.match(text, /Shaded bands: the phases \((?=.*Aerated fill)(?=.*Aeration)(?=.*Settling)(?=.*Discharge).*\)/);
      assert.equal(await caption.getAttribute('data-limits'), '2');
      assert.ok(Number(await caption.getAttribute('data-bands')) >= 4);
      // The limits stay in view: the oxygen axis reaches the maximum.
      const drawn = Number(await canvas.getAttribute('data-limits'));
      assert.equal(drawn, 2, 'both lines inside the plot');
      await screenshot(page, `trend-bands-limits-${size.width}.png`);
      assert.deepEqual(errors, []);
    });
  }
});
