/**
 * Operator commands over HTTP. The web validates (the server is the
 * authority, whatever the browser checked), binds the command's id to its
 * user on disk, queues it on the bus, and reports outcomes; only the poller
 * writes to the PLC.
 *
 *   GET    /api/commands              definitions, for the HMI's controls
 *   POST   /api/commands              {id, command, params}         non-critical commands
 *   POST   /api/commands/select       {command, params}             critical: reserve, get a token and the current state
 *   POST   /api/commands/operate      {id, token, command, params}  critical: send what was selected
 *   DELETE /api/commands/select/:token
 *   GET    /api/commands/:id          the latest outcome of a command
 *
 * An id is its first user's, for good (first use wins, kept on disk): the
 * same id again is answered 409 with what became of it (the owner's replay)
 * or refused (anyone else's), and never reaches the PLC. A refused request
 * is answered to its requester and written to the audit trail; it is never
 * published as the outcome of the id it named.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLAIM_RETENTION_MS } from '../bus/command-messages.js';
import { BusError } from '../bus/errors.js';
import type { BusLink, CommandBus, CommandOutcome, CommandRequest, OutcomeBus, ValueBus } from '../bus/types.js';
import { expandTemplate, templateCombinations, templateVars } from '../config/commands.js';
import type { PlantConfig } from '../config/resolve.js';
import { isAnswerable } from '../errors.js';
import { type CommandRecord, type CommandRecords, SqliteCommandLedger, queuedOutcome } from '../commands/ledger.js';
import { COMMAND_ID, CommandPreparer, CommandRejection, type Identity } from '../commands/prepare.js';
import { SelectRegistry } from '../commands/select.js';
import type { TagValue, TagValueType } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import { BODY_LIMITS } from './limits.js';

export interface CommandRoutesOptions {
  bus: CommandBus & OutcomeBus & ValueBus;
  config: PlantConfig;
  /** Who is asking; undefined refuses every command (no anonymous writes). */
  identify: (req: FastifyRequest) => Identity | undefined;
  /** Checks the user's password again before a critical command is operated. */
  reauthenticate?: (req: FastifyRequest, password: unknown) => Promise<void>;
  selectValidityMs?: number;
  /** The longest one user may keep a device reserved by selecting again. Default 3 × selectValidityMs. */
  selectMaxHoldMs?: number;
  /** Command ids, their owners and outcomes, kept across restarts. Default: in memory only (tests). */
  records?: CommandRecords;
  /** With `records` on the Redis bus: the durable name under which they also follow the outcomes (nothing missed while this node was down). */
  recordsDurable?: string;
  /**
   * This node's last known state (the stream hub's): the values preconditions
   * and relations are checked on, and whether the bus is reachable. Without
   * it, the bus is asked (which waits for Redis while it is away).
   */
  live?: { values(): TagValue[]; busLink(): BusLink };
  log?: Logger;
}

export interface CommandParamInfo {
  label: string;
  min?: number;
  max?: number;
  integer: boolean;
  unit: string;
  decimals: number;
  type: 'number' | 'boolean';
  /**
   * The tag the value is written to, as a template over the other parameters
   * ("program{program}.fill"): the HMI prefills the field with its value.
   */
  tag?: string;
}

export interface CommandInfo {
  name: string;
  label: string;
  description: string;
  confirmation: string;
  role: string;
  critical: boolean;
  expiryMs: number;
  device: string;
  params: Record<string, CommandParamInfo>;
  /** The tags it writes or watches, as templates: the HMI shows their current values when asking for confirmation. */
  tags: string[];
}

/**
 * How long the bus has to take a command before the web answers 503 "not
 * queued" (within the 1 s an operator waits); past it, the bus never
 * executes it (CommandRequest.acceptBy).
 */
const ACCEPT_MS = 700;
/** A command still queued this long after its expiry never reported an outcome: its fate is unknown. */
const SILENT_AFTER_MS = CLAIM_RETENTION_MS;
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

type Step = 'direct' | 'select' | 'operate';

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new CommandRejection('PLANTA_COMMAND_BAD_BODY', 'expected a JSON object', { field: 'body' });
  return b as Record<string, unknown>;
}

