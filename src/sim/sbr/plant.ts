/**
 * The SBR wastewater plant and its PLC, as ../shared/plant/sbr.md describes
 * them. `scan(realMs)` is one PLC scan: act on command bits (and write them
 * back to 0), advance the process by realMs × speed, refresh the memory. Time
 * only moves through `scan`, so tests drive it without sleeping and a seed
 * makes every run identical.
 */
import {
  BitArea,
  IllegalDataAddressError,
  IllegalDataValueError,
  RegisterArea,
  type WriteRequest,
} from '../../modbus/index.js';
import { Random } from '../../util/random.js';
import {
  Bit,
  COMMAND_BITS,
  DEFAULT_LIMITS,
  DEFAULT_PROGRAMS,
  FAULT_BITS,
  MEMORY_SIZE,
  PHASES,
  type Phase,
  WRITABLE_WORDS,
  Word,
} from './map.js';

export interface SbrOptions {
  /** Simulated seconds per real second. Default 60. */
  speed?: number;
  /** Seed of the measurement noise. Default 1. */
  seed?: number;
  /** Start program 1 at power-on, as a PLC set to resume after a power cut. Default false. */
  autostart?: boolean;
}

/** Reactor volume per % of level, m³. */
const M3_PER_PERCENT = 5;
const LEVEL_EMPTY = 30;
const LEVEL_FULL = 90;
const HIGH_LEVEL = 95;
const OXYGEN_AERATED = 7;
const OXYGEN_RESTING = 0.5;
const TURBIDITY_MIXED = 25;
const TURBIDITY_SETTLED = 3;
/** Oxygen must stay out of its limits this long in aeration before alarm 20 sets (simulated s). */
const OXYGEN_ALARM_DELAY_S = 300;

export interface SbrState {
  running: boolean;
  phase: Phase | 'stopped';
  phaseElapsedS: number;
  level: number;
  oxygen: number;
  turbidity: number;
  volumeTotal: number;
  volumePartial: number;
  faults: number[];
  hornSounding: boolean;
  simTimeS: number;
}

export class SbrPlant {
  readonly bits = new BitArea(MEMORY_SIZE);
  readonly words = new RegisterArea(MEMORY_SIZE);
  readonly speed: number;
  private readonly autostart: boolean;
  private readonly random: Random;
  private readonly faults = new Set<number>();

  private running = false;
  private phase = 0;
  private phaseElapsedS = 0;
  private fillRate = 0;
  private dischargeRate = 0;
  private level = LEVEL_EMPTY;
  private oxygen = OXYGEN_RESTING;
  private turbidity = 5;
  private volumeTotal = 0;
  private volumePartial = 0;
  private oxygenOutS = 0;
  private hornSilenced = false;
  private simTimeS = 0;
  private previousAlarms = 0;

  constructor(options: SbrOptions = {}) {
    this.speed = options.speed ?? 60;
    this.autostart = options.autostart ?? false;
    this.random = new Random(options.seed ?? 1);
    this.powerOn();
  }

  /** The PLC's power-on state: default limits and programs, reactor stopped, volumes at 0. */
  powerOn(): void {
    this.bits.bits.fill(0);
    this.words.registers.fill(0);
    this.words.set(Word.OxygenMin, Math.round(DEFAULT_LIMITS.oxygenMin * 100));
    this.words.set(Word.OxygenMax, Math.round(DEFAULT_LIMITS.oxygenMax * 100));
    this.words.set(Word.TurbidityMax, DEFAULT_LIMITS.turbidityMax);
    this.words.set(Word.Program, 1);
    DEFAULT_PROGRAMS.forEach((durations, p) =>
      durations.forEach((minutes, i) => this.words.set(Word.ProgramsBase + 4 * p + i, minutes)),
    );
    this.running = false;
    this.phase = 0;
    this.phaseElapsedS = 0;
    this.volumeTotal = 0;
    this.volumePartial = 0;
    this.oxygenOutS = 0;
    this.hornSilenced = false;
    this.previousAlarms = 0;
    if (this.autostart) this.startCycle();
    this.refresh();
  }

