/**
 * The calls behind the Notifications page, as types (GET api/notifications,
 * POST api/notifications/test): shared/api.ts makes them with fetch.
 */
import type { NotificationStatus } from '../../../src/notify/status.js';
import type { CallResult } from '../shared/call-result.js';

export type { ChannelStatus, LogRow, NotificationStatus } from '../../../src/notify/status.js';

export interface NotifyApi {
  /** The channels and the log, newest first (`before`: a log id, for older entries). */
  status(q: { limit?: number; before?: number }): Promise<CallResult<NotificationStatus>>;
  test(channel: string): Promise<CallResult<{ subject: string; target: string }>>;
}
