/**
 * Alarms as the HMI reasons about them, without any screen: the server's
 * ISA-18.2 states and priorities in words and shapes (never colour alone),
 * what the banner counts, what the summary filters and sorts, which alarms
 * an operator can acknowledge, and which arrived new (for the tone and the
 * banner's pulse).
 */
import type { AlarmDisplayState, AlarmPriority, AlarmState } from '../../../src/web/protocol.js';
import { msg } from '../i18n/locale.js';

export const PRIORITIES: readonly AlarmPriority[] = ['critical', 'high', 'medium', 'low'];

const PRIORITY_RANK: Record<AlarmPriority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** CRITICAL, HIGH... in the user's language. */
export const priorityWord = (p: AlarmPriority): string => msg().priority.word[p];

/** A shape per priority, so that priority never rests on colour alone. */
export const PRIORITY_MARK: Record<AlarmPriority, string> = { critical: '◆', high: '▲', medium: '■', low: '●' };

/** The state in words ("Active, unacknowledged"...) in the user's language. */
export const stateWord = (s: AlarmDisplayState): string => msg().alarmState[s];

export const STATE_MARK: Record<AlarmDisplayState, string> = {
  unack: '!',
  acked: '✓',
  'rtn-unack': '↓',
  normal: '○',
  shelved: '‖',
  suppressed: '–',
  'out-of-service': '⊘',
  unknown: '?',
};

/** The order of the "state" sort: what needs the operator first. */
const STATE_RANK: Record<AlarmDisplayState, number> = {
  unack: 0,
  'rtn-unack': 1,
  unknown: 2,
  acked: 3,
  shelved: 4,
  'out-of-service': 5,
  suppressed: 6,
  normal: 7,
};

export const isUnacked = (a: AlarmState): boolean => a.state === 'unack' || a.state === 'rtn-unack';

/** Whether Acknowledge applies: not yet acknowledged, and shown (an unknown alarm may still wait for its acknowledgement). */
export const canAck = (a: AlarmState): boolean => !a.acked && (isUnacked(a) || a.state === 'unknown');

/** Since when the alarm is in the state it shows: its activation while active, else its last change (0: never). */
export function sinceOf(a: AlarmState): number {
  if ((a.state === 'unack' || a.state === 'acked') && a.activeSince !== null) return a.activeSince;
  return a.changedAt;
}

export function highestPriority(list: readonly AlarmState[]): AlarmPriority | null {
  let best: AlarmPriority | null = null;
  for (const a of list) if (best === null || PRIORITY_RANK[a.priority] < PRIORITY_RANK[best]) best = a.priority;
  return best;
}

export interface AlarmSummary {
  /** Unacknowledged: active (unack) or returned to normal (rtn-unack). */
  unacked: number;
  /** The highest priority among the unacknowledged, or null. */
  highest: AlarmPriority | null;
  /** Active and acknowledged: still abnormal (an e-stop still pressed), shown until it clears. */
  activeAcked: number;
  /** The highest priority among the active acknowledged, or null. */
  ackedHighest: AlarmPriority | null;
  /** Bad source data: may be active or not. */
  unknown: number;
  shelved: number;
  outOfService: number;
  /** The first of the overview's list (priority, then unacknowledged first, then newest): the one the banner names. */
  top: AlarmState | null;
  /** An unacknowledged critical or high alarm: the tone repeats while there is one. */
  urgent: boolean;
}

export function summarise(list: readonly AlarmState[]): AlarmSummary {
  const unacked = list.filter(isUnacked);
  const acked = list.filter((a) => a.state === 'acked');
  const highest = highestPriority(unacked);
  return {
    unacked: unacked.length,
    highest,
    activeAcked: acked.length,
    ackedHighest: highestPriority(acked),
    unknown: list.filter((a) => a.state === 'unknown').length,
    shelved: list.filter((a) => a.state === 'shelved').length,
    outOfService: list.filter((a) => a.state === 'out-of-service').length,
    top: overviewAlarms(list)[0] ?? null,
    urgent: highest === 'critical' || highest === 'high',
  };
}

// ------------------------------------------------------------------ the summary's filters and sorts

export type StateFilter = 'not-normal' | 'unacked' | 'active' | 'unknown' | 'shelved' | 'out-of-service' | 'suppressed' | 'all';

export const STATE_FILTERS: readonly StateFilter[] = ['not-normal', 'unacked', 'active', 'unknown', 'shelved', 'out-of-service', 'suppressed', 'all'];

