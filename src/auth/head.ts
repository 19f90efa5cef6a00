/**
 * The audit trail's head — its last entry's seq and hash — told where an
 * operator can keep it away from the database: a log line when it moved
 * (checked every few minutes) and at shutdown, and the gauge
 * planta_audit_head_seq. A head kept elsewhere later proves, with
 * `planta audit verify --head SEQ:HASH`, that nothing up to it was cut off
 * or rewritten.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../util/log.js';
import { readGauge } from '../util/metrics.js';
import type { UserDirectory } from './directory.js';

export const AUDIT_HEAD_EVERY_MS = 5 * 60_000;

/** Starts telling the head; returns its stop (which tells the last head). */
export function reportAuditHead(directory: UserDirectory, o: { log: Logger; registry?: Registry; everyMs?: number }): () => Promise<void> {
  let seq = 0;
  let told = '';
  if (o.registry) readGauge(o.registry, 'planta_audit_head_seq', 'The audit trail\'s last entry (its hash is logged as "audit trail head")', () => seq);
  const tell = async (always: boolean): Promise<void> => {
    try {
      const [head] = await directory.auditEntries({ limit: 1 });
      if (!head) return;
      seq = head.seq;
      const text = `${head.seq}:${head.hash}`;
      if (always || text !== told) o.log.info({ auditHead: text }, `audit trail head ${text} (keep it elsewhere: planta audit verify --head ${text})`);
      told = text;
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'audit trail: its head could not be read');
    }
  };
  const first = tell(true);
  const timer = setInterval(() => void tell(false), o.everyMs ?? AUDIT_HEAD_EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await first;
    await tell(true);
  };
}
