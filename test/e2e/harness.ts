/**
 * The whole system for browser tests, in this process and on free ports: the
 * SBR simulator, the poller, the in-memory bus, the alarm engine (journal in
 * an in-memory SQLite store), when asked an in-memory historian, and the web
 * server serving a fresh build of the HMI; plus Debian's Chromium driven by
 * playwright-core. Everything started here is stopped by `close()`.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { type Browser, type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { type CycleReport, type Historian, openHistorian } from '../../src/historian/index.js';
import type { Identity } from '../../src/commands/prepare.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import type { Role } from '../../src/config/schema.js';
import type { NotificationsService } from '../../src/notify/remote.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import type { Auth } from '../../src/web/auth.js';
import type { ServiceNode } from '../../src/web/protocol.js';
import { createWebServer } from '../../src/web/server.js';
import type { StreamHubOptions } from '../../src/web/stream.js';
import { buildHmi } from '../helpers/hmi-build.js';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const ARTIFACTS = join(ROOT, '.artifacts');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export { buildHmi };

export function sbrConfig(simPort: number): PlantConfig {
  const config = loadConfig(join(ROOT, 'config/sbr-plant.yaml'));
  // Short timeouts keep the tests quick; the link-loss time is the old 3 s alarm delay, so a browser test on a loaded
  // machine (Chromium beside the plant on two cores) does not see a starved scan as a dead link. The bound itself is
  // tested in test/poller/link-health.test.ts.
  Object.assign(config.devices[0]!, { port: simPort, timeoutMs: 300, connectTimeoutMs: 500, linkLossMs: 3000, scanGroups: { fast: 200, settings: 1000 } });
  return config;
}

export interface PlantOptions {
  /** Simulated seconds per real second. Default 600 (program 1's cycle takes 22.5 s). */
  speed?: number;
  stream?: Omit<StreamHubOptions, 'bus' | 'tags' | 'log'>;
  /** Changes the configuration before the web server starts (e.g. another drawing). */
  adjust?: (config: PlantConfig) => void;
  /** Who makes each request to the web server (a test's stand-in for signing in); without it or `auth` every action is refused (401). */
  identify?: (req: FastifyRequest) => Identity | undefined;
  /** Real sign-in: users, sessions, CSRF, re-authentication (as `planta start`). */
  auth?: Auth;
  /** The simulated PLC starts program 1 at power-on. Default true (a running plant to watch). */
  autostart?: boolean;
  /** How long a select holds its device. Default the server's (10 s). */
  selectValidityMs?: number;
  /** How often the alarm engine checks delays and shelving expiries. Default 100 ms. */
  alarmTickMs?: number;
  /** Records the bus in an in-memory historian (trends, export, cycle report), as `planta start` does. Default false. */
  historian?: boolean;
  /** The notifier behind the Notifications page (the test attaches it to the plant's bus). */
  notifications?: NotificationsService;
  /** The servers the web node says it uses (/readyz, the Devices page's System section). */
  nodes?: () => ServiceNode[];
}

/**
 * A test's stand-in for signing in: requests from the test itself name their user in an
 * `x-test-user: name:role` header; the browser is whoever `visitor()` says at that moment.
 */
export function identifyBy(visitor: () => Identity | undefined): (req: FastifyRequest) => Identity | undefined {
  return (req) => {
    const h = req.headers['x-test-user'];
    if (typeof h !== 'string') return visitor();
    const [user, role] = h.split(':') as [string, Role];
    return { user, role };
  };
}

/** Simulator → poller → bus → alarm engine and web server; the simulator and the web server may be stopped and started again on the same port. */
export class TestPlant {
  sim: Simulator | undefined;
  web: Awaited<ReturnType<typeof createWebServer>> | undefined;
  readonly bus = new MemoryBus();
  poller: Poller | undefined;
  readonly alarmStore = new AlarmStore(':memory:');
  alarms: AlarmEngine | undefined;
  historian: Historian | undefined;
  cycles: CycleReport | undefined;
  config!: PlantConfig;
  simPort = 0;
  webPort = 0;

  private constructor(
    readonly hmiDir: string,
    private readonly options: PlantOptions,
  ) {}