/** An error to answer as a refusal: Planta's own (a stable code, a 4xx or 503 status), a CommandRejection or an authentication error. */
function refusal(err: unknown): { code: string; message: string; field?: string } | undefined {
  // 503: not queued (the bus is away), an attempt like any refusal; other 5xx are failures, not refusals.
  if (!isAnswerable(err) || (err.statusCode >= 500 && err.statusCode !== 503)) return undefined;
  return { code: err.code, message: String(err.message), ...(typeof err.field === 'string' ? { field: err.field } : {}) };
}

/** An id used before: its owner's replay (answered with what became of it), or someone else's. */
class IdUsed extends CommandRejection {
  constructor(
    readonly record: CommandRecord,
    readonly mine: boolean,
  ) {
    super(
      mine ? 'PLANTA_COMMAND_DUPLICATE' : 'PLANTA_COMMAND_ID_TAKEN',
      mine ? `id ${record.id} was already used: a retry never executes twice` : "id: it belongs to another user's command: make a fresh id for each command",
      { field: 'id' },
    );
  }
}

export async function registerCommandRoutes(app: FastifyInstance, o: CommandRoutesOptions): Promise<void> {
  const { bus, config } = o;
  const preparer = new CommandPreparer(config);
  const selects = new SelectRegistry(o.selectValidityMs, Date.now, o.selectMaxHoldMs);
  const tags = new Map(config.tags.map((t) => [t.name, t]));
  const records = o.records ?? new SqliteCommandLedger(':memory:');
  if (!o.records) app.addHook('onClose', async () => records.close());
  const record = (out: CommandOutcome): Promise<void> =>
    records.record(out).catch((err: unknown) => o.log?.error({ err, id: out.id }, 'command records: an outcome could not be recorded'));
  // Live, every outcome (this node's view, also while its records' store is away); durably, none missed while it was down.
  const unsubscribe = [await bus.subscribeCommandOutcomes(record), ...(o.recordsDurable ? [await bus.subscribeCommandOutcomes(record, { durable: o.recordsDurable })] : [])];
  app.addHook('onClose', async () => void (await Promise.all(unsubscribe.map((stop) => stop()))));

  const infos: CommandInfo[] = Object.entries(config.commands).map(([name, c]) => {
    const combo = templateCombinations(c, [...new Set(Object.values(c.params).flatMap((p) => (p.tag ? templateVars(p.tag) : [])))])[0] ?? {};
    const firstTarget = c.steps[0]!;
    const firstTag = 'block' in firstTarget ? firstTarget.block[0]! : 'set' in firstTarget ? firstTarget.set : firstTarget.pulse;
    return {
      name,
      label: c.label,
      description: c.description,
      confirmation: c.confirmation,
      role: c.role,
      critical: c.critical,
      expiryMs: c.expiry,
      device: tags.get(expandTemplate(firstTag, combo))?.device ?? '',
      params: Object.fromEntries(
        Object.entries(c.params).map(([p, def]) => {
          const tag = def.tag ? tags.get(expandTemplate(def.tag, combo)) : undefined;
          const info: CommandParamInfo = {
            label: def.label ?? p,
            integer: tag ? tag.scale === 1 && !tag.type.startsWith('float') : def.integer,
            unit: tag?.unit ?? '',
            decimals: tag?.decimals ?? 0,
            type: tag?.type === 'bool' ? 'boolean' : 'number',
          };
          const min = tag?.writable?.min ?? def.min;
          const max = tag?.writable?.max ?? def.max;
          if (min !== undefined) info.min = min;
          if (max !== undefined) info.max = max;
          const target = def.tag ?? c.steps.flatMap((s) => ('set' in s && s.value === `$${p}` ? [s.set] : []))[0];
          if (target) info.tag = target;
          return [p, info];
        }),
      ),
      tags: [...new Set([...c.steps.flatMap((s) => ('block' in s ? s.block : 'set' in s ? [s.set] : [s.pulse])), ...(c.expect ? [c.expect.tag] : [])])],
    };
  });

  const signedIn = (user: Identity | undefined): Identity => {
    if (!user) throw new CommandRejection('PLANTA_AUTH_REQUIRED', 'commands need a signed-in user', { field: 'user' });
    return user;
  };

  /**
   * A refused request goes to the audit trail (through the bus, under a
   * reference of its own) with who sent it; it is answered to its requester
   * and published as nobody's outcome. Requests without a user are not
   * attempts by anyone: only logged.
   */
  const audit = (err: unknown, input: Record<string, unknown>, user: Identity | undefined, step: Step): void => {
    const r = refusal(err);
    if (!r) return;
    if (!user) {
      o.log?.debug({ code: r.code, step }, 'command request without a user refused');
      return;
    }
    const now = Date.now();
    const out: CommandOutcome = {
      id: typeof input.id === 'string' && COMMAND_ID.test(input.id) ? input.id : '',
      command: typeof input.command === 'string' && Object.hasOwn(config.commands, input.command) ? input.command : '',
      device: '',
      user: user.user,
      params: {},
      status: 'rejected',
      code: r.code,
      reason: step === 'direct' ? r.message : `${step}: ${r.message}`,
      createdAt: now,
      at: now,
      attempt: randomUUID(),
    };
    if (r.field) out.field = r.field;
    o.log?.info({ code: r.code, step, user: user.user, id: out.id, command: out.command }, 'command request refused');
    // Not awaited: while the bus is away the refusal waits for it, and the requester has their answer now.
    bus.publishCommandOutcome(out).catch((e: unknown) => o.log?.warn({ err: (e as Error).message, code: r.code }, 'a refused command request could not be audited'));
  };

  /** Answers a refusal; a replay by the id's owner also gets what became of the command. */
  const refuse = (reply: FastifyReply, err: unknown, input: Record<string, unknown>, user: Identity | undefined, step: Step): FastifyReply => {
    audit(err, input, user, step);
    if (!(err instanceof IdUsed)) throw err;
    return reply.status(409).send({ error: { code: err.code, message: err.message, field: 'id' }, ...(err.mine ? { outcome: current(err.record) } : {}) });
  };

  /** The outcome as it stands: one still queued long after its expiry never reported back. */
  const current = (r: CommandRecord): CommandOutcome =>
    r.outcome.status === 'queued' && Date.now() > r.expiresAt + SILENT_AFTER_MS
      ? { ...r.outcome, status: 'unknown', code: 'PLANTA_COMMAND_NO_OUTCOME', reason: 'no outcome was ever reported for it (the bus or its poller lost it): check the plant', at: r.expiresAt + SILENT_AFTER_MS }
      : r.outcome;

  /** Throws IdUsed when the id was used before (by anyone, ever within the retention). Records out of reach: `bind` decides. */
  const fresh = async (id: string, user: Identity): Promise<void> => {
    const r = await records.get(id).catch((err: unknown) => {
      if (err instanceof CommandRejection && err.code === 'PLANTA_COMMAND_RECORDS_UNAVAILABLE') return undefined;
      throw err;
    });
    if (r) throw new IdUsed(r, r.user === user.user);
  };

  /** Refuses a command the bus cannot take (503), recorded under its id when it has one, so its owner can find out what became of it. */
  const notQueued = async (queued: CommandOutcome | undefined, why: string): Promise<never> => {
    const message = `not queued, and it will not run later: ${why} — send it again once the bus is back`;
    if (queued) await record({ ...queued, status: 'rejected', code: 'PLANTA_COMMAND_NOT_QUEUED', reason: message, at: Date.now() });
    throw new CommandRejection('PLANTA_COMMAND_NOT_QUEUED', message, { field: 'bus' });
  };

  /**
   * Binds the id to its user on disk, then hands the command to the bus
   * with a deadline: a bus out of reach answers 503 at once, and the
   * command never runs later.
   */
  const submit = async (cmd: CommandRequest, user: Identity): Promise<{ id: string; status: 'queued'; expiresAt: number }> => {
    const queued = queuedOutcome(cmd);
    const earlier = await records.bind(queued, cmd.expiresAt);
    if (earlier) throw new IdUsed(earlier, earlier.user === user.user);
    cmd.acceptBy = Date.now() + ACCEPT_MS;
    try {
      await bus.submitCommand(cmd);
    } catch (err) {
      if (err instanceof BusError && err.code === 'PLANTA_BUS_UNCONFIRMED') {
        o.log?.warn({ id: cmd.id, command: cmd.command, err: err.message }, 'the bus did not confirm a command');
        throw new CommandRejection(
          'PLANTA_COMMAND_UNCONFIRMED',
          `the bus did not confirm it (${err.message}): it was probably not queued; if the bus took it before ${new Date(cmd.acceptBy).toISOString()} it runs, otherwise never — ` +
            'check the event list before sending it again',
          { field: 'bus' },
        );
      }
      return notQueued(queued, err instanceof BusError ? err.message : 'the bus did not take it');
    }
    bus.publishCommandOutcome({ ...queued, at: Date.now() }).catch((err: unknown) => o.log?.warn({ err: (err as Error).message, id: cmd.id }, 'a queued command could not be announced'));
    o.log?.info({ command: cmd.command, id: cmd.id, user: cmd.user, params: cmd.params }, 'command queued');
    return { id: cmd.id, status: 'queued', expiresAt: cmd.expiresAt };
  };

  /**
   * The values a command's preconditions and relations are checked on. With
   * the bus known to be away the command is refused first, as not queued:
   * it could not be queued anyway, and the values are no longer live.
   */
  const plantState = async (cmd: CommandRequest, user: Identity, select = false): Promise<TagValue[]> => {
    if (!o.live) return bus.snapshot();
    const link = o.live.busLink();
    if (link.up) return o.live.values();
    const why = `no connection to the bus since ${new Date(link.since).toISOString()}`;
    if (select) return notQueued(undefined, why);
    const queued = queuedOutcome(cmd);
    const earlier = await records.bind(queued, cmd.expiresAt);
    if (earlier) throw new IdUsed(earlier, earlier.user === user.user);
    return notQueued(queued, why);
  };

  const acting = { config: { access: 'user' as const }, bodyLimit: BODY_LIMITS.command };

  app.get('/api/commands', { config: { access: 'viewer' } }, async () => infos);

  app.post('/api/commands', acting, async (req, reply) => {
    const input = body(req);
    const user = o.identify(req);
    try {
      const me = signedIn(user);
      const cmd = preparer.prepare(input, me);
      if (config.commands[cmd.command]!.critical) {
        throw new CommandRejection('PLANTA_COMMAND_SELECT_REQUIRED', `"${cmd.command}" is critical: select it first, then operate with the token`, { field: 'command' });
      }
      await fresh(cmd.id, me);
      preparer.checkState(cmd, await plantState(cmd, me));
      return reply.status(202).send(await submit(cmd, me));
    } catch (err) {
      return refuse(reply, err, input, user, 'direct');
    }
  });

  app.post('/api/commands/select', acting, async (req, reply) => {
    const input = body(req);
    const user = o.identify(req);
    try {
      const me = signedIn(user);
      // Select validates exactly as operate will; the id only matters at operate.
      const cmd = preparer.prepare(input, me, 'select');
      const snapshot = await plantState(cmd, me, true);
      preparer.checkState(cmd, snapshot);
      const { token, expiresAt } = selects.select(me, cmd.command, cmd.params, cmd.device);
      const names = new Set<string>(cmd.steps.flatMap((s) => (s.kind === 'block' ? s.tags : [s.tag])));
      if (cmd.expect) names.add(cmd.expect.tag);
      const current: Record<string, { value: TagValueType | null; quality: string; sourceTs: number }> = {};
      for (const v of snapshot) if (names.has(v.tag)) current[v.tag] = { value: v.value, quality: v.quality, sourceTs: v.sourceTs };
      return { token, expiresAt, command: cmd.command, params: cmd.params, confirmation: cmd.confirmation, device: cmd.device, current };
    } catch (err) {
      return refuse(reply, err, { command: input.command }, user, 'select');
    }
  });

  app.post('/api/commands/operate', acting, async (req, reply) => {
    const input = body(req);
    const user = o.identify(req);
    try {
      const me = signedIn(user);
      const cmd = preparer.prepare(input, me, 'operate');
      await fresh(cmd.id, me);
      if (o.reauthenticate && config.commands[cmd.command]!.critical) await o.reauthenticate(req, input.password);
      preparer.checkState(cmd, await plantState(cmd, me));
      selects.operate(input.token, me, cmd.command, cmd.params);
      return reply.status(202).send(await submit(cmd, me));
    } catch (err) {
      return refuse(reply, err, input, user, 'operate');
    }
  });

  app.delete<{ Params: { token: string } }>('/api/commands/select/:token', { config: { access: 'user' } }, async (req) => {
    const me = signedIn(o.identify(req));
    return { cancelled: TOKEN.test(req.params.token) && selects.cancel(req.params.token, me) };
  });

  app.get<{ Params: { id: string } }>('/api/commands/:id', { config: { access: 'viewer' } }, async (req) => {
    const r = COMMAND_ID.test(req.params.id) ? await records.get(req.params.id) : undefined;
    if (!r) throw new CommandRejection('PLANTA_COMMAND_NOT_FOUND', 'no command with this id', { field: 'id' });
    return current(r);
  });
}
