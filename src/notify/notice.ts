/**
 * A notification as it waits in the outbox (plain JSON), and its words: the
 * mail's subject and text, the webhook's JSON (json), or a Slack or Teams
 * message. The words are made when it is sent, so a notification that waited
 * past `late` says so, and when; they are in the channel's language (words.ts,
 * words-es.ts), the alarm's message too when the configuration gives it so.
 */
import type { AlarmPriority } from '../bus/alarm-messages.js';
import type { NoticeKind } from './status.js';
import { en, type NotifyLanguage, type Words } from './words.js';
import { es } from './words-es.js';

export interface NoticeAlarm {
  id: string;
  message: string;
  priority: AlarmPriority;
  /** The tag (or device) the alarm watches, its value and quality when the notification was made. */
  source: string;
  value?: number | boolean | string | null;
  quality?: string;
}

export interface Notice {
  kind: NoticeKind;
  channel: string;
  /** When what it tells happened (epoch ms): the alarm's time, the digest's end, the flood's start. */
  at: number;
  /** When it was queued. */
  queuedAt: number;
  alarm?: NoticeAlarm;
  /** digest: repeats of the alarm since `since`; flood: alarms within the flood since `since`. */
  count?: number;
  /** digest and flood: see count; escalation: when the alarm was raised. */
  since?: number;
  /** digest: the alarm is chattering (at least chatter.count activations within the window). */
  chattering?: boolean;
  /** flood: its first alarms. */
  first?: { id: string; message: string; priority: AlarmPriority; at: number }[];
  /** alarm: when and to whom it escalates unless acknowledged. */
  escalates?: { at: number; channels: string[] };
}

export interface RenderContext {
  /** The plant's name, in the channel's language. */
  plant: string;
  timeZone: string;
  /** The channel's language (notifications.language, or the channel's own); default en. */
  language?: NotifyLanguage;
  /** An alarm's configured message in that language, when the configuration gives it (else the plain one is said). */
  message?: (id: string) => string | undefined;
  hmiUrl?: string;
  /** Who the channel reaches (channels.NAME.onCall). */
  onCall?: string;
  now: number;
  /** A notification sent this long after `at` is late. */
  lateMs: number;
}

export interface Rendered {
  subject: string;
  text: string;
  /** The JSON of a json webhook. */
  json: Record<string, unknown>;
  late: boolean;
}

/** The words of a language. */
export const words = (language: NotifyLanguage | undefined): Words => (language === 'es' ? es : en);

/**
 * "2026-12-07 14:32:05 Europe/Madrid (UTC+01:00)" (Spanish: "07/12/2026 14:32:05 …"), 24-hour, with the zone's
 * offset, and the ISO form with its offset, in `timeZone`.
 */
export function zonedTime(at: number, timeZone: string, language?: NotifyLanguage): { text: string; iso: string } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset',
  });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : (p.timeZoneName ?? 'GMT').replace('GMT', '');
  const time = `${p.hour}:${p.minute}:${p.second}`;
  const date = words(language).date(p.year!, p.month!, p.day!);
  return { text: `${date} ${time} ${timeZone} (UTC${offset})`, iso: `${p.year}-${p.month}-${p.day}T${time}${offset}` };
}

/** The alarm in the HMI (acknowledging there needs a signed-in operator: the link carries no secret). */
export function alarmLink(hmiUrl: string | undefined, id: string): string | undefined {
  return hmiUrl ? `${hmiUrl.replace(/\/+$/, '')}/#/alarms/${encodeURIComponent(id)}` : undefined;
}

const minutes = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

/** A source's value in the language: numbers with its decimal mark, booleans in its words, texts quoted. */
function valueText(v: NoticeAlarm['value'], w: Words): string {
  if (typeof v === 'number') return Number.isFinite(v) ? new Intl.NumberFormat(w.numberLocale, { useGrouping: false, maximumFractionDigits: 20 }).format(v) : String(v);
  if (typeof v === 'boolean') return v ? w.yes : w.no;
  return JSON.stringify(v);
}

function headline(n: Notice, w: Words, message: string): string {
  switch (n.kind) {
    case 'alarm':
      return w.headline.alarm(w.priority[n.alarm!.priority], message);
    case 'clear':
      return w.headline.clear(message);
    case 'escalation':
      return w.headline.escalation(message);
    case 'digest':
      return w.headline.digest(n.chattering === true, message, n.count ?? 0);
    case 'flood':
      return w.headline.flood(n.count ?? 0);
    case 'test':
      return w.headline.test;
  }
}

