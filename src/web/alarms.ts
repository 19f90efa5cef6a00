/**
 * Alarms and the journal over HTTP. Acknowledging, shelving and taking an
 * alarm out of service are actions on the alarm engine, audited in the
 * journal; none of them writes to a PLC.
 *
 *   GET  /api/alarms                      every alarm's state
 *   POST /api/alarms/ack                  {ids, comment?}
 *   POST /api/alarms/:id/shelve           {reason, minutes}
 *   POST /api/alarms/:id/unshelve
 *   POST /api/alarms/:id/out-of-service   {reason}          (engineer)
 *   POST /api/alarms/:id/in-service                         (engineer)
 *   GET  /api/journal?from&to&q&kinds&before&limit          newest first
 *   GET  /api/alarms/rates?from&to                          ISA-18.2 / EEMUA 191 figures
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AlarmActions } from '../alarms/remote.js';
import type { JournalKind } from '../bus/alarm-messages.js';
import type { Bus } from '../bus/types.js';
import type { Identity } from '../commands/prepare.js';

/** The alarm engine of this process, or of the `planta alarms` process through the bus (src/alarms/remote.ts). */
export type AlarmService = AlarmActions;

class AlarmRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

const KINDS: readonly JournalKind[] = ['alarm', 'return', 'unknown', 'ack', 'shelve', 'unshelve', 'out-of-service', 'in-service', 'event', 'command', 'device'];

function obj(req: FastifyRequest): Record<string, unknown> {
  const b = req.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new AlarmRequestError('PLANTA_ALARM_BAD_BODY', 'expected a JSON object');
  return b as Record<string, unknown>;
}

function str(b: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = b[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') throw new AlarmRequestError('PLANTA_ALARM_BAD_BODY', `${field}: expected a string`);
  return v;
}

/** A time parameter: epoch ms or an ISO date. */
function time(q: Record<string, string | undefined>, field: string): number | undefined {
  const v = q[field];
  if (v === undefined || v === '') return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new AlarmRequestError('PLANTA_JOURNAL_BAD_QUERY', `${field}: expected epoch milliseconds or an ISO date`);
  return n;
}

export function registerAlarmRoutes(
  app: FastifyInstance,
  o: { bus: Bus; alarms: AlarmService | undefined; identify: (req: FastifyRequest) => Identity | undefined },
): void {
  const service = (): AlarmService => {
    if (!o.alarms) throw new AlarmRequestError('PLANTA_ALARMS_UNAVAILABLE', 'the alarm engine does not run in this process', 503);
    return o.alarms;
  };
  const who = (req: FastifyRequest): Identity => {
    const id = o.identify(req);
    if (!id) throw new AlarmRequestError('PLANTA_AUTH_REQUIRED', 'alarm actions need a signed-in user', 401);
    return id;
  };

  app.get('/api/alarms', async () => o.bus.alarmStates());

  app.post('/api/alarms/ack', async (req) => {
    const b = obj(req);
    const ids = b.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((x) => typeof x === 'string')) {
      throw new AlarmRequestError('PLANTA_ALARM_BAD_BODY', 'ids: expected a list of 1..1000 alarm ids');
    }
    return service().acknowledge(who(req), ids as string[], str(b, 'comment', false));
  });

  app.post<{ Params: { id: string } }>('/api/alarms/:id/shelve', async (req) => {
    const b = obj(req);
    const minutes = b.minutes;
    if (typeof minutes !== 'number' || !Number.isFinite(minutes)) throw new AlarmRequestError('PLANTA_ALARM_BAD_BODY', 'minutes: expected a number');
    return service().shelve(who(req), req.params.id, str(b, 'reason', true)!, minutes * 60_000);
  });

  app.post<{ Params: { id: string } }>('/api/alarms/:id/unshelve', async (req) => service().unshelve(who(req), req.params.id));

  app.post<{ Params: { id: string } }>('/api/alarms/:id/out-of-service', async (req) =>
    service().removeFromService(who(req), req.params.id, str(obj(req), 'reason', true)!),
  );

  app.post<{ Params: { id: string } }>('/api/alarms/:id/in-service', async (req) => service().returnToService(who(req), req.params.id));

  app.get('/api/journal', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const kinds = q.kinds ? q.kinds.split(',') : undefined;
    if (kinds && !kinds.every((k) => (KINDS as readonly string[]).includes(k))) {
      throw new AlarmRequestError('PLANTA_JOURNAL_BAD_QUERY', `kinds: expected some of ${KINDS.join(', ')}`);
    }
    const num = (field: string): number | undefined => {
      const v = q[field];
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v)) throw new AlarmRequestError('PLANTA_JOURNAL_BAD_QUERY', `${field}: expected a whole number`);
      return Number(v);
    };
    const query: Parameters<AlarmService['journal']>[0] = {};
    const from = time(q, 'from');
    const to = time(q, 'to');
    const before = num('before');
    const limit = num('limit');
    if (from !== undefined) query.from = from;
    if (to !== undefined) query.to = to;
    if (before !== undefined) query.before = before;
    if (limit !== undefined) query.limit = limit;
    if (q.q) query.search = q.q;
    if (kinds) query.kinds = kinds as JournalKind[];
    return service().journal(query);
  });

  app.get('/api/alarms/rates', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const to = time(q, 'to') ?? Date.now();
    const from = time(q, 'from') ?? to - 24 * 3_600_000;
    if (!(from < to)) throw new AlarmRequestError('PLANTA_JOURNAL_BAD_QUERY', 'from must be before to');
    return service().rates(from, to);
  });
}
