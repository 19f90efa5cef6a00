/**
 * The plant at a past moment, in the live stream's own format (a
 * StreamSnapshot), for incident replay: each tag's last recorded value and
 * quality at or before T from the historian (never interpolated; no sample
 * is "waiting for initial data", a sample the recorder stopped repeating is
 * a last usable value), and every alarm's state at T from the journal.
 * Who may see command entries is decided here too (those who may read the
 * audit trail), so the state, the events and the stream agree.
 */
import { ALARM_KINDS, type AlarmTemplate, ReplayAlarms } from '../alarms/replay.js';
import type { AlarmActions } from '../alarms/remote.js';
import type { JournalEntry } from '../bus/alarm-messages.js';
import { ROLES } from '../config/schema.js';
import { type ReplaySource, type SampleAt, samplesAt } from '../historian/replay.js';
import { PlantaError } from '../errors.js';
import { QUALITIES, type Quality, isBad } from '../tags/quality.js';
import type { TagDefinition, TagValueType } from '../tags/types.js';
import type { RequestIdentity } from './auth.js';
import type { ReplayState, StreamValue } from './protocol.js';

export type { ReplayState };

export interface ReplayDeps {
  tags: readonly TagDefinition[];
  historian: ReplaySource;
  alarms: AlarmActions;
  /** Every alarm's id, message, priority and source (the live states: what does not change with time). */
  templates(): Promise<AlarmTemplate[]>;
  /** The enabling tag of each alarm suppressed by design while it is false (by alarm id). */
  enabledWhen: Readonly<Record<string, string | undefined>>;
}

/** Whether an enabling tag's sample leaves its alarms enabled: only a good false suppresses (the engine's rule). */
export const enabledBy = (s: SampleAt): boolean => !(qualityOf(s) === 'Good' && s.v === 0);

/** Journal pages read back from a moment to rebuild alarm states (×5000 entries). */
const MAX_PAGES = 20;
const PAGE = 5000;

/** Whether a request's user may see the audit trail's entries (commands): as GET /api/audit decides, an engineer's session. */
export function mayAudit(id: RequestIdentity | undefined): boolean {
  return id?.via === 'session' && ROLES.indexOf(id.role) >= ROLES.indexOf('engineer');
}

/** The journal entries a user may see in replay: command entries only for those who may read the audit trail. */
export const visibleEntries = (entries: readonly JournalEntry[], audit: boolean): JournalEntry[] => (audit ? [...entries] : entries.filter((e) => e.kind !== 'command'));

/** A recorded number back as the tag's type: NaN is no value, a bit is a boolean. */
export function valueOf(tag: TagDefinition, v: number): TagValueType | null {
  if (Number.isNaN(v)) return null;
  return tag.type === 'bool' || tag.type === 'bit' ? v !== 0 : v;
}

/** The quality shown for a recorded sample: a good value the recorder stopped confirming is a last usable value. */
export function qualityOf(s: Pick<SampleAt, 'q' | 'stale'>): Quality {
  const q = QUALITIES[s.q] ?? 'Bad_ConfigurationError';
  return s.stale && !isBad(q) ? 'Uncertain_LastUsableValue' : q;
}

/** One tag's value in a stream event whose time is `t`. */
export function encodeSample(i: number, tag: TagDefinition, s: SampleAt | undefined, t: number): StreamValue {
  if (!s) return [i, null, 'Bad_WaitingForInitialData', 0];
  const q = qualityOf(s);
  const v = valueOf(tag, s.v);
  return q === 'Good' && s.ts === t ? [i, v] : [i, v, q, s.ts];
}

/** A time parameter: epoch ms or ISO 8601 (with its offset), not after now. */
export function replayTime(v: string | undefined, field: string, now: number): number {
  if (v === undefined || v === '') throw new PlantaError('PLANTA_REPLAY_BAD_TIME', `${field}: give the moment to replay, as epoch milliseconds or ISO 8601`, { field });
  const n = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(n)) throw new PlantaError('PLANTA_REPLAY_BAD_TIME', `${field}: expected epoch milliseconds or an ISO 8601 date-time`, { field });
  if (n > now) throw new PlantaError('PLANTA_REPLAY_BAD_TIME', `${field}: ${new Date(n).toISOString()} is in the future; replay shows what was recorded`, { field });
  return Math.floor(n);
}

/** The replay speeds: real time, ten and sixty times faster. */
export const SPEEDS = [1, 10, 60] as const;

export function replaySpeed(v: string | undefined): (typeof SPEEDS)[number] {
  if (v === undefined || v === '') return 1;
  const n = Number(v);
  const s = SPEEDS.find((x) => String(x) === v && x === n);
  if (s === undefined) throw new PlantaError('PLANTA_REPLAY_BAD_SPEED', `speed: expected one of ${SPEEDS.join(', ')}`, { field: 'speed' });
  return s;
}

/** The journal newest first, at most `limit` entries with from ≤ ts ≤ to, before the entry `before` (a seq). */
export function journalPage(alarms: AlarmActions, q: { from?: number; to: number; before?: number; kinds?: JournalEntry['kind'][]; limit?: number }): Promise<JournalEntry[]> {
  return Promise.resolve(alarms.journal({ limit: PAGE, ...q }));
}

/** The plant at `at`: the snapshot, and what a stream carries forward from it. */
export async function stateAt(deps: ReplayDeps, at: number): Promise<{ state: ReplayState; samples: (SampleAt | undefined)[]; alarms: ReplayAlarms }> {
  const names = deps.tags.map((t) => t.name);
  const samples = await samplesAt(deps.historian, names, at);
  const bad = new Set<string>();
  samples.forEach((s, k) => {
    if (!s || isBad(qualityOf(s))) bad.add(names[k]!);
  });
  const index = new Map(names.map((n, k) => [n, k]));
  const alarms = await ReplayAlarms.at(
    await deps.templates(),
    (before) => journalPage(deps.alarms, { to: at, kinds: [...ALARM_KINDS], ...(before !== undefined ? { before } : {}) }),
    at,
    {
      sourceBad: (source) => bad.has(source),
      enabledWhen: deps.enabledWhen,
      enabled: (tag) => {
        const s = samples[index.get(tag) ?? -1];
        return s ? { enabled: enabledBy(s), since: s.ts } : undefined;
      },
      maxPages: MAX_PAGES,
    },
  );
  const state: ReplayState = {
    epoch: `replay${at.toString(36)}`,
    tags: names,
    t: at,
    at,
    values: deps.tags.map((tag, i) => encodeSample(i, tag, samples[i], at)),
    // Device statuses are not recorded: a replay shows none rather than today's.
    devices: [],
    alarms: alarms.states(),
    bus: { up: true, since: at },
  };
  return { state, samples, alarms };
}
