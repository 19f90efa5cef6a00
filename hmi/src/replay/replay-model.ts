/**
 * Replay's plain functions: the moment in the URL (`#/overview?at=…`, ISO
 * 8601 with the plant zone's offset, so a link reads as the plant's time),
 * and the kind of a timeline marker. No state here.
 */
import type { JournalEntry, JournalKind } from '../../../src/web/protocol.js';
import type { JournalQuery } from '../alarms/alarm-api.js';
import { msg } from '../i18n/locale.js';

export interface ReplayMoment {
  /** The recorded moment shown (epoch ms). */
  t: number;
  playing: boolean;
  speed: ReplaySpeed;
  loading: boolean;
  /** Why the last read failed, or a note (the end reached, nothing to step to). */
  note: string | null;
}

/** Why commands are disabled in replay (they would go to the live plant), or null while live. */
export const replayBlocker = (m: ReplayMoment | null): string | null => (m ? msg().replay.commandsBlocked : null);

const ALL_BUT_COMMANDS: readonly JournalKind[] = ['alarm', 'return', 'unknown', 'ack', 'shelve', 'unshelve', 'out-of-service', 'in-service', 'event', 'device'];

/** The event list's journal query in replay: up to the moment, command entries only for those who may read the audit trail. */
export function replayJournalQuery(t: number, limit: number, s: { role: string; via: string } | null): JournalQuery {
  const audit = s?.via === 'session' && (s.role === 'engineer' || s.role === 'admin');
  return audit ? { to: t, limit } : { to: t, limit, kinds: ALL_BUT_COMMANDS };
}

export type ReplaySpeed = 1 | 10 | 60;
export const SPEEDS: readonly ReplaySpeed[] = [1, 10, 60];

/** The moment a hash names in its `at` parameter (epoch ms), or undefined. */
export function atOf(hash: string): number | undefined {
  const q = hash.indexOf('?');
  if (q < 0) return undefined;
  for (const part of hash.slice(q + 1).split('&')) {
    const [k, v = ''] = part.split('=');
    if (k !== 'at') continue;
    let text: string;
    try {
      // A "+" of an offset may arrive as a space when a link was form-encoded.
      text = decodeURIComponent(v).replace(/ /g, '+');
    } catch {
      return undefined;
    }
    const n = /^\d{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d\d-\d\dT/.test(text) ? Date.parse(text) : NaN;
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The hash with its `at` parameter set to `iso` (or removed, when undefined); other parameters kept. */
export function withAt(hash: string, iso: string | undefined): string {
  const h = hash === '' ? '#/' : hash;
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const rest = q < 0 ? [] : h.slice(q + 1).split('&').filter((p) => p !== '' && !p.startsWith('at='));
  if (iso !== undefined) rest.push(`at=${iso}`);
  return rest.length ? `${path}?${rest.join('&')}` : path;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** An instant as ISO 8601 in a zone, with its offset: "2026-12-07T03:12:05-03:00". */
export function isoInZone(ts: number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  let p: Record<string, string>;
  try {
    p = Object.fromEntries(f.formatToParts(ts).map((x) => [x.type, x.value]));
  } catch {
    return new Date(ts).toISOString();
  }
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
  const offset = Math.round((wall - Math.floor(ts / 1000) * 1000) / 60_000);
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const zone = offset === 0 ? 'Z' : `${sign}${two(Math.floor(a / 60))}:${two(a % 60)}`;
  const ms = ts % 1000 === 0 ? '' : `.${String(ts % 1000).padStart(3, '0')}`;
  return `${p.year}-${p.month}-${p.day}T${two(Number(p.hour) % 24)}:${p.minute}:${p.second}${ms}${zone}`;
}

export type MarkerKind = 'alarm' | 'action' | 'other';

/** How a journal entry is marked on the timeline: an alarm, an operator's action, or another event. */
export function markerKind(e: Pick<JournalEntry, 'kind' | 'user'>): MarkerKind {
  if (e.kind === 'alarm') return 'alarm';
  if (e.user !== undefined || e.kind === 'ack' || e.kind === 'shelve' || e.kind === 'out-of-service' || e.kind === 'in-service') return 'action';
  return 'other';
}

export const MARKER_MARK: Record<MarkerKind, string> = { alarm: '▲', action: '●', other: '◆' };

/** An instant as a datetime-local input's value in the zone, to the second: "2026-12-07T03:12:05". */
export const inputValue = (ts: number, timeZone: string): string => isoInZone(Math.floor(ts / 1000) * 1000, timeZone).slice(0, 19);
