/**
 * The calls behind the alarm screens, as types: shared/api.ts makes them
 * with fetch; unit tests stand in for the server with their own.
 */
import type { AlarmState, JournalEntry, JournalKind, RateFigures } from '../../../src/web/protocol.js';
import type { CallResult } from '../shared/call-result.js';

export interface JournalQuery {
  from?: number;
  to?: number;
  /** Words that must all appear in the text or the source. */
  q?: string;
  kinds?: readonly JournalKind[];
  /** Entries with a sequence number below this (paging back). */
  before?: number;
  limit?: number;
}

export interface AlarmApi {
  ack(ids: readonly string[], comment?: string): Promise<CallResult<AlarmState[]>>;
  shelve(id: string, reason: string, minutes: number): Promise<CallResult<AlarmState>>;
  unshelve(id: string): Promise<CallResult<AlarmState>>;
  outOfService(id: string, reason: string): Promise<CallResult<AlarmState>>;
  inService(id: string): Promise<CallResult<AlarmState>>;
  /** Newest first. */
  journal(q: JournalQuery): Promise<CallResult<JournalEntry[]>>;
  rates(from: number, to: number): Promise<CallResult<RateFigures>>;
}

/** The query string of GET api/journal. */
export function journalQueryString(q: JournalQuery): string {
  const p = new URLSearchParams();
  if (q.from !== undefined) p.set('from', String(Math.floor(q.from)));
  if (q.to !== undefined) p.set('to', String(Math.floor(q.to)));
  if (q.q?.trim()) p.set('q', q.q.trim());
  if (q.kinds?.length) p.set('kinds', q.kinds.join(','));
  if (q.before !== undefined) p.set('before', String(q.before));
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** A failed call in one line for the screen: the server's message and its code, or why there was no answer. */
export function failureText(r: Exclude<CallResult<unknown>, { kind: 'ok' }>): string {
  return r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : `No answer from the server: ${r.message}`;
}
