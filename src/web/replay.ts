/**
 * Incident replay over HTTP: the plant as it was recorded at a moment, and
 * played from there, for viewers and up. Everything is read from the
 * historian and the alarm journal (in this process, or through the bus and
 * the historian's store in the distributed mode), never from the live plant;
 * nothing here writes anything.
 *
 *   GET /api/replay/state?at=T              ReplayState: the live stream's snapshot at T, plus `at`
 *   GET /api/replay/stream?from=T&speed=S   SSE: snapshot, then delta/alarms/journal/replay events (S: 1, 10, 60)
 *   GET /api/replay/events?from&to&limit    {from, to, entries, audit?}: journal entries oldest first (timeline markers, stepping)
 *
 * T is epoch ms or ISO 8601 with its offset, not in the future. Command
 * entries, and the audit trail's own entries (`audit`, the stream's `audit`
 * events), are included only for those who may read the audit trail.
 * Errors: 400 PLANTA_REPLAY_BAD_TIME, 400 PLANTA_REPLAY_BAD_SPEED, 400
 * PLANTA_REPLAY_BAD_QUERY (limit), 503 PLANTA_HISTORIAN_UNAVAILABLE (no
 * historian here, or its store does not answer), 503
 * PLANTA_ALARMS_UNAVAILABLE (no alarm journal reachable).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AlarmActions } from '../alarms/remote.js';
import type { AuditEntry, AuditQuery } from '../auth/audit.js';
import type { JournalEntry, JournalKind } from '../bus/alarm-messages.js';
import type { AlarmBus } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import type { ReplaySource } from '../historian/replay.js';
import { PlantaError, isAnswerable } from '../errors.js';
import type { Logger } from '../util/log.js';
import type { RequestIdentity } from './auth.js';
import { queryParam } from './fields.js';
import type { Limits } from './limits.js';
import type { ReplayEvents } from './protocol.js';
import { type ReplayDeps, type ReplayState, journalPage, mayAudit, replaySpeed, replayTime, stateAt, visibleEntries } from './replay-state.js';
import { playReplay } from './replay-stream.js';

export type { ReplayEvents };

const KINDS: readonly JournalKind[] = ['alarm', 'return', 'unknown', 'ack', 'shelve', 'unshelve', 'out-of-service', 'in-service', 'event', 'command', 'device'];
const MAX_EVENTS = 5000;

const isReplaySource = (h: unknown): h is ReplaySource =>
  typeof h === 'object' && h !== null && 'store' in h && typeof (h as { staleAfterMs?: unknown }).staleAfterMs === 'function';

/** A store that fails is unavailable (503), as for trends; Planta's own refusals pass as they are. */
async function fromStores<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isAnswerable(err)) throw err;
    throw new PlantaError('PLANTA_HISTORIAN_UNAVAILABLE', "the historian's store did not answer: try again shortly", { cause: err });
  }
}

