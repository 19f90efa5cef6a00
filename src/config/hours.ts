/**
 * Hours of the week, as a notification rule writes them:
 *   "Mon-Fri 07:00-19:00"            weekdays, 07:00 up to 19:00
 *   "Sat,Sun 08:00-12:00"            listed days
 *   "22:00-06:00"                    every day, through midnight (to 06:00 of the next day)
 *   "Mon-Fri 07:00-19:00; Sat 08:00-12:00"   several, separated by ";"
 * Times are of the plant's time zone (plant.timezone).
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export interface HoursSpan {
  /** The days the span starts on, 0 = Sunday. */
  days: Set<number>;
  /** Minutes of the day: from (inclusive) and to (exclusive); to ≤ from runs past midnight. */
  from: number;
  to: number;
}

const SPAN = /^(?:([A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?(?:\s*,\s*[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?)*)\s+)?(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$/;

function day(name: string): number {
  const i = DAYS.findIndex((d) => d.toLowerCase() === name.trim().toLowerCase());
  if (i < 0) throw new Error(`"${name.trim()}" is not a day (${DAYS.join(', ')})`);
  return i;
}

function minutes(h: string, m: string): number {
  const hh = Number(h);
  const mm = Number(m);
  if (hh > 24 || mm > 59 || (hh === 24 && mm > 0)) throw new Error(`${h}:${m} is not a time of day`);
  return hh * 60 + mm;
}

/** Parses hours; throws an Error saying what is wrong. */
export function parseHours(text: string): HoursSpan[] {
  const spans = text.split(';').map((s) => s.trim()).filter(Boolean);
  if (spans.length === 0) throw new Error('no hours given');
  return spans.map((s) => {
    const m = SPAN.exec(s);
    if (!m) throw new Error(`"${s}": expected days and times such as "Mon-Fri 07:00-19:00"`);
    const days = new Set<number>();
    if (m[1] === undefined) for (let d = 0; d < 7; d++) days.add(d);
    else {
      for (const part of m[1].split(',')) {
        const [a, b] = part.split('-');
        const first = day(a!);
        const last = b === undefined ? first : day(b);
        for (let d = first; ; d = (d + 1) % 7) {
          days.add(d);
          if (d === last) break;
        }
      }
    }
    const from = minutes(m[2]!, m[3]!);
    const to = minutes(m[4]!, m[5]!);
    if (from === to) throw new Error(`"${s}": the span is empty (from equals to)`);
    return { days, from, to };
  });
}

/** The problem with `text`, or undefined when it is valid hours. */
export function hoursProblem(text: string): string | undefined {
  try {
    parseHours(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The weekday and minute of the day of `at` in `timeZone`. */
function local(at: number, timeZone: string | undefined): { weekday: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return { weekday: WEEKDAY[get('weekday')] ?? 0, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** Whether `at` falls within the hours, in `timeZone` (undefined: the server's). */
export function withinHours(spans: readonly HoursSpan[], at: number, timeZone?: string): boolean {
  const { weekday, minute } = local(at, timeZone);
  const yesterday = (weekday + 6) % 7;
  return spans.some((s) =>
    s.from < s.to
      ? s.days.has(weekday) && minute >= s.from && minute < s.to
      : (s.days.has(weekday) && minute >= s.from) || (s.days.has(yesterday) && minute < s.to),
  );
}
