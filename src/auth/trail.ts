/**
 * Feeds the audit trail from the bus: every command request and outcome,
 * and every operator action on alarms (acknowledge, shelve, service), next
 * to the sign-ins and user changes the web records itself.
 */
import type { Bus, SubscribeOptions, Unsubscribe } from '../bus/types.js';
import type { AuditSink } from '../commands/audit.js';
import type { AuthStore } from './store.js';

/** The audit trail as a sink for command outcomes. */
export function commandTrail(store: AuthStore): AuditSink {
  return {
    append(o) {
      store.audit(o.user || '?', `command-${o.status}`, o.command, {
        id: o.id,
        device: o.device,
        params: o.params,
        ...(o.confirmation ? { confirmation: o.confirmation } : {}),
        ...(o.reason ? { reason: o.reason, code: o.code } : {}),
        ...(o.before ? { before: o.before, after: o.after } : {}),
      }, o.at);
    },
  };
}

/** Operator actions on alarms, from the journal. */
export function alarmTrail(bus: Bus, store: AuthStore, options?: SubscribeOptions): Promise<Unsubscribe> {
  return bus.subscribeJournal((entries) => {
    for (const e of entries) if (e.user && e.kind !== 'command') store.audit(e.user, `alarm-${e.kind}`, e.source, { text: e.text }, e.ts);
  }, options);
}