  // ------------------------------------------------------------ Modbus side

  /** Validates a write as a careful PLC would: read-only addresses → 02, out-of-range values → 03. */
  checkWrite(w: WriteRequest): void {
    for (let i = 0; i < w.values.length; i++) {
      const address = w.address + i;
      if (w.area === 'coils') {
        if (!COMMAND_BITS.has(address)) throw new IllegalDataAddressError(w.fc);
        continue;
      }
      const range = WRITABLE_WORDS.get(address);
      if (!range) throw new IllegalDataAddressError(w.fc);
      const v = w.values[i] as number;
      if (v < range[0] || v > range[1]) throw new IllegalDataValueError(w.fc);
    }
  }

  // ------------------------------------------------------------ faults

  setFault(bit: number, active: boolean): void {
    if (!FAULT_BITS.has(bit)) throw new RangeError(`bit ${bit} is not an injectable equipment alarm`);
    if (active) this.faults.add(bit);
    else this.faults.delete(bit);
    if (bit === Bit.EmergencyStop && active) this.running = false;
    this.refresh();
  }

  activeFaults(): number[] {
    return [...this.faults].sort((a, b) => a - b);
  }

  // ------------------------------------------------------------ the scan

  scan(realMs: number): void {
    this.commands();
    this.advance((realMs / 1000) * this.speed);
    this.refresh();
  }

  private commands(): void {
    const b = this.bits;
    if (b.get(Bit.Stop)) {
      this.running = false;
      b.set(Bit.Stop, false);
    }
    if (b.get(Bit.Start)) {
      // The PLC's interlock: no start while the emergency stop is pressed; a running cycle ignores it.
      if (!this.faults.has(Bit.EmergencyStop) && !this.running) this.startCycle();
      b.set(Bit.Start, false);
    }
    if (b.get(Bit.SilenceHorn)) {
      this.hornSilenced = true;
      b.set(Bit.SilenceHorn, false);
    }
    if (b.get(Bit.ResetPartialVolume)) {
      this.volumePartial = 0;
      b.set(Bit.ResetPartialVolume, false);
    }
  }

  private startCycle(): void {
    this.running = true;
    this.enterPhase(0);
  }

  private durationS(phase: number): number {
    const program = Math.min(3, Math.max(1, this.words.get(Word.Program)));
    return Math.max(1, this.words.get(Word.ProgramsBase + 4 * (program - 1) + phase)) * 60;
  }

  private enterPhase(phase: number): void {
    // A new cycle starts its four phase timers from 0; finished phases keep their time until then.
    if (phase === 0) for (let p = 0; p < 4; p++) this.words.set(Word.PhaseTimersBase + p, 0);
    this.phase = phase;
    this.phaseElapsedS = 0;
    this.fillRate = Math.max(0, LEVEL_FULL - this.level) / this.durationS(0);
    this.dischargeRate = Math.max(0, this.level - LEVEL_EMPTY) / this.durationS(3);
  }

  private advance(dtS: number): void {
    // Large steps are cut so first-order dynamics stay stable and phases are not skipped.
    while (dtS > 0) {
      const step = Math.min(dtS, 10);
      this.step(step);
      dtS -= step;
    }
  }

