/**
 * Devices on links in the browser: the Devices page says where each is — a
 * unit on a serial line with the line's port and format, a unit behind a
 * gateway with the gateway's address — instead of a host and port, and
 * shows an RTU line's CRC errors and other units' frames beside the other
 * figures. Screenshots at 360 and 1440 px.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceConfig } from '../../src/config/resolve.js';
import { needPeer } from '../helpers/peers.js';
import { hasChromium, openPage, plantInBrowser, screenshot } from './harness.js';

describe('devices on links in the browser', { timeout: 180_000 }, () => {
  const env = plantInBrowser({
    adjust: (c) => {
      const plc = c.devices[0]!;
      // A serial line whose adapter is not plugged in (the meter is down), and a gateway: the simulator answers any unit.
      c.links.push({ name: 'rs485', description: '', kind: 'serial', path: '/dev/planta-e2e-no-adapter', baud: 19200, parity: 'none', dataBits: 8, stopBits: 1 });
      c.links.push({ name: 'gw1', description: '', kind: 'tcp', host: '127.0.0.1', port: plc.port });
      const linked = (name: string, link: string, unitId: number, host: string, port: number): DeviceConfig => ({ ...plc, name, description: '', link, unitId, host, port });
      c.devices.push(linked('meter', 'rs485', 2, '/dev/planta-e2e-no-adapter', 0), linked('dosing', 'gw1', 3, '127.0.0.1', plc.port));
    },
  });

  it('the Devices page: "unit 2 on line rs485 (/dev/…, 19200 8N1)", "unit 3 via gw1 (host:port)", CRC errors of a line', async (t) => {
    if (!needPeer(t, hasChromium, 'chromium')) return;
    const { page, context, errors } = await openPage(env.browser!, `${env.plant!.url}#/devices`);
    t.after(() => context.close());
    const where = (device: string) => page.locator(`[data-device="${device}"] h2 [data-where]`);
    await where('meter').waitFor();
    assert.equal(((await where('meter').textContent()) ?? '').trim(), '— unit 2 on line rs485 (/dev/planta-e2e-no-adapter, 19200 8N1)');
    assert.equal(((await where('dosing').textContent()) ?? '').trim(), `— unit 3 via gw1 (127.0.0.1:${env.plant!.simPort})`);
    assert.equal(((await where('plc').textContent()) ?? '').trim(), `— 127.0.0.1:${env.plant!.simPort}, unit 1`);
    // The figures of a device on an RTU line carry its CRC errors and other units' frames; a device of its own or behind a Modbus/TCP gateway has none.
    const facts = page.locator('[data-device="meter"] dl.facts');
    await facts.filter({ hasText: 'CRC errors' }).waitFor({ timeout: 15_000 });
    assert.match((await facts.textContent()) ?? '', /CRC errors0.*Other units' frames0/s);
    await page.locator('[data-device="plc"] dl.facts').waitFor({ timeout: 15_000 });
    assert.doesNotMatch((await page.locator('[data-device="plc"] dl.facts').textContent()) ?? '', /CRC errors/);
    await page.locator('[data-device="dosing"] dl.facts').waitFor({ timeout: 15_000 });
    assert.doesNotMatch((await page.locator('[data-device="dosing"] dl.facts').textContent()) ?? '', /CRC errors/, 'Modbus/TCP behind a gateway: no CRC');
    await page.setViewportSize({ width: 1440, height: 900 });
    await screenshot(page, 'devices-links-1440.png');
    await page.setViewportSize({ width: 360, height: 800 });
    await screenshot(page, 'devices-links-360.png');
    assert.deepEqual(errors, []);
  });
});
