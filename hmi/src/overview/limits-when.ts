/**
 * Whether a bar's limits apply now: its `limitsWhen:` condition (the
 * language of commands' preconditions, src/tags/condition-language.ts)
 * evaluated on live values. A value the condition needs that is not Good
 * makes the answer "unknown": the limits are then not applied, and the bar
 * says so, rather than showing a LOW that nobody can trust.
 */
import { ConditionError, type Expr, UnknownValue, type Value, evaluate, parseCondition } from '../../../src/tags/condition-language.js';
import { msg } from '../i18n/locale.js';

export type LimitsWhen = { apply: true } | { apply: false; state: 'false' | 'unknown' | 'unreadable'; note: string };

/** What the condition reads of a tag (a TagView; only this, so that it is tested without the HMI's state). */
export interface ConditionInput {
  name: string;
  info?: { description?: string } | undefined;
  live: { value: unknown };
  good: boolean;
  reason: string;
}

const parsed = new Map<string, Expr | null>();

/** Parsed once per text (the server has checked it; null if this page cannot read it). */
function parse(text: string): Expr | null {
  let e = parsed.get(text);
  if (e === undefined) {
    try {
      e = parseCondition(text);
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      e = null;
    }
    parsed.set(text, e);
  }
  return e;
}

const label = (v: ConditionInput): string => v.info?.description || v.name;

/** Evaluates `text` with `view` giving each tag's view (reading it subscribes the caller to the tag). */
export function limitsWhen(text: string, view: (tag: string) => ConditionInput): LimitsWhen {
  const expr = parse(text);
  if (!expr) return { apply: false, state: 'unreadable', note: msg().limits.unreadable(text) };
  const seen: ConditionInput[] = [];
  const value = (name: string): Value | undefined => {
    const v = view(name);
    seen.push(v);
    const x = v.live.value;
    return v.good && (typeof x === 'number' || typeof x === 'boolean') ? x : undefined;
  };
  try {
    if (evaluate(expr, {}, value) === true) return { apply: true };
  } catch (err) {
    if (!(err instanceof UnknownValue)) throw err;
    const v = seen.find((s) => s.name === err.tag);
    return { apply: false, state: 'unknown', note: msg().limits.unknown(v ? label(v) : err.tag, v?.reason ?? '') };
  }
  // A lone tag reads best as its description ("Reactor in aeration"); anything else as written.
  const what = expr.k === 'tag' && seen[0] ? label(seen[0]) : text;
  return { apply: false, state: 'false', note: msg().limits.onlyWhen(what) };
}