export type AlarmSort = 'priority' | 'time' | 'state';

export const SORTS: readonly AlarmSort[] = ['priority', 'time', 'state'];

export interface AlarmFilter {
  state: StateFilter;
  priority: AlarmPriority | 'all';
  /** Words that must all appear in the message, the id or the source (case-insensitive). */
  text: string;
}

function stateMatches(a: AlarmState, f: StateFilter): boolean {
  switch (f) {
    case 'all':
      return true;
    case 'not-normal':
      // Suppressed by design means "does not apply in this process state": listed under its own filter, as ISA-18.2 keeps it.
      return a.state !== 'normal' && a.state !== 'suppressed';
    case 'unacked':
      return isUnacked(a);
    case 'active':
      return a.state === 'unack' || a.state === 'acked';
    default:
      return a.state === f;
  }
}

export function textMatches(words: string, ...fields: string[]): boolean {
  const hay = fields.join('\n').toLowerCase();
  return words
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

export function filterAlarms(list: readonly AlarmState[], f: AlarmFilter): AlarmState[] {
  return list.filter((a) => stateMatches(a, f.state) && (f.priority === 'all' || a.priority === f.priority) && textMatches(f.text, a.message, a.id, a.source));
}

export function sortAlarms(list: readonly AlarmState[], sort: AlarmSort): AlarmState[] {
  const byTime = (a: AlarmState, b: AlarmState): number => sinceOf(b) - sinceOf(a);
  const byPriority = (a: AlarmState, b: AlarmState): number => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
  const byState = (a: AlarmState, b: AlarmState): number => STATE_RANK[a.state] - STATE_RANK[b.state];
  const byId = (a: AlarmState, b: AlarmState): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const order =
    sort === 'priority'
      ? [byPriority, byState, byTime, byId]
      : sort === 'time'
        ? [byTime, byPriority, byId]
        : [byState, byPriority, byTime, byId];
  return [...list].sort((a, b) => {
    for (const f of order) {
      const d = f(a, b);
      if (d !== 0) return d;
    }
    return 0;
  });
}

/**
 * The overview's "Active alarms" and the banner's: what is active (acknowledged or not, until it clears) or waits
 * for an acknowledgement, and what is unknown; by priority, then unacknowledged first, then newest (ISA-18.2).
 */
export function overviewAlarms(list: readonly AlarmState[]): AlarmState[] {
  const shown = list.filter((a) => a.state === 'unack' || a.state === 'rtn-unack' || a.state === 'acked' || a.state === 'unknown');
  return sortAlarms(shown, 'priority');
}

/**
 * The alarms that just became active and unacknowledged: not seen before,
 * or seen with another activation. An alarm coming back from "unknown" to
 * the state it had is not new.
 */
export function newlyUnacked(before: ReadonlyMap<string, AlarmState>, after: readonly AlarmState[]): AlarmState[] {
  return after.filter((a) => {
    if (a.state !== 'unack') return false;
    const prev = before.get(a.id);
    return !prev || prev.activeSince !== a.activeSince;
  });
}

// ------------------------------------------------------------------ shelving

export const SHELVE_CHOICES: readonly { minutes: number; label: string }[] = [
  { minutes: 15, label: '15 min' },
  { minutes: 60, label: '1 h' },
  { minutes: 240, label: '4 h' },
  { minutes: 480, label: '8 h' },
  { minutes: 1440, label: '24 h' },
];

/** 90 → "1 h 30 min". */
export function minutesLabel(minutes: number): string {
  const h = Math.floor(minutes / 60);
  return [h ? `${h} h` : '', minutes % 60 ? `${minutes % 60} min` : ''].filter(Boolean).join(' ');
}

/** The durations an alarm may be shelved for under the plant's rule: the usual choices up to its maximum, and the maximum itself. */
export function shelveChoices(maxMinutes: number): { minutes: number; label: string }[] {
  const under = SHELVE_CHOICES.filter((c) => c.minutes <= maxMinutes);
  return under.some((c) => c.minutes === maxMinutes) ? under : [...under, { minutes: maxMinutes, label: minutesLabel(maxMinutes) }];
}

/** The choice a shelve dialog starts on: 1 h, or the longest allowed below it. */
export function defaultShelveMinutes(choices: readonly { minutes: number }[]): number {
  return choices.filter((c) => c.minutes <= 60).at(-1)?.minutes ?? choices[0]!.minutes;
}
