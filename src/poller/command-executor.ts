/**
 * Executes operator commands on a device's own connection, between scans:
 * never after expiry, never twice for one id (the ledger on disk remembers
 * every id across restarts), never while the link is down; every write read
 * back; the outcome recorded, then published.
 *
 * The writes of one command run as one exclusive section (no scan in
 * between); the read-back and the wait for the PLC's effect run alongside
 * the scans, so a slow PLC never stalls polling.
 */
import type { CommandExecutionBus, CommandOutcome, CommandRequest, OutcomeBus } from '../bus/types.js';
import { type ResolvedStep, outcomeOf } from '../bus/command-messages.js';
import { type ExecutionLedger, SqliteCommandLedger } from '../commands/ledger.js';
import { type ErrorCode, PlantaError } from '../errors.js';
import { describeFailure, failureCode, firstFailing, tagsToRead, writtenValues } from '../commands/conditions.js';
import { type ModbusRequest, type ModbusResponse, ModbusError } from '../modbus/index.js';
import { COMMAND_GROUP, type DeviceChannel } from './channel.js';
import { type RegisterDecoder, compileRegisterDecoder, encodeBit, encodeRegisters, rawValue, sameValue } from '../tags/codec.js';
import { type TagDefinition, type TagValueType, isBitArea, tagSize } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { resolvesWithin } from '../util/settle.js';

export interface ExecutorOptions {
  /** How long the PLC has to clear a pulse bit. Default 2000 ms. */
  pulseTimeoutMs?: number;
  /** How often read-back polls. Default 25 ms. */
  pollEveryMs?: number;
  /** Where the ids taken and their state are kept across restarts (planta start: the --db file). Default: in memory only. */
  ledger?: ExecutionLedger;
  /** Whether this poller may write the device now (it holds the device's lease); checked right before every write. */
  allowed?: () => boolean;
  /** Receives every value the executor reads (before writing, read-back, expect), as soon as it is read. */
  onRead?: (read: ReadValue) => void;
}

/** A tag's value as the executor read it from the PLC, with the time of the reply (epoch ms). */
export interface ReadValue {
  tag: string;
  value: TagValueType;
  at: number;
}

/** What one read gives: the raw value (what the read-back compares) and the engineering value. */
interface Read {
  raw: number | boolean | undefined;
  value: TagValueType;
}

type Exclusive = <T>(f: () => Promise<T>) => Promise<T>;

/** A command not executed, or not taken by the PLC: its outcome's status and code. */
class Refusal extends PlantaError {
  constructor(
    readonly status: CommandOutcome['status'],
    code: ErrorCode,
    message: string,
    /** False for a duplicate: the execution that holds the command reports its outcome. */
    readonly publish = true,
    /** The field at fault (a precondition or relation). */
    field?: string,
  ) {
    super(code, message, { field });
  }
}

/** A claim that did not reach the bus (its connection dropped): nothing written; tried again until the command expires. */
class ClaimNotSent extends Error {}
/** How long a command waits before its claim is sent again. */
const CLAIM_RETRY_MS = 200;

