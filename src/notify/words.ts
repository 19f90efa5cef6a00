/**
 * The words of the notifications in English: the source of the keys (the
 * Spanish of words-es.ts has exactly the same ones, the compiler checks it),
 * like the HMI's catalogue (hmi/src/i18n). A sentence with numbers or names
 * in it is a function, so each language builds its own sentence and plural.
 * The alarms' messages and the plant's name are not here: they come from the
 * configuration in one or both languages (texts.ts).
 */
import type { AlarmPriority } from '../bus/alarm-messages.js';
import type { NotificationsConfig } from '../config/schema.js';
import type { Quality } from '../tags/quality.js';

export type NotifyLanguage = NotificationsConfig['language'];

const times = (n: number): string => `${n} more time${n === 1 ? '' : 's'}`;

export const en = {
  /** The locale of its numbers (Intl). */
  numberLocale: 'en-US',
  /** A day, from its parts in the plant's zone. */
  date: (year: string, month: string, day: string) => `${year}-${month}-${day}`,
  priority: { critical: 'critical', high: 'high', medium: 'medium', low: 'low' } as Record<AlarmPriority, string>,
  /** The source's quality as the mail says it (English: its code). */
  quality: (q: Quality | string) => q,
  yes: 'true',
  no: 'false',
  headline: {
    alarm: (priority: string, message: string) => `${priority.toUpperCase()} alarm: ${message}`,
    clear: (message: string) => `Cleared: ${message}`,
    escalation: (message: string) => `ESCALATED, still unacknowledged: ${message}`,
    digest: (chattering: boolean, message: string, count: number) => `${chattering ? 'Chattering' : 'Repeated'}: ${message} (${times(count)})`,
    flood: (count: number) => `Alarm flood: ${count} alarms`,
    test: 'Test notification',
  },
  lateMark: '[LATE] ',
  late: (delay: string) => `LATE: sent ${delay} after it happened (the channel was unreachable, or Planta was stopped).`,
  label: { alarm: 'Alarm', message: 'Message', time: 'Time', source: 'Source', raised: 'Raised', repeats: 'Repeats', flood: 'Flood', plant: 'Plant', onCall: 'On call' },
  raised: (when: string) => `${when}, not acknowledged since`,
  repeats: (count: number, since: string, chattering: boolean) => `${count} since ${since}${chattering ? ' — chattering: its repeats are summarised, not sent one by one' : ''}`,
  flood: (count: number, since: string) => `${count} alarms since ${since}; they are not sent one by one. The first:`,
  test: (channel: string) => `This is a test of the channel ${channel}, sent by planta notify test.`,
  escalates: (channels: string, when: string) => `Escalates to ${channels} at ${when} unless acknowledged.`,
  link: (link: string) => `Open in the HMI: ${link}`,
  signIn: 'Acknowledging there needs a signed-in operator.',
  /** A generated communication alarm (comm.<device>), as the alarm engine words it in English. */
  commLost: (device: string, description: string) => `No communication with ${device}${description ? ` (${description})` : ''}`,
};

export type Words = typeof en;
