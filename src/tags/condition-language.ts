/**
 * The condition language of the configuration: a command's preconditions
 * (`requires:`), the relations between values (`relations:`, e.g. a minimum
 * below its maximum) and when a dashboard bar's limits apply (`limitsWhen:`).
 * Pure code with no imports, so that the server (src/config, src/commands)
 * and the browser (hmi/) parse and evaluate the same language — never eval'd:
 *
 *   condition  := and ('or' and)*
 *   and        := not ('and' not)*
 *   not        := 'not' not | comparison
 *   comparison := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
 *   sum        := product (('+' | '-') product)*
 *   product    := unary (('*' | '/') unary)*
 *   unary      := '-' unary | atom
 *   atom       := number | true | false | TAG | $param
 *               | ('sum' | 'min' | 'max') '(' sum (',' sum)* ')' | '(' condition ')'
 *
 * A TAG is a tag name, where {param} stands for an integer parameter's value
 * (program{program}.fill). Tag names may contain "-": write a subtraction
 * with spaces around it (a - b).
 */

export type Value = number | boolean;
type Op = '<' | '<=' | '>' | '>=' | '==' | '!=' | '+' | '-' | '*' | '/' | 'and' | 'or';
type Fn = 'sum' | 'min' | 'max';

export type Expr =
  | { k: 'lit'; v: Value }
  | { k: 'tag'; name: string }
  | { k: 'param'; name: string }
  | { k: 'not'; a: Expr }
  | { k: 'neg'; a: Expr }
  | { k: 'bin'; op: Op; a: Expr; b: Expr }
  | { k: 'call'; fn: Fn; args: Expr[] };

/**
 * What is wrong with a condition, in words. Plain (no catalogue code) so
 * that the HMI can parse conditions without the error catalogue;
 * src/config/conditions.ts turns it into PLANTA_CONFIG_CONDITION.
 */
export class ConditionError extends Error {
  override name = 'ConditionError';
}

const MAX_LENGTH = 1000;
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false']);
const FUNCTIONS = new Set<string>(['sum', 'min', 'max']);
const TOKEN = /\s*(?:(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(\$[A-Za-z_][A-Za-z0-9_]*)|([A-Za-z][A-Za-z0-9_.{}-]*)|(<=|>=|==|!=|<|>|\+|-|\*|\/|\(|\)|,))/y;

type Token = { t: 'num'; v: number } | { t: 'param'; v: string } | { t: 'name'; v: string } | { t: 'sym'; v: string };

function tokenize(text: string): Token[] {
  if (text.length > MAX_LENGTH) throw new ConditionError(`longer than ${MAX_LENGTH} characters`);
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) {
      const rest = text.slice(at);
      if (/^\s*$/.test(rest)) break;
      const start = at + rest.length - rest.trimStart().length;
      throw new ConditionError(`unexpected "${rest.trim().slice(0, 20)}" at character ${start + 1}`);
    }
    if (m[1] !== undefined) out.push({ t: 'num', v: Number(m[1]) });
    else if (m[2] !== undefined) out.push({ t: 'param', v: m[2].slice(1) });
    else if (m[3] !== undefined) out.push({ t: 'name', v: m[3] });
    else out.push({ t: 'sym', v: m[4]! });
  }
  return out;
}

