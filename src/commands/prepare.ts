/**
 * From an operator's request (command name and parameter values) to a
 * resolved command, or a rejection that names the field and the reason. The
 * server is the authority: the browser's checks are only a convenience.
 */
import { expandTemplate, roleAllows } from '../config/commands.js';
import type { PlantConfig } from '../config/resolve.js';
import type { CommandConfig, Role } from '../config/schema.js';
import { representation } from '../tags/representation.js';
import type { TagDefinition } from '../tags/types.js';
import type { CommandRequest, ResolvedStep } from '../bus/command-messages.js';

export class CommandRejection extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export interface Identity {
  user: string;
  role: Role;
}

/**
 * Checks an engineering value for a tag: type, the tag's writable limits, and
 * that the tag's register can hold it (src/tags/representation.ts — the rule
 * the read-back confirms with).
 */
export function checkTagValue(tag: TagDefinition, value: unknown, field: string): number | boolean {
  if (tag.type === 'bool') {
    if (typeof value !== 'boolean') throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected true or false`, field);
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected a number`, field);
  }
  const { min, max } = tag.writable ?? {};
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${value} is outside ${min ?? '−∞'}..${max ?? '∞'} ${tag.unit}`.trim(), field);
  }
  const r = representation(tag, value);
  if (!r.ok) throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${r.message}`, field);
  return value;
}

function checkParam(def: CommandConfig['params'][string], name: string, value: unknown, tag: TagDefinition | undefined): number | boolean {
  const field = `params.${name}`;
  if (tag) return checkTagValue(tag, value, field);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected a number`, field);
  if (def.integer && !Number.isInteger(value)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected a whole number`, field);
  if ((def.min !== undefined && value < def.min) || (def.max !== undefined && value > def.max)) {
    throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${value} is outside ${def.min}..${def.max}`, field);
  }
  return value;
}

/** The request's JSON body: id, command and params are checked here, whatever their types. */
export type PrepareInput = Record<string, unknown>;

const ID = /^[A-Za-z0-9_-]{8,64}$/;

export class CommandPreparer {
  private readonly tags: Map<string, TagDefinition>;
  constructor(
    readonly config: PlantConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.tags = new Map(config.tags.map((t) => [t.name, t]));
  }

  definition(name: unknown): CommandConfig & { name: string } {
    if (typeof name !== 'string' || !Object.hasOwn(this.config.commands, name)) {
      throw new CommandRejection('PLANTA_COMMAND_UNKNOWN', `no command "${String(name)}"`, 'command', 404);
    }
    return { ...this.config.commands[name]!, name };
  }

  /** Validates and resolves; throws CommandRejection with the field at fault. */
  prepare(input: PrepareInput, who: Identity): CommandRequest {
    if (typeof input.id !== 'string' || !ID.test(input.id)) {
      throw new CommandRejection('PLANTA_COMMAND_BAD_ID', 'id: expected 8..64 letters, digits, "-" or "_" (a fresh one per click)', 'id');
    }
    const def = this.definition(input.command);
    if (!roleAllows(who.role, def.role)) {
      throw new CommandRejection('PLANTA_COMMAND_FORBIDDEN', `${who.user} (${who.role}) may not run "${def.name}": it needs ${def.role}`, 'command', 403);
    }
    const given = input.params ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', 'params: expected an object', 'params');
    const raw = given as Record<string, unknown>;
    for (const k of Object.keys(raw)) if (!Object.hasOwn(def.params, k)) throw new CommandRejection('PLANTA_COMMAND_UNKNOWN_PARAM', `params.${k}: "${def.name}" has no such parameter`, `params.${k}`);
    const params: Record<string, number | boolean> = {};
    // Parameters without a tag first: tag templates may depend on them (program{program}.fill).
    const order = Object.entries(def.params).sort(([, a], [, b]) => Number(Boolean(a.tag)) - Number(Boolean(b.tag)));
    for (const [name, p] of order) {
      if (!Object.hasOwn(raw, name)) throw new CommandRejection('PLANTA_COMMAND_MISSING_PARAM', `params.${name}: is required`, `params.${name}`);
      const tag = p.tag ? this.tags.get(expandTemplate(p.tag, params)) : undefined;
      params[name] = checkParam(p, name, raw[name], tag);
    }
    const value = (v: number | boolean | string): number | boolean => (typeof v === 'string' ? params[v.slice(1)]! : v);
    const steps: ResolvedStep[] = def.steps.map((s) => {
      if ('set' in s) {
        const tag = expandTemplate(s.set, params);
        return { kind: 'set', tag, value: checkTagValue(this.tags.get(tag)!, value(s.value), `steps.${tag}`) };
      }
      if ('block' in s) {
        const tags = s.block.map((t) => expandTemplate(t, params));
        return { kind: 'block', tags, values: s.values.map((v, i) => checkTagValue(this.tags.get(tags[i]!)!, value(v), `steps.${tags[i]}`)) };
      }
      return { kind: 'pulse', tag: expandTemplate(s.pulse, params) };
    });
    const first = steps[0]!;
    const device = this.tags.get(first.kind === 'block' ? first.tags[0]! : first.tag)!.device;
    const createdAt = this.now();
    const request: CommandRequest = {
      id: input.id,
      command: def.name,
      device,
      user: who.user,
      role: who.role,
      params,
      steps,
      confirmation: expandTemplate(def.confirmation, params),
      createdAt,
      expiresAt: createdAt + def.expiry,
    };
    if (def.expect) request.expect = { tag: expandTemplate(def.expect.tag, params), equals: value(def.expect.equals), withinMs: def.expect.within };
    return request;
  }
}
