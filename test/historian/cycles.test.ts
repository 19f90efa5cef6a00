/**
 * The SBR cycle report on a simulated day: the plant model driven scan by
 * scan on a fake clock (no sleeping), its memory published by exception as
 * the poller would, recorded by the historian, then the cycles detected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { openHistorian } from '../../src/historian/index.js';
import { Bit, Word } from '../../src/sim/sbr/map.js';
import { SbrPlant } from '../../src/sim/sbr/plant.js';
import type { TagValue } from '../../src/tags/types.js';

const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
const T0 = Date.UTC(2026, 10, 2);
const MIN = 60_000;
const DAY = 86_400_000;

/** The shipped configuration without the PLC's phase counts: actual durations from the phase bits and the clock. */
function wallClockConfig(): typeof config {
  const c = structuredClone(config);
  for (const p of c.historian!.cycles!.phases) delete p.elapsed;
  return c;
}

describe('SBR cycle report', { timeout: 60_000 }, () => {
  // The PLC counts whole minutes, and a new cycle resets the counts in the scan that ends the discharge: its last minute is never seen.
  const countedWithin = (actual: number, expected: number, i: number): boolean => (i === 3 ? actual === expected - 60 : actual === expected);
  const clockedWithin = (actual: number, expected: number): boolean => Math.abs(actual - expected) <= 10;
  it('finds every cycle of a simulated day with its program, phases (as the PLC counts them), oxygen, turbidity, volume, alarms and anomalies', async () => {
    await simulatedDay(config, countedWithin);
  });
  it('the same day with phase durations from the phase bits and the clock (no PLC counts configured)', async () => {
    await simulatedDay(wallClockConfig(), clockedWithin);
  });

  /** The plant scanned every `scanMs` from T0 to `until` on a fake clock, its memory recorded by exception; `each` acts before each scan. */
  async function recorded(config: ReturnType<typeof loadConfig>, until: number, scanMs: number, each: (t: number, plant: SbrPlant, alarmsAt: number[]) => void) {
    const clock = { now: T0 };
    const alarmsAt: number[] = [];
    const { historian, cycles } = openHistorian(config, { path: ':memory:', now: () => clock.now, alarmCount: (a, b) => alarmsAt.filter((t) => t >= a && t < b).length });
    const plant = new SbrPlant({ speed: 1, autostart: true, seed: 3 });
    const last = new Map<string, number | boolean>();
    const publish = (): void => {
      const batch: TagValue[] = [];
      for (const tag of config.tags) {
        const value = tag.area === 'coil' ? plant.bits.get(tag.address) : Math.round(plant.words.get(tag.address) * tag.scale * 100) / 100;
        if (last.get(tag.name) === value) continue;
        last.set(tag.name, value);
        batch.push({ tag: tag.name, value, quality: 'Good', sourceTs: clock.now, serverTs: clock.now });
      }
      historian.ingest(batch);
    };
    for (let t = T0; t < until; t += scanMs) {
      clock.now = t;
      each(t, plant, alarmsAt);
      plant.scan(scanMs);
      publish();
      if ((t - T0) % (10 * MIN) === 0) historian.heartbeat();
    }
    await historian.flush();
    return { historian, cycles: cycles!, plant };
  }

  it('an alarm that stops a cycle counts in that cycle, though journalled after the reading that ended it; not in the next one', async () => {
    let stoppedAt = 0;
    const { historian, cycles } = await recorded(config, T0 + 90 * MIN, 5000, (t, plant, alarmsAt) => {
      if (t === T0 + 30 * MIN) {
        plant.setFault(Bit.EmergencyStop, true); // the PLC stops the cycle at this scan
        stoppedAt = t;
        alarmsAt.push(t + 400); // the alarm engine saw it 400 ms later
      }
      if (t === T0 + 50 * MIN) {
        plant.setFault(Bit.EmergencyStop, false);
        plant.bits.set(Bit.Start, true);
      }
    });
    const [next, stopped] = await cycles.cycles(T0, T0 + 90 * MIN);
    assert.equal(stopped!.start, T0);
    assert.equal(stopped!.end, stoppedAt);
    assert.equal(stopped!.alarms, 1);
    assert.equal(next!.start, T0 + 50 * MIN);
    assert.equal(next!.alarms, 0);
    await historian.close();
  });

  async function simulatedDay(config: ReturnType<typeof loadConfig>, within: (actual: number, expected: number, phase: number) => boolean): Promise<void> {
    let faultCycleStart = 0;
    const { historian, cycles } = await recorded(config, T0 + DAY, 5000, (t, plant, alarmsAt) => {
      // Cycle 3: both aerators fail through aeration (oxygen falls; one alarm each).
      if (faultCycleStart === 0 && t > T0 + 2 * 225 * MIN && plant.state().phase === 'aeration') {
        faultCycleStart = t;
        plant.setFault(Bit.ReactorAerator1, true);
        plant.setFault(Bit.ReactorAerator2, true);
        alarmsAt.push(t, t);
      }
      if (faultCycleStart && plant.state().phase === 'settling' && plant.activeFaults().length > 0) {
        plant.setFault(Bit.ReactorAerator1, false);
        plant.setFault(Bit.ReactorAerator2, false);
      }
      // Cycle 5: an engineer lengthens program 1's aeration to 120 min during it (planned was 90).
      if (t >= T0 + 4 * 225 * MIN + 70 * MIN && t < T0 + 4 * 225 * MIN + 70 * MIN + 5000) plant.words.set(Word.ProgramsBase + 1, 120);
    });
    const list = await cycles.cycles(T0, T0 + DAY);
    // Program 1: 60 + 90 + 45 + 30 = 225 min; 24 h hold 6 whole cycles (one of them 30 min longer) and the 7th started.
    assert.equal(list.length, 7, JSON.stringify(list.map((c) => new Date(c.start).toISOString())));
    assert.ok(list[0]!.start > list[1]!.start, 'newest first');
    assert.equal(list[0]!.end, null, 'the last one is still running');
    const done = list.slice(1).reverse();
    assert.equal(done[0]!.start, T0, 'the first cycle starts with the first scan');
    for (const c of done) {
      assert.equal(c.program, 1);
      assert.deepEqual(c.phases.map((p) => p.name), ['Aerated fill', 'Aeration', 'Settling', 'Discharge']);
      // Planned: the program's durations at the cycle's start (the edit applies from the next cycle on).
      const edit = T0 + 4 * 225 * MIN + 70 * MIN;
      const edited = c.start > edit;
      assert.deepEqual(c.phases.map((p) => p.plannedS), [3600, edited ? 7200 : 5400, 2700, 1800]);
      const lengthened = c.start < edit && c.end! > edit;
      c.phases.forEach((p, i) => assert.ok(within(p.actualS!, lengthened && i === 1 ? 7200 : p.plannedS!, i), `${p.name} ${p.actualS}`));
      assert.ok(c.volumeM3! > 250 && c.volumeM3! < 350, `volume ${c.volumeM3}`);
      assert.ok(c.turbidityAtDischargeNtu! < 10, `turbidity ${c.turbidityAtDischargeNtu}`);
      assert.ok(c.end! - c.start >= 225 * MIN - 10_000);
    }
    const normal = done.filter((c) => c.anomalies.length === 0);
    assert.equal(normal.length, 4, JSON.stringify(done.map((c) => c.anomalies)));
    for (const c of normal) {
      assert.ok(c.oxygenMeanMgL! > 6 && c.oxygenMeanMgL! < 8, `oxygen mean ${c.oxygenMeanMgL}`);
      assert.ok(c.oxygenMinMgL! > 2, `oxygen min ${c.oxygenMinMgL}`);
      assert.equal(c.alarms, 0);
    }
    const faulty = done.find((c) => c.start <= faultCycleStart && (c.end ?? Infinity) > faultCycleStart)!;
    assert.deepEqual(faulty.anomalies.map((a) => a.code), ['OXYGEN_LOW']);
    assert.ok(faulty.oxygenMinMgL! < 2);
    assert.equal(faulty.alarms, 2);
    const long = done.find((c) => c.phases[1]!.actualS! > 6000)!;
    assert.deepEqual(long.anomalies.map((a) => a.code), ['PHASE_OVER_PLAN']);
    assert.match(long.anomalies[0]!.text, /Aeration took 120 min, planned 90 min/);
    await historian.close();
  }
});
