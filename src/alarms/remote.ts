/**
 * Alarm actions and the journal across processes: a web node without the
 * alarm engine (`planta web` on the Redis bus) asks the `planta alarms`
 * process over the bus (bus.request → bus.serve: a Redis Stream of requests,
 * the answer on the asking node's own reply channel), with a timeout. The
 * actor is the user the web node authenticated; the engine checks the role
 * again, as it does for a local request. The journal is read where it lives,
 * in the alarm process's store, so web nodes on other machines need no copy.
 */
import type { AlarmState, JournalEntry } from '../bus/alarm-messages.js';
import { BusError } from '../bus/errors.js';
import { ServiceError, unwrap } from '../bus/service.js';
import type { RpcBus, ServiceRequest, Unsubscribe } from '../bus/types.js';
import { PlantaError } from '../errors.js';
import type { Actor, AlarmEngine } from './engine.js';
import type { RateFigures } from './rates.js';
import type { JournalQuery } from './store.js';

export const ALARM_SERVICE = 'alarms';

/** What the web asks of the alarm engine, local or in another process. */
export interface AlarmActions {
  acknowledge(actor: Actor, ids: string[], comment?: string): AlarmState[] | Promise<AlarmState[]>;
  shelve(actor: Actor, id: string, reason: string, durationMs: number): AlarmState | Promise<AlarmState>;
  unshelve(actor: Actor, id: string): AlarmState | Promise<AlarmState>;
  removeFromService(actor: Actor, id: string, reason: string): AlarmState | Promise<AlarmState>;
  returnToService(actor: Actor, id: string): AlarmState | Promise<AlarmState>;
  journal(q: JournalQuery): JournalEntry[] | Promise<JournalEntry[]>;
  rates(from: number, to: number): RateFigures | Promise<RateFigures>;
}

interface Body {
  actor: Actor;
  ids: string[];
  id: string;
  comment?: string;
  reason: string;
  durationMs: number;
  query: JournalQuery;
  from: number;
  to: number;
}

/** Answers the web nodes' alarm requests from this process's engine. */
export function serveAlarms(bus: RpcBus, engine: AlarmEngine): Promise<Unsubscribe> {
  return bus.serve(ALARM_SERVICE, async ({ op, body }: ServiceRequest) => {
    const b = body as Body;
    const actor: Actor = { user: String(b.actor?.user), role: b.actor?.role };
    switch (op) {
      case 'ack':
        return engine.acknowledge(actor, b.ids, b.comment);
      case 'shelve':
        return engine.shelve(actor, b.id, b.reason, b.durationMs);
      case 'unshelve':
        return engine.unshelve(actor, b.id);
      case 'out-of-service':
        return engine.removeFromService(actor, b.id, b.reason);
      case 'in-service':
        return engine.returnToService(actor, b.id);
      case 'journal':
        return engine.journal(b.query);
      case 'rates':
        return engine.rates(b.from, b.to);
      default:
        throw new PlantaError('PLANTA_ALARM_BAD_REQUEST', `unknown alarm request "${op}"`);
    }
  });
}

/** The alarm engine of another process, through the bus; a missing answer is PLANTA_BUS_NO_ANSWER (503). */
export function remoteAlarms(bus: RpcBus, timeoutMs = 5000): AlarmActions {
  const ask = async <T>(op: string, body: Partial<Body>): Promise<T> => {
    let reply;
    try {
      reply = await bus.request(ALARM_SERVICE, { op, body }, timeoutMs);
    } catch (err) {
      // No answer, or the bus out of reach (then refused at once, nothing sent): the alarm process cannot be reached.
      if (err instanceof BusError) throw new ServiceError(err.code === 'PLANTA_BUS_NO_ANSWER' || err.code === 'PLANTA_BUS_UNREACHABLE' ? 'PLANTA_ALARMS_UNAVAILABLE' : err.code, err.message, 503);
      throw err;
    }
    return unwrap<T>(reply);
  };
  return {
    acknowledge: (actor, ids, comment) => ask('ack', { actor, ids, ...(comment !== undefined ? { comment } : {}) }),
    shelve: (actor, id, reason, durationMs) => ask('shelve', { actor, id, reason, durationMs }),
    unshelve: (actor, id) => ask('unshelve', { actor, id }),
    removeFromService: (actor, id, reason) => ask('out-of-service', { actor, id, reason }),
    returnToService: (actor, id) => ask('in-service', { actor, id }),
    journal: (query) => ask('journal', { query }),
    rates: (from, to) => ask('rates', { from, to }),
  };
}
