/**
 * A notification as it waits in the outbox (plain JSON), and its words: the
 * mail's subject and text, the webhook's JSON (json), or a Slack or Teams
 * message. The words are made when it is sent, so a notification that waited
 * past `late` says so, and when.
 */
import type { AlarmPriority } from '../bus/alarm-messages.js';
import type { NoticeKind } from './status.js';

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
  plant: string;
  timeZone: string;
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

/** "2026-12-07 14:32:05 CET" with the zone's offset, and the ISO form with its offset, in `timeZone`. */
export function zonedTime(at: number, timeZone: string): { text: string; iso: string } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset',
  });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : (p.timeZoneName ?? 'GMT').replace('GMT', '');
  const date = `${p.year}-${p.month}-${p.day}`;
  const time = `${p.hour}:${p.minute}:${p.second}`;
  return { text: `${date} ${time} ${timeZone} (UTC${offset})`, iso: `${date}T${time}${offset}` };
}

/** The alarm in the HMI (acknowledging there needs a signed-in operator: the link carries no secret). */
export function alarmLink(hmiUrl: string | undefined, id: string): string | undefined {
  return hmiUrl ? `${hmiUrl.replace(/\/+$/, '')}/#/alarms/${encodeURIComponent(id)}` : undefined;
}

const minutes = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

function headline(n: Notice): string {
  const a = n.alarm;
  switch (n.kind) {
    case 'alarm':
      return `${a!.priority.toUpperCase()} alarm: ${a!.message}`;
    case 'clear':
      return `Cleared: ${a!.message}`;
    case 'escalation':
      return `ESCALATED, still unacknowledged: ${a!.message}`;
    case 'digest':
      return `${n.chattering ? 'Chattering' : 'Repeated'}: ${a!.message} (${n.count} more time${n.count === 1 ? '' : 's'})`;
    case 'flood':
      return `Alarm flood: ${n.count} alarms`;
    case 'test':
      return 'Test notification';
  }
}

export function render(n: Notice, c: RenderContext): Rendered {
  const delay = c.now - n.at;
  const late = n.kind !== 'test' && delay > c.lateMs;
  const when = zonedTime(n.at, c.timeZone);
  const link = n.alarm ? alarmLink(c.hmiUrl, n.alarm.id) : c.hmiUrl;
  const title = headline(n);
  const subject = `${late ? '[LATE] ' : ''}[${c.plant}] ${title}`;
  const lines: string[] = [title, ''];
  if (late) lines.push(`LATE: sent ${minutes(delay)} after it happened (the channel was unreachable, or Planta was stopped).`, '');
  if (n.alarm) {
    const a = n.alarm;
    lines.push(`Alarm:    ${a.id} (${a.priority})`, `Message:  ${a.message}`, `Time:     ${when.text}`, `Source:   ${a.source}${a.value !== undefined ? ` = ${JSON.stringify(a.value)}` : ''}${a.quality ? ` (${a.quality})` : ''}`);
  } else {
    lines.push(`Time:     ${when.text}`);
  }
  if (n.kind === 'escalation' && n.since !== undefined) lines.push(`Raised:   ${zonedTime(n.since, c.timeZone).text}, not acknowledged since`);
  if (n.kind === 'digest') lines.push(`Repeats:  ${n.count} since ${zonedTime(n.since ?? n.at, c.timeZone).text}${n.chattering ? ' — chattering: its repeats are summarised, not sent one by one' : ''}`);
  if (n.kind === 'flood') {
    lines.push(`Flood:    ${n.count} alarms since ${zonedTime(n.since ?? n.at, c.timeZone).text}; they are not sent one by one. The first:`);
    for (const f of n.first ?? []) lines.push(`  - ${zonedTime(f.at, c.timeZone).text}  ${f.priority}  ${f.id}: ${f.message}`);
  }
  if (n.kind === 'test') lines.push('', `This is a test of the channel ${n.channel}, sent by planta notify test.`);
  lines.push('', `Plant:    ${c.plant}`);
  if (c.onCall) lines.push(`On call:  ${c.onCall}`);
  if (n.escalates) lines.push(`Escalates to ${n.escalates.channels.join(', ')} at ${zonedTime(n.escalates.at, c.timeZone).text} unless acknowledged.`);
  if (link) lines.push('', `Open in the HMI: ${link}`, 'Acknowledging there needs a signed-in operator.');
  const json: Record<string, unknown> = {
    kind: n.kind,
    plant: c.plant,
    title,
    time: when.iso,
    timeZone: c.timeZone,
    late,
    ...(late ? { delaySeconds: Math.round(delay / 1000) } : {}),
    ...(n.alarm
      ? { alarm: n.alarm.id, message: n.alarm.message, priority: n.alarm.priority, state: n.kind === 'clear' ? 'normal' : 'active', source: { name: n.alarm.source, value: n.alarm.value ?? null, quality: n.alarm.quality ?? null } }
      : {}),
    ...(n.kind === 'escalation' && n.since !== undefined ? { raised: zonedTime(n.since, c.timeZone).iso } : {}),
    ...(n.count !== undefined ? { count: n.count } : {}),
    ...(n.first ? { first: n.first.map((f) => ({ ...f, time: zonedTime(f.at, c.timeZone).iso })) } : {}),
    ...(n.escalates ? { escalates: { time: zonedTime(n.escalates.at, c.timeZone).iso, channels: n.escalates.channels } } : {}),
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
