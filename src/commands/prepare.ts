/**
 * From an operator's request (command name and parameter values) to a
 * resolved command, or a rejection that names the field and the reason. The
 * server is the authority: the browser's checks are only a convenience.
 */
import { expandTemplate, roleAllows } from '../config/commands.js';
import type { PlantConfig } from '../config/resolve.js';
import type { CommandConfig, Role } from '../config/schema.js';
import { representation } from '../tags/representation.js';
import type { TagDefinition, TagValue } from '../tags/types.js';
import type { CommandRequest, ResolvedStep } from '../bus/command-messages.js';
import { type ErrorCode, PlantaError } from '../errors.js';
import { describeFailure, failureCode, firstFailing, resolveChecks, writtenValues } from './conditions.js';

/** A command request refused: answered with its status and the field at fault; its code is the refused command's outcome. */
export class CommandRejection<C extends ErrorCode = ErrorCode> extends PlantaError<C> {}

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

/**
 * Checks an engineering value for a tag: type, the tag's writable limits, and
 * that the tag's register can hold it (src/tags/representation.ts — the rule
 * the read-back confirms with).
 */
export function checkTagValue(tag: TagDefinition, value: unknown, field: string): number | boolean {
  if (tag.type === 'bool') {
    if (typeof value !== 'boolean') throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected true or false`, { field });
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected a number`, { field });
  }
  const { min, max } = tag.writable ?? {};
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${value} is outside ${min ?? '−∞'}..${max ?? '∞'} ${tag.unit}`.trim(), { field });
  }
  const r = representation(tag, value);
  if (!r.ok) throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${r.message}`, { field });
  return value;
}

function checkParam(def: CommandConfig['params'][string], name: string, value: unknown, tag: TagDefinition | undefined): number | boolean {
  const field = `params.${name}`;
  if (tag) return checkTagValue(tag, value, field);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected a number`, { field });
  if (def.integer && !Number.isInteger(value)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', `${field}: expected a whole number`, { field });
  if ((def.min !== undefined && value < def.min) || (def.max !== undefined && value > def.max)) {
    throw new CommandRejection('PLANTA_COMMAND_OUT_OF_RANGE', `${field}: ${value} is outside ${def.min}..${def.max}`, { field });
  }
  return value;
}

/** The request's JSON body: id, command and params are checked here, whatever their types. */
export type PrepareInput = Record<string, unknown>;

/** A command id: a fresh one per click, as the HMI makes them. */
export const COMMAND_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** The fields each kind of command request may have; any other is refused, named. */
export const REQUEST_FIELDS = {
  direct: ['id', 'command', 'params'],
  select: ['command', 'params'],
  operate: ['id', 'token', 'command', 'params', 'password'],
} as const satisfies Record<string, readonly string[]>;
export type RequestKind = keyof typeof REQUEST_FIELDS;

/** An id a select has no use for: the command is only reserved, never sent under it. */
const SELECT_ID = 'select-only';

/** A field name as it may be shown back: short, printable. */
function shown(name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}

/** Values Planta decides on: read and valid (a value outside its display range was still read). */
function known(v: TagValue | undefined): number | boolean | undefined {
  if (!v || (v.quality !== 'Good' && v.quality !== 'Uncertain_EngineeringUnitsExceeded')) return undefined;
  return typeof v.value === 'number' || typeof v.value === 'boolean' ? v.value : undefined;
}

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
      throw new CommandRejection('PLANTA_COMMAND_UNKNOWN', `no command ${printable(name)}`, { field: 'command' });
    }
    return { ...this.config.commands[name]!, name };
  }

  /** Validates and resolves a request of `kind` (its fields: REQUEST_FIELDS); throws CommandRejection with the field at fault. */
  prepare(input: PrepareInput, who: Identity, kind: RequestKind = 'direct'): CommandRequest {
    const allowed: readonly string[] = REQUEST_FIELDS[kind];
    for (const k of Object.keys(input)) {
      if (!allowed.includes(k)) throw new CommandRejection('PLANTA_COMMAND_UNKNOWN_FIELD', `${shown(k)}: not a field of this request (fields: ${allowed.join(', ')})`, { field: shown(k) });
    }
    const id = kind === 'select' ? SELECT_ID : input.id;
    if (typeof id !== 'string' || !COMMAND_ID.test(id)) {
      throw new CommandRejection('PLANTA_COMMAND_BAD_ID', 'id: expected 8..64 letters, digits, "-" or "_" (a fresh one per click)', { field: 'id' });
    }
    const def = this.definition(input.command);
    if (!roleAllows(who.role, def.role)) {
      throw new CommandRejection('PLANTA_COMMAND_FORBIDDEN', `${who.user} (${who.role}) may not run "${def.name}": it needs ${def.role}`, { field: 'command' });
    }
    const given = input.params ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new CommandRejection('PLANTA_COMMAND_BAD_TYPE', 'params: expected an object', { field: 'params' });
    const raw = given as Record<string, unknown>;
    for (const k of Object.keys(raw)) {
      if (Object.hasOwn(def.params, k)) continue;
      const field = NAME.test(k) ? `params.${k}` : 'params';
      throw new CommandRejection('PLANTA_COMMAND_UNKNOWN_PARAM', `params: "${def.name}" has no parameter ${printable(k)}`, { field });
    }
    const params: Record<string, number | boolean> = {};
    // Parameters without a tag first: tag templates may depend on them (program{program}.fill).
    const order = Object.entries(def.params).sort(([, a], [, b]) => Number(Boolean(a.tag)) - Number(Boolean(b.tag)));
    for (const [name, p] of order) {
      if (!Object.hasOwn(raw, name)) throw new CommandRejection('PLANTA_COMMAND_MISSING_PARAM', `params.${name}: is required`, { field: `params.${name}` });
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
      id,
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
    const checks = resolveChecks(this.config, def, steps);
    if (checks.length > 0) request.checks = checks;
    return request;
  }

  /**
   * Refuses a prepared request whose preconditions or relations do not hold on
   * `values` (the live values: the bus snapshot), or cannot be decided because
   * a value they need is not Good. The poller checks again right before writing.
   */
  checkState(request: CommandRequest, values: readonly TagValue[]): void {
    if (!request.checks) return;
    const byTag = new Map(values.map((v) => [v.tag, v]));
    const f = firstFailing(request.checks, request.params, writtenValues(request.steps), (tag) => known(byTag.get(tag)));
    if (!f) return;
    const { code, field } = failureCode(f);
    throw new CommandRejection(code, describeFailure(f), { field });
  }
}