const FC_READ = { coil: 1, discrete: 2, holding: 3, input: 4 } as const;
/** How long the bus may take to note that writing begins before the command is given up, unwritten. */
const MARK_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class CommandExecutor {
  private readonly o: Required<Omit<ExecutorOptions, 'allowed' | 'ledger' | 'onRead'>>;
  private readonly allowed: () => boolean;
  private readonly ledger: ExecutionLedger;
  private readonly onRead: ((read: ReadValue) => void) | undefined;
  private readonly decoders = new Map<string, RegisterDecoder>();

  constructor(
    private readonly client: DeviceChannel,
    private readonly tags: ReadonlyMap<string, TagDefinition>,
    private readonly bus: CommandExecutionBus & OutcomeBus,
    private readonly exclusive: Exclusive,
    private readonly log: Logger | undefined,
    options: ExecutorOptions = {},
  ) {
    const { allowed, ledger, onRead, ...rest } = options;
    this.o = { pulseTimeoutMs: 2000, pollEveryMs: 25, ...rest };
    this.allowed = allowed ?? (() => true);
    this.ledger = ledger ?? new SqliteCommandLedger(':memory:');
    this.onRead = onRead;
  }

  /** Takes a command from the bus; resolves with its final outcome. */
  async execute(cmd: CommandRequest): Promise<CommandOutcome> {
    if (!this.ledger.take(cmd)) {
      // At most once, ever: a second delivery of an id is dropped, whatever happened to the first (reported by its own execution).
      this.log?.warn({ command: cmd.command, id: cmd.id }, 'duplicate command id ignored');
      return this.outcome(cmd, 'rejected', { code: 'PLANTA_COMMAND_DUPLICATE', reason: `command ${cmd.id} was already received`, field: 'id' }, false);
    }
    const log = this.log?.child({ command: cmd.command, id: cmd.id, user: cmd.user });
    try {
      this.checkOwner(cmd);
      await this.waitForLink(cmd);
      const section = (again: boolean) =>
        this.exclusive(async () => {
          this.checkExpiry(cmd);
          this.checkOwner(cmd);
          await this.claim(cmd, again);
          const before = await this.readTargets(cmd.steps);
          await this.checkConditions(cmd);
          await this.markWriting(cmd);
          for (const step of cmd.steps) {
            this.checkOwner(cmd);
            await this.write(step);
          }
          return before;
        });
      let written: Awaited<ReturnType<typeof section>>;
      for (let again = false; ; again = true) {
        try {
          written = await section(again);
          break;
        } catch (err) {
          // The claim did not reach the bus (its connection lost: a Redis restart, a Sentinel failover): nothing was written.
          // Tried again outside the exclusive section, so the scans go on meanwhile, until the command expires (checked first thing).
          if (!(err instanceof ClaimNotSent)) throw err;
          log?.debug({ err: err.message }, 'claim not sent; trying again');
          await sleep(CLAIM_RETRY_MS);
        }
      }
      const after = await this.readBack(cmd);
      log?.info({ params: cmd.params }, 'command confirmed');
      return this.outcome(cmd, 'confirmed', { before: written, after });
    } catch (err) {
      if (err instanceof Refusal) {
        log?.warn({ status: err.status, code: err.code }, err.message);
        // Left to the execution that holds it (another poller's): not this ledger's to settle.
        if (!err.publish) this.ledger.release(cmd.id);
        // Not this poller's to write now: the bus delivers it again, to whoever may.
        if (err.code === 'PLANTA_COMMAND_NOT_OWNER') await this.bus.releaseCommand(cmd.id);
        return this.outcome(cmd, err.status, { code: err.code, reason: err.message, ...(err.field ? { field: err.field } : {}) }, err.publish);
      }
      const code = err instanceof ModbusError ? err.code : 'PLANTA_COMMAND_ERROR';
      log?.warn({ code, err: (err as Error).message }, 'command failed');
      return this.outcome(cmd, 'failed', { code, reason: (err as Error).message });
    }
  }

  private async outcome(
    cmd: CommandRequest,
    status: CommandOutcome['status'],
    extra: Partial<CommandOutcome>,
    publish = true,
  ): Promise<CommandOutcome> {
    const o = outcomeOf(cmd, status, extra);
    if (publish) {
      // On disk before anyone hears of it: a restart never reports it again, nor leaves it unsettled.
      this.ledger.finish(o);
      await this.bus.publishCommandOutcome(o);
    }
    return o;
  }

  /**
   * From here on a crash leaves the outcome unknown: the ledger says so on
   * disk, and the bus too, for a poller that takes the command over.
   */
  private async markWriting(cmd: CommandRequest): Promise<void> {
    this.ledger.writing(cmd.id);
    if (!(await resolvesWithin(this.bus.commandWriting(cmd), MARK_MS))) {
      throw new Refusal('failed', 'PLANTA_COMMAND_NOT_SENT', `not sent: the bus did not note within ${MARK_MS} ms that writing began (connection lost)`);
    }
  }

  private checkExpiry(cmd: CommandRequest): void {
    const late = Date.now() - cmd.expiresAt;
    if (late > 0) throw new Refusal('expired', 'PLANTA_COMMAND_EXPIRED', `not sent: its time ran out ${late} ms before it could be (requested at ${new Date(cmd.createdAt).toISOString()})`);
  }

  /**
   * Never two writers: a poller whose device lease may have passed writes
   * nothing more. The command is left to the lease's new holder (who takes
   * its stream entry over); its claim, if already taken here, makes the new
   * holder report it interrupted rather than write it again.
   */
  private checkOwner(cmd: CommandRequest): void {
    if (!this.allowed()) throw new Refusal('rejected', 'PLANTA_COMMAND_NOT_OWNER', `not sent by this poller: it no longer holds the lease of ${cmd.device}`, false);
  }

  /**
   * At most once across processes: right before writing, the bus hands the
   * command's id to one execution only (a Redis SET NX PX with several
   * pollers or after a restart), and never once its expiry has passed.
   */
  private async claim(cmd: CommandRequest, again: boolean): Promise<void> {
    let claim: Awaited<ReturnType<typeof this.bus.claimCommand>>;
    try {
      claim = await this.bus.claimCommand(cmd, again ? { again } : undefined);
    } catch (err) {
      throw new ClaimNotSent((err as Error).message, { cause: err });
    }
    if (claim === 'duplicate') {
      throw new Refusal('rejected', 'PLANTA_COMMAND_DUPLICATE', `command ${cmd.id} was already taken by another execution: not sent again`, false);
    }
    if (claim === 'not-owner') throw new Refusal('rejected', 'PLANTA_COMMAND_NOT_OWNER', `not sent by this poller: another poller holds the lease of ${cmd.device}`, false);
    if (claim === 'expired') throw new Refusal('expired', 'PLANTA_COMMAND_EXPIRED', `not sent: its time ran out before it could be claimed (requested at ${new Date(cmd.createdAt).toISOString()})`);
  }

  /**
   * Preconditions and relations on values read from the PLC now, inside the
   * exclusive section, right before the first write: a command whose
   * condition is false is refused with nothing written.
   */
  private async checkConditions(cmd: CommandRequest): Promise<void> {
    if (!cmd.checks?.length) return;
    const written = writtenValues(cmd.steps);
    const values = new Map<string, number | boolean>();
    for (const name of new Set(cmd.checks.flatMap((c) => tagsToRead(c, cmd.params, written)))) {
      const v = (await this.readTag(this.tag(name))).value;
      if (typeof v === 'number' || typeof v === 'boolean') values.set(name, v);
    }
    const f = firstFailing(cmd.checks, cmd.params, written, (tag) => values.get(tag));
    if (!f) return;
    const { code, field } = failureCode(f);
    throw new Refusal('rejected', code, `not sent: ${describeFailure(f)}`, true, field);
  }

  /** A command queued while the link is down waits for it until its expiry, never longer. */
  private async waitForLink(cmd: CommandRequest): Promise<void> {
    while (!this.client.connected) {
      if (Date.now() >= cmd.expiresAt) {
        throw new Refusal('expired', 'PLANTA_COMMAND_EXPIRED', `not sent: no connection to ${cmd.device} before the command expired`);
      }
      await sleep(Math.min(this.o.pollEveryMs * 2, Math.max(1, cmd.expiresAt - Date.now())));
    }
  }

  private tag(name: string): TagDefinition {
    const t = this.tags.get(name);
    if (!t) throw new Refusal('rejected', 'PLANTA_COMMAND_UNKNOWN_TAG', `no tag "${name}" on this poller`);
    return t;
  }

  // ------------------------------------------------------------ writing

  private request(step: ResolvedStep): ModbusRequest {
    if (step.kind === 'pulse') return { fc: 5, address: this.tag(step.tag).address, value: true };
    const tags = step.kind === 'set' ? [this.tag(step.tag)] : step.tags.map((n) => this.tag(n));
    const values = step.kind === 'set' ? [step.value] : step.values;
    const first = tags[0]!;
    if (isBitArea(first.area)) {
      const bits = values.map(encodeBit);
      return bits.length === 1 ? { fc: 5, address: first.address, value: bits[0]! } : { fc: 15, address: first.address, values: bits };
    }
    const registers = tags.flatMap((t, i) => encodeRegisters(t, values[i] as number));
    return registers.length === 1 ? { fc: 6, address: first.address, value: registers[0]! } : { fc: 16, address: first.address, values: registers };
  }

  private async write(step: ResolvedStep): Promise<void> {
    await this.client.request(this.request(step), COMMAND_GROUP);
  }

  // ------------------------------------------------------------ reading back

  /** Reads one tag from the PLC; the value is handed on at once (onRead: the poller publishes it with this read's time). */
  private async readTag(t: TagDefinition): Promise<Read> {
    const res: ModbusResponse = await this.client.request({ fc: FC_READ[t.area], address: t.address, quantity: tagSize(t) } as ModbusRequest, COMMAND_GROUP);
    const at = Date.now();
    let read: Read;
    if ('bits' in res) {
      read = { raw: res.bits[0]!, value: res.bits[0]! };
    } else {
      const registers = (res as { registers: Uint16Array }).registers;
      let decode = this.decoders.get(t.name);
      if (!decode) this.decoders.set(t.name, (decode = compileRegisterDecoder(t)));
      read = { raw: rawValue(t, registers, 0), value: decode(registers, 0) };
    }
    this.onRead?.({ tag: t.name, value: read.value, at });
    return read;
  }

  private async readTargets(steps: ResolvedStep[]): Promise<Record<string, TagValueType | null>> {
    const out: Record<string, TagValueType | null> = {};
    for (const s of steps) for (const name of s.kind === 'block' ? s.tags : [s.tag]) out[name] = (await this.readTag(this.tag(name))).value;
    return out;
  }

  private async waitUntil(what: () => Promise<boolean>, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await what()) return true;
      if (Date.now() >= deadline) return false;
      await sleep(this.o.pollEveryMs);
    }
  }

  private async readBack(cmd: CommandRequest): Promise<Record<string, TagValueType | null>> {
    for (const step of cmd.steps) {
      if (step.kind === 'pulse') {
        const t = this.tag(step.tag);
        const cleared = await this.waitUntil(async () => (await this.readTag(t)).value === false, this.o.pulseTimeoutMs);
        if (!cleared) throw new Refusal('not-accepted', 'PLANTA_COMMAND_NOT_ACCEPTED', `the PLC did not clear ${t.name} within ${this.o.pulseTimeoutMs} ms: it did not act on the command`);
        continue;
      }
      const names = step.kind === 'set' ? [step.tag] : step.tags;
      const wanted = step.kind === 'set' ? [step.value] : step.values;
      for (let i = 0; i < names.length; i++) {
        const t = this.tag(names[i]!);
        const got = await this.readTag(t);
        if (!sameValue(t, got.raw, wanted[i]!)) {
          throw new Refusal('not-accepted', 'PLANTA_COMMAND_NOT_ACCEPTED', `${t.name} reads back ${String(got.value)} instead of ${String(wanted[i])}: the PLC did not take the value`);
        }
      }
    }
    if (cmd.expect) {
      const { tag: name, equals, withinMs } = cmd.expect;
      const t = this.tag(name);
      let last: Read | undefined;
      const ok = await this.waitUntil(async () => sameValue(t, (last = await this.readTag(t)).raw, equals), withinMs);
      if (!ok) throw new Refusal('not-accepted', 'PLANTA_COMMAND_NOT_ACCEPTED', `${name} is ${String(last?.value)}, not ${String(equals)}, ${withinMs} ms after the command: the PLC did not take it`);
    }
    return this.readTargets(cmd.steps);
  }
}

