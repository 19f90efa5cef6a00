/**
 * Spanish (es-AR) and English in the browser: a Spanish browser gets the
 * Spanish screens (and `<html lang>`), an English one the English screens;
 * the switch in the top bar changes the language at once and is remembered;
 * every display, at 360 and 1440 px, shows no text of the English catalogue
 * (nor an English configured text) once Spanish is chosen, and no overflow
 * from the longer Spanish words; numbers have a decimal comma; the day and
 * cycle reports print on A4 without the menus. Screenshots of the overview,
 * the mimic and the alarm summary in both languages go to docs/img/ with
 * PLANTA_UPDATE_DOCS=1 (to .artifacts/ otherwise).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { en } from '../../hmi/src/i18n/en.js';
import { esAR } from '../../hmi/src/i18n/es-AR.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import type { ServiceNode } from '../../src/web/protocol.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { ROOT, TestPlant, buildHmi, hasChromium, launchBrowser, openPage, removeDir, screenshot } from './harness.js';

const WIDTHS = [360, 1440];

/** The servers the Devices page's System section names: one moved by a failover, one that can fail over, one alone. */
const NODES: ServiceNode[] = [
  { role: 'bus', engine: 'redis', node: '10.0.0.2:6379', failover: true, switches: 1, switchedAt: '2026-12-07T13:42:05.000Z' },
  { role: 'users', engine: 'postgresql', node: '10.0.0.1:5432', failover: true, switches: 0 },
  { role: 'historian', engine: 'postgresql', node: '10.0.0.9:5432', failover: false, switches: 0 },
];

/** A moment as the HMI's ?at= takes it (ISO with the plant's offset, Buenos Aires: −03:00). */
function iso(ts: number): string {
  return `${new Date(ts - 3 * 3_600_000).toISOString().replace(/Z$/, '')}-03:00`;
}
const DOCS = process.env.PLANTA_UPDATE_DOCS === '1';

/** Every text leaf of a catalogue by its path (functions left out: their sentences are built with values). */
function strings(node: unknown, path = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof node === 'string') out.set(path, node);
  else if (typeof node === 'object' && node !== null) for (const [k, v] of Object.entries(node)) for (const [p, s] of strings(v, `${path}.${k}`)) out.set(p, s);
  return out;
}

/** The English texts a Spanish screen must not show: the catalogue's where Spanish differs, and the plant's English configured texts. */
function englishOnly(plantTexts: Record<string, string>): string[] {
  const es = strings(esAR);
  const out = new Set<string>();
  for (const [path, text] of strings(en)) if (es.get(path) !== text && /[A-Za-z]{2,}/.test(text)) out.add(text.trim());
  for (const [english, spanish] of Object.entries(plantTexts)) if (english !== spanish) out.add(english);
  return [...out];
}

/**
 * Visible texts of the page (text nodes, and accessible names and titles of elements) that are one of `forbidden`.
 * Source text, not a function: the TypeScript loader would wrap helpers in a function the page does not have.
 */
const UNTRANSLATED = (forbidden: string[]): string => `((forbidden) => {
  const bad = new Set(forbidden);
  const found = [];
  const shown = (el) => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = (n.textContent || '').trim();
    // Names, ids and codes (translate="no": a tag or event id, a quality code) are not words to translate.
    if (t && bad.has(t) && n.parentElement && !n.parentElement.closest('[translate="no"]') && (shown(n.parentElement) || n.parentElement.closest('.visually-hidden'))) found.push(t);
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
    for (const a of ['aria-label', 'title', 'placeholder']) {
      const t = (el.getAttribute(a) || '').trim();
      if (t && bad.has(t)) found.push(a + ': ' + t);
    }
  }
  return [...new Set(found)];
})(${JSON.stringify(forbidden)})`;

