/** What the Notifications page shows (GET /api/notifications): plain data, shared with the HMI. */

export type NoticeKind = 'alarm' | 'clear' | 'escalation' | 'digest' | 'flood' | 'test';

export type LogOutcome = 'sent' | 'failed' | 'rejected' | 'dropped';

export interface LogRow {
  id: number;
  /** When it happened (epoch ms). */
  at: number;
  channel: string;
  /** To whom: the channel's recipients, or its webhook's host, as they were when it was sent (never a secret). */
  to: string;
  kind: NoticeKind;
  alarm: string | null;
  subject: string;
  outcome: LogOutcome;
  /** Why it failed. */
  error: string | null;
  /** Sendings tried for it so far. */
  attempt: number;
  /** Sent past `late` after it happened. */
  late: boolean;
  /** When it was queued. */
  queuedAt: number;
}

export interface ChannelStatus {
  name: string;
  kind: 'mail' | 'webhook';
  /** Where it sends, for people (never a secret). */
  target: string;
  onCall?: string;
  queued: number;
  /** Set while the channel fails: the last error and when the next try is. */
  failing?: { error: string; attempt: number; nextTry: number };
}

export interface NotificationStatus {
  channels: ChannelStatus[];
  log: LogRow[];
}