export function render(n: Notice, c: RenderContext): Rendered {
  const w = words(c.language);
  const zoned = (at: number): { text: string; iso: string } => zonedTime(at, c.timeZone, c.language);
  const say = (id: string, plain: string): string => c.message?.(id) ?? plain;
  const delay = c.now - n.at;
  const late = n.kind !== 'test' && delay > c.lateMs;
  const when = zoned(n.at);
  const link = n.alarm ? alarmLink(c.hmiUrl, n.alarm.id) : c.hmiUrl;
  const message = n.alarm ? say(n.alarm.id, n.alarm.message) : undefined;
  const title = headline(n, w, message ?? '');
  const subject = `${late ? w.lateMark : ''}[${c.plant}] ${title}`;
  // Labels in one column: as wide as the language's longest, at least 10.
  const width = Math.max(10, ...Object.values(w.label).map((l) => l.length + 2));
  const label = (k: keyof Words['label']): string => `${w.label[k]}:`.padEnd(width);
  const lines: string[] = [title, ''];
  if (late) lines.push(w.late(minutes(delay)), '');
  if (n.alarm) {
    const a = n.alarm;
    lines.push(
      `${label('alarm')}${a.id} (${w.priority[a.priority]})`,
      `${label('message')}${message}`,
      `${label('time')}${when.text}`,
      `${label('source')}${a.source}${a.value !== undefined ? ` = ${valueText(a.value, w)}` : ''}${a.quality ? ` (${w.quality(a.quality)})` : ''}`,
    );
  } else {
    lines.push(`${label('time')}${when.text}`);
  }
  if (n.kind === 'escalation' && n.since !== undefined) lines.push(`${label('raised')}${w.raised(zoned(n.since).text)}`);
  if (n.kind === 'digest') lines.push(`${label('repeats')}${w.repeats(n.count ?? 0, zoned(n.since ?? n.at).text, n.chattering === true)}`);
  const first = n.first?.map((f) => ({ ...f, message: say(f.id, f.message) }));
  if (n.kind === 'flood') {
    lines.push(`${label('flood')}${w.flood(n.count ?? 0, zoned(n.since ?? n.at).text)}`);
    for (const f of first ?? []) lines.push(`  - ${zoned(f.at).text}  ${w.priority[f.priority]}  ${f.id}: ${f.message}`);
  }
  if (n.kind === 'test') lines.push('', w.test(n.channel));
  lines.push('', `${label('plant')}${c.plant}`);
  if (c.onCall) lines.push(`${label('onCall')}${c.onCall}`);
  if (n.escalates) lines.push(w.escalates(n.escalates.channels.join(', '), zoned(n.escalates.at).text));
  if (link) lines.push('', w.link(link), w.signIn);
  // Field names and codes (kind, priority, state, quality) stay as they are for machines; the words follow the language.
  const json: Record<string, unknown> = {
    kind: n.kind,
    plant: c.plant,
    title,
    time: when.iso,
    timeZone: c.timeZone,
    language: c.language ?? 'en',
    late,
    ...(late ? { delaySeconds: Math.round(delay / 1000) } : {}),
    ...(n.alarm
      ? { alarm: n.alarm.id, message, priority: n.alarm.priority, state: n.kind === 'clear' ? 'normal' : 'active', source: { name: n.alarm.source, value: n.alarm.value ?? null, quality: n.alarm.quality ?? null } }
      : {}),
    ...(n.kind === 'escalation' && n.since !== undefined ? { raised: zoned(n.since).iso } : {}),
    ...(n.count !== undefined ? { count: n.count } : {}),
    ...(first ? { first: first.map((f) => ({ ...f, time: zoned(f.at).iso })) } : {}),
    ...(n.escalates ? { escalates: { time: zoned(n.escalates.at).iso, channels: n.escalates.channels } } : {}),
    ...(c.onCall ? { onCall: c.onCall } : {}),
    ...(link ? { link } : {}),
  };
  return { subject, text: lines.join('\n'), json, late };
}

/** The body a webhook of `format` receives. */
export function webhookBody(r: Rendered, format: 'json' | 'slack' | 'teams'): unknown {
  switch (format) {
    case 'json':
      return r.json;
    case 'slack':
      // Slack's incoming webhooks take mrkdwn text; <, > and & are its markup and are escaped.
      return { text: `*${slackEscape(r.subject)}*\n\`\`\`${slackEscape(r.text)}\`\`\`` };
    case 'teams':
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: r.subject,
        themeColor: r.json.priority === 'critical' ? 'C00000' : r.json.priority === 'high' ? 'E07000' : '808080',
        title: r.subject,
        text: r.text.replace(/\n/g, '  \n'),
      };
  }
}

const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
