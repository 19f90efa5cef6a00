/**
 * How numbers, values and times are written on every screen: a value always
 * with its unit and the tag's fixed number of decimals; times in the plant's
 * time zone, to the second, with the zone named; all through Intl in the
 * user's language (decimal comma and day/month/year in es-AR, 24-hour time
 * in both). Intl formatters are costly to build: each is made once per
 * language and option and kept.
 */
import type { TagInfo } from '../../../src/web/protocol.js';
import { type Locale, locale, msg } from '../i18n/locale.js';

type Value = number | boolean | string | null | undefined;

const numberFormats = new Map<string, Intl.NumberFormat>();

/** The Intl locale of numbers: English as the HMI always wrote them, Argentine Spanish with its decimal comma. */
const NUMBER_LOCALE: Record<Locale, string> = { en: 'en-US', 'es-AR': 'es-AR' };

/** A number with exactly `decimals` decimals (grouped thousands), e.g. 1,234.50 (en) or 1.234,50 (es-AR). */
export function formatNumber(n: number, decimals: number, l: Locale = locale.value): string {
  if (!Number.isFinite(n)) return String(n);
  const key = `${l}|${decimals}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(NUMBER_LOCALE[l], { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: true });
    numberFormats.set(key, f);
  }
  // -0.00 reads as a sign error.
  const text = f.format(n);
  return /^-0([.,]0+)?$/.test(text) ? text.slice(1) : text;
}

/** A share as a percentage with `decimals` decimals, e.g. 12.5 % / 12,5 %. */
export function formatPercent(share: number, decimals = 0): string {
  return `${formatNumber(share * 100, decimals)}\u00a0%`;
}

/** A value as text without its unit: fixed decimals, ON/OFF for booleans, "—" when there is none. */
export function formatBare(info: Pick<TagInfo, 'decimals'> | undefined, value: Value): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return value ? msg().common.on : msg().common.off;
  if (typeof value === 'number') return formatNumber(value, info?.decimals ?? 0);
  return value;
}

/** A value with its unit, e.g. "42.5 %" or "6.20 mg/L" (a no-break space keeps them together). */
export function formatValue(info: Pick<TagInfo, 'decimals' | 'unit'> | undefined, value: Value): string {
  const bare = formatBare(info, value);
  if (value === null || value === undefined || typeof value === 'boolean' || !info?.unit) return bare;
  return `${bare}\u00a0${info.unit}`;
}

/** A number in a tag's unit and decimals (limits, ranges). */
export function formatInUnit(info: Pick<TagInfo, 'decimals' | 'unit'> | undefined, n: number): string {
  return formatValue(info, n);
}

// ------------------------------------------------------------------ times

interface ZoneFormats {
  time: Intl.DateTimeFormat;
  date: Intl.DateTimeFormat;
  zone: Intl.DateTimeFormat;
}

const zoneFormats = new Map<string, ZoneFormats>();

/** Dates as the HMI always wrote them in English (2026-11-25, year first), and as Argentina writes them (25/11/2026). */
const DATE_LOCALE: Record<Locale, string> = { en: 'en-CA', 'es-AR': 'es-AR' };
const TIME_LOCALE: Record<Locale, string> = { en: 'en-GB', 'es-AR': 'es-AR' };

function formats(timeZone: string, l: Locale = locale.value): ZoneFormats {
  const key = `${l}|${timeZone}`;
  let f = zoneFormats.get(key);
  if (!f) {
    const zone = safeZone(timeZone);
    f = {
      time: new Intl.DateTimeFormat(TIME_LOCALE[l], { timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }),
      date: new Intl.DateTimeFormat(DATE_LOCALE[l], { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }),
      zone: new Intl.DateTimeFormat(l === 'en' ? 'en-US' : 'es-AR', { timeZone: zone, timeZoneName: 'short' }),
    };
    zoneFormats.set(key, f);
  }
  return f;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** "Monday, 7 December 2026" / "lunes, 7 de diciembre de 2026": a report's day in the plant's zone. */
export function formatLongDate(ts: number, timeZone: string, l: Locale = locale.value): string {
  const key = `${l}|${timeZone}`;
  let f = dayFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(l === 'en' ? 'en-GB' : 'es-AR', { timeZone: safeZone(timeZone), weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
    dayFormats.set(key, f);
  }
  return f.format(ts);
}

/** "2026-11-25" / "25/11/2026" in the plant's zone. */
export function formatDate(ts: number, timeZone: string): string {
  return formats(timeZone).date.format(ts);
}

function safeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

/** "14:03:27" in the plant's zone. */
export function formatTime(ts: number, timeZone: string): string {
  return formats(timeZone).time.format(ts);
}

/** "2026-11-25 14:03:27" in the plant's zone. */
export function formatDateTime(ts: number, timeZone: string): string {
  const f = formats(timeZone);
  return `${f.date.format(ts)} ${f.time.format(ts)}`;
}

/** The zone's short name at that instant, e.g. "GMT-3" or "CET". */
export function zoneName(ts: number, timeZone: string): string {
  const part = formats(timeZone).zone.formatToParts(ts).find((p) => p.type === 'timeZoneName');
  return part?.value ?? timeZone;
}

/** "14:03:27 GMT-3": a time that names its zone. */
export function formatTimeZoned(ts: number, timeZone: string): string {
  return `${formatTime(ts, timeZone)} ${zoneName(ts, timeZone)}`;
}

/** "2026-11-25 14:03:27 GMT-3". */
export function formatDateTimeZoned(ts: number, timeZone: string): string {
  return `${formatDateTime(ts, timeZone)} ${zoneName(ts, timeZone)}`;
}

/** A duration in words an operator reads at a glance: "4 s", "2 min 05 s", "3 h 10 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** How long ago `ts` was, or "—" for a value never read. */
export function formatAge(ts: number, now: number): string {
  if (!ts) return '—';
  return formatDuration(now - ts);
}

// ------------------------------------------------------------------ date inputs in the plant's zone

const partFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a zone. */
function wallClock(ts: number, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  let f = partFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: safeZone(timeZone),
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    partFormats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ts).map((x) => [x.type, x.value]));
  return { y: Number(p.year), mo: Number(p.month), d: Number(p.day), h: Number(p.hour) % 24, mi: Number(p.minute), s: Number(p.second) };
}

/** How far the zone's wall clock is ahead of UTC at that instant (ms). */
function zoneOffset(ts: number, timeZone: string): number {
  const w = wallClock(ts, timeZone);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return asUtc - Math.floor(ts / 1000) * 1000;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** An instant as a datetime-local input's value in the plant's zone: "2026-11-25T14:03". */
export function toZonedInput(ts: number, timeZone: string): string {
  const w = wallClock(ts, timeZone);
  return `${w.y}-${two(w.mo)}-${two(w.d)}T${two(w.h)}:${two(w.mi)}`;
}

/** A datetime-local input's value, read as wall-clock time in the plant's zone; undefined when it is not a date and time. */
export function fromZonedInput(text: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(text.trim());
  if (!m) return undefined;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (!Number.isFinite(wall)) return undefined;
  // The offset at the guess, then at the result (they differ across a change of summer time).
  let ts = wall - zoneOffset(wall, timeZone);
  ts = wall - zoneOffset(ts, timeZone);
  return ts;
}
