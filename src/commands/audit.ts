/**
 * Where command requests and outcomes are audited: every request the web
 * accepted or refused and every outcome. The hash-chained audit trail
 * (src/auth) is the sink in production; tests use the memory one.
 */
import type { CommandOutcome, OutcomeBus, SubscribeOptions, Unsubscribe } from '../bus/types.js';

export interface AuditSink {
  append(entry: CommandOutcome): void | Promise<void>;
}

export class MemoryAuditLog implements AuditSink {
  readonly entries: CommandOutcome[] = [];
  append(entry: CommandOutcome): void {
    this.entries.push(entry);
  }
}

/**
 * An audit entry's reference, so that one delivered twice is recorded once:
 * the id and status of an outcome; a refused request has its own (each
 * attempt is recorded, a replay of an id too).
 */
export function commandAuditRef(o: CommandOutcome): string {
  return o.attempt === undefined ? `command:${o.id}:${o.status}` : `command:${o.id}:${o.status}:${o.attempt}`;
}

/** Records every command outcome published on the bus (a durable subscription resumes after a restart). */
export function auditCommands(bus: OutcomeBus, sink: AuditSink, options?: SubscribeOptions): Promise<Unsubscribe> {
  return bus.subscribeCommandOutcomes((o) => sink.append(o), options);
}