/** Wider than the viewport: text that does not fit a phone. */
const OVERFLOW = `(() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > w + 1) out.push('page ' + document.documentElement.scrollWidth + ' px');
  for (const el of document.querySelectorAll('.topbar *, .nav-link, .alarm-banner, h1, h2, .panel')) {
    const b = el.getBoundingClientRect();
    if (b.width > 0 && b.right > w + 1 && !el.closest('.mimic-scroll, table, .report-sheet, .trend-canvas')) out.push((el.className || el.tagName) + ' ' + Math.round(b.right) + ' px');
  }
  // A panel whose content is wider than it (a table pushed out by longer words), unless it scrolls by design.
  for (const el of document.querySelectorAll('.panel')) {
    if (el.scrollWidth > el.clientWidth + 1 && !el.querySelector('.mimic-scroll, .table-scroll, .trend-canvas') && getComputedStyle(el).overflowX === 'visible') out.push('panel ' + (el.getAttribute('aria-labelledby') || el.className) + ' ' + el.scrollWidth + ' > ' + el.clientWidth + ' px');
  }
  return out.slice(0, 10);
})()`;

/** The displays of the navigation, and the ones reached from them. */
const ROUTES = ['#/', '#/mimic', '#/alarms', '#/journal', '#/trends', '#/cycles', '#/report', '#/parameters', '#/tags', '#/tags/reactor.oxygen', '#/devices'];

async function spanishContext(browser: Browser, width: number): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, timezoneId: 'UTC', locale: 'es-AR' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|net::/.test(m.text())) errors.push(m.text());
  });
  return { context, page, errors };
}

async function settle(page: Page, route: string): Promise<void> {
  await page.locator('#page-title').waitFor();
  if (route === '#/') await page.waitForSelector('.abar [role="progressbar"][aria-valuenow]');
  if (route === '#/mimic') await page.waitForSelector('.mimic-drawing svg');
  if (route === '#/alarms') await page.locator('table.alarm-table tbody tr').first().waitFor();
  if (route === '#/report') await page.locator('.report-sheet .report-section').first().waitFor();
  if (route === '#/cycles') await page.locator('#h-cycles').filter({ hasNotText: /Leyendo|Reading/ }).waitFor();
}

/** A screenshot for the operator guide (docs/img with PLANTA_UPDATE_DOCS=1), always also in .artifacts. */
async function docShot(page: Page, name: string): Promise<void> {
  const path = await screenshot(page, name);
  if (!DOCS) return;
  mkdirSync(join(ROOT, 'docs/img'), { recursive: true });
  copyFileSync(path, join(ROOT, 'docs/img', name));
}

