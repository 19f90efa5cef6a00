import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IllegalDataAddressError, IllegalDataValueError, type RequestContext } from '../../src/modbus/index.js';
import { Bit, Word } from '../../src/sim/sbr/map.js';
import { SbrPlant } from '../../src/sim/sbr/plant.js';

const SCAN_MS = 50;

/** Runs the PLC for `realMs` of real time in 50 ms scans (no sleeping: time only moves through scan()). */
function run(plant: SbrPlant, realMs: number): void {
  for (let t = 0; t < realMs; t += SCAN_MS) plant.scan(SCAN_MS);
}

/** Real ms for `minutes` simulated minutes at the plant's speed. */
const minutes = (plant: SbrPlant, m: number): number => (m * 60 * 1000) / plant.speed;

function phaseBits(plant: SbrPlant): boolean[] {
  return [25, 26, 27, 28, 29].map((b) => plant.bits.get(b));
}

function startProgram(plant: SbrPlant, n: number): void {
  plant.words.set(Word.Program, n);
  plant.bits.set(Bit.Start, true);
  plant.scan(SCAN_MS);
}

const ctx = {} as RequestContext;

describe('SBR plant model', () => {
  it('powers on with the default programs and limits, stopped, no alarms', () => {
    const plant = new SbrPlant();
    assert.deepEqual(Array.from(plant.words.registers.slice(5, 21)), [200, 800, 10, 1, 60, 90, 45, 30, 90, 150, 60, 45, 30, 45, 30, 20]);
    assert.deepEqual(phaseBits(plant), [false, false, false, false, true]);
    assert.equal(plant.bits.get(Bit.NoAlarms), true);
    assert.deepEqual(Array.from(plant.words.registers.slice(25, 33)), [0, 0, 0, 0, 0, 0, 0, 0], 'unused words read 0');
  });

  it('runs program 2 through fill, aeration, settling and discharge with its durations', () => {
    const plant = new SbrPlant({ speed: 600 });
    const [fill, aeration, settling, discharge] = [90, 150, 60, 45];
    startProgram(plant, 2);
    assert.equal(plant.bits.get(Bit.Start), false, 'the PLC writes the command bit back to 0');
    assert.deepEqual(phaseBits(plant), [true, false, false, false, false]);
    const level0 = plant.words.get(Word.Level) / 100;

    run(plant, minutes(plant, fill / 2));
    assert.ok(Math.abs(plant.words.get(Word.PhaseTimersBase) - fill / 2) <= 1, `fill timer ${plant.words.get(21)}`);
    run(plant, minutes(plant, fill / 2 + 1));
    assert.deepEqual(phaseBits(plant), [false, true, false, false, false], 'aeration after the fill duration');
    const levelFull = plant.words.get(Word.Level) / 100;
    assert.ok(levelFull > level0 + 40, `level rose during fill: ${level0} → ${levelFull}`);
    assert.ok(levelFull < 95, 'the fill does not reach the high level');
    assert.equal(plant.words.get(Word.PhaseTimersBase), fill, 'a finished phase keeps its time');

    run(plant, minutes(plant, aeration - 2));
    const oxygen = plant.words.get(Word.Oxygen) / 100;
    assert.ok(oxygen > 6 && oxygen < 8, `oxygen near 7 mg/L while aerating: ${oxygen}`);
    const mixedTurbidity = plant.words.get(Word.Turbidity);
    assert.ok(mixedTurbidity >= 20 && mixedTurbidity <= 30, `mixed turbidity ${mixedTurbidity}`);
    run(plant, minutes(plant, 3));
    assert.deepEqual(phaseBits(plant), [false, false, true, false, false], 'settling');

    run(plant, minutes(plant, settling - 1));
    const settled = plant.words.get(Word.Turbidity);
    assert.ok(settled <= 6, `turbidity falls while settling: ${settled}`);
    assert.ok(plant.words.get(Word.Oxygen) / 100 < 3, 'oxygen decays without aeration');
    run(plant, minutes(plant, 2));
    assert.deepEqual(phaseBits(plant), [false, false, false, true, false], 'discharge');

    run(plant, minutes(plant, discharge - 2));
    const total = plant.words.get(Word.VolumeTotal);
    assert.ok(total > 200, `treated volume grows during discharge: ${total} m³`);
    assert.equal(plant.words.get(Word.VolumePartial), total);
    assert.ok(plant.words.get(Word.Level) / 100 < levelFull - 40, 'level falls during discharge');
    run(plant, minutes(plant, 3));
    assert.deepEqual(phaseBits(plant), [true, false, false, false, false], 'a new cycle begins');
    assert.deepEqual(Array.from(plant.words.registers.slice(21, 25)).slice(1), [0, 0, 0], 'phase timers restart');
    assert.equal(plant.bits.get(Bit.NoAlarms), true, 'a normal cycle raises no alarm');
  });

  it('stops on the stop command and resets the partial volume on its command', () => {
    const plant = new SbrPlant({ speed: 6000, autostart: true });
    run(plant, minutes(plant, 60 + 90 + 45 + 29));
    assert.ok(plant.words.get(Word.VolumePartial) > 0);
    plant.bits.set(Bit.ResetPartialVolume, true);
    plant.scan(SCAN_MS);
    assert.equal(plant.words.get(Word.VolumePartial), 0);
    assert.ok(plant.words.get(Word.VolumeTotal) > 0, 'the total is kept');
    assert.equal(plant.bits.get(Bit.ResetPartialVolume), false);
    plant.bits.set(Bit.Stop, true);
    plant.scan(SCAN_MS);
    assert.deepEqual(phaseBits(plant), [false, false, false, false, true]);
    assert.equal(plant.bits.get(Bit.Stop), false);
  });

  it('the emergency stop stops the cycle and blocks a start until released', () => {
    const plant = new SbrPlant({ autostart: true });
    plant.scan(SCAN_MS);
    plant.setFault(Bit.EmergencyStop, true);
    plant.scan(SCAN_MS);
    assert.equal(plant.bits.get(Bit.EmergencyStop), true);
    assert.equal(plant.bits.get(Bit.Stopped), true);
    assert.equal(plant.bits.get(Bit.NoAlarms), false);
    startProgram(plant, 1);
    assert.equal(plant.bits.get(Bit.Start), false, 'start bit back to 0');
    assert.equal(plant.bits.get(Bit.Stopped), true, 'start refused');
    plant.setFault(Bit.EmergencyStop, false);
    startProgram(plant, 1);
    assert.equal(plant.bits.get(Bit.PhaseFill), true);
    assert.equal(plant.bits.get(Bit.NoAlarms), true);
  });

  it('sets alarm 20 when oxygen stays out of its limits in aeration, and 21 when discharging turbid water', () => {
    const plant = new SbrPlant({ speed: 600 });
    startProgram(plant, 1);
    run(plant, minutes(plant, 61));
    assert.equal(plant.bits.get(Bit.PhaseAeration), true);
    plant.setFault(Bit.ReactorAerator1, true);
    plant.setFault(Bit.ReactorAerator2, true);
    run(plant, minutes(plant, 25));
    assert.ok(plant.words.get(Word.Oxygen) < 200, 'oxygen fell below the 2.00 mg/L minimum');
    assert.equal(plant.bits.get(Bit.OxygenOutOfRange), true);
    plant.setFault(Bit.ReactorAerator1, false);
    plant.setFault(Bit.ReactorAerator2, false);
    plant.words.set(Word.TurbidityMax, 1);
    run(plant, minutes(plant, 60 + 90 + 45 - (61 + 25) + 2));
    assert.equal(plant.bits.get(Bit.PhaseDischarge), true);
    assert.equal(plant.bits.get(Bit.OxygenOutOfRange), false, 'no oxygen alarm outside aeration');
    assert.equal(plant.bits.get(Bit.TurbidityOutOfRange), true);
  });

  it('silencing the horn keeps the alarms; a new alarm sounds it again', () => {
    const plant = new SbrPlant();
    plant.setFault(7, true);
    plant.scan(SCAN_MS);
    assert.equal(plant.state().hornSounding, true);
    plant.bits.set(Bit.SilenceHorn, true);
    plant.scan(SCAN_MS);
    assert.equal(plant.bits.get(Bit.SilenceHorn), false);
    assert.equal(plant.state().hornSounding, false);
    assert.equal(plant.bits.get(7), true, 'the alarm stays until its cause clears');
    plant.setFault(16, true);
    plant.scan(SCAN_MS);
    assert.equal(plant.state().hornSounding, true);
  });

  it('is deterministic for a seed', () => {
    const a = new SbrPlant({ seed: 42, autostart: true });
    const b = new SbrPlant({ seed: 42, autostart: true });
    for (let i = 0; i < 500; i++) {
      a.scan(SCAN_MS);
      b.scan(SCAN_MS);
    }
    assert.deepEqual(a.words.registers, b.words.registers);
    assert.deepEqual(a.bits.bits, b.bits.bits);
    const c = new SbrPlant({ seed: 43, autostart: true });
    for (let i = 0; i < 500; i++) c.scan(SCAN_MS);
    assert.notDeepEqual(a.words.registers, c.words.registers, 'another seed, other noise');
  });

  it('refuses writes as a validating PLC: out of range → 03, read-only → 02', () => {
    const plant = new SbrPlant();
    const write = (address: number, values: number[]) => () =>
      plant.checkWrite({ area: 'holdingRegisters', address, values, ctx, fc: 16 });
    assert.throws(write(9, [0, 10, 10, 10]), IllegalDataValueError);
    assert.throws(write(9, [10, 10, 10, 10000]), IllegalDataValueError);
    assert.throws(write(8, [4]), IllegalDataValueError);
    assert.throws(write(5, [0, 800, 10]), IllegalDataValueError);
    assert.doesNotThrow(write(5, [150, 900, 15]));
    assert.doesNotThrow(write(17, [1, 9999, 1, 9999]));
    assert.throws(write(0, [5]), IllegalDataAddressError);
    assert.throws(write(20, [5, 5]), IllegalDataAddressError, 'a block running into the phase timers');
    const coil = (address: number) => () => plant.checkWrite({ area: 'coils', address, values: [true], ctx, fc: 5 });
    for (const a of [23, 30, 31, 32]) assert.doesNotThrow(coil(a));
    for (const a of [0, 1, 20, 25, 29]) assert.throws(coil(a), IllegalDataAddressError);
  });
});
