/**
 * Periods to look at, without any screen: rolling ones that end now (last
 * hour, day, week, 30 days) and calendar months in the plant's time zone
 * ("this month" up to now, "last month" whole), as the range pickers offer
 * them.
 */
import { fromZonedInput, toZonedInput } from './format.js';

/** Rolling periods end now; 'month' is the last 30 days; 'this-month' and 'last-month' are calendar months in the plant's zone. */
export type RangePreset = 'hour' | 'day' | 'week' | 'month' | 'this-month' | 'last-month' | 'custom';

/** What the journal and the alarm rates offer. */
export const PRESETS: readonly { value: RangePreset; label: string; ms: number }[] = [
  { value: 'hour', label: 'Last hour', ms: 3_600_000 },
  { value: 'day', label: 'Last day', ms: 86_400_000 },
  { value: 'week', label: 'Last week', ms: 7 * 86_400_000 },
];

export interface Period {
  preset: RangePreset;
  from: number;
  /** Undefined: up to now (live). */
  to: number | undefined;
}

export interface PresetChoice {
  value: RangePreset;
  label: string;
}

/** The rolling presets and their length. */
export const ROLLING_MS: Readonly<Record<'hour' | 'day' | 'week' | 'month', number>> = {
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
};

/** What the trend and cycle pages offer: a whole calendar month is one click. */
export const LONG_PRESETS: readonly PresetChoice[] = [
  { value: 'hour', label: 'Last hour' },
  { value: 'day', label: 'Last day' },
  { value: 'week', label: 'Last week' },
  { value: 'month', label: 'Last 30 days' },
  { value: 'this-month', label: 'This month' },
  { value: 'last-month', label: 'Last month' },
];

/** The first instant of the calendar month `offset` months from the one holding `ts`, in the zone. */
export function monthStart(ts: number, timeZone: string, offset = 0): number {
  const [y, m] = toZonedInput(ts, timeZone).split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + offset;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return fromZonedInput(`${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01T00:00`, timeZone)!;
}

/** A preset's period at `now`: rolling ones and this month run up to now; last month is fixed. */
export function presetPeriod(preset: Exclude<RangePreset, 'custom'>, now: number, timeZone = 'UTC'): Period {
  switch (preset) {
    case 'this-month':
      return { preset, from: monthStart(now, timeZone), to: undefined };
    case 'last-month':
      return { preset, from: monthStart(now, timeZone, -1), to: monthStart(now, timeZone) };
    default:
      return { preset, from: now - ROLLING_MS[preset], to: undefined };
  }
}

/** The period's bounds at `now` (a rolling one slides: its start moves with now). */
export function periodBounds(p: Period, now: number, timeZone = 'UTC'): { from: number; to: number } {
  if (p.to !== undefined) return { from: p.from, to: p.to };
  if (p.preset === 'custom' || p.preset === 'this-month' || p.preset === 'last-month') return { from: p.from, to: Math.max(now, p.from + 1) };
  const fresh = presetPeriod(p.preset, now, timeZone);
  return { from: fresh.from, to: now };
}