export function registerReplayRoutes(
  app: FastifyInstance,
  o: {
    config: PlantConfig;
    historian: unknown;
    alarms: AlarmActions | undefined;
    bus: AlarmBus;
    resolve: (req: FastifyRequest) => Promise<RequestIdentity | undefined>;
    limits: Limits;
    /** Ends the stream when the request's session or token no longer holds. */
    watchAccess: (req: FastifyRequest) => void;
    /** Security headers of the live stream, as `name: value\r\n` lines. */
    streamHeaders: string;
    /** The audit trail, newest first, when this server has one (real sign-in). */
    auditTrail?: (q: AuditQuery) => Promise<AuditEntry[]>;
    log?: Logger;
  },
): void {
  const param = (req: FastifyRequest, field: string, code: 'PLANTA_REPLAY_BAD_TIME' | 'PLANTA_REPLAY_BAD_SPEED' | 'PLANTA_REPLAY_BAD_QUERY'): string | undefined => queryParam(req.query, field, code);
  const deps = (): ReplayDeps => {
    if (!isReplaySource(o.historian)) throw new PlantaError('PLANTA_HISTORIAN_UNAVAILABLE', 'replay needs the historian, and it is not reachable from this process');
    if (!o.alarms) throw new PlantaError('PLANTA_ALARMS_UNAVAILABLE', 'replay needs the alarm journal, and the alarm engine is not reachable from this process');
    return {
      tags: o.config.tags,
      historian: o.historian,
      alarms: o.alarms,
      enabledWhen: Object.fromEntries(Object.entries(o.config.alarms).map(([id, a]) => [id, a.enabledWhen])),
      templates: async () => (await o.bus.alarmStates()).map(({ id, message, priority, source }) => ({ id, message, priority, source })),
    };
  };
  const audit = async (req: FastifyRequest): Promise<boolean> => mayAudit(await o.resolve(req));

  app.get('/api/replay/state', { config: { access: 'viewer' } }, async (req): Promise<ReplayState> => {
    const at = replayTime(param(req, 'at', 'PLANTA_REPLAY_BAD_TIME'), 'at', Date.now());
    return (await fromStores(stateAt(deps(), at))).state;
  });

  app.get('/api/replay/events', { config: { access: 'viewer' } }, async (req): Promise<ReplayEvents> => {
    const now = Date.now();
    const toGiven = param(req, 'to', 'PLANTA_REPLAY_BAD_TIME');
    const to = toGiven === undefined || toGiven === '' ? now : replayTime(toGiven, 'to', now);
    const fromGiven = param(req, 'from', 'PLANTA_REPLAY_BAD_TIME');
    const from = fromGiven === undefined || fromGiven === '' ? to - 3_600_000 : replayTime(fromGiven, 'from', now);
    if (!(from <= to)) throw new PlantaError('PLANTA_REPLAY_BAD_TIME', 'from must not be after to', { field: 'from' });
    const l = param(req, 'limit', 'PLANTA_REPLAY_BAD_QUERY');
    const limit = l === undefined ? 1000 : /^\d{1,4}$/.test(l) ? Number(l) : NaN;
    if (!(limit >= 1 && limit <= MAX_EVENTS)) throw new PlantaError('PLANTA_REPLAY_BAD_QUERY', `limit: expected a whole number 1..${MAX_EVENTS}`, { field: 'limit' });
    const d = deps();
    const kinds = (await audit(req)) ? undefined : KINDS.filter((k) => k !== 'command');
    // The journal answers newest first: widen a window from `from` until it holds `limit` entries (the next ones after from).
    let page: JournalEntry[];
    for (let span = 60_000; ; span *= 10) {
      const end = Math.min(to, from + span);
      page = await fromStores(journalPage(d.alarms, { from, to: end, ...(kinds ? { kinds } : {}) }));
      if (page.length >= limit || end >= to || page.length >= MAX_EVENTS) break;
    }
    const entries = page.reverse().slice(0, limit);
    const out: ReplayEvents = { from, to, entries: visibleEntries(entries, kinds === undefined) };
    // The audit trail's entries of the same window (up to the last journal entry returned when the limit cut it).
    if (kinds === undefined && o.auditTrail) {
      const until = entries.length === limit ? entries[entries.length - 1]!.ts : to;
      out.audit = (await fromStores(o.auditTrail({ from, to: until, limit: MAX_EVENTS }))).reverse();
    }
    return out;
  });

  app.get('/api/replay/stream', { config: { access: 'viewer' } }, async (req, reply) => {
    const from = replayTime(param(req, 'from', 'PLANTA_REPLAY_BAD_TIME'), 'from', Date.now());
    const speed = replaySpeed(param(req, 'speed', 'PLANTA_REPLAY_BAD_SPEED'));
    const d = deps();
    const shown = await audit(req);
    // The snapshot is read before the answer starts, so a store that fails is still a 503 and not a broken stream.
    const start = await fromStores(stateAt(d, from));
    o.limits.admitStream(req, reply);
    o.watchAccess(req);
    reply.hijack();
    const socket = req.raw.socket;
    playReplay(socket, { deps: d, from, speed, audit: shown, start, ...(shown && o.auditTrail ? { auditTrail: o.auditTrail } : {}), headers: o.streamHeaders, ...(o.log ? { log: o.log } : {}) }).catch((err: unknown) => {
      o.log?.warn({ err: (err as Error).message }, 'replay stream stopped: the historian or the journal failed');
      socket.destroy();
    });
  });
}