/** Parses a condition; throws ConditionError saying what is wrong. */
export function parseCondition(text: string): Expr {
  const tokens = tokenize(text);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const isSym = (v: string): boolean => peek()?.t === 'sym' && peek()!.v === v;
  const isWord = (v: string): boolean => peek()?.t === 'name' && peek()!.v === v;
  const expect = (v: string): void => {
    if (!isSym(v)) throw new ConditionError(`expected "${v}"${peek() ? ` before "${String(peek()!.v)}"` : ' at the end'}`);
    i++;
  };
  let depth = 0;
  const nested = <T>(f: () => T): T => {
    if (++depth > 50) throw new ConditionError('nested too deeply');
    try {
      return f();
    } finally {
      depth--;
    }
  };

  const condition = (): Expr =>
    nested(() => {
      let e = and();
      while (isWord('or')) {
        i++;
        e = { k: 'bin', op: 'or', a: e, b: and() };
      }
      return e;
    });
  const and = (): Expr => {
    let e = not();
    while (isWord('and')) {
      i++;
      e = { k: 'bin', op: 'and', a: e, b: not() };
    }
    return e;
  };
  const not = (): Expr => {
    if (isWord('not')) {
      i++;
      return nested(() => ({ k: 'not', a: not() }));
    }
    return comparison();
  };
  const comparison = (): Expr => {
    const a = sum();
    const t = peek();
    if (t?.t === 'sym' && ['<', '<=', '>', '>=', '==', '!='].includes(t.v)) {
      i++;
      const e: Expr = { k: 'bin', op: t.v as Op, a, b: sum() };
      const next = peek();
      if (next?.t === 'sym' && ['<', '<=', '>', '>=', '==', '!='].includes(next.v)) throw new ConditionError(`compare two values at a time: join comparisons with "and" (before "${next.v}")`);
      return e;
    }
    return a;
  };
  const sum = (): Expr => {
    let e = product();
    while (isSym('+') || isSym('-')) {
      const op = tokens[i++]!.v as Op;
      e = { k: 'bin', op, a: e, b: product() };
    }
    return e;
  };
  const product = (): Expr => {
    let e = unary();
    while (isSym('*') || isSym('/')) {
      const op = tokens[i++]!.v as Op;
      e = { k: 'bin', op, a: e, b: unary() };
    }
    return e;
  };
  const unary = (): Expr => {
    if (isSym('-')) {
      i++;
      return nested(() => ({ k: 'neg', a: unary() }));
    }
    return atom();
  };
  const atom = (): Expr => {
    const t = peek();
    if (!t) throw new ConditionError('incomplete: a value is missing at the end');
    i++;
    if (t.t === 'num') return { k: 'lit', v: t.v };
    if (t.t === 'param') return { k: 'param', name: t.v };
    if (t.t === 'sym') {
      if (t.v !== '(') throw new ConditionError(`expected a value before "${t.v}"`);
      const e = condition();
      expect(')');
      return e;
    }
    if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
    if (KEYWORDS.has(t.v)) throw new ConditionError(`expected a value before "${t.v}"`);
    if (FUNCTIONS.has(t.v) && isSym('(')) {
      i++;
      const args = [nested(sum)];
      while (isSym(',')) {
        i++;
        args.push(nested(sum));
      }
      expect(')');
      return { k: 'call', fn: t.v as Fn, args };
    }
    return { k: 'tag', name: t.v };
  };

  if (tokens.length === 0) throw new ConditionError('empty');
  const e = condition();
  if (i < tokens.length) throw new ConditionError(`unexpected "${String(tokens[i]!.v)}" after a complete condition`);
  return e;
}

