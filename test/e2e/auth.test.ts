/**
 * Signing in, in a real browser against the running system with real
 * users, sessions, CSRF tokens and re-authentication (as `planta start`):
 * a guest views but cannot act; sign-in (wrong, then right) and sign-out;
 * a critical command asks for the password again and a wrong one writes
 * nothing; an admin manages users and read-only tokens and reads the audit
 * trail; markup in a tag description and an alarm message stays text; and
 * where guests may not view, the sign-in page is all there is, saying how
 * to create the first admin on a fresh installation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { FAULTS } from '../../src/sim/sbr/map.js';
import { type Anonymous, createAuth } from '../../src/web/auth.js';
import { needPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { type OpenedPage, TestPlant, buildHmi, hasChromium, launchBrowser, openPage, removeDir, screenshot } from './harness.js';

const PASSWORDS = { ana: 'sludge-blanket-42', eve: 'clarifier-weir-77' };
const XSS_DESCRIPTION = '<img src=x onerror="window.__xss=1">Level <b>in</b> the reactor';
const XSS_MESSAGE = '<script>window.__xss=2</script>Inlet pump <i>1</i> failure';

interface Running {
  plant: TestPlant;
  store: AuthStore;
  browser: Browser;
}

/**
 * The system with real sign-in for one suite (started before its tests, stopped after), with markup in a tag
 * description and an alarm message. The returned object is filled in by `before`.
 */
function runningPlant(anonymous: Anonymous, users: [string, 'operator' | 'admin', string][]): Running {
  const running = {} as Running;
  let hmiDir: string | undefined;
  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    running.store = new AuthStore(':memory:');
    for (const [name, role, password] of users) running.store.addUser(name, role, await hashPassword(password));
    // Lockout well above the few wrong passwords typed here (they all come from 127.0.0.1).
    const auth = createAuth({ store: running.store, anonymous, lockout: { max: 50, windowMs: 60_000, lockMs: 60_000 } });
    running.plant = await TestPlant.start(hmiDir, {
      auth,
      autostart: false,
      adjust: (config) => {
        config.tags.find((t) => t.name === 'reactor.level')!.description = XSS_DESCRIPTION;
        config.alarms.inlet_pump_1!.message = XSS_MESSAGE;
      },
    });
    running.browser = await launchBrowser();
  });
  after(async () => {
    await running.browser?.close();
    await running.plant?.close();
    running.store?.close();
    if (hmiDir) removeDir(hmiDir);
  });
  return running;
}

const panel = (page: Page): Locator => page.getByRole('region', { name: 'Commands' });
const slot = (page: Page, source: string): Locator => page.locator(`[data-cmd-source="${source}"]`);
const who = (page: Page): Locator => page.locator('.session-box');

