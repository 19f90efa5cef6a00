/**
 * The Notifications page across processes: a web node without the notifier
 * (`planta web` on the Redis bus) asks the `planta alarms` process, where it
 * runs, over the bus — as the alarm actions do (src/alarms/remote.ts).
 */
import { BusError } from '../bus/errors.js';
import { ServiceError, unwrap } from '../bus/service.js';
import type { RpcBus, Unsubscribe } from '../bus/types.js';
import { NotifyError } from './errors.js';
import type { Notifier } from './notifier.js';
import type { NotificationStatus } from './status.js';

export const NOTIFY_SERVICE = 'notify';

/** What the web asks of the notifier, local or in another process. */
export interface NotificationsService {
  status(o: { limit?: number; before?: number }): NotificationStatus | Promise<NotificationStatus>;
  test(channel: string): Promise<{ subject: string; target: string }>;
}

interface Body {
  limit?: number;
  before?: number;
  channel?: string;
}

/** Answers the web nodes' requests from this process's notifier. */
export function serveNotifications(bus: Pick<RpcBus, 'serve'>, notifier: Notifier): Promise<Unsubscribe> {
  return bus.serve(NOTIFY_SERVICE, async ({ op, body }) => {
    const b = (body ?? {}) as Body;
    if (op === 'status') return notifier.status({ ...(typeof b.limit === 'number' ? { limit: b.limit } : {}), ...(typeof b.before === 'number' ? { before: b.before } : {}) });
    if (op === 'test') return notifier.test(String(b.channel));
    throw new NotifyError('PLANTA_NOTIFY_BAD_REQUEST', `unknown notifications request "${op}"`);
  });
}

/** The notifier of another process, through the bus; no answer is PLANTA_NOTIFY_UNAVAILABLE (503). */
export function remoteNotifications(bus: Pick<RpcBus, 'request'>, timeoutMs = 5000): NotificationsService {
  const ask = async <T>(op: string, body: Body, ms = timeoutMs): Promise<T> => {
    try {
      return unwrap<T>(await bus.request(NOTIFY_SERVICE, { op, body }, ms));
    } catch (err) {
      if (err instanceof BusError) throw new ServiceError(err.code === 'PLANTA_BUS_NO_ANSWER' ? 'PLANTA_NOTIFY_UNAVAILABLE' : err.code, err.message, 503);
      throw err;
    }
  };
  return {
    status: (o) => ask('status', o),
    // A test waits for the mail server: longer than a read.
    test: (channel) => ask('test', { channel }, Math.max(timeoutMs, 40_000)),
  };
}
