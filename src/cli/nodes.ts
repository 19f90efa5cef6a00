/**
 * Which Redis and PostgreSQL server a process uses, and when that last
 * changed: a Sentinel failover of the bus, a promoted standby under a
 * PostgreSQL URL of several hosts (docs/high-availability.md). Shown by
 * /readyz and the System section of the Devices page, counted by
 * `planta_failovers_total{role}` (roles named here, never from a server).
 */
import { Counter, type Registry } from 'prom-client';
import type { ServiceNode } from '../web/protocol.js';

interface Placed {
  role: ServiceNode['role'];
  engine: ServiceNode['engine'];
  /** The part's place now: RedisBus.place, PostgresStore/PostgresDirectory/PostgresCommandRecords.place(). */
  place: () => { node: string; switches: number; switchedAt?: number; sentinel?: boolean; hosts?: number };
}

/** The parts of a process that have a place (an in-memory bus or an SQLite file has none). */
export function placed(parts: { role: ServiceNode['role']; engine: ServiceNode['engine']; of: unknown }[]): Placed[] {
  const out: Placed[] = [];
  for (const { role, engine, of } of parts) {
    const p = (of as { place?: unknown } | undefined)?.place;
    if (typeof p === 'function') out.push({ role, engine, place: () => (p as () => ReturnType<Placed['place']>).call(of) });
    else if (p && typeof p === 'object') out.push({ role, engine, place: () => (of as { place: ReturnType<Placed['place']> }).place });
  }
  return out;
}

export function serviceNodes(parts: Placed[]): ServiceNode[] {
  return parts.map(({ role, engine, place }) => {
    const p = place();
    return {
      role,
      engine,
      node: p.node,
      failover: p.sentinel === true || (p.hosts ?? 1) > 1,
      switches: p.switches,
      ...(p.switchedAt !== undefined ? { switchedAt: new Date(p.switchedAt).toISOString() } : {}),
    };
  });
}

/** planta_failovers_total{role}: moves to another server since the start, read from the parts when scraped. */
export function registerFailoverMetric(registry: Registry, parts: Placed[]): void {
  if (parts.length === 0 || registry.getSingleMetric('planta_failovers_total')) return;
  new Counter({
    name: 'planta_failovers_total',
    help: 'Times this process moved to another Redis master (Sentinel) or PostgreSQL server (several hosts), by role (bus, users, commands, historian)',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { role, place } of parts) this.inc({ role }, place().switches);
    },
  });
}

/** The PostgreSQL store under a historian (behind its store-and-forward buffer, if any): what has a place. */
export function historianStore(h: { store: unknown } | undefined): unknown {
  const store = h?.store as { inner?: unknown } | undefined;
  return store?.inner ?? store;
}
