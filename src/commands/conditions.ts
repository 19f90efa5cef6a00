/**
 * A command's preconditions (`requires:`) and relations (`relations:` of the
 * command and of the plant): which apply to a request, and whether they hold
 * on the plant's values. The web checks them on the live values (the bus
 * snapshot) for an early answer; the poller checks them again on values read
 * from the PLC right before its first write, so a command whose condition is
 * false never reaches the PLC, not even in part.
 */
import type { ResolvedCheck, ResolvedStep } from '../bus/command-messages.js';
import { type Value, UnknownValue, evaluate, expandTemplate, parseCondition, references } from '../config/conditions.js';
import type { PlantConfig } from '../config/resolve.js';
import type { CommandConfig } from '../config/schema.js';

/** The values a command writes, by tag (pulses are momentary and left out). */
export function writtenValues(steps: readonly ResolvedStep[]): Map<string, Value> {
  const out = new Map<string, Value>();
  for (const s of steps) {
    if (s.kind === 'set') out.set(s.tag, s.value);
    else if (s.kind === 'block') s.tags.forEach((t, i) => out.set(t, s.values[i]!));
  }
  return out;
}

/** The command's preconditions and relations, and the plant's relations on any tag it writes. */
export function resolveChecks(config: PlantConfig, def: CommandConfig, steps: readonly ResolvedStep[]): ResolvedCheck[] {
  const written = writtenValues(steps);
  const out: ResolvedCheck[] = [];
  const add = (kind: ResolvedCheck['kind'], name: string, entry: { check: string; message?: string | undefined }): void => {
    out.push({ kind, name, check: entry.check, ...(entry.message ? { message: entry.message } : {}) });
  };
  for (const [name, entry] of Object.entries(def.requires)) add('requires', name, entry);
  for (const [name, entry] of Object.entries(def.relations)) add('relation', name, entry);
  for (const [name, entry] of Object.entries(config.relations)) {
    if (references(parseCondition(entry.check)).tags.some((t) => written.has(t))) add('relation', name, entry);
  }
  return out;
}

/** Why a command's conditions do not let it through. */
export interface CheckFailure {
  check: ResolvedCheck;
  /** A value it needs is not known: this tag's. */
  unknown?: string;
  /** The values it was decided on, for the message. */
  values: Record<string, Value>;
}

/** The concrete tags a check reads from the plant (for a relation, the ones the command does not write). */
export function tagsToRead(check: ResolvedCheck, params: Readonly<Record<string, Value>>, written: ReadonlyMap<string, Value>): string[] {
  const tags = references(parseCondition(check.check)).tags.map((t) => expandTemplate(t, params));
  return check.kind === 'relation' ? tags.filter((t) => !written.has(t)) : tags;
}

/**
 * The first of `checks` that does not hold, evaluated on `current` (the
 * values the PLC holds) — merged, for relations, with the values the command
 * writes. Undefined when every one holds.
 */
export function firstFailing(
  checks: readonly ResolvedCheck[],
  params: Readonly<Record<string, Value>>,
  written: ReadonlyMap<string, Value>,
  current: (tag: string) => Value | undefined,
): CheckFailure | undefined {
  for (const check of checks) {
    const values: Record<string, Value> = {};
    const tag = (name: string): Value | undefined => {
      const v = check.kind === 'relation' && written.has(name) ? written.get(name) : current(name);
      if (v !== undefined) values[name] = v;
      return v;
    };
    try {
      if (evaluate(parseCondition(check.check), params, tag) !== true) return { check, values };
    } catch (err) {
      if (err instanceof UnknownValue) return { check, unknown: err.tag, values };
      throw err;
    }
  }
  return undefined;
}

/**
 * The stable code of a failure: a precondition false, a relation broken, or a
 * value either needs not known; and the field naming the condition.
 */
export function failureCode(f: CheckFailure): { code: 'PLANTA_COMMAND_STATE_UNKNOWN' | 'PLANTA_COMMAND_PRECONDITION' | 'PLANTA_COMMAND_RELATION'; field: string } {
  const field = `${f.check.kind === 'requires' ? 'requires' : 'relations'}.${f.check.name}`;
  if (f.unknown) return { code: 'PLANTA_COMMAND_STATE_UNKNOWN', field };
  return { code: f.check.kind === 'requires' ? 'PLANTA_COMMAND_PRECONDITION' : 'PLANTA_COMMAND_RELATION', field };
}

/**
 * Words for a failure: the configured message first (what an operator acts
 * on), then which condition, on which values — "the emergency stop is
 * pressed — precondition no_emergency_stop (alarm.estop == false) does not
 * hold with alarm.estop = true".
 */
export function describeFailure(f: CheckFailure): string {
  const what = `${f.check.kind === 'requires' ? 'precondition' : 'relation'} ${f.check.name} (${f.check.check})`;
  if (f.unknown) return `${what} cannot be checked: the value of ${f.unknown} is not known (not read, or not Good)`;
  const shown = Object.entries(f.values).map(([k, v]) => `${k} = ${String(v)}`).join(', ');
  const detail = `${what} does not hold${shown ? ` with ${shown}` : ''}`;
  return f.check.message ? `${f.check.message} — ${detail}` : detail;
}