describe('Spanish and English', { timeout: 600_000 }, () => {
  let hmiDir: string | undefined;
  let plant: TestPlant | undefined;
  let browser: Browser | undefined;
  /** The plant's configured texts: English → Spanish. */
  const plantTexts: Record<string, string> = {};

  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    plant = await TestPlant.start(hmiDir, { identify: () => ({ user: 'ana', role: 'operator' }), historian: true, nodes: () => NODES });
    browser = await launchBrowser();
    // Alarms on screen: the emergency stop (critical), a high level, a pump failure.
    for (const f of ['estop', 'high-level-outlet', 'inlet-pump-1']) plant.sim!.plant!.setFault(FAULTS[f]!, true);
    await waitFor('three alarms', async () => (await plant!.bus.alarmStates()).filter((a) => a.state === 'unack').length >= 3, 10_000);
    const texts = plant.config.texts as Record<string, Record<string, Record<string, unknown>>>;
    for (const [name, a] of Object.entries(plant.config.alarms)) {
      const es = (texts.alarms?.[name]?.message as { es?: string } | undefined)?.es;
      if (es) plantTexts[a.message] = es;
    }
    for (const t of plant.config.tags) {
      const es = (texts.tags?.[t.name]?.description as { es?: string } | undefined)?.es;
      if (es) plantTexts[t.description] = es;
    }
  });

  after(async () => {
    await browser?.close();
    await plant?.close();
    if (hmiDir) removeDir(hmiDir);
  });

  it('a Spanish browser gets Spanish, an English one English; <html lang> follows', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const es = await spanishContext(browser!, 1440);
    t.after(() => es.context.close());
    await es.page.goto(plant!.url);
    await settle(es.page, '#/');
    assert.equal(await es.page.evaluate(() => document.documentElement.lang), 'es-AR');
    await es.page.getByRole('navigation').getByRole('link', { name: 'Alarmas' }).waitFor();
    await es.page.getByRole('heading', { name: /Alarmas activas/ }).waitFor();
    await es.page.getByText('Parada de emergencia accionada').first().waitFor();
    assert.deepEqual(es.errors, []);

    const english = await openPage(browser!, plant!.url, { width: 1440, height: 900 });
    t.after(() => english.context.close());
    await settle(english.page, '#/');
    assert.equal(await english.page.evaluate(() => document.documentElement.lang), 'en');
    await english.page.getByRole('navigation').getByRole('link', { name: 'Alarms' }).waitFor();
    await english.page.getByText('Emergency stop pressed').first().waitFor();
    assert.deepEqual(english.errors, []);
  });

  it('the switch in the top bar changes the language at once and is remembered in this browser', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser!, plant!.url, { width: 360, height: 800 });
    t.after(() => o.context.close());
    const { page } = o;
    await settle(page, '#/');
    const spanishLoads = (): string[] => o.requests.filter((u) => u.endsWith('api/plant/texts') || /\/es-AR-[^/]*\.js$/.test(u));
    assert.deepEqual(spanishLoads(), [], 'an English page loads neither the Spanish catalogue nor the Spanish texts');
    const spanish = page.getByRole('button', { name: 'Español' });
    assert.equal(await spanish.getAttribute('aria-pressed'), 'false');
    await spanish.click();
    await page.getByRole('navigation').getByRole('link', { name: 'General' }).waitFor();
    // The plant's own texts follow (loaded with the switch): the alarm's message, the page's title.
    await page.getByText('Parada de emergencia accionada').first().waitFor();
    assert.equal(spanishLoads().length, 2, 'the Spanish catalogue and texts, once');
    await page.getByRole('heading', { level: 1, name: 'Reactor SBR' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Español' }).getAttribute('aria-pressed'), 'true');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'es-AR');
    assert.equal(await page.evaluate(() => localStorage.getItem('planta.lang')), 'es-AR');
    await page.reload();
    await settle(page, '#/');
    await page.getByRole('navigation').getByRole('link', { name: 'Alarmas' }).waitFor();
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('navigation').getByRole('link', { name: 'Alarms' }).waitFor();
    await page.getByText('Emergency stop pressed').first().waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('planta.lang')), 'en');
    assert.deepEqual(o.errors, []);
  });

  it('numbers in Spanish have a decimal comma, times 24-hour in the plant’s zone', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const es = await spanishContext(browser!, 1440);
    t.after(() => es.context.close());
    await es.page.goto(plant!.url);
    await settle(es.page, '#/');
    const oxygen = (await es.page.locator('.abar[data-tag="reactor.oxygen"] .abar-value').textContent())!;
    assert.match(oxygen, /^\d+,\d\d\u00a0mg\/L$/, oxygen);
    const level = (await es.page.locator('.abar[data-tag="reactor.level"] .abar-value').textContent())!;
    assert.match(level, /^\d+,\d\u00a0%$/, level);
    assert.match((await es.page.locator('.plant-clock .num').textContent())!, /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/);
    await es.page.goto(`${plant!.url}#/alarms`);
    await settle(es.page, '#/alarms');
    // Dates day/month/year, 24-hour, the zone named (the plant's, Buenos Aires).
    // (The zone as Intl names it in Spanish: ART, or GMT-3.)
    assert.match((await es.page.locator('.col-since time').first().textContent())!, /^\d\d\/\d\d\/\d{4} ([01]\d|2[0-3]):\d\d:\d\d (ART|GMT-3)$/);
  });

  it('a 360 px phone in Spanish still holds banner, alarms, measurements and the current step on its first screen (740 px)', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const es = await spanishContext(browser!, 360);
    t.after(() => es.context.close());
    const { page } = es;
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(plant!.url);
    await settle(page, '#/');
    const glance = page.getByRole('region', { name: 'De un vistazo' });
    await page.waitForFunction(() => document.querySelectorAll('.glance-reading .glance-value').length === 3 && [...document.querySelectorAll('.glance-reading .glance-value')].every((e) => /\d/.test(e.textContent ?? '')));
    const parts = [
      page.getByRole('link', { name: /abrir el resumen de alarmas$/ }),
      glance.locator('.glance-head'),
      ...[0, 1, 2].map((i) => glance.locator('.glance-alarm').nth(i)),
      ...['reactor.level', 'reactor.oxygen', 'reactor.turbidity'].map((tag) => glance.locator(`.glance-reading[data-tag="${tag}"]`)),
      glance.locator('.phase-now'),
    ];
    let last = 0;
    for (const [i, p] of parts.entries()) {
      const b = (await p.boundingBox())!;
      assert.ok(b.y >= last - 1, `part ${i} comes after the one before`);
      assert.ok(b.y + b.height <= 740, `part ${i} ends at ${b.y + b.height} px, below the first screen`);
      last = b.y + b.height;
    }
  });

  for (const width of WIDTHS) {
    it(`every display in Spanish at ${width} px: no English text of the catalogue or the plant, nothing wider than the screen`, async (t) => {
      if (!needPeer(t, hasChromium, 'chromium')) return;
      const forbidden = englishOnly(plantTexts);
      assert.ok(forbidden.includes('Acknowledge') && forbidden.includes('Emergency stop pressed'), 'the check knows English words');
      const es = await spanishContext(browser!, width);
      t.after(() => es.context.close());
      const found: string[] = [];
      for (const route of ROUTES) {
        await es.page.goto(`${plant!.url}${route}`);
        await settle(es.page, route);
        for (const s of (await es.page.evaluate(UNTRANSLATED(forbidden))) as string[]) found.push(`${route}: ${s}`);
        for (const s of (await es.page.evaluate(OVERFLOW)) as string[]) found.push(`${route}: overflow ${s}`);
      }
      assert.deepEqual(found, []);
      assert.deepEqual(es.errors, []);
    });
  }

  for (const width of WIDTHS) {
    it(`the replay in Spanish at ${width} px: its frame, timeline and start form say it is not live, with no English text; the System section in Spanish`, async (t) => {
      if (!needPeer(t, hasChromium, 'chromium')) return;
      const forbidden = englishOnly(plantTexts);
      const es = await spanishContext(browser!, width);
      t.after(() => es.context.close());
      const { page } = es;
      const found: string[] = [];
      const check = async (where: string): Promise<void> => {
        for (const s of (await page.evaluate(UNTRANSLATED(forbidden))) as string[]) found.push(`${where}: ${s}`);
        for (const s of (await page.evaluate(OVERFLOW)) as string[]) found.push(`${where}: overflow ${s}`);
      };
      const at = iso(Date.now() - 2000);
      for (const route of ['#/', '#/mimic', '#/alarms']) {
        await page.goto(`${plant!.url}${route}?at=${encodeURIComponent(at)}`);
        const frame = page.getByTestId('replay-frame');
        await frame.waitFor();
        assert.match((await frame.textContent())!, /^REPRODUCCIÓN \d\d:\d\d:\d\d \S+ — no es en vivo$/);
        await page.getByRole('button', { name: 'Volver a en vivo' }).waitFor();
        await page.getByRole('region', { name: 'Línea de tiempo de la reproducción' }).waitFor();
        await page.locator('.replay-timeline').getByText(/En pausa|Reproduciendo a/).waitFor();
        if (route === '#/mimic') {
          // The drawing's own labels and names (its data-es, data-es-label) in Spanish too.
          await page.locator('.mimic-drawing text').filter({ hasText: /^Pozo de entrada$/ }).waitFor();
          await page.getByRole('button', { name: /^Bomba de entrada 1: / }).waitFor();
          assert.equal(await page.locator('.mimic-drawing text').filter({ hasText: /^Inlet well$/ }).count(), 0);
        }
        await check(`${route}?at=`);
      }
      await page.getByRole('button', { name: 'Volver a en vivo' }).click();
      await page.getByTestId('replay-frame').waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Reproducir la planta en un momento pasado' }).click();
      await page.getByRole('form', { name: 'Reproducir la planta en un momento' }).waitFor();
      await check('replay start form');
      await page.goto(`${plant!.url}#/journal`);
      await page.getByRole('columnheader', { name: 'Reproducción' }).waitFor();
      await page.getByRole('link', { name: /^Reproducir la planta desde / }).first().waitFor();
      await check('#/journal');
      await page.goto(`${plant!.url}#/devices`);
      const system = page.getByRole('region', { name: 'Sistema' });
      await system.getByRole('columnheader', { name: 'Último cambio' }).waitFor();
      assert.match((await system.getByRole('row', { name: /Datos en vivo y comandos/ }).textContent()) ?? '', /Redis 10\.0\.0\.2:6379en este servidor desde .+ \(1 conmutación desde el arranque\)/);
      assert.match((await system.getByRole('row', { name: /Usuarios y sesiones/ }).textContent()) ?? '', /sin conmutaciones desde el arranque/);
      assert.match((await system.getByRole('row', { name: /Histórico/ }).textContent()) ?? '', /un solo servidor \(sin conmutación\)/);
      await check('#/devices');
      assert.deepEqual(found, []);
      assert.deepEqual(es.errors, []);
    });
  }

  it('the reports print on A4 without the menus, in both languages', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    // A finished cycle in the historian (program 1 takes 22.5 s at 600×), for the cycle report.
    await waitFor('a finished cycle', async () => (await plant!.cycles!.cycles(Date.now() - 3_600_000, Date.now())).some((c) => c.end !== null), 90_000);
    const done = (await plant!.cycles!.cycles(Date.now() - 3_600_000, Date.now())).find((c) => c.end !== null)!;
    for (const lang of ['es-AR', 'en'] as const) {
      const o = lang === 'en' ? await openPage(browser!, `${plant!.url}#/report`, { width: 1440, height: 900 }) : await spanishContext(browser!, 1440);
      t.after(() => o.context.close());
      const { page } = o;
      if (lang === 'es-AR') await page.goto(`${plant!.url}#/report`);
      await settle(page, '#/report');
      await page.getByRole('heading', { level: 1, name: lang === 'en' ? /^Day report: / : /^Informe diario: / }).waitFor();
      await page.getByRole('heading', { name: lang === 'en' ? /^Alarms of the period/ : /^Alarmas del período/ }).waitFor();
      await page.getByRole('heading', { name: lang === 'en' ? /^Operator actions/ : /^Acciones de los operadores/ }).waitFor();
      await page.locator('.report-table').filter({ hasText: lang === 'en' ? 'Emergency stop pressed' : 'Parada de emergencia accionada' }).waitFor();
      // The cycle report: each phase against its plan.
      await page.goto(`${plant!.url}#/report?cycle=${done.start}`);
      await page.locator('#h-report-phases').waitFor();
      assert.equal(await page.locator('.report-table [data-phase]').count(), done.phases.length);
      await page.getByRole('rowheader', { name: lang === 'en' ? 'Aeration' : 'Aireación', exact: true }).waitFor();

      await page.emulateMedia({ media: 'print' });
      const printed = await page.evaluate(() => ({
        topbar: getComputedStyle(document.querySelector('.topbar')!).display,
        banners: getComputedStyle(document.querySelector('.banners')!).display,
        tools: getComputedStyle(document.querySelector('.report-tools')!).display,
        background: getComputedStyle(document.body).backgroundColor,
        color: getComputedStyle(document.querySelector('.report-sheet h1')!).color,
      }));
      assert.deepEqual(printed, { topbar: 'none', banners: 'none', tools: 'none', background: 'rgb(255, 255, 255)', color: 'rgb(0, 0, 0)' });
      // A4 (210 mm) less 12 mm margins: 186 mm = 703 px at 96 dpi. Printed at that width, nothing is wider.
      await page.setViewportSize({ width: 703, height: 1000 });
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, sheet: document.querySelector('.report-sheet')!.scrollWidth }));
      assert.ok(widths.page <= 703 && widths.sheet <= 703, JSON.stringify(widths));
      const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
      const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
      assert.equal(pages, 1, 'the cycle report is one A4 page');
      await screenshot(page, `report-cycle-print-${lang}.png`);
      await page.emulateMedia({ media: 'screen' });
      assert.deepEqual(o.errors, []);
    }
  });

  it('screenshots of the overview, the mimic and the alarm summary in both languages', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const shots: [string, string][] = [
      ['#/', 'overview'],
      ['#/mimic', 'mimic'],
      ['#/alarms', 'alarms'],
    ];
    for (const width of WIDTHS) {
      for (const lang of ['es', 'en'] as const) {
        const o = lang === 'en' ? await openPage(browser!, plant!.url, { width, height: 900 }) : await spanishContext(browser!, width);
        t.after(() => o.context.close());
        for (const [route, name] of shots) {
          await o.page.goto(`${plant!.url}${route}`);
          await settle(o.page, route);
          await docShot(o.page, `${name}-${lang}${width === 360 ? '-360' : ''}.png`);
        }
        assert.deepEqual(o.errors, []);
      }
    }
  });
});
