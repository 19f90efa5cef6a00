/**
 * The Devices page's System section, in a real browser: which Redis and
 * PostgreSQL server the web node uses and when each last moved (a failover),
 * as GET /api/system/nodes says — updated without a reload when a failover
 * moves the node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ServiceNode } from '../../src/web/protocol.js';
import { needPeer } from '../helpers/peers.js';
import { TestPlant, buildHmi, hasChromium, launchBrowser, openPage, removeDir, screenshot } from './harness.js';

describe('the System section of the Devices page', { timeout: 120_000 }, () => {
  let hmiDir: string | undefined;
  let plant: TestPlant | undefined;
  let browser: Browser | undefined;
  // What the web node reports: the test moves the bus to another master as a Sentinel failover would.
  let nodes: ServiceNode[] = [
    { role: 'bus', engine: 'redis', node: '10.0.0.1:6379', failover: true, switches: 0 },
    { role: 'users', engine: 'postgresql', node: '10.0.0.1:5432', failover: true, switches: 0 },
    { role: 'historian', engine: 'postgresql', node: '10.0.0.9:5432', failover: false, switches: 0 },
  ];

  before(async () => {
    if (!hasChromium) return;
    hmiDir = buildHmi();
    plant = await TestPlant.start(hmiDir, { nodes: () => nodes });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await plant?.close();
    if (hmiDir) removeDir(hmiDir);
  });

  it('names each server in use and when it last moved; follows a failover without a reload', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(browser!, `${plant!.url}#/devices`);
    t.after(() => context.close());
    const system = page.getByRole('region', { name: 'System' });
    const bus = system.getByRole('row', { name: /Live data and commands/ });
    await bus.getByText('Redis 10.0.0.1:6379').waitFor();
    assert.match((await bus.textContent()) ?? '', /no failover since the start/);
    assert.match((await system.getByRole('row', { name: /History/ }).textContent()) ?? '', /PostgreSQL 10\.0\.0\.9:5432.*one server \(no failover\)/);

    nodes = nodes.map((n) => (n.role === 'bus' ? { ...n, node: '10.0.0.2:6379', switches: 1, switchedAt: '2026-12-07T13:42:05.000Z' } : n));
    await bus.getByText('Redis 10.0.0.2:6379').waitFor({ timeout: 15_000 });
    assert.match((await bus.textContent()) ?? '', /moved here at 2026-12-07 10:42:05 GMT-3 \(1 failover since the start\)/);
    await screenshot(page, 'devices-system.png');
    assert.deepEqual(errors, []);
  });
});
