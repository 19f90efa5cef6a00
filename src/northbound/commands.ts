/**
 * A write from MQTT or OPC UA as an operator command, through the same
 * lifecycle as the web's (src/web/commands.ts): validated by the
 * CommandPreparer (type, range, role), checked on the live values, its id
 * bound once and for all in the command records (at most once: a redelivered
 * write has the same id and is refused as a duplicate), queued on the bus
 * with a deadline, executed and read back by the poller, and every attempt,
 * refused or not, in the audit trail under the writer's identity. A write
 * that no `commands:` mapping names is refused and audited, never queued.
 */
import { randomUUID } from 'node:crypto';
import { BusError } from '../bus/errors.js';
import type { CommandBus, CommandOutcome, CommandRequest, OutcomeBus, ValueBus } from '../bus/types.js';
import { type CommandRecords, queuedOutcome } from '../commands/ledger.js';
import { COMMAND_ID, CommandPreparer, CommandRejection } from '../commands/prepare.js';
import { expandTemplate, templateCombinations, templateVars } from '../config/commands.js';
import type { NorthboundCommandConfig } from '../config/northbound-schema.js';
import type { PlantConfig } from '../config/resolve.js';
import type { Role } from '../config/schema.js';
import { PlantaError, isAnswerable } from '../errors.js';
import type { Logger } from '../util/log.js';

/** How long the bus has to take a command (as the web's): past it, it never runs. */
const ACCEPT_MS = 700;

export interface NorthboundWrite {
  /** What was written: a metric's or a node's name. */
  target: string;
  mapping: NorthboundCommandConfig | undefined;
  value: unknown;
  /** Who wrote it, as the audit trail shows it (mqtt:…, opcua:…). */
  user: string;
  /** The writer's own role (a signed-in OPC UA user); default the mapping's. */
  role?: Role;
  /** The command id: derived from the message, so a redelivery is the same id; default a fresh one. */
  id?: string;
}

export type WriteResult = { ok: true; id: string } | { ok: false; code: string; message: string };

export interface NorthboundCommandsOptions {
  bus: CommandBus & OutcomeBus & ValueBus;
  config: PlantConfig;
  records: CommandRecords;
  log?: Logger;
}

/** The device a command writes: its first step's tag (templates filled with their first values, as the web's list of commands does). */
export function commandDevice(config: PlantConfig, name: string): string | undefined {
  const c = config.commands[name];
  if (!c) return undefined;
  const combo = templateCombinations(c, [...new Set(Object.values(c.params).flatMap((p) => (p.tag ? templateVars(p.tag) : [])))])[0] ?? {};
  const first = c.steps[0]!;
  const tag = 'block' in first ? first.block[0]! : 'set' in first ? first.set : first.pulse;
  return config.tags.find((t) => t.name === expandTemplate(tag, combo))?.device;
}

export class NorthboundCommands {
  private readonly preparer: CommandPreparer;
  constructor(private readonly o: NorthboundCommandsOptions) {
    this.preparer = new CommandPreparer(o.config);
  }

  /** Runs a write as its mapped command; refuses (and audits) anything else. Never throws for a refusal. */
  async write(w: NorthboundWrite): Promise<WriteResult> {
    const id = w.id && COMMAND_ID.test(w.id) ? w.id : `nb-${randomUUID()}`;
    try {
      if (!w.mapping) throw new PlantaError('PLANTA_NORTHBOUND_WRITE_REFUSED', `${w.target}: not mapped to a command (northbound commands:): writes are refused`);
      const m = w.mapping;
      let params: Record<string, unknown> = {};
      if (m.param !== undefined) params = { [m.param]: w.value };
      else if (w.value !== true) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${w.target}: write true to run "${m.command}"`, { field: 'value' });
      const cmd = this.preparer.prepare({ id, command: m.command, params }, { user: w.user, role: w.role ?? m.role });
      const earlier = await this.o.records.get(id);
      if (earlier) throw new CommandRejection('PLANTA_COMMAND_DUPLICATE', `id ${id} was already used: a retry never executes twice`, { field: 'id' });
      this.preparer.checkState(cmd, await this.o.bus.snapshot());
      await this.submit(cmd);
      return { ok: true, id };
    } catch (err) {
      if (!isAnswerable(err) || (err.statusCode >= 500 && err.statusCode !== 503)) throw err;
      this.audit(id, w, err.code, String(err.message), typeof err.field === 'string' ? err.field : undefined);
      return { ok: false, code: err.code, message: String(err.message) };
    }
  }

  private async submit(cmd: CommandRequest): Promise<void> {
    const queued = queuedOutcome(cmd);
    const earlier = await this.o.records.bind(queued, cmd.expiresAt);
    if (earlier) throw new CommandRejection('PLANTA_COMMAND_DUPLICATE', `id ${cmd.id} was already used: a retry never executes twice`, { field: 'id' });
    cmd.acceptBy = Date.now() + ACCEPT_MS;
    try {
      await this.o.bus.submitCommand(cmd);
    } catch (err) {
      const why = err instanceof BusError ? err.message : 'the bus did not take it';
      const message = `not queued, and it will not run later: ${why}`;
      await this.o.records.record({ ...queued, status: 'rejected', code: 'PLANTA_COMMAND_NOT_QUEUED', reason: message, at: Date.now() });
      throw new CommandRejection('PLANTA_COMMAND_NOT_QUEUED', message, { field: 'bus' });
    }
    this.o.bus.publishCommandOutcome({ ...queued, at: Date.now() }).catch((err: unknown) => this.o.log?.warn({ err: (err as Error).message, id: cmd.id }, 'a queued command could not be announced'));
    this.o.log?.info({ command: cmd.command, id: cmd.id, user: cmd.user, params: cmd.params }, 'northbound command queued');
  }

  /** A refused write in the audit trail, under a reference of its own (never the outcome of its id), as the web audits refusals. */
  private audit(id: string, w: NorthboundWrite, code: string, reason: string, field: string | undefined): void {
    const now = Date.now();
    const command = w.mapping && Object.hasOwn(this.o.config.commands, w.mapping.command) ? w.mapping.command : '';
    const out: CommandOutcome = { id, command, device: '', user: w.user, params: {}, status: 'rejected', code, reason: `${w.target}: ${reason}`, createdAt: now, at: now, attempt: randomUUID() };
    if (field) out.field = field;
    this.o.log?.info({ code, user: w.user, target: w.target, command }, 'northbound write refused');
    this.o.bus.publishCommandOutcome(out).catch((e: unknown) => this.o.log?.warn({ err: (e as Error).message, code }, 'a refused northbound write could not be audited'));
  }
}