  private step(dt: number): void {
    this.simTimeS += dt;
    const aerators = 2 - (this.faults.has(Bit.ReactorAerator1) ? 1 : 0) - (this.faults.has(Bit.ReactorAerator2) ? 1 : 0);
    const phase = this.running ? this.phase : -1;
    const aerating = (phase === 0 || phase === 1) && aerators > 0;
    const oxygenTarget = aerating ? (OXYGEN_AERATED * aerators) / 2 : OXYGEN_RESTING;
    this.oxygen = approach(this.oxygen, oxygenTarget, dt, 600);
    const mixed = phase === 0 || phase === 1;
    const turbidityTarget = mixed ? TURBIDITY_MIXED : phase === 2 || phase === 3 ? TURBIDITY_SETTLED : this.turbidity;
    this.turbidity = approach(this.turbidity, turbidityTarget, dt, mixed ? 300 : this.durationS(2) / 4);

    if (phase === 0) {
      this.level = Math.min(100, this.level + this.fillRate * dt);
    } else if (phase === 3 && !this.faults.has(Bit.DischargeValve)) {
      const drop = Math.min(this.dischargeRate * dt, Math.max(0, this.level - LEVEL_EMPTY));
      this.level -= drop;
      this.volumeTotal += drop * M3_PER_PERCENT;
      this.volumePartial += drop * M3_PER_PERCENT;
    }

    if (phase === 1) {
      const min = this.words.get(Word.OxygenMin) / 100;
      const max = this.words.get(Word.OxygenMax) / 100;
      this.oxygenOutS = this.oxygen < min || this.oxygen > max ? this.oxygenOutS + dt : 0;
    } else {
      this.oxygenOutS = 0;
    }

    if (!this.running) return;
    this.phaseElapsedS += dt;
    this.words.set(Word.PhaseTimersBase + this.phase, Math.min(9999, Math.floor(this.phaseElapsedS / 60)));
    if (this.phaseElapsedS >= this.durationS(this.phase)) this.enterPhase((this.phase + 1) % 4);
  }

  /** Writes the process into the PLC memory (with measurement noise) and derives alarm and event bits. */
  private refresh(): void {
    const w = this.words;
    const r = this.random;
    w.set(Word.Level, clampWord(Math.round((this.level + r.noise(0.05)) * 100)));
    w.set(Word.Oxygen, clampWord(Math.round((this.oxygen + r.noise(0.03)) * 100)));
    w.set(Word.Turbidity, clampWord(Math.round(this.turbidity + r.noise(0.4))));
    w.set(Word.VolumeTotal, Math.floor(this.volumeTotal) & 0xffff);
    w.set(Word.VolumePartial, Math.floor(this.volumePartial) & 0xffff);

    const b = this.bits;
    for (const bit of FAULT_BITS) b.set(bit, this.faults.has(bit));
    if (this.level > HIGH_LEVEL) b.set(Bit.HighLevelReactor, true);
    b.set(Bit.OxygenOutOfRange, this.oxygenOutS >= OXYGEN_ALARM_DELAY_S);
    b.set(
      Bit.TurbidityOutOfRange,
      this.running && this.phase === 3 && Math.round(this.turbidity) > w.get(Word.TurbidityMax),
    );
    let alarms = 0;
    for (let bit = 1; bit <= 22; bit++) if (b.get(bit)) alarms |= 1 << bit;
    b.set(Bit.NoAlarms, alarms === 0);
    // A new alarm sounds the horn again, even after a silence.
    if ((alarms & ~this.previousAlarms) !== 0) this.hornSilenced = false;
    this.previousAlarms = alarms;
    for (let p = 0; p < 4; p++) b.set(Bit.PhaseFill + p, this.running && this.phase === p);
    b.set(Bit.Stopped, !this.running);
  }

  state(): SbrState {
    return {
      running: this.running,
      phase: this.running ? PHASES[this.phase]! : 'stopped',
      phaseElapsedS: this.phaseElapsedS,
      level: this.level,
      oxygen: this.oxygen,
      turbidity: this.turbidity,
      volumeTotal: this.volumeTotal,
      volumePartial: this.volumePartial,
      faults: this.activeFaults(),
      hornSounding: this.previousAlarms !== 0 && !this.hornSilenced,
      simTimeS: this.simTimeS,
    };
  }
}

/** First-order approach of `value` towards `target` with time constant `tauS`. */
function approach(value: number, target: number, dt: number, tauS: number): number {
  return target + (value - target) * Math.exp(-dt / Math.max(1, tauS));
}

function clampWord(v: number): number {
  return Math.min(0xffff, Math.max(0, v));
}
