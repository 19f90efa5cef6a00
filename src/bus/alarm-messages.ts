/** Alarm states and journal entries as the bus carries them: plain serialisable data. */

export type AlarmPriority = 'critical' | 'high' | 'medium' | 'low';

/**
 * The ISA-18.2 state an operator sees:
 *   normal · unack (active, unacknowledged) · acked (active, acknowledged) ·
 *   rtn-unack (returned to normal, unacknowledged) · shelved · suppressed (by design) ·
 *   out-of-service · unknown (its source's quality is bad: it may be active or not)
 */
export type AlarmDisplayState = 'normal' | 'unack' | 'acked' | 'rtn-unack' | 'shelved' | 'suppressed' | 'out-of-service' | 'unknown';

export interface AlarmState {
  id: string;
  message: string;
  priority: AlarmPriority;
  /** The tag (or, for a communication alarm, the device) the alarm watches. */
  source: string;
  state: AlarmDisplayState;
  /** Whether the condition holds; null while unknown. */
  active: boolean | null;
  acked: boolean;
  activeSince: number | null;
  changedAt: number;
  /** The source's value when the state last changed. */
  value: number | boolean | null;
  ack?: { user: string; at: number; comment?: string };
  /** `since`: when it was shelved without a break, where it was shelved again before it came back (its priority's maximum counts from then). */
  shelved?: { user: string; reason: string; at: number; until: number; since?: number };
  outOfService?: { user: string; reason: string; at: number };
}

export type JournalKind =
  | 'alarm'
  | 'return'
  | 'unknown'
  | 'ack'
  | 'shelve'
  | 'unshelve'
  | 'out-of-service'
  | 'in-service'
  | 'event'
  | 'command'
  | 'device';

export interface JournalEntry {
  /** Increasing order of the journal (assigned when stored). */
  seq: number;
  ts: number;
  kind: JournalKind;
  /** The alarm id, tag, device or command the entry is about. */
  source: string;
  text: string;
  priority?: AlarmPriority;
  user?: string;
}
