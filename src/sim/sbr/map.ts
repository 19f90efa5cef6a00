/**
 * The SBR PLC's memory map (../shared/plant/sbr.md). One bit memory (%M,
 * served as coils and discrete inputs) and one word memory (%MW, served as
 * holding and input registers).
 */

export const Bit = {
  NoAlarms: 0,
  EmergencyStop: 1,
  Generator: 2,
  HighLevelReactor: 5,
  ReactorAerator1: 12,
  ReactorAerator2: 13,
  DischargeValve: 14,
  OxygenOutOfRange: 20,
  TurbidityOutOfRange: 21,
  SilenceHorn: 23,
  PhaseFill: 25,
  PhaseAeration: 26,
  PhaseSettling: 27,
  PhaseDischarge: 28,
  Stopped: 29,
  Stop: 30,
  Start: 31,
  ResetPartialVolume: 32,
} as const;

export const Word = {
  Level: 0,
  Oxygen: 1,
  Turbidity: 2,
  VolumeTotal: 3,
  VolumePartial: 4,
  OxygenMin: 5,
  OxygenMax: 6,
  TurbidityMax: 7,
  Program: 8,
  /** Program n's four durations start at ProgramsBase + 4·(n−1). */
  ProgramsBase: 9,
  /** Elapsed minutes of phase p (0..3) are at PhaseTimersBase + p. */
  PhaseTimersBase: 21,
} as const;

/** Memory served: addresses 0..32 are the map, 33..63 read as 0 (like spare %M/%MW). */
export const MEMORY_SIZE = 64;

export const PHASES = ['fill', 'aeration', 'settling', 'discharge'] as const;
export type Phase = (typeof PHASES)[number];

/** Equipment alarms a person or a test may inject (bits 1..19 and 22), by name. */
export const FAULTS: Record<string, number> = {
  estop: 1,
  generator: 2,
  'high-level-inlet': 3,
  'high-level-equalisation': 4,
  'high-level-reactor': 5,
  'high-level-outlet': 6,
  'inlet-pump-1': 7,
  'inlet-pump-2': 8,
  'transfer-pump-1': 9,
  'transfer-pump-2': 10,
  'equalisation-aerator': 11,
  'reactor-aerator-1': 12,
  'reactor-aerator-2': 13,
  'discharge-valve': 14,
  'foam-valve': 15,
  'chlorine-doser': 16,
  'outlet-pump-1': 17,
  'outlet-pump-2': 18,
  'recirculation-pump': 19,
  'recirculation-valve': 22,
};

export const FAULT_BITS: ReadonlySet<number> = new Set(Object.values(FAULTS));

/** Registers an HMI may write, with the range a validating PLC accepts (raw units). */
export const WRITABLE_WORDS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [Word.OxygenMin, [1, 9999]],
  [Word.OxygenMax, [1, 9999]],
  [Word.TurbidityMax, [1, 9999]],
  [Word.Program, [1, 3]],
  ...Array.from({ length: 12 }, (_, i) => [Word.ProgramsBase + i, [1, 9999]] as [number, [number, number]]),
]);

/** Command bits an HMI may pulse. */
export const COMMAND_BITS: ReadonlySet<number> = new Set([Bit.SilenceHorn, Bit.Stop, Bit.Start, Bit.ResetPartialVolume]);

/** Power-on programs (minutes): a whole cycle takes 2–6 minutes at the default speed of 60. */
export const DEFAULT_PROGRAMS: readonly (readonly [number, number, number, number])[] = [
  [60, 90, 45, 30],
  [90, 150, 60, 45],
  [30, 45, 30, 20],
];

export const DEFAULT_LIMITS = { oxygenMin: 2.0, oxygenMax: 8.0, turbidityMax: 10 };
