/**
 * Accessibility in the browser, at 360 and 1440 px: every text on the
 * overview, the alarm summary and the tag list has a contrast of at least
 * 4.5:1 against what is behind it (3:1 for large text; disabled controls are
 * exempt, as in WCAG 2.2), in the light and the dark theme; a skip link is
 * the first thing the keyboard reaches and takes the focus to the display;
 * every control the keyboard reaches shows its focus; and a state shown by
 * colour is also shown by a word or a shape.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { FAULTS } from '../../src/sim/sbr/map.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

const WIDTHS = [360, 1440];

interface Low {
  text: string;
  ratio: number;
  color: string;
  background: string;
}

/**
 * Every visible text whose contrast is below its threshold, found in the page. Source text, not a function:
 * the TypeScript loader would wrap the helpers' names in a function the page does not have.
 */
const LOW_CONTRAST = `(() => {
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  // The colour behind an element: the nearest opaque background, translucent ones laid over it.
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) layers.push(c.length === 3 ? [...c, 1] : c);
      if (layers.length && layers[layers.length - 1][3] === 1) break;
    }
    let out = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) out = [r * a + out[0] * (1 - a), g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
    return out;
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !(n.textContent || '').trim()) continue;
    seen.add(el);
    if (el.closest(':disabled, [aria-disabled="true"], .visually-hidden, .skip-link, svg, noscript')) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || el.closest('[hidden]')) continue;
    const bg = behind(el);
    // Faded text (opacity on it or an ancestor) is seen blended into what is behind it.
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
    const fg = rgba(style.color).slice(0, 3).map((v, i) => v * opacity + bg[i] * (1 - opacity));
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) found.push({ text: (n.textContent || '').trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100, color: style.color, background: 'rgb(' + bg.map(Math.round).join(', ') + ')' });
  }
  return found;
})()`;

const lowContrast = (page: Page): Promise<Low[]> => page.evaluate(LOW_CONTRAST) as Promise<Low[]>;

describe('accessibility', { timeout: 300_000 }, () => {
  const env = plantInBrowser({ identify: () => ({ user: 'ana', role: 'operator' }) });
  before(async () => {
    if (!env.plant) return;
    // Alarms of several priorities and states on screen.
    for (const f of ['estop', 'high-level-outlet', 'inlet-pump-1', 'foam-valve']) env.plant!.sim!.plant!.setFault(FAULTS[f]!, true);
    await waitFor('four alarms', async () => (await env.plant!.bus.alarmStates()).filter((a) => a.state === 'unack').length >= 4, 10_000);
  });

  it('text contrast is at least 4.5:1 (3:1 large) on the overview, the alarm summary and the tags, light and dark', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const failures: string[] = [];
    for (const width of WIDTHS) {
      const o = await openPage(env.browser!, env.plant!.url, { width, height: 900 });
      t.after(() => o.context.close());
      const { page } = o;
      for (const theme of ['light', 'dark']) {
        if (theme === 'dark') await page.getByRole('button', { name: 'Dark theme' }).click();
        for (const route of ['#/', '#/alarms', '#/tags']) {
          await page.goto(`${env.plant!.url}${route}`);
          await page.locator('#page-title').waitFor();
          if (route === '#/') await page.waitForSelector('.abar [role="progressbar"][aria-valuenow]');
          if (route === '#/alarms') await page.locator('table.alarm-table tbody tr').first().waitFor();
          if (route === '#/tags') await page.locator('.tag-table tbody tr').first().waitFor();
          for (const l of await lowContrast(page)) failures.push(`${width} px ${theme} ${route}: “${l.text}” ${l.ratio}:1 (${l.color} on ${l.background})`);
        }
        if (width === 360) await screenshot(page, `a11y-alarms-${theme}-360.png`);
      }
      assert.deepEqual(o.errors, []);
    }
    assert.deepEqual(failures, []);
  });

  it('a skip link comes first and takes the focus to the display; every control the keyboard reaches shows its focus', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    for (const width of WIDTHS) {
      const o = await openPage(env.browser!, env.plant!.url, { width, height: 800 });
      t.after(() => o.context.close());
      const { page } = o;
      await page.waitForSelector('.abar [role="progressbar"][aria-valuenow]');
      await page.keyboard.press('Tab');
      const skip = page.getByRole('link', { name: 'Skip to the display' });
      assert.equal(await skip.evaluate((e) => e === document.activeElement), true, 'the first Tab');
      const box = (await skip.boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= 800, 'shown on screen while focused');
      await screenshot(page, `a11y-skip-${width}.png`, false);
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'MAIN');
      assert.match(page.url(), /#\/$|\/$/, 'the route did not change');
      // From the display on: each control reached shows a focus ring (outline or inset ring) of at least 2 px.
      const unseen: string[] = [];
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const f = await page.evaluate(() => {
          const e = document.activeElement as HTMLElement | null;
          if (!e || e === document.body) return null;
          const s = getComputedStyle(e);
          const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || /inset/.test(s.boxShadow);
          return { ring, name: `${e.tagName.toLowerCase()} “${(e.getAttribute('aria-label') ?? e.textContent ?? '').trim().slice(0, 40)}”` };
        });
        if (f && !f.ring) unseen.push(f.name);
      }
      assert.deepEqual(unseen, [], `at ${width} px`);
      assert.deepEqual(o.errors, []);
    }
  });

  it('a state shown by colour is also shown by a word or a shape', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(env.browser!, env.plant!.url, { width: 1440, height: 900 });
    t.after(() => o.context.close());
    const { page } = o;
    await page.waitForSelector('.abar [role="progressbar"][aria-valuenow]');
    await page.locator('.alarm-item').nth(3).waitFor();
    const bare = await page.evaluate(() => {
      const out: string[] = [];
      for (const e of document.querySelectorAll('.abar.is-abnormal')) if (!/^(▲ HIGH|▼ LOW)$/.test(e.querySelector('.abar-word')?.textContent ?? '')) out.push(`bar ${e.getAttribute('data-tag')}`);
      for (const e of document.querySelectorAll('.prio')) if (!/^[◆▲■●]\s*(Priority )?(CRITICAL|HIGH|MEDIUM|LOW)$/.test((e.textContent ?? '').trim())) out.push(`priority “${e.textContent}”`);
      for (const e of document.querySelectorAll('.alarm-item')) if (!/Active|Returned|Unknown|Shelved/.test(e.querySelector('.alarm-state')?.textContent ?? '')) out.push(`alarm ${e.getAttribute('data-alarm')}`);
      const banner = document.querySelector('.alarm-banner');
      if (!/^[◆▲■●✓?]$/.test(banner?.querySelector('.alarm-icon')?.textContent ?? '')) out.push('banner icon');
      return out;
    });
    assert.deepEqual(bare, []);
    assert.deepEqual(o.errors, []);
  });
});
