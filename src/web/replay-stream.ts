/**
 * GET /api/replay/stream: the recorded plant played from a moment, in the
 * live stream's events (snapshot, delta, alarms, journal — the HMI renders
 * both with the same code) plus `replay` events with the moment reached.
 *
 * The stream moves in frames of `frameMs` wall time (speed × frameMs of
 * plant time each): a delta with each tag's last sample in the frame (with
 * its own time: nothing is interpolated), the alarm states the frame's
 * journal entries changed, the entries themselves (commands only for those
 * who may read the audit trail, who also get the audit trail's entries as
 * `audit` events), then the moment reached. Samples and
 * entries are read ahead a few seconds of wall time at a time. It ends,
 * with a last `replay` event saying so, when it reaches the present; a
 * client that stops reading is not buffered for (the next frame waits for
 * its socket to drain).
 */
import type { Socket } from 'node:net';
import type { AuditEntry, AuditQuery } from '../auth/audit.js';
import type { JournalEntry } from '../bus/alarm-messages.js';
import type { Samples } from '../historian/codec.js';
import { type SampleAt, samplesBetween } from '../historian/replay.js';
import { QUALITY_INDEX, isBadIndex } from '../historian/types.js';
import type { Logger } from '../util/log.js';
import type { ReplayClock, StreamDelta, StreamValue } from './protocol.js';
import { type ReplayDeps, enabledBy, encodeSample, journalPage, stateAt, visibleEntries } from './replay-state.js';
import { encodeEvent, retryField, startEventStream } from './sse.js';

export interface ReplayStreamOptions {
  deps: ReplayDeps;
  from: number;
  speed: number;
  /** Whether command entries are shown (the user may read the audit trail). */
  audit: boolean;
  /** The audit trail (newest first), given only for a user who may read it: its entries go out as `audit` events. */
  auditTrail?: (q: AuditQuery) => Promise<AuditEntry[]>;
  /** Extra response headers, as `name: value\r\n` lines. */
  headers?: string;
  log?: Logger;
  now?: () => number;
  /** Wall time per frame. Default 250 ms. */
  frameMs?: number;
  /** Frames read ahead at once. Default 20. */
  readAheadFrames?: number;
  /** Journal pages (×5000 entries) read for one read-ahead at most. */
  maxJournalPages?: number;
  /** False: as fast as it can, unpaced (a benchmark's measure of how far ahead of 60× it could go). Default true. */
  paced?: boolean;
  /** The state at `from`, when the caller read it already. */
  start?: Awaited<ReturnType<typeof stateAt>>;
}

interface Ahead {
  from: number;
  to: number;
  samples: Samples[];
  /** By tag: the next sample not yet played. */
  next: number[];
  journal: JournalEntry[];
  nextEntry: number;
  /** The audit trail's entries, oldest first, for a user who may read it. */
  audit: AuditEntry[];
  nextAudit: number;
}

const UNCERTAIN_STALE = QUALITY_INDEX.Uncertain_LastUsableValue;

