/**
 * A poller that cannot keep up (issue 25, goal 4): every overrun is reported
 * with its cause — Planta's own lateness, the device's slowness, or the event
 * loop waiting for a CPU other processes held — the lower scan groups give
 * way first and are counted, and values are never marked Bad or stale for
 * Planta's own lateness. The event loop is blocked on purpose and the
 * starvation clock is the test's own: the checks are structural, not timed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import type { DeviceStatus } from '../../src/bus/types.js';
import type { TagValue } from '../../src/tags/types.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { DevicePoller } from '../../src/poller/device-poller.js';
import { CALM_SCANS, ScanBudget, shedOrderOf } from '../../src/poller/shedding.js';
import { Simulator } from '../../src/sim/simulator.js';
import { StallClock } from '../../src/util/stalls.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;

const PERIOD = 50;

/** Keeps this thread busy: the poller's own event loop, late by its own work. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

function config(port: number, timeoutMs: number): PlantConfig {
  const c = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
  const d = c.devices[0]!;
  Object.assign(d, { port, timeoutMs, connectTimeoutMs: 500, scanGroups: { fast: PERIOD, settings: PERIOD }, shedOrder: ['settings'] });
  return c;
}

describe('scan budget: overrun causes and shedding', () => {
  const groups = [
    { name: 'fast', periodMs: 100, every: 1 },
    { name: 'slow', periodMs: 200, every: 2 },
  ];

  it('gives each overrun the cause that took most of the time: the CPU held by others, the device, or Planta', () => {
    let starved = 0;
    const b = new ScanBudget(groups, ['slow'], 100, () => starved);
    // Started 150 ms late, run-queue time 140 ms meanwhile: the CPU was someone else's.
    b.begin(1150);
    starved += 140;
    b.replied(1160);
    assert.equal(b.overrun(0, 1, 1000, 1170), 'cpu-starved');
    // The replies took 250 ms, nobody else held the CPU: the device.
    b.begin(2000);
    b.replied(2250);
    assert.equal(b.overrun(10, 2, 2000, 2260), 'device-slow');
    // Started 180 ms late with the CPU ours all along: Planta's own lateness.
    b.begin(3180);
    b.replied(3190);
    assert.equal(b.overrun(20, 1, 3000, 3200), 'planta-late');
    assert.deepEqual(b.causes, { 'cpu-starved': 1, 'device-slow': 2, 'planta-late': 1 });
    // The slots skipped: 1, 11, 12, 21 — the slow group is due at the even ones.
    assert.deepEqual(
      b.figures().map((g) => [g.name, g.missed]),
      [
        ['fast', 4],
        ['slow', 1],
      ],
    );
  });

  it('sheds after a scan that started more than half a period late, even one that ended in time', () => {
    const b = new ScanBudget(groups, ['slow'], 100, () => 0);
    b.end(0, 40, 90);
    assert.equal(b.shedding, 0);
    b.end(1000, 1060, 1090);
    assert.equal(b.shedding, 1);
  });

  it('sheds the first group of the shed order after a late scan, reads it one time in three, and takes it back after scans in time', () => {
    const b = new ScanBudget(groups, ['slow'], 100, () => 0);
    const both = groups.map((g) => ({ name: g.name }));
    assert.deepEqual(b.select(both).map((g) => g.name), ['fast', 'slow']);
    b.end(0, 10, 250); // its deadline (100) missed
    assert.equal(b.shedding, 1);
    const read = [0, 1, 2, 3, 4, 5].map(() => b.select(both).map((g) => g.name).join('+'));
    assert.deepEqual(read, ['fast', 'fast', 'fast+slow', 'fast', 'fast', 'fast+slow']);
    b.end(0, 80, 300); // late again: nothing more to shed
    assert.equal(b.shedding, 1);
    for (let i = 0; i < CALM_SCANS; i++) b.end(1000 * i, 1000 * i + 5, 1000 * i + 50);
    assert.equal(b.shedding, 0);
    const [fast, slow] = b.figures();
    assert.equal(fast!.shed, 0, 'the fast group is never shed');
    assert.equal(slow!.shed, 4);
    assert.equal(slow!.shedRank, 0);
    assert.equal(fast!.shedRank, null);
  });

  it('sheds, by default, every group but the fastest, the slowest first', () => {
    assert.deepEqual(shedOrderOf({ scanGroups: { fast: 100, slow: 5000, medium: 1000 } }), ['slow', 'medium']);
    assert.deepEqual(shedOrderOf({ scanGroups: { a: 100, b: 100 } }), ['b']);
    assert.deepEqual(shedOrderOf({ scanGroups: { only: 100 } }), []);
    assert.deepEqual(shedOrderOf({ scanGroups: { fast: 100, slow: 5000 }, shedOrder: ['fast'] }), ['fast']);
  });
});

describe('configuration: devices[].shedOrder names scan groups of its device', () => {
  const yaml = (order: string) => `devices:\n  plc:\n    host: 127.0.0.1\n    scanGroups: { fast: 100ms, slow: 1s }\n    shedOrder: ${order}\ntags:\n  t: { device: plc, area: holding, address: 0 }\n`;

  it('takes known groups and refuses unknown or repeated ones with their path', () => {
    assert.deepEqual(parseConfig(yaml('[slow]'), 'plant.yaml').devices[0]!.shedOrder, ['slow']);
    assert.throws(() => parseConfig(yaml('[nope]'), 'plant.yaml'), (e: unknown) => e instanceof ConfigError && /devices\.plc\.shedOrder\.0/.test(e.message) && /unknown scan group "nope"/.test(e.message));
    assert.throws(() => parseConfig(yaml('[slow, slow]'), 'plant.yaml'), (e: unknown) => e instanceof ConfigError && /listed twice/.test(e.message));
  });

  it('planta check prints the unknown group with its line', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-shed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'plant.yaml');
    writeFileSync(file, yaml('[fast, nope]'));
    const r = await run(process.execPath, [planta, 'check', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /plant\.yaml:5:\d+ devices\.plc\.shedOrder\.1: unknown scan group "nope" \(groups: fast, slow\)/);
  });
});

describe('a poller whose event loop is blocked', { timeout: 60_000 }, () => {
  let sim: Simulator;
  let port: number;
  before(async () => {
    sim = new Simulator({ port: 0 });
    port = (await sim.start()).port;
  });
  after(() => sim.stop());

  /** A device poller of the SBR PLC with this starvation clock; every value it publishes after the first Good ones, and its statuses. */
  async function polling(timeoutMs: number, starved: () => number) {
    const bus = new MemoryBus();
    const values: TagValue[] = [];
    const statuses: DeviceStatus[] = [];
    await bus.subscribeValues((batch) => void values.push(...batch));
    await bus.subscribeDeviceStatus((s) => void statuses.push(s));
    const c = config(port, timeoutMs);
    const stalls = new StallClock(50, starved);
    stalls.start();
    const poller = new DevicePoller(c.devices[0]!, c.tags, { bus, stalls, statusIntervalMs: 100 });
    await poller.start();
    await waitFor('every tag Good', () => poller.tags.every((t) => t.quality === 'Good'), 10_000);
    const from = values.length;
    return {
      poller,
      after: () => values.slice(from),
      statuses,
      stop: async () => {
        await poller.stop();
        stalls.stop();
      },
    };
  }

  it('counts the overrun as Planta late, sheds the lower group first, and marks no value Bad or stale, even past the timeout', async () => {
    const p = await polling(300, () => 0);
    try {
      const before = p.poller.status();
      // Longer than the timeout and than the staleness limit (3 periods, or a period + 2 timeouts, + 1 s): the device was never slow.
      block(2000);
      await waitFor('an overrun counted', () => p.poller.status().overruns > before.overruns, 5000);
      await waitFor('the settings group shed', () => (p.poller.status().scanGroups ?? []).find((g) => g.name === 'settings')!.shed > 0, 5000);
      const s = p.poller.status();
      assert.ok(s.overrunCauses!['planta-late'] > 0, `planta-late counted: ${JSON.stringify(s.overrunCauses)}`);
      // This clock never says "starved"; the simulator shares the process and, on a loaded machine, the CPU: its
      // replies may really come late after the block (device-slow), which is the device's share, not the block's.
      assert.equal(s.overrunCauses!['cpu-starved'], 0);
      const causes = (x: DeviceStatus): number => Object.values(x.overrunCauses!).reduce((n, v) => n + v, 0);
      assert.equal(causes(s), s.overruns, 'every overrun has its cause');
      const fast = s.scanGroups!.find((g) => g.name === 'fast')!;
      assert.equal(fast.shed, 0, 'the group not in the shed order is never shed');
      assert.ok(fast.missed > 0, 'its missed slots are counted');
      await waitFor('the settings group back after scans in time', () => p.poller.status().shedding === 0, 10_000);
      const bad = p.after().filter((v) => v.quality !== 'Good');
      assert.deepEqual(bad, [], 'no value Bad or stale for Planta’s own lateness');
      assert.ok(p.poller.tags.every((t) => t.quality === 'Good'));
      // The Devices page shows the figures: they are in the status on the bus.
      await waitFor('a status with the causes and the groups', () => p.statuses.some((x) => (x.overrunCauses?.['planta-late'] ?? 0) > 0 && x.scanGroups?.some((g) => g.shed > 0)), 5000);
    } finally {
      await p.stop();
    }
  });

  it('counts the overrun as CPU starved when the event loop waited for a CPU meanwhile', async () => {
    let starved = 0;
    const p = await polling(1000, () => starved);
    try {
      // Counted from here: on a loaded machine the real scheduler may have made the scans late before (with this
      // clock saying "never starved", as Planta's lateness).
      const before = p.poller.status();
      // As if other processes held the CPU for the whole block: the run-queue clock advances with it.
      const t0 = performance.now();
      block(400);
      starved += performance.now() - t0;
      await waitFor('an overrun counted', () => p.poller.status().overruns > before.overruns, 5000);
      const s = p.poller.status();
      assert.ok(s.overrunCauses!['cpu-starved'] > 0, JSON.stringify(s.overrunCauses));
      assert.equal(s.overrunCauses!['planta-late'], before.overrunCauses!['planta-late'], 'the block is not counted as Planta late');
      assert.deepEqual(p.after().filter((v) => v.quality !== 'Good'), []);
    } finally {
      await p.stop();
    }
  });

  it('counts the overrun as the device slow when its replies take longer than the period', async () => {
    const p = await polling(1000, () => 0);
    try {
      sim.setMode({ mode: 'slow', delayMs: 3 * PERIOD });
      await waitFor('the lower group giving way to a slow device', () => p.poller.status().scanGroups!.find((g) => g.name === 'settings')!.shed > 0, 5000);
      sim.setMode({ mode: 'normal' });
      const s = p.poller.status();
      assert.ok(s.overrunCauses!['device-slow'] > 0, JSON.stringify(s.overrunCauses));
      assert.equal(s.overrunCauses!['cpu-starved'], 0);
      assert.equal(s.scanGroups!.find((g) => g.name === 'fast')!.shed, 0);
    } finally {
      sim.setMode({ mode: 'normal' });
      await p.stop();
    }
  });
});
