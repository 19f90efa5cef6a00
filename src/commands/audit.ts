/**
 * The append-only audit log of operator commands: every request the web
 * accepted or refused and every outcome, one JSON line each, flushed to disk
 * before the next (commands are rare; durability matters more than speed).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Bus, CommandOutcome, Unsubscribe } from '../bus/types.js';

export interface AuditSink {
  append(entry: CommandOutcome): void;
}

export class FileAuditLog implements AuditSink {
  private fd: number | undefined;
  constructor(readonly path: string) {}

  append(entry: CommandOutcome): void {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'a', 0o640);
    }
    writeSync(this.fd, `${JSON.stringify({ recordedAt: new Date().toISOString(), ...entry })}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export class MemoryAuditLog implements AuditSink {
  readonly entries: CommandOutcome[] = [];
  append(entry: CommandOutcome): void {
    this.entries.push(entry);
  }
}

/** Records every command outcome published on the bus. */
export function auditCommands(bus: Bus, sink: AuditSink): Promise<Unsubscribe> {
  return bus.subscribeCommandOutcomes((o) => sink.append(o));
}