/** Plays the replay on a socket whose request asked for it; resolves when it ends (reached the present, or the client left). */
export async function playReplay(socket: Socket, o: ReplayStreamOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const frameMs = o.frameMs ?? 250;
  const readAhead = o.readAheadFrames ?? 20;
  const { deps } = o;
  let closed = false;
  socket.once('close', () => void (closed = true));
  socket.on('error', () => void (closed = true));
  const start = o.start ?? (await stateAt(deps, o.from));
  let seq = 0;
  const id = (): string => `${start.state.epoch}.${++seq}`;
  const send = (event: string, data: unknown): void => void socket.write(encodeEvent(id(), event, JSON.stringify(data)));
  startEventStream(socket, 'close', o.headers);
  // A replay is not resumed: a browser that lost it asks again from the moment it reached.
  socket.write(retryField(2000));
  send('snapshot', start.state);
  send('replay', { t: o.from, speed: o.speed, end: false } satisfies ReplayClock);

  const tags = deps.tags;
  const names = tags.map((t) => t.name);
  const last: (SampleAt | undefined)[] = start.samples;
  const alarms = start.alarms;
  const enabling = new Set(alarms.enablingTags());
  let cursor = o.from;
  let ahead: Ahead | undefined;
  const began = performance.now();
  for (let frame = 1; !closed; frame++) {
    const present = now();
    const end = Math.min(cursor + frameMs * o.speed, present);
    if (!ahead || end > ahead.to) ahead = await readAheadFrom(deps, names, cursor, Math.min(cursor + frameMs * o.speed * readAhead, present), o.maxJournalPages ?? 10, o.auditTrail);
    if (closed) break;
    const values: StreamValue[] = [];
    const changed = new Map<string, ReturnType<typeof alarms.states>[number]>();
    for (let k = 0; k < tags.length; k++) {
      const s = ahead.samples[k]!;
      let i = ahead.next[k]!;
      const before = last[k];
      while (i < s.n && s.ts[i]! <= end) i++;
      if (i > ahead.next[k]!) {
        const j = i - 1;
        ahead.next[k] = i;
        last[k] = { ts: s.ts[j]!, v: s.v[j]!, q: s.q[j]!, stale: false };
        values.push(encodeSample(k, tags[k]!, last[k], end));
        if (before && isBadIndex(before.q) && !isBadIndex(s.q[j]!)) for (const a of alarms.sourceGood(names[k]!, s.ts[j]!)) changed.set(a.id, a);
        if (enabling.has(names[k]!)) for (const a of alarms.enabled(names[k]!, enabledBy(last[k]!), s.ts[j]!)) changed.set(a.id, a);
      } else if (before && !before.stale && before.q !== UNCERTAIN_STALE && !isBadIndex(before.q) && end - before.ts > deps.historian.staleAfterMs(names[k]!)) {
        // The recorder stopped repeating it: from here on it is a last usable value, as the snapshot would say.
        last[k] = { ...before, stale: true };
        values.push(encodeSample(k, tags[k]!, last[k], end));
      }
    }
    const entries: JournalEntry[] = [];
    while (ahead.nextEntry < ahead.journal.length && ahead.journal[ahead.nextEntry]!.ts <= end) entries.push(ahead.journal[ahead.nextEntry++]!);
    for (const e of entries) {
      const a = alarms.apply(e);
      if (a) changed.set(a.id, a);
    }
    if (values.length > 0) send('delta', { t: end, values } satisfies StreamDelta);
    if (changed.size > 0) send('alarms', [...changed.values()]);
    const shown = visibleEntries(entries, o.audit);
    if (shown.length > 0) send('journal', shown);
    const audited: AuditEntry[] = [];
    while (ahead.nextAudit < ahead.audit.length && ahead.audit[ahead.nextAudit]!.ts <= end) audited.push(ahead.audit[ahead.nextAudit++]!);
    if (audited.length > 0) send('audit', audited);
    const done = end >= present;
    send('replay', { t: end, speed: o.speed, end: done } satisfies ReplayClock);
    cursor = end;
    if (done) break;
    // Paced on the wall clock from the start (no drift); a socket still full waits for its drain.
    if (socket.writableLength > 1024 * 1024) await new Promise<void>((r) => socket.once('drain', r).once('close', r));
    const wait = began + frame * frameMs - performance.now();
    if (wait > 0 && o.paced !== false) await new Promise((r) => setTimeout(r, wait));
  }
  if (!closed) socket.end();
}

/** Samples (per tag) and journal entries (oldest first) with from < ts ≤ to. */
async function readAheadFrom(
  deps: ReplayDeps,
  names: readonly string[],
  from: number,
  to: number,
  maxPages: number,
  auditTrail: ((q: AuditQuery) => Promise<AuditEntry[]>) | undefined,
): Promise<Ahead> {
  const samples = await samplesBetween(deps.historian, names, from, to);
  const journal: JournalEntry[] = [];
  let before: number | undefined;
  for (let p = 0; p < maxPages; p++) {
    const page = await journalPage(deps.alarms, { from: from + 1, to, ...(before !== undefined ? { before } : {}) });
    journal.push(...page);
    if (page.length < 5000) break;
    before = page[page.length - 1]!.seq;
  }
  journal.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  const audit = auditTrail ? (await auditTrail({ from: from + 1, to, limit: 5000 })).reverse() : [];
  return { from, to, samples, next: names.map(() => 0), journal, nextEntry: 0, audit, nextAudit: 0 };
}