  static async start(hmiDir: string, options: PlantOptions = {}): Promise<TestPlant> {
    const plant = new TestPlant(hmiDir, options);
    await plant.startSim();
    plant.config = sbrConfig(plant.simPort);
    options.adjust?.(plant.config);
    // The engine first, so it sees the poller's first values (as in `planta start`).
    plant.alarms = new AlarmEngine({ bus: plant.bus, config: plant.config, store: plant.alarmStore, tickMs: options.alarmTickMs ?? 100 });
    await plant.alarms.start();
    if (options.historian) {
      const h = openHistorian(plant.config, { path: ':memory:', alarmCount: (from, to) => plant.alarmStore.activations(from, to).length });
      plant.historian = h.historian;
      plant.cycles = h.cycles;
      await h.historian.attach(plant.bus);
    }
    plant.poller = new Poller(plant.config, { bus: plant.bus });
    await plant.poller.start();
    await plant.startWeb();
    return plant;
  }

  get url(): string {
    return `http://127.0.0.1:${this.webPort}/`;
  }

  /** Starts a simulator: on a free port the first time, then on the same port (a PLC coming back). */
  async startSim(): Promise<Simulator> {
    this.sim = new Simulator({ port: this.simPort, speed: this.options.speed ?? 600, autostart: this.options.autostart ?? true });
    this.simPort = (await this.sim.start()).port;
    return this.sim;
  }

  async stopSim(): Promise<void> {
    await this.sim?.stop();
    this.sim = undefined;
  }

  async startWeb(): Promise<void> {
    const o = this.options;
    this.web = await createWebServer({
      bus: this.bus,
      config: this.config,
      hmiDir: this.hmiDir,
      ...(this.alarms ? { alarms: this.alarms } : {}),
      ...(this.historian ? { historian: this.historian } : {}),
      ...(this.cycles ? { cycles: this.cycles } : {}),
      ...(o.stream ? { stream: o.stream } : {}),
      ...(o.identify ? { identify: o.identify } : {}),
      ...(o.auth ? { auth: o.auth } : {}),
      ...(o.selectValidityMs ? { selectValidityMs: o.selectValidityMs } : {}),
      ...(o.notifications ? { notifications: o.notifications } : {}),
      ...(o.nodes ? { nodes: o.nodes } : {}),
    });
    await this.web.app.listen({ host: '127.0.0.1', port: this.webPort });
    this.webPort = (this.web.app.server.address() as { port: number }).port;
  }

  async stopWeb(): Promise<void> {
    await this.web?.app.close();
    this.web = undefined;
  }

  async close(): Promise<void> {
    await this.stopWeb();
    await this.poller?.stop();
    await this.alarms?.stop();
    await this.historian?.close();
    this.alarmStore.close();
    await this.stopSim();
    await this.bus.close();
  }
}

/**
 * The usual setup of a browser suite: a fresh HMI build served by a simulated plant, and Chromium, started before the
 * suite's tests and closed after them (neither when Chromium is missing: the tests skip). Call it inside `describe`.
 */
export function plantInBrowser(options: PlantOptions = {}): { plant?: TestPlant; browser?: Browser } {
  const s: { plant?: TestPlant; browser?: Browser; hmiDir?: string } = {};
  before(async () => {
    if (!hasChromium) return;
    s.hmiDir = buildHmi();
    s.plant = await TestPlant.start(s.hmiDir, options);
    s.browser = await launchBrowser();
  });
  after(async () => {
    await s.browser?.close();
    await s.plant?.close();
    if (s.hmiDir) removeDir(s.hmiDir);
  });
  return s;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Errors the page reported (console errors and uncaught exceptions). */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
}

/** `init`: a script run in the page before its own (e.g. a stand-in for an API), as source text. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1280, height: 900 }, init?: string): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', locale: 'en-US' });
  context.setDefaultTimeout(15_000);
  if (init) await context.addInitScript(init);
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    // A refused connection while a server is deliberately down is expected, not an HMI error.
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|net::/.test(m.text())) errors.push(m.text());
  });
  await page.goto(url);
  return { context, page, errors, requests };
}

/** The whole page (from its top, so sticky banners sit where they belong), or only what the viewport shows (a dialog in view). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage });
  return path;
}

/** One element only (e.g. the alarm banner). */
export async function screenshotOf(target: Locator, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await target.screenshot({ path });
  return path;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Signs in on the HMI's sign-in page (open it at `#/login/…`) and waits for the session box to name the user. */
export async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.session-box').filter({ hasText: user }).waitFor();
}
