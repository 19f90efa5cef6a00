/**
 * The Notifications page's API (engineers): the channels with what waits
 * for each and why one fails, the log of what was sent, to whom, when, and
 * the failures; and a test message to a channel. The notifier runs beside
 * the alarm engine (src/notify/); on the Redis bus a web node asks it
 * through the bus.
 *
 *   GET  /api/notifications?limit&before     channels and the log, newest first
 *   POST /api/notifications/test {channel}   sends a test message now
 */
import type { FastifyInstance } from 'fastify';
import type { NotificationsService } from '../notify/remote.js';
import { PlantaError } from '../errors.js';
import { isName, queryParam } from './fields.js';

const MAX_LOG = 500;

export function registerNotificationRoutes(app: FastifyInstance, o: { notifications: NotificationsService | undefined }): void {
  const service = (): NotificationsService => {
    if (!o.notifications) throw new PlantaError('PLANTA_NOTIFY_UNAVAILABLE', 'no notifier runs for this web server (no notifications: in the configuration, or the alarm process is not reachable)');
    return o.notifications;
  };
  const whole = (q: unknown, field: string): number | undefined => {
    const v = queryParam(q, field, 'PLANTA_NOTIFY_BAD_QUERY');
    if (v === undefined || v === '') return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new PlantaError('PLANTA_NOTIFY_BAD_QUERY', `${field}: expected a whole number`, { field });
    return Number(v);
  };

  app.get('/api/notifications', { config: { access: 'engineer' } }, async (req) => {
    const limit = whole(req.query, 'limit');
    const before = whole(req.query, 'before');
    if (limit !== undefined && (limit < 1 || limit > MAX_LOG)) throw new PlantaError('PLANTA_NOTIFY_BAD_QUERY', `limit: 1..${MAX_LOG}`, { field: 'limit' });
    return service().status({ ...(limit !== undefined ? { limit } : {}), ...(before !== undefined ? { before } : {}) });
  });

  app.post('/api/notifications/test', { config: { access: 'engineer' }, bodyLimit: 1024 }, async (req) => {
    const b = req.body as { channel?: unknown } | undefined;
    const channel = b?.channel;
    if (typeof channel !== 'string' || !isName(channel)) throw new PlantaError('PLANTA_NOTIFY_BAD_BODY', 'channel: expected a channel name', { field: 'channel' });
    return service().test(channel);
  });
}