async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('signing in and what it allows, in the browser', { timeout: 240_000 }, () => {
  const running = runningPlant('local', [
    ['ana', 'operator', PASSWORDS.ana],
    ['eve', 'admin', PASSWORDS.eve],
  ]);
  const plant = (): TestPlant => running.plant;
  const browser = (): Browser => running.browser;

  const sim = () => plant().sim!;
  const lastWrite = (): number => sim().writes.list().at(-1)?.seq ?? 0;

  async function overview(width = 1280): Promise<OpenedPage> {
    const o = await openPage(browser(), plant().url, { width, height: 900 });
    await panel(o.page).getByRole('button', { name: /^Stop the cycle/ }).waitFor();
    return o;
  }

  async function signedIn(user: 'ana' | 'eve', hash = '#/'): Promise<OpenedPage> {
    const o = await openPage(browser(), `${plant().url}#/login/${encodeURIComponent(hash)}`);
    await signIn(o.page, user, PASSWORDS[user]);
    await who(o.page).filter({ hasText: user }).waitFor();
    return o;
  }

  it('a guest sees the plant but not its commands; a wrong password is refused; signed in, the commands work; signed out, a guest again', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await overview();
    t.after(() => o.context.close());
    const { page } = o;
    assert.match((await who(page).textContent()) ?? '', /Guest \(view only\)/);
    const stop = panel(page).getByRole('button', { name: 'Stop the cycle…' });
    assert.equal(await stop.isDisabled(), true);
    await panel(page).getByText('Sign in as an operator to send commands.').first().waitFor();

    await who(page).getByRole('link', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, 'signin-1280.png', false);
    await signIn(page, 'ana', 'not-her-password-1');
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password field is emptied');
    await signIn(page, 'ana', PASSWORDS.ana);
    // Back where the guest was, as ana.
    await who(page).filter({ hasText: 'ana' }).filter({ hasText: 'operator' }).waitFor();
    assert.equal(new URL(page.url()).hash, '#/');
    await stop.and(page.locator(':enabled')).waitFor();
    // An operator sees neither the users nor the audit link.
    assert.equal(await who(page).getByRole('link', { name: 'Users' }).count(), 0);
    assert.equal(await who(page).getByRole('link', { name: 'Audit' }).count(), 0);

    // A non-critical command carries the session's CSRF token: it is executed.
    const mark = lastWrite();
    await panel(page).getByRole('button', { name: 'Silence the horn…' }).click();
    await page.getByRole('dialog', { name: 'Silence the alarm horn?' }).getByRole('button', { name: 'Confirm' }).click();
    await slot(page, 'overview:silence_horn').locator('.cmd-status[data-status="confirmed"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(sim().writes.list(mark).map((w) => [w.fc, w.address]), [[5, 23]]);

    await who(page).getByRole('button', { name: 'Sign out' }).click();
    await who(page).filter({ hasText: 'Guest (view only)' }).waitFor();
    await stop.and(page.locator(':disabled')).waitFor();
    assert.deepEqual(
      o.errors.filter((e) => !/status of 401/.test(e)),
      [],
    );
  });

  it('a critical command asks for the password again: a wrong one writes nothing, the right one starts the program', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await signedIn('ana');
    t.after(() => o.context.close());
    const { page } = o;
    const start = panel(page).getByRole('button', { name: 'Start program 1…' });
    await start.and(page.locator(':enabled')).click();
    const dialog = page.getByRole('dialog', { name: 'Start program 1 on the SBR reactor?' });
    await dialog.locator('.cmd-countdown').waitFor();
    const confirm = dialog.getByRole('button', { name: 'Confirm' });
    assert.equal(await confirm.isDisabled(), true, 'no Confirm without the password');
    const mark = lastWrite();
    await dialog.getByLabel('Your password (asked again for a critical command)').fill('wrong-password-99');
    await confirm.click();
    await slot(page, 'overview:start_program').getByText('Your password was not right: nothing was sent.').waitFor();
    assert.equal(lastWrite(), mark, 'nothing written');
    assert.equal(sim().plant!.state().running, false);

    await start.click();
    await dialog.locator('.cmd-countdown').waitFor();
    assert.equal(await dialog.getByLabel('Your password (asked again for a critical command)').inputValue(), '', 'the password is not kept');
    await dialog.getByLabel('Your password (asked again for a critical command)').fill(PASSWORDS.ana);
    await screenshot(page, 'command-dialog-password-1280.png', false);
    await confirm.click();
    await slot(page, 'overview:start_program').locator('.cmd-status[data-status="confirmed"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(sim().writes.list(mark).map((w) => [w.fc, w.address]), [[6, 8], [5, 31]]);
    await waitFor('running', async () => sim().plant!.state().running, 5000);
    // Back to a stopped plant for the other tests.
    sim().plant!.setFault(FAULTS.estop!, true);
    await waitFor('stopped', async () => !sim().plant!.state().running, 5000);
    sim().plant!.setFault(FAULTS.estop!, false);
  });

  it('an admin adds a user and a read-only token (shown once), and reads the audit trail; an operator may not', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await signedIn('eve', '#/users');
    t.after(() => o.context.close());
    const { page } = o;
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const add = page.getByRole('form', { name: 'Add a user' });
    await add.getByLabel('Name').fill('bob');
    await add.getByLabel('Role').selectOption('operator');
    await add.getByLabel('Password (12 characters or more)').fill('short');
    await add.getByRole('button', { name: 'Add user' }).click();
    await add.getByRole('alert').filter({ hasText: /^✕ password: .*\[PLANTA_AUTH_/ }).waitFor();
    await add.getByLabel('Password (12 characters or more)').fill('aeration-blower-3');
    await add.getByRole('button', { name: 'Add user' }).click();
    await page.locator('tr[data-user="bob"]').filter({ hasText: 'Active' }).waitFor();
    assert.equal(running.store.user('bob')?.role, 'operator');

    // Disable bob: he can no longer sign in.
    await page.locator('tr[data-user="bob"]').getByRole('button', { name: 'Disable' }).click();
    await page.locator('tr[data-user="bob"]').filter({ hasText: 'Disabled' }).waitFor();
    assert.equal(running.store.user('bob')?.disabled, true);

    const tokens = page.getByRole('region', { name: 'Read-only API tokens' });
    await tokens.getByLabel('Token name').fill('monthly-report');
    await tokens.getByRole('button', { name: 'Create token' }).click();
    const secret = (await tokens.locator('.token-secret').textContent()) ?? '';
    assert.ok(secret.length > 20);
    const read = await fetch(`${plant().url}api/tags/reactor.level`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(read.status, 200, 'the token reads');
    const act = await fetch(`${plant().url}api/commands`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(act.status, 403, 'and never acts');
    await screenshot(page, 'users-1280.png');

    await who(page).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
    const rows = page.locator('table.audit-table tbody tr');
    await rows.filter({ hasText: 'user-add' }).filter({ hasText: 'bob' }).waitFor();
    await rows.filter({ hasText: 'token-add' }).filter({ hasText: 'monthly-report' }).waitFor();
    await rows.filter({ hasText: 'login-failed' }).first().waitFor();
    await page.getByLabel('Words (user, action, target, detail)').fill('bob');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Entries matching “bob”' }).waitFor();
    await waitFor('only bob', async () => (await rows.allTextContents()).every((r) => r.includes('bob')), 5000);
    await screenshot(page, 'audit-1280.png');

    // An operator on the same pages: told, and the server refuses anyway.
    const ana = await signedIn('ana', '#/users');
    t.after(() => ana.context.close());
    await ana.page.getByText('Only an administrator manages users: sign in as one.').waitFor();
    const cookie = (await ana.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    assert.equal((await fetch(`${plant().url}api/users`, { headers: { cookie } })).status, 403);
  });

  it('markup in a tag description and an alarm message is shown as text: no script runs', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser(), `${plant().url}#/tags`);
    t.after(() => o.context.close());
    const { page } = o;
    sim().plant!.setFault(FAULTS['inlet-pump-1']!, true);
    t.after(() => sim().plant!.setFault(FAULTS['inlet-pump-1']!, false));
    await page.getByText(XSS_DESCRIPTION).first().waitFor();
    await page.goto(`${plant().url}#/alarms`);
    await page.getByText(XSS_MESSAGE).first().waitFor();
    await page.goto(`${plant().url}#/`);
    await page.getByText(XSS_DESCRIPTION).first().waitFor();
    await page.getByText(XSS_MESSAGE).first().waitFor();
    await page.goto(`${plant().url}#/journal`);
    await page.getByText(XSS_MESSAGE).first().waitFor();
    assert.equal(await page.evaluate('window.__xss'), undefined, 'no injected script ran');
    assert.equal(await page.locator('img[src="x"], b:text("in"), i:text("1")').count(), 0, 'no injected element');
  });
});

describe('where guests may not view, in the browser', { timeout: 120_000 }, () => {
  const running = runningPlant('none', []);
  const plant = (): TestPlant => running.plant;
  const browser = (): Browser => running.browser;

  it('a fresh installation: only the sign-in page, saying how to create the first admin; once there is one, signing in shows the plant', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const o = await openPage(browser(), plant().url, { width: 360, height: 740 });
    t.after(() => o.context.close());
    const { page } = o;
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('No user exists yet.').waitFor();
    await page.getByText('npx planta user add NAME --role admin').waitFor();
    await screenshot(page, 'signin-fresh-360.png');
    const asked = o.requests.map((u) => new URL(u).pathname).filter((p) => p.startsWith('/api/'));
    assert.deepEqual(asked, ['/api/session'], 'nothing of the plant is asked for');
    assert.equal((await fetch(`${plant().url}api/tags`)).status, 401);

    running.store.addUser('eve', 'admin', await hashPassword(PASSWORDS.eve));
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByText('No user exists yet.').count(), 0);
    await signIn(page, 'eve', PASSWORDS.eve);
    await panel(page).getByRole('button', { name: /^Stop the cycle/ }).waitFor();
    await who(page).filter({ hasText: 'eve' }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no horizontal overflow at 360 px (${width})`);
    await screenshot(page, 'signed-in-360.png', false);

    // The session ends on the server (e.g. an admin disabled the user) and the stream drops: asked to sign in, then live again.
    running.store.endSessionsOf('eve');
    await plant().stopWeb();
    await plant().startWeb();
    const ended = page.getByRole('alert').filter({ hasText: 'Your session has ended: sign in again to see live values.' });
    await ended.waitFor({ timeout: 30_000 });
    await ended.getByRole('link', { name: 'Sign in' }).click();
    await signIn(page, 'eve', PASSWORDS.eve);
    await ended.waitFor({ state: 'detached' });
    await waitFor('live again', async () => (await page.locator('.banner-link').count()) === 0, 20_000);

    // Signed out where guests may not view: back to the sign-in page.
    await who(page).getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await panel(page).count(), 0);
  });
});
