/**
 * Alarms and the journal over HTTP. Acknowledging, shelving and taking an
 * alarm out of service are actions on the alarm engine, audited in the
 * journal; none of them writes to a PLC. The engine decides the role each
 * action needs; the routes bound what a request brings (ids are alarm
 * names, comments and reasons printable text of a sensible length).
 *
 *   GET  /api/alarms                      every alarm's state
 *   POST /api/alarms/ack                  {ids, comment?}   (comment ≤ 500 characters)
 *   POST /api/alarms/:id/shelve           {reason, minutes} (reason ≤ 200 characters)
 *   POST /api/alarms/:id/unshelve
 *   POST /api/alarms/:id/out-of-service   {reason}          (engineer)
 *   POST /api/alarms/:id/in-service                         (engineer)
 *   GET  /api/journal?from&to&q&kinds&before&limit          newest first (q ≤ 200 characters)
 *   GET  /api/alarms/rates?from&to                          ISA-18.2 / EEMUA 191 figures
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AlarmActions } from '../alarms/remote.js';
import type { AlarmState, JournalKind } from '../bus/alarm-messages.js';
import type { AlarmBus } from '../bus/types.js';
import type { Identity } from '../commands/prepare.js';
import { PlantaError } from '../errors.js';
import { boundedText, isName, queryParam } from './fields.js';
import { BODY_LIMITS } from './limits.js';

/** The alarm engine of this process, or of the `planta alarms` process through the bus (src/alarms/remote.ts). */
export type AlarmService = AlarmActions;

const KINDS: readonly JournalKind[] = ['alarm', 'return', 'unknown', 'ack', 'shelve', 'unshelve', 'out-of-service', 'in-service', 'event', 'command', 'device'];

/** Longest acknowledgement comment (the engine's bound too), shelve or out-of-service reason (the HMI's field), and journal search. */
const TEXT_LIMITS = { comment: 500, reason: 200, search: 200 } as const;
const MAX_IDS = 1000;
/** How long GET /api/alarms waits for the bus before it answers from the node's last known states. */
const READ_WAIT_MS = 500;

const badBody = (message: string): PlantaError => new PlantaError('PLANTA_ALARM_BAD_BODY', message);
const badQuery = (message: string): PlantaError => new PlantaError('PLANTA_JOURNAL_BAD_QUERY', message);

function obj(req: FastifyRequest): Record<string, unknown> {
  const b = req.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw badBody('expected a JSON object');
  return b as Record<string, unknown>;
}