const VAR = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The parameters a template such as "program{program}.fill" refers to (templates: here, and in commands' tag names). */
export function templateVars(template: string): string[] {
  return [...template.matchAll(VAR)].map((m) => m[1]!);
}

/** Replaces {param} by the parameter's value. */
export function expandTemplate(template: string, params: Readonly<Record<string, unknown>>): string {
  return template.replace(VAR, (_, name: string) => String(params[name]));
}

/** Every tag reference (as written, templates unexpanded) and parameter of an expression. */
export function references(e: Expr): { tags: string[]; params: string[] } {
  const tags = new Set<string>();
  const params = new Set<string>();
  const walk = (x: Expr): void => {
    if (x.k === 'tag') {
      tags.add(x.name);
      for (const v of templateVars(x.name)) params.add(v);
    } else if (x.k === 'param') params.add(x.name);
    else if (x.k === 'not' || x.k === 'neg') walk(x.a);
    else if (x.k === 'bin') {
      walk(x.a);
      walk(x.b);
    } else if (x.k === 'call') x.args.forEach(walk);
  };
  walk(e);
  return { tags: [...tags], params: [...params] };
}

export type Kind = 'number' | 'boolean';

/**
 * The kind of an expression's value, given the kinds of its tags and
 * parameters; throws ConditionError at the first misuse (a number
 * where true/false is needed, or the reverse).
 */
export function kindOf(e: Expr, tagKind: (template: string) => Kind, paramKind: (name: string) => Kind): Kind {
  const need = (x: Expr, k: Kind, what: string): void => {
    const got = kindOf(x, tagKind, paramKind);
    if (got !== k) throw new ConditionError(`${what} needs ${k === 'number' ? 'numbers' : 'true/false values'}, and ${describe(x)} is ${got === 'number' ? 'a number' : 'true/false'}`);
  };
  switch (e.k) {
    case 'lit':
      return typeof e.v === 'number' ? 'number' : 'boolean';
    case 'tag':
      return tagKind(e.name);
    case 'param':
      return paramKind(e.name);
    case 'not':
      need(e.a, 'boolean', '"not"');
      return 'boolean';
    case 'neg':
      need(e.a, 'number', '"-"');
      return 'number';
    case 'call':
      for (const a of e.args) need(a, 'number', `${e.fn}()`);
      return 'number';
    case 'bin': {
      if (e.op === 'and' || e.op === 'or') {
        need(e.a, 'boolean', `"${e.op}"`);
        need(e.b, 'boolean', `"${e.op}"`);
        return 'boolean';
      }
      if (e.op === '==' || e.op === '!=') {
        const a = kindOf(e.a, tagKind, paramKind);
        need(e.b, a, `"${e.op}" between ${describe(e.a)} and ${describe(e.b)}`);
        return 'boolean';
      }
      need(e.a, 'number', `"${e.op}"`);
      need(e.b, 'number', `"${e.op}"`);
      return ['+', '-', '*', '/'].includes(e.op) ? 'number' : 'boolean';
    }
  }
}

function describe(e: Expr): string {
  if (e.k === 'tag') return e.name;
  if (e.k === 'param') return `$${e.name}`;
  if (e.k === 'lit') return String(e.v);
  return 'an expression';
}

/** A value a condition needs was not available (not read, or not Good). */
export class UnknownValue extends Error {
  constructor(readonly tag: string) {
    super(`the value of ${tag} is not known`);
  }
}

/**
 * Evaluates a condition whose kinds were checked (kindOf). `tag` answers the
 * value of a concrete tag name, or undefined (→ UnknownValue).
 */
export function evaluate(e: Expr, params: Readonly<Record<string, Value>>, tag: (name: string) => Value | undefined): Value {
  const num = (x: Expr): number => evaluate(x, params, tag) as number;
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'tag': {
      const name = expandTemplate(e.name, params);
      const v = tag(name);
      if (v === undefined) throw new UnknownValue(name);
      return v;
    }
    case 'param': {
      const v = params[e.name];
      if (v === undefined) throw new UnknownValue(`$${e.name}`);
      return v;
    }
    case 'not':
      return !evaluate(e.a, params, tag);
    case 'neg':
      return -num(e.a);
    case 'call': {
      const values = e.args.map(num);
      return e.fn === 'sum' ? values.reduce((s, v) => s + v, 0) : e.fn === 'min' ? Math.min(...values) : Math.max(...values);
    }
    case 'bin':
      switch (e.op) {
        case 'and':
          return Boolean(evaluate(e.a, params, tag)) && Boolean(evaluate(e.b, params, tag));
        case 'or':
          return Boolean(evaluate(e.a, params, tag)) || Boolean(evaluate(e.b, params, tag));
        case '==':
          return evaluate(e.a, params, tag) === evaluate(e.b, params, tag);
        case '!=':
          return evaluate(e.a, params, tag) !== evaluate(e.b, params, tag);
        case '<':
          return num(e.a) < num(e.b);
        case '<=':
          return num(e.a) <= num(e.b);
        case '>':
          return num(e.a) > num(e.b);
        case '>=':
          return num(e.a) >= num(e.b);
        case '+':
          return num(e.a) + num(e.b);
        case '-':
          return num(e.a) - num(e.b);
        case '*':
          return num(e.a) * num(e.b);
        case '/':
          return num(e.a) / num(e.b);
      }
  }
}
