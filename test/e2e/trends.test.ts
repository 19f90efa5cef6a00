/**
 * Trends, the CSV export and the cycle report in a real browser against
 * the running system with a historian (simulated PLC at 600×: a program 1
 * cycle in 22.5 s, its aerated fill in the first 6 s): the level rising
 * during aerated fill, read from the cursor legend; a drag on the chart
 * that asks the historian again for a narrower period; the export button
 * that streams and saves a CSV with the pens' header and rows; the live
 * tail; the cycle report listing a finished cycle; the layout at 1280 and
 * 360 px (screenshots in .artifacts/).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { TagValue } from '../../src/tags/types.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { ARTIFACTS, TestPlant, buildHmi, hasChromium, launchBrowser, openPage, removeDir, screenshot } from './harness.js';

interface HistoryAnswer {
  from: number;
  to: number;
  series: { tag: string; resolution: string; t: number[]; v: (number | null)[] }[];
}

describe('trends, export and the cycle report in the browser', { timeout: 300_000 }, () => {
  let hmiDir: string | undefined;
  let plant: TestPlant | undefined;
  let browser: Browser | undefined;
  /** The aerated fills seen on the bus: [start, end] (end undefined while filling). */
  const fills: [number, number | undefined][] = [];

  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    // Watching trends and reports needs only a viewer.
    plant = await TestPlant.start(hmiDir, { historian: true, identify: () => ({ user: 'vera', role: 'viewer' }) });
    await plant.bus.subscribeValues((values: TagValue[]) => {
      for (const v of values) {
        if (v.tag !== 'phase.fill' || v.quality !== 'Good') continue;
        const open = fills[fills.length - 1];
        if (v.value === true && (!open || open[1] !== undefined)) fills.push([v.sourceTs, undefined]);
        if (v.value === false && open && open[1] === undefined) open[1] = v.sourceTs;
      }
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await plant?.close();
    if (hmiDir) removeDir(hmiDir);
  });

  /** The plot area's box on the page, and the x position of a time in it. */
  async function plotBox(page: Page): Promise<{ left: number; top: number; width: number; height: number }> {
    const box = await page.locator('.trend-canvas .u-over').boundingBox();
    assert.ok(box, 'the chart has a plot area');
    return { left: box.x, top: box.y, width: box.width, height: box.height };
  }

  const legendValue = async (page: Page, tag: string): Promise<number> => Number(await page.locator(`[data-pen="${tag}"]`).getAttribute('data-value'));

  it('the level rises during aerated fill (cursor legend); a drag zooms and asks for finer data; the export saves a CSV', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    // One whole aerated fill recorded (it lasts 6 s at 600×, every 22.5 s).
    const [a, b] = await waitFor('a whole aerated fill', () => fills.find((f): f is [number, number] => f[1] !== undefined && f[1] - f[0] > 3000), 40_000);
    const from = a - 2000;
    const to = b + 2000;
    const o = await openPage(browser!, `${plant!.url}#/trends?pens=reactor.level,reactor.oxygen,phase.fill&from=${from}&to=${to}`);
    t.after(() => o.context.close());
    const { page } = o;
    const histories: HistoryAnswer[] = [];
    page.on('response', (r) => {
      if (/\/api\/history\?/.test(r.url()) && r.ok()) void r.json().then((j: HistoryAnswer) => histories.push(j));
    });
    await page.getByRole('heading', { level: 1, name: 'Trends' }).waitFor();
    await page.locator('.trend-status[data-status="ready"]').waitFor();
    assert.match((await page.locator('.trend-status').textContent()) ?? '', /points: every recorded change/);

    // The cursor early and late in the fill: the legend reads the level at each time, and it rose.
    const box = await plotBox(page);
    const x = (ts: number): number => box.left + ((ts - from) / (to - from)) * box.width;
    const y = box.top + box.height / 2;
    await page.mouse.move(x(a + 0.15 * (b - a)), y);
    await page.getByTestId('cursor-time').filter({ hasText: /^At \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/ }).waitFor();
    const early = await legendValue(page, 'reactor.level');
    assert.equal(await page.locator('[data-pen="phase.fill"] .legend-value').textContent(), 'ON');
    assert.equal(await page.locator('[data-pen="reactor.level"]').getAttribute('data-quality'), 'good');
    await page.mouse.move(x(a + 0.9 * (b - a)), y);
    await waitFor('the legend at the later time', async () => (await legendValue(page, 'reactor.level')) !== early, 3000);
    const late = await legendValue(page, 'reactor.level');
    assert.ok(late > early + 10, `the level rose during aerated fill: ${early} → ${late} %`);
    assert.match((await page.locator('[data-pen="reactor.level"] .legend-value').textContent()) ?? '', /^\d+\.\d\u00a0%$/);
    await screenshot(page, 'trends-1280.png');

    // Drag across the middle of the fill: a new question to the historian, for that narrower period, with points in the answer.
    const before = histories.length;
    const z0 = a + 0.3 * (b - a);
    const z1 = a + 0.6 * (b - a);
    await page.mouse.move(x(z0), y);
    await page.mouse.down();
    await page.mouse.move(x((z0 + z1) / 2), y, { steps: 4 });
    await page.mouse.move(x(z1), y, { steps: 4 });
    await page.mouse.up();
    await page.waitForURL(/#\/trends\?pens=reactor\.level,reactor\.oxygen,phase\.fill&from=[^&]+&to=/);
    const zoomed = await waitFor('the history of the zoomed period', () => histories.slice(before).find((h) => h.to - h.from < (to - from) / 2), 5000);
    assert.ok(Math.abs(zoomed.from - z0) < (b - a) * 0.05 && Math.abs(zoomed.to - z1) < (b - a) * 0.05, `asked for about the dragged period: ${zoomed.from}..${zoomed.to} for ${z0}..${z1}`);
    const level = zoomed.series.find((s) => s.tag === 'reactor.level')!;
    assert.ok(level.t.length > 3, `points in the zoomed answer: ${level.t.length}`);
    assert.ok(level.t.every((ts) => ts >= zoomed.from - 60_000 && ts <= zoomed.to));
    await page.locator('.trend-status[data-status="ready"]').waitFor();
    const url = new URL(page.url());
    const q = new URLSearchParams(url.hash.replace(/^#\/trends\?/, ''));
    assert.equal(Date.parse(q.get('from')!), zoomed.from);

    // Zoom out: twice as long again, asked again.
    const n = histories.length;
    await page.getByRole('button', { name: 'Zoom out' }).click();
    await waitFor('the zoomed-out history', () => histories.slice(n).find((h) => Math.abs(h.to - h.from - 2 * (zoomed.to - zoomed.from)) <= 2), 5000);

    // Export the period shown: streamed, saved with the server's file name, the pens' header, the rows of the period.
    await page.locator('.trend-status[data-status="ready"]').waitFor();
    const shown = new URLSearchParams(new URL(page.url()).hash.replace(/^#\/trends\?/, ''));
    const [ef, et] = [Date.parse(shown.get('from')!), Date.parse(shown.get('to')!)];
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export this period as CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^planta-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.csv$/);
    const file = join(ARTIFACTS, 'trend-export.csv');
    await download.saveAs(file);
    const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
    assert.equal(lines[0], 'time,reactor.level [%],reactor.level quality,reactor.oxygen [mg/L],reactor.oxygen quality,phase.fill,phase.fill quality');
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.ok(rows.length > 5, `rows exported: ${rows.length}`);
    for (const r of rows) {
      assert.equal(r.length, 7);
      const ts = Date.parse(r[0]!);
      assert.ok(ts >= ef && ts < et, `${r[0]} within the period`);
    }
    assert.ok(rows.some((r) => r[1] !== '' && r[2] === 'Good'), 'level values with their quality');
    await page.getByRole('status').filter({ hasText: /^✓ Saved planta-.*\.csv: \d+ rows/ }).waitFor();
    assert.deepEqual(o.errors, []);
  });

  it('the live tail: the window slides to now and streamed values are appended', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, `${plant!.url}#/trends`);
    t.after(() => o.context.close());
    const { page } = o;
    // The default pens: the overview's bars. The URL names them and the period, to be bookmarked.
    await page.waitForURL(/#\/trends\?pens=reactor\.level,reactor\.oxygen,reactor\.turbidity&last=hour$/);
    await page.getByRole('heading', { level: 2, name: /^Live: / }).waitFor();
    await page.locator('.trend-status[data-status="ready"]').waitFor();
    // Off the chart, the legend shows the latest values; they follow the stream (oxygen moves all the time, the level only while filling or discharging).
    const oxygen = page.locator('[data-pen="reactor.oxygen"]');
    const first = await oxygen.getAttribute('data-value');
    await waitFor('a newer oxygen value in the legend', async () => (await oxygen.getAttribute('data-value')) !== first, 20_000);
    assert.equal(await oxygen.getAttribute('data-quality'), 'good');
    const status = await page.getByTestId('historian-status').textContent();
    assert.match(status ?? '', /^Historian: [\d.]+\u00a0(kB|MB) on disk, [\d,]+ samples since .*; kept: raw 90 days, minute rollups 2 years, hourly for ever\.$/);
    // The faceplate's trend links to the full trend of its tag.
    await page.goto(`${plant!.url}#/tags/reactor.oxygen`);
    await page.getByRole('link', { name: 'Full trend ›' }).click();
    await page.waitForURL(/#\/trends\?pens=reactor\.oxygen&last=hour$/);
    await page.locator('[data-pen="reactor.oxygen"]').waitFor();
    assert.equal(await page.locator('[data-pen]').count(), 1);
    assert.deepEqual(o.errors, []);
  });

  it('the cycle report lists a finished cycle with its phases, figures and anomalies', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    // A whole cycle behind us: a fill that started after another one's start.
    await waitFor('a finished cycle', () => fills.length >= 2, 40_000);
    const o = await openPage(browser!, `${plant!.url}#/cycles`);
    t.after(() => o.context.close());
    const { page } = o;
    await page.waitForURL(/#\/cycles\?last=week$/);
    await page.getByRole('heading', { level: 1, name: 'Cycle report' }).waitFor();
    const finished = page.locator('tr.cycle-row:not(.is-running)');
    await waitFor(
      'a finished cycle on the page',
      async () => {
        if ((await finished.count()) > 0) return true;
        await page.getByRole('button', { name: 'Refresh' }).click();
        return false;
      },
      30_000,
      1000,
    );
    const row = finished.first();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /Program 1/);
    for (const h of ['Aerated fill', 'Aeration', 'Settling', 'Discharge', 'O₂ mean / min', 'Turbidity at discharge', 'Volume', 'Alarms', 'Anomalies']) {
      await page.getByRole('columnheader', { name: h, exact: true }).waitFor();
    }
    assert.match(text, /plan 1 h 00 min/, 'the planned fill of program 1');
    assert.match(text, /mean \d+\.\d\d\u00a0mg\/Lmin \d+\.\d\d\u00a0mg\/L/);
    assert.match(text, /mg\/L/);
    // Anomalies say so in words, with a mark (at 600× every phase is far under plan, so a cycle may have none).
    const flagged = await row.getAttribute('data-anomalies');
    if (flagged !== '0') assert.match(text, /▲ ANOMALY /);
    else assert.match(text, /✓ none/);
    const csv = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    assert.match(csv ?? '', /^api\/cycles\.csv\?from=\d+&to=\d+$/);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 1280, 'no horizontal scrolling at 1280 px');
    await screenshot(page, 'cycles-1280.png');
    assert.deepEqual(o.errors, []);
  });

  it('at 360 px: the chart, the legend and the cycle report fit the width', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, `${plant!.url}#/trends?pens=reactor.level,reactor.oxygen,reactor.turbidity,phase.aeration&last=hour`, { width: 360, height: 780 });
    t.after(() => o.context.close());
    const { page } = o;
    await page.locator('.trend-canvas canvas').waitFor();
    await page.locator('.trend-status[data-status="ready"]').waitFor();
    const chart = await page.locator('.trend-canvas').boundingBox();
    assert.ok(chart && chart.x >= 0 && chart.x + chart.width <= 360, `the chart fits: ${JSON.stringify(chart)}`);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360, 'no horizontal scrolling');
    await screenshot(page, 'trends-360.png');
    await page.goto(`${plant!.url}#/cycles?last=day`);
    await page.locator('tr.cycle-row').first().waitFor({ timeout: 30_000 });
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360, 'no horizontal scrolling on the cycle report');
    await screenshot(page, 'cycles-360.png');
    assert.deepEqual(o.errors, []);
  });
});