function text(b: Record<string, unknown>, field: keyof typeof TEXT_LIMITS, required: boolean): string | undefined {
  const v = b[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') throw badBody(`${field}: expected a string`);
  return boundedText(v, field, TEXT_LIMITS[field]);
}

/** An alarm id from the path: a name, as the configuration writes alarm ids. */
function alarmId(req: FastifyRequest<{ Params: { id: string } }>): string {
  const id = req.params.id;
  if (!isName(id)) throw new PlantaError('PLANTA_ALARM_BAD_ID', 'id: expected an alarm id (letters, digits, "_", "." or "-", at most 128)', { field: 'id' });
  return id;
}

/** A time parameter: epoch ms or an ISO date. */
function time(q: unknown, field: string): number | undefined {
  const v = queryParam(q, field, 'PLANTA_JOURNAL_BAD_QUERY');
  if (v === undefined || v === '') return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw badQuery(`${field}: expected epoch milliseconds or an ISO date`);
  return n;
}

export function registerAlarmRoutes(
  app: FastifyInstance,
  o: {
    bus: AlarmBus;
    alarms: AlarmService | undefined;
    identify: (req: FastifyRequest) => Identity | undefined;
    /** This node's last known alarm states, and since when its bus is lost (undefined: live). */
    lastKnown: () => { alarms: AlarmState[]; lostAt: number | undefined };
  },
): void {
  const service = (): AlarmService => {
    if (!o.alarms) throw new PlantaError('PLANTA_ALARMS_UNAVAILABLE', 'the alarm engine does not run in this process');
    return o.alarms;
  };
  const who = (req: FastifyRequest): Identity => {
    const id = o.identify(req);
    if (!id) throw new PlantaError('PLANTA_AUTH_REQUIRED', 'alarm actions need a signed-in user');
    return id;
  };

  // With the bus lost, or slow to answer, the node's last known states, each marked with when the bus was lost.
  app.get('/api/alarms', { config: { access: 'viewer' } }, async (): Promise<(AlarmState & { liveDataLostAt?: number })[]> => {
    const { alarms, lostAt } = o.lastKnown();
    if (lostAt !== undefined) return alarms.map((a) => ({ ...a, liveDataLostAt: lostAt }));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), READ_WAIT_MS)));
    const read = o.bus.alarmStates().catch(() => undefined);
    const states = await Promise.race([read, late]).finally(() => clearTimeout(timer));
    if (states) return states;
    const known = o.lastKnown();
    return known.lostAt === undefined ? known.alarms : known.alarms.map((a) => ({ ...a, liveDataLostAt: known.lostAt }));
  });

  app.post('/api/alarms/ack', { config: { access: 'user' }, bodyLimit: BODY_LIMITS.acknowledge }, async (req) => {
    const b = obj(req);
    const ids = b.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || !ids.every((x) => typeof x === 'string')) {
      throw badBody(`ids: expected a list of 1..${MAX_IDS} alarm ids`);
    }
    if (!ids.every((x) => isName(x))) throw new PlantaError('PLANTA_ALARM_BAD_ID', 'ids: expected alarm ids (letters, digits, "_", "." or "-", at most 128)', { field: 'ids' });
    return service().acknowledge(who(req), ids as string[], text(b, 'comment', false));
  });

  app.post<{ Params: { id: string } }>('/api/alarms/:id/shelve', { config: { access: 'user' } }, async (req) => {
    const id = alarmId(req);
    const b = obj(req);
    const minutes = b.minutes;
    if (typeof minutes !== 'number' || !Number.isFinite(minutes)) throw badBody('minutes: expected a number');
    return service().shelve(who(req), id, text(b, 'reason', true)!, minutes * 60_000);
  });

  app.post<{ Params: { id: string } }>('/api/alarms/:id/unshelve', { config: { access: 'user' } }, async (req) => service().unshelve(who(req), alarmId(req)));

  app.post<{ Params: { id: string } }>('/api/alarms/:id/out-of-service', { config: { access: 'user' } }, async (req) => {
    const id = alarmId(req);
    return service().removeFromService(who(req), id, text(obj(req), 'reason', true)!);
  });

  app.post<{ Params: { id: string } }>('/api/alarms/:id/in-service', { config: { access: 'user' } }, async (req) => service().returnToService(who(req), alarmId(req)));

  app.get('/api/journal', { config: { access: 'viewer' } }, async (req) => {
    const param = (field: string): string | undefined => queryParam(req.query, field, 'PLANTA_JOURNAL_BAD_QUERY');
    const kindList = param('kinds');
    const kinds = kindList ? [...new Set(kindList.split(','))] : undefined;
    if (kinds && !kinds.every((k) => (KINDS as readonly string[]).includes(k))) throw badQuery(`kinds: expected some of ${KINDS.join(', ')}`);
    const num = (field: string): number | undefined => {
      const v = param(field);
      if (v === undefined) return undefined;
      if (!/^\d{1,15}$/.test(v)) throw badQuery(`${field}: expected a whole number`);
      return Number(v);
    };
    const query: Parameters<AlarmService['journal']>[0] = {};
    const from = time(req.query, 'from');
    const to = time(req.query, 'to');
    const before = num('before');
    const limit = num('limit');
    const search = param('q');
    if (from !== undefined) query.from = from;
    if (to !== undefined) query.to = to;
    if (before !== undefined) query.before = before;
    if (limit !== undefined) query.limit = limit;
    if (search) query.search = boundedText(search, 'q', TEXT_LIMITS.search);
    if (kinds) query.kinds = kinds as JournalKind[];
    return service().journal(query);
  });

  app.get('/api/alarms/rates', { config: { access: 'viewer' } }, async (req) => {
    const to = time(req.query, 'to') ?? Date.now();
    const from = time(req.query, 'from') ?? to - 24 * 3_600_000;
    if (!(from < to)) throw badQuery('from must be before to');
    return service().rates(from, to);
  });
}
