/**
 * Conditions on HMI pages (a dashboard bar's `limitsWhen:`): the language of
 * commands' preconditions, evaluated by the browser on live values. Unlike a
 * command's, such a condition may name tags of several devices (it decides
 * only what is drawn) and has no parameters.
 */
import type { TagDefinition } from '../tags/types.js';
import { tagKindOf } from './commands.js';
import { ConditionSyntaxError, type Kind, kindOf, parseCondition, references } from './conditions.js';

/** What is wrong with a display condition, in words (empty when it is fine). */
export function displayConditionProblems(text: string, tags: ReadonlyMap<string, TagDefinition>): string[] {
  try {
    const expr = parseCondition(text);
    const refs = references(expr);
    if (refs.params.length > 0) return [`"${text}": $${refs.params[0]} or {${refs.params[0]}}: only a command's conditions can use its parameters`];
    const out: string[] = [];
    for (const name of refs.tags) {
      const t = tags.get(name);
      if (!t) out.push(`"${text}": unknown tag "${name}"`);
      else if (!tagKindOf(t)) out.push(`"${text}": "${name}" is a ${t.type}: a condition compares numbers and true/false values`);
    }
    if (out.length > 0) return out;
    const kind = kindOf(expr, (name) => tagKindOf(tags.get(name)!) as Kind, () => 'number');
    if (kind !== 'boolean') return [`"${text}" is a number: a condition must be true or false (compare it, e.g. "${text} > 0")`];
    return [];
  } catch (err) {
    if (err instanceof ConditionSyntaxError) return [`"${text}": ${err.message}`];
    throw err;
  }
}
