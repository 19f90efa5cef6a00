/**
 * From an operator's request (command name and parameter values) to a
 * resolved command, or a rejection that names the field and the reason. The
 * server is the authority: the browser's checks are only a convenience.
 */
import { expandTemplate, roleAllows } from '../config/commands.js';
import type { PlantConfig } from '../config/resolve.js';
import type { CommandConfig, Role } from '../config/schema.js';
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

/** Characters that would move a terminal's cursor, hide text or reorder it: C0/C1 controls, zero-width and bidirectional marks. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

/**
 * Something a client sent, as it may appear in a message (and so in the
 * logs, the audit trail or a terminal): quoted, at most `max` characters,
 * every invisible or control character escaped as \uXXXX.
 */
export function printable(value: unknown, max = 40): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : `(${value === null ? 'null' : typeof value})`;
  const chars = [...text];
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
  return `"${cut.replace(/["\\]/g, '\\$&').replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** A name as configuration files write them (parameters, commands): letters, digits and "_". */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface Identity {
  user: string;
  role: Role;
}

const RAW_RANGE: Partial<Record<TagDefinition['type'], [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/** Checks an engineering value for a tag: type, the tag's writable limits, the raw resolution and range. */
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
  const raw = (value - tag.offset) / tag.scale;
  const range = RAW_RANGE[tag.type];
  if (range) {
    if (Math.abs(raw - Math.round(raw)) > 1e-6) {
      throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${value} is not a multiple of the tag's resolution ${tag.scale}`, field);
    }
    if (Math.round(raw) < range[0] || Math.round(raw) > range[1]) {
      throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${value} does not fit the tag's ${tag.type}`, field);
    }
  }
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

/** A command id: a fresh one per click, as the HMI makes them. */
export const COMMAND_ID = /^[A-Za-z0-9_-]{8,64}$/;

export class CommandPreparer {
  private readonly tags: Map<string, TagDefinition>;
  constructor(
    readonly config: PlantConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.tags = new Map(config.tags.map((t) => [t.name, t]));
  }

  /** A configured command; anything else is refused with at most a short, escaped part of what was sent. */
  definition(name: unknown): CommandConfig & { name: string } {
    if (typeof name !== 'string' || !Object.hasOwn(this.config.commands, name)) {
      throw new CommandRejection('PLANTA_COMMAND_UNKNOWN', `no command ${printable(name)}`, 'command', 404);
    }
    return { ...this.config.commands[name]!, name };
  }

  /** Validates and resolves; throws CommandRejection with the field at fault. */
  prepare(input: PrepareInput, who: Identity): CommandRequest {
    if (typeof input.id !== 'string' || !COMMAND_ID.test(input.id)) {
      throw new CommandRejection('PLANTA_COMMAND_BAD_ID', 'id: expected 8..64 letters, digits, "-" or "_" (a fresh one per click)', 'id');
    }
    const def = this.definition(input.command);
    if (!roleAllows(who.role, def.role)) {
      throw new CommandRejection('PLANTA_COMMAND_FORBIDDEN', `${who.user} (${who.role}) may not run "${def.name}": it needs ${def.role}`, 'command', 403);
    }
    const given = input.params ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', 'params: expected an object', 'params');
    const raw = given as Record<string, unknown>;
    for (const k of Object.keys(raw)) {
      if (Object.hasOwn(def.params, k)) continue;
      const field = NAME.test(k) ? `params.${k}` : 'params';
      throw new CommandRejection('PLANTA_COMMAND_UNKNOWN_PARAM', `params: "${def.name}" has no parameter ${printable(k)}`, field);
    }
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
