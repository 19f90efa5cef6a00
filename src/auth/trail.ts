/**
 * Feeds the audit trail from the bus: every command request and outcome,
 * and every operator action on alarms (acknowledge, shelve, service), next
 * to the sign-ins and user changes the web records itself.
 *
 * Each entry carries a ref (the command's id and status, the journal entry's
 * seq and time), so an entry delivered twice (a restart between writing it
 * and acknowledging it) is recorded once. While the directory does not
 * answer (PostgreSQL down), an entry is tried again, backing off to 10 s,
 * and the stream waits behind it: nothing is acknowledged before it is
 * written, and what is pending when the web stops is taken at its next start.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalBus, OutcomeBus, Unsubscribe } from '../bus/types.js';
import { type AuditSink, auditCommands, commandAuditRef } from '../commands/audit.js';
import type { Logger } from '../util/log.js';
import { DirectoryError, type UserDirectory } from './directory.js';

const MAX_RETRY_MS = 10_000;
const RECLAIM_MS = 30_000;

/**
 * Follows the bus under the durable name `durable` (web nodes sharing one
 * directory share the name, so each entry is written by one of them).
 * Returns its stop.
 */
export async function followAuditTrail(bus: OutcomeBus & JournalBus, directory: UserDirectory, o: { durable: string; log?: Logger; retryMs?: number }): Promise<Unsubscribe> {
  // An entry another node has held this long (stopped, or its directory out of reach) is written by this one.
  const subscription = { durable: o.durable, reclaimMs: RECLAIM_MS };
  const stopping = new AbortController();
  const write = async (actor: string, action: string, target: string, detail: unknown, at: number, ref: string): Promise<void> => {
    for (let wait = o.retryMs ?? 500, warned = false; ; wait = Math.min(wait * 2, MAX_RETRY_MS)) {
      try {
        await directory.audit(actor, action, target, detail, at, ref);
        if (warned) o.log?.info({ ref }, 'audit trail: the directory answers again');
        return;
      } catch (err) {
        if (!(err instanceof DirectoryError && err.code === 'PLANTA_AUTH_STORE_UNAVAILABLE')) {
          o.log?.error({ err, ref }, 'audit trail: an entry was refused');
          return;
        }
        if (!warned) o.log?.warn({ err: err.message, ref }, `audit trail: ${directory.where} does not answer; entries wait in the bus`);
        warned = true;
        // Rejects once stopping: the entry stays pending in the bus.
        await sleep(wait, undefined, { signal: stopping.signal });
      }
    }
  };
  const commands: AuditSink = {
    append: (c) =>
      write(c.user || '?', `command-${c.status}`, c.command, {
        id: c.id,
        device: c.device,
        params: c.params,
        ...(c.confirmation ? { confirmation: c.confirmation } : {}),
        ...(c.reason ? { reason: c.reason, code: c.code } : {}),
        ...(c.before ? { before: c.before, after: c.after } : {}),
      }, c.at, commandAuditRef(c)),
  };
  const stops = [
    await auditCommands(bus, commands, subscription),
    await bus.subscribeJournal(async (entries) => {
      for (const e of entries) if (e.user && e.kind !== 'command') await write(e.user, `alarm-${e.kind}`, e.source, { text: e.text }, e.ts, `journal:${e.seq}:${e.ts}`);
    }, subscription),
  ];
  return async () => {
    // Stopped first (so a failing entry is left pending), then its retries cut short.
    const unsubscribed = Promise.all(stops.map((stop) => stop()));
    stopping.abort();
    await unsubscribed;
  };
}
