/**
 * bench:hmi — the HMI's first load in Chromium (playwright-core, Debian's
 * /usr/bin/chromium, headless), cold cache (a new browser context each run),
 * against the SBR simulator through the poller and the in-memory bus, all in
 * this process on 127.0.0.1. Measured per run:
 *   bytes       what came over the wire (Resource Timing transferSize: bodies
 *               and headers) for the page and every request finished when the
 *               first live value is on screen; split into the HMI's files
 *               (page, scripts, styles) and the API (JSON). The SSE stream is
 *               still open then and not counted.
 *   live        navigation start to the first animation frame after the level
 *               bar got its first value (aria-valuenow), in the page's clock.
 *   reload      bytes of a second load in the same context (warm cache).
 * Servers, taking turns in each of ROUNDS (3) rounds, on the same plant:
 *   reference   the same build without its .br/.gz files: the files go out as
 *               they are, as the server sent them before issue 21 (then also
 *               with max-age=0; a cold load does not read the cache headers)
 *   Planta      the build as `npm run build:hmi` writes it (brotli, gzip)
 * Figures are medians of the rounds. Targets (issue 21): first load ≤ 100 kB
 * compressed; first live value ≤ 1 s after navigation on localhost.
 *
 * usage: npm run bench:hmi [-- --rounds 3]
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { AlarmEngine } from '../src/alarms/engine.js';
import { AlarmStore } from '../src/alarms/store.js';
import { MemoryBus } from '../src/bus/memory.js';
import { loadConfig } from '../src/config/load.js';
import { Poller } from '../src/poller/poller.js';
import { Simulator } from '../src/sim/simulator.js';
import { createWebServer } from '../src/web/server.js';
import { buildHmi } from '../test/helpers/hmi-build.js';
import { reportGoal } from './goal.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const ROUNDS = Number(values.rounds);
const TARGET_BYTES = 100_000;
const TARGET_LIVE_MS = 1000;
const LEVEL_BAR = '.abar[data-tag="reactor.level"] [role="progressbar"][aria-valuenow]';

/** In the page before its own scripts: notes the first frame drawn after the level bar has a value. */
const WATCH_FIRST_VALUE = `
  new MutationObserver((_, obs) => {
    if (!document.querySelector(${JSON.stringify(LEVEL_BAR)})) return;
    obs.disconnect();
    requestAnimationFrame(() => { window.__firstLive = performance.now(); });
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
`;

interface Entry {
  name: string;
  transferSize: number;
}

interface Run {
  files: number;
  api: number;
  liveMs: number;
  reload: number;
}

/** Every request finished so far (the page itself first), as Resource Timing sees it. */
const ENTRIES = `[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map((e) => ({ name: e.name, transferSize: e.transferSize }))`;

function split(entries: Entry[]): { files: number; api: number } {
  let files = 0;
  let api = 0;
  for (const e of entries) {
    if (new URL(e.name).pathname.startsWith('/api/')) api += e.transferSize;
    else files += e.transferSize;
  }
  return { files, api };
}

async function measure(browser: Browser, url: string): Promise<Run> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
  try {
    await context.addInitScript(WATCH_FIRST_VALUE);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction('window.__firstLive !== undefined', undefined, { timeout: 30_000 });
    const liveMs = (await page.evaluate('window.__firstLive')) as number;
    const first = split((await page.evaluate(ENTRIES)) as Entry[]);
    await page.reload();
    await page.waitForFunction('window.__firstLive !== undefined', undefined, { timeout: 30_000 });
    const again = split((await page.evaluate(ENTRIES)) as Entry[]);
    return { ...first, liveMs, reload: again.files + again.api };
  } finally {
    await context.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kB = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

async function serve(bus: MemoryBus, config: ReturnType<typeof loadConfig>, hmiDir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const { app } = await createWebServer({ bus, config, hmiDir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`, close: () => app.close() };
}

console.log(`bench:hmi — ${ROUNDS} rounds, Chromium headless, cold cache, 1440×900, node ${process.version}`);
const built = buildHmi();
const plain = mkdtempSync(join(tmpdir(), 'planta-hmi-plain-'));
cpSync(built, plain, { recursive: true });
for (const dir of [plain, join(plain, 'assets')]) for (const f of readdirSync(dir)) if (/\.(?:br|gz)$/.test(f)) rmSync(join(dir, f));

const sim = new Simulator({ port: 0, speed: 1, autostart: true });
const simPort = (await sim.start()).port;
const config = loadConfig(new URL('../config/sbr-plant.yaml', import.meta.url).pathname);
Object.assign(config.devices[0]!, { port: simPort });
const bus = new MemoryBus();
const store = new AlarmStore(':memory:');
const alarms = new AlarmEngine({ bus, config, store });
await alarms.start();
const poller = new Poller(config, { bus });
await poller.start();
const servers = { reference: await serve(bus, config, plain), Planta: await serve(bus, config, built) };
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] });
const runs: Record<keyof typeof servers, Run[]> = { reference: [], Planta: [] };
try {
  // One unmeasured load each: Chromium's own first start, the server's first files from disk.
  for (const s of Object.values(servers)) await measure(browser, s.url);
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of ['reference', 'Planta'] as const) {
      const run = await measure(browser, servers[name].url);
      runs[name].push(run);
      console.log(`  round ${r + 1} ${name.padEnd(9)} files ${kB(run.files)}  api ${kB(run.api)}  first live value ${run.liveMs.toFixed(0)} ms  reload ${kB(run.reload)}`);
    }
  }
} finally {
  await browser.close();
  for (const s of Object.values(servers)) await s.close();
  await poller.stop();
  await alarms.stop();
  store.close();
  await sim.stop();
  await bus.close();
  rmSync(built, { recursive: true, force: true });
  rmSync(plain, { recursive: true, force: true });
}

console.log('\nmedians               files      api      total    first live value   reload (warm)');
const result: Record<string, { total: number; live: number }> = {};
for (const name of ['reference', 'Planta'] as const) {
  const rs = runs[name];
  const files = median(rs.map((r) => r.files));
  const api = median(rs.map((r) => r.api));
  const total = median(rs.map((r) => r.files + r.api));
  const live = median(rs.map((r) => r.liveMs));
  result[name] = { total, live };
  console.log(`  ${name.padEnd(18)}${kB(files).padStart(9)}${kB(api).padStart(9)}${kB(total).padStart(11)}${`${live.toFixed(0)} ms`.padStart(19)}${kB(median(rs.map((r) => r.reload))).padStart(16)}`);
}
const p = result.Planta!;
const ref = result.reference!;
console.log(`\n  ratios to the reference: bytes ${(p.total / ref.total).toFixed(2)}×, first live value ${(p.live / ref.live).toFixed(2)}×`);
console.log('\nsummary');
const verdicts = [
  reportGoal('hmi first load', `≤ ${kB(TARGET_BYTES)}`, `${kB(p.total)} (${(p.total / ref.total).toFixed(2)}× the reference)`, p.total <= TARGET_BYTES),
  reportGoal('hmi first live value', `≤ ${TARGET_LIVE_MS} ms`, `${p.live.toFixed(0)} ms (${(p.live / ref.live).toFixed(2)}× the reference)`, p.live <= TARGET_LIVE_MS),
];
process.exitCode = verdicts.every(Boolean) ? 0 : 1;
