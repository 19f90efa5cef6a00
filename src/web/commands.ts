/**
 * Operator commands over HTTP. The web validates (the server is the
 * authority, whatever the browser checked), queues on the bus, and reports
 * outcomes; only the poller writes to the PLC.
 *
 *   GET    /api/commands              definitions, for the HMI's controls
 *   POST   /api/commands              {id, command, params}         non-critical commands
 *   POST   /api/commands/select       {command, params}             critical: reserve, get a token and the current state
 *   POST   /api/commands/operate      {id, token, command, params}  critical: send what was selected
 *   DELETE /api/commands/select/:token
 *   GET    /api/commands/:id          the latest outcome of a command
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bus, CommandOutcome, CommandRequest } from '../bus/types.js';
import { expandTemplate, templateCombinations, templateVars } from '../config/commands.js';
import type { PlantConfig } from '../config/resolve.js';
import { CommandPreparer, CommandRejection, type Identity } from '../commands/prepare.js';
import { SelectRegistry } from '../commands/select.js';
import type { TagValueType } from '../tags/types.js';
import type { Logger } from '../util/log.js';

export interface CommandRoutesOptions {
  bus: Bus;
  config: PlantConfig;
  /** Who is asking; undefined refuses every command (no anonymous writes). */
  identify: (req: FastifyRequest) => Identity | undefined;
  /** Checks the user's password again before a critical command is operated. */
  reauthenticate?: (req: FastifyRequest, password: unknown) => Promise<void>;
  selectValidityMs?: number;
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

const REMEMBERED_OUTCOMES = 2000;

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new CommandRejection('PLANTA_COMMAND_BAD_BODY', 'expected a JSON object', 'body');
  return b as Record<string, unknown>;
}

export async function registerCommandRoutes(app: FastifyInstance, o: CommandRoutesOptions): Promise<void> {
  const { bus, config } = o;
  const preparer = new CommandPreparer(config);
  const selects = new SelectRegistry(o.selectValidityMs);
  const tags = new Map(config.tags.map((t) => [t.name, t]));
  const outcomes = new Map<string, CommandOutcome>();
  const remember = (out: CommandOutcome): void => {
    outcomes.delete(out.id);
    outcomes.set(out.id, out);
    if (outcomes.size > REMEMBERED_OUTCOMES) outcomes.delete(outcomes.keys().next().value!);
  };
  const unsubscribe = await bus.subscribeCommandOutcomes(remember);
  app.addHook('onClose', async () => unsubscribe());

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

  const who = (req: FastifyRequest): Identity => {
    const id = o.identify(req);
    if (!id) throw new CommandRejection('PLANTA_AUTH_REQUIRED', 'commands need a signed-in user', 'user', 401);
    return id;
  };

  /** A refusal is answered at once, and also published so the audit log and the event list keep it. */
  const refuse = async (err: unknown, input: Record<string, unknown>, user: string): Promise<never> => {
    if (err instanceof CommandRejection && typeof input.id === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(input.id)) {
      const out: CommandOutcome = {
        id: input.id,
        command: String(input.command),
        device: '',
        user,
        params: {},
        status: 'rejected',
        code: err.code,
        reason: err.message,
        createdAt: Date.now(),
        at: Date.now(),
      };
      if (err.field) out.field = err.field;
      if (err.code !== 'PLANTA_COMMAND_DUPLICATE') await bus.publishCommandOutcome(out);
    }
    throw err;
  };

  const submit = async (cmd: CommandRequest): Promise<{ id: string; status: 'queued'; expiresAt: number }> => {
    if (outcomes.has(cmd.id)) {
      throw new CommandRejection('PLANTA_COMMAND_DUPLICATE', `id ${cmd.id} was already used: a retry never executes twice`, 'id', 409);
    }
    const queued: CommandOutcome = {
      id: cmd.id,
      command: cmd.command,
      device: cmd.device,
      user: cmd.user,
      params: cmd.params,
      status: 'queued',
      confirmation: cmd.confirmation,
      createdAt: cmd.createdAt,
      at: Date.now(),
    };
    remember(queued);
    await bus.publishCommandOutcome(queued);
    await bus.submitCommand(cmd);
    o.log?.info({ command: cmd.command, id: cmd.id, user: cmd.user, params: cmd.params }, 'command queued');
    return { id: cmd.id, status: 'queued', expiresAt: cmd.expiresAt };
  };

  app.get('/api/commands', async () => infos);

  app.post('/api/commands', async (req, reply) => {
    const input = body(req);
    const id = o.identify(req);
    try {
      const user = who(req);
      const cmd = preparer.prepare(input, user);
      if (config.commands[cmd.command]!.critical) {
        throw new CommandRejection('PLANTA_COMMAND_SELECT_REQUIRED', `"${cmd.command}" is critical: select it first, then operate with the token`, 'command', 409);
      }
      preparer.checkState(cmd, await bus.snapshot());
      return reply.status(202).send(await submit(cmd));
    } catch (err) {
      return refuse(err, input, id?.user ?? '');
    }
  });

  app.post('/api/commands/select', async (req) => {
    const input = body(req);
    const user = who(req);
    // Select validates exactly as operate will; the id only matters at operate.
    const cmd = preparer.prepare(input, user, 'select');
    const snapshot = await bus.snapshot();
    preparer.checkState(cmd, snapshot);
    const { token, expiresAt } = selects.select(user, cmd.command, cmd.params, cmd.device);
    const names = new Set<string>(cmd.steps.flatMap((s) => (s.kind === 'block' ? s.tags : [s.tag])));
    if (cmd.expect) names.add(cmd.expect.tag);
    const current: Record<string, { value: TagValueType | null; quality: string; sourceTs: number }> = {};
    for (const v of snapshot) if (names.has(v.tag)) current[v.tag] = { value: v.value, quality: v.quality, sourceTs: v.sourceTs };
    return { token, expiresAt, command: cmd.command, params: cmd.params, confirmation: cmd.confirmation, device: cmd.device, current };
  });

  app.post('/api/commands/operate', async (req, reply) => {
    const input = body(req);
    const id = o.identify(req);
    try {
      const user = who(req);
      const cmd = preparer.prepare(input, user, 'operate');
      if (o.reauthenticate && config.commands[cmd.command]!.critical) await o.reauthenticate(req, input.password);
      preparer.checkState(cmd, await bus.snapshot());
      selects.operate(input.token, user, cmd.command, cmd.params);
      return reply.status(202).send(await submit(cmd));
    } catch (err) {
      return refuse(err, input, id?.user ?? '');
    }
  });

  app.delete<{ Params: { token: string } }>('/api/commands/select/:token', async (req) => ({ cancelled: selects.cancel(req.params.token, who(req)) }));

  app.get<{ Params: { id: string } }>('/api/commands/:id', async (req) => {
    const out = outcomes.get(req.params.id);
    if (!out) throw new CommandRejection('PLANTA_COMMAND_NOT_FOUND', `no command ${req.params.id}`, 'id', 404);
    return out;
  });
}
