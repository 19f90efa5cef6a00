/**
 * The mimic in a real browser: the drawing's bindings follow the tags (the
 * reactor's liquid height is the level over its range, equipment filled or
 * outlined, alarms marked), bad quality hatches bound elements with the
 * reason in their title, and a hostile drawing is defused before it is
 * inlined.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

const FAULT_INLET_PUMP_1 = 7;
// In config/sbr-mimic.svg the reactor's liquid is drawn full: y 52, height 276.
const FULL = { y: 52, height: 276 };

interface LevelReading {
  text: string;
  y: number;
  height: number;
}

function readLevel(page: Page): Promise<LevelReading> {
  return page.evaluate(() => {
    const rect = document.querySelector('.mimic-drawing #reactor-level')!;
    const text = document.querySelector('.mimic-drawing #reactor-level-text .pl-text')?.textContent ?? '';
    return { text, y: Number(rect.getAttribute('y')), height: Number(rect.getAttribute('height')) };
  });
}

function checkLevel(r: LevelReading): number {
  const m = /^(\d+\.\d)\u00a0%$/.exec(r.text);
  assert.ok(m, `the level text "${r.text}" has one decimal and its unit`);
  const value = Number(m[1]);
  // The text is rounded to 0.1 %; the height uses the exact value.
  assert.ok(Math.abs(r.height - (FULL.height * value) / 100) <= (FULL.height * 0.05) / 100 + 0.02, `height ${r.height} for ${value} %`);
  assert.ok(Math.abs(r.y + r.height - (FULL.y + FULL.height)) < 0.02, 'anchored at the bottom');
  return value;
}

describe('mimic page', { timeout: 120_000 }, () => {
  const env = plantInBrowser();

  it('draws the reactor level, equipment states and alarms from the bindings', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/mimic`);
    t.after(() => context.close());
    await page.getByRole('img', { name: 'Process mimic' }).waitFor();
    await page.waitForFunction(() => /\d/.test(document.querySelector('#reactor-level-text .pl-text')?.textContent ?? ''));
    const first = checkLevel(await readLevel(page));
    // The level follows the tag as it changes (it holds still through aeration and settling: up to 13.5 s at 600×).
    await page.waitForFunction((v) => {
      const m = /^(\d+\.\d)/.exec(document.querySelector('#reactor-level-text .pl-text')?.textContent ?? '');
      return m !== null && Number(m[1]) !== v;
    }, first, { timeout: 30_000 });
    checkLevel(await readLevel(page));

    // Equipment: filled while running, outlined while stopped (classes, not colours).
    const state = (id: string) => page.locator(`.mimic-drawing #${id}`).evaluate((el) => [...el.classList].filter((c) => c.startsWith('pl-')).sort());
    assert.ok((await state('aerator-1')).some((c) => c === 'pl-running' || c === 'pl-stopped'));
    assert.ok((await state('discharge-valve')).some((c) => c === 'pl-open' || c === 'pl-closed'));
    await page.locator('.mimic-drawing #aerator-1.pl-running').waitFor({ timeout: 30_000 }); // aeration comes once a cycle (22.5 s)

    // An alarm: abnormal class and a visible marker, not colour alone.
    env.plant!.sim!.plant!.setFault(FAULT_INLET_PUMP_1, true);
    t.after(() => env.plant!.sim?.plant?.setFault(FAULT_INLET_PUMP_1, false));
    await page.locator('.mimic-drawing #inlet-pump-1.pl-alarm').waitFor();
    const markers = await page.locator('.mimic-drawing .pl-alarm-marker.is-shown').count();
    assert.equal(markers, 1);
    assert.match((await page.locator('.mimic-drawing #inlet-pump-1 > title').textContent()) ?? '', /Inlet well pump 1 failure: ALARM/);
    await screenshot(page, 'mimic-1280.png');
    env.plant!.sim!.plant!.setFault(FAULT_INLET_PUMP_1, false);
    await page.locator('.mimic-drawing #inlet-pump-1.pl-alarm').waitFor({ state: 'detached' });
    assert.deepEqual(errors, []);
  });

  it('hatches bound elements whose value is not good and says why', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/mimic`);
    t.after(() => context.close());
    await page.locator('.mimic-drawing #reactor-level[data-quality="good"]').waitFor();
    await env.plant!.stopSim();
    t.after(() => env.plant!.startSim());
    const level = page.locator('.mimic-drawing #reactor-level.pl-bad');
    await level.waitFor({ timeout: 20_000 });
    assert.match((await level.locator('title').textContent()) ?? '', /Level in the SBR reactor: .* — (No comms|Timeout): (no connection to the device|the device did not answer in time)/);
    await page.locator('.mimic-drawing #reactor-level-text.pl-bad').waitFor();
    assert.match((await page.locator('#reactor-level-text .pl-text').textContent()) ?? '', /✕$/);
    await screenshot(page, 'mimic-plc-down-1280.png');
    assert.deepEqual(errors, []);
  });
});

const HOSTILE = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 200 100" onload="window.pwned = 'onload'">
  <style>@import url(http://127.0.0.1:9/x.css); body { display: none } .vessel { fill: #eee }</style>
  <script>window.pwned = 'script'</script>
  <foreignObject width="100" height="50"><div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="window.pwned = 'img'"/></div></foreignObject>
  <a href="javascript:window.pwned='href'"><rect id="reactor" class="vessel" x="10" y="10" width="80" height="80" onclick="window.pwned = 'click'"/></a>
  <a xlink:href="javascript:window.pwned='xlink'"><text id="reactor-level-text" x="100" y="50">—</text></a>
  <rect id="reactor-level" x="12" y="12" width="76" height="76"><set attributeName="onmouseover" to="window.pwned = 'set'"/></rect>
  <image href="http://127.0.0.1:9/tracker.png" width="1" height="1"/>
</svg>`;

describe('mimic drawing sanitising', { timeout: 90_000 }, () => {
  const env = plantInBrowser({ adjust: (c) => (c.drawings.mimic = HOSTILE) });

  it('removes scripts, foreign content, handlers and javascript: links, and scopes the styles', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors, requests } = await openPage(env.browser!, `${env.plant!.url}#/mimic`);
    t.after(() => context.close());
    await page.locator('.mimic-drawing svg #reactor-level').waitFor();
    await page.waitForFunction(() => /\d/.test(document.querySelector('#reactor-level-text .pl-text')?.textContent ?? ''));
    // The vessel's corner: the liquid inside it covers its middle.
    await page.locator('.mimic-drawing #reactor').click({ position: { x: 4, y: 4 } });
    await page.locator('.mimic-drawing #reactor-level').hover();
    const found = await page.evaluate(() => {
      const svg = document.querySelector('.mimic-drawing svg')!;
      const all = [svg, ...svg.querySelectorAll('*')];
      return {
        pwned: (window as unknown as { pwned?: string }).pwned ?? null,
        forbidden: svg.querySelectorAll('script, foreignObject, set, animate, image[href^="http"]').length,
        handlers: all.filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length,
        jsLinks: all.filter((e) => [...e.attributes].some((a) => /javascript:|127\.0\.0\.1:9\//i.test(a.value))).length,
        style: svg.querySelector('style')?.textContent ?? '',
        bodyShown: getComputedStyle(document.body).display !== 'none',
      };
    });
    assert.deepEqual({ ...found, style: undefined }, { pwned: null, forbidden: 0, handlers: 0, jsLinks: 0, style: undefined, bodyShown: true });
    assert.doesNotMatch(found.style, /@import/);
    assert.match(found.style, /:where\(\.mimic-drawing\) \.vessel/);
    assert.deepEqual(requests.filter((u) => u.includes('127.0.0.1:9/')), [], 'nothing loaded from outside the drawing');
    // The bindings still work on what is left.
    checkLevelShape(await readLevel(page));
    assert.deepEqual(errors, []);
  });
});

/** For the hostile drawing: only that the liquid stays inside its full-scale box. */
function checkLevelShape(r: LevelReading): void {
  assert.ok(r.height >= 0 && r.height <= 76 && Math.abs(r.y + r.height - 88) < 0.02, JSON.stringify(r));
}
