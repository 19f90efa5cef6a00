/**
 * Conditions in the configuration (`requires:`, `relations:`, `limitsWhen:`):
 * the language itself is in src/tags/condition-language.ts (pure, shared with
 * the HMI); here its errors become PLANTA_CONFIG_CONDITION.
 */
import { PlantaError } from '../errors.js';
import { ConditionError, type Expr, type Kind, kindOf as kindOfPure, parseCondition as parsePure } from '../tags/condition-language.js';
import type { CommandConfig } from './schema.js';

export { type Expr, type Kind, type Value, UnknownValue, evaluate, expandTemplate, references, templateVars } from '../tags/condition-language.js';

export class ConditionSyntaxError extends PlantaError<'PLANTA_CONFIG_CONDITION'> {
  constructor(message: string) {
    super('PLANTA_CONFIG_CONDITION', message);
  }
}

function withCode<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ConditionError) throw new ConditionSyntaxError(err.message);
    throw err;
  }
}

/** Parses a condition; throws ConditionSyntaxError saying what is wrong. */
export function parseCondition(text: string): Expr {
  return withCode(() => parsePure(text));
}

/**
 * The kind of an expression's value, given the kinds of its tags and
 * parameters; throws ConditionSyntaxError at the first misuse (a number
 * where true/false is needed, or the reverse).
 */
export function kindOf(e: Expr, tagKind: (template: string) => Kind, paramKind: (name: string) => Kind): Kind {
  return withCode(() => kindOfPure(e, tagKind, paramKind));
}

/** The kind of a command parameter's value. */
export function paramKind(c: CommandConfig, name: string, tagKind: (template: string) => Kind): Kind {
  const p = c.params[name];
  return p?.tag ? tagKind(p.tag) : 'number';
}
