/**
 * Operator commands in the configuration: tag templates, parameter
 * references, and the rules a command must satisfy before Planta will ever
 * send it (every target writable by the command's role, on one device,
 * blocks contiguous, every template expanding to real tags).
 */
import { isNumericTag } from '../tags/codec.js';
import { representation } from '../tags/representation.js';
import { type TagDefinition, isBitArea, tagSize } from '../tags/types.js';
import { ConditionSyntaxError, type Kind, expandTemplate, kindOf, paramKind, parseCondition, references, templateVars } from './conditions.js';
import { ROLES, type CommandConfig, type ConditionEntry, type Role, type RuleProblem } from './schema.js';

export { expandTemplate, templateVars };

export const roleRank = (r: Role): number => ROLES.indexOf(r);

/** Whether someone with role `have` may do what needs role `need` (roles include the ones below them). */
export function roleAllows(have: Role, need: Role): boolean {
  return roleRank(have) >= roleRank(need);
}

/** The lowest role a tag's `writable.roles` lets write it. */
export function lowestWriteRole(tag: TagDefinition): Role | undefined {
  const roles = (tag.writable?.roles ?? []) as Role[];
  return roles.length === 0 ? undefined : roles.reduce((a, b) => (roleRank(a) <= roleRank(b) ? a : b));
}

export type CommandStep = CommandConfig['steps'][number];

/** Tag templates of a command, each with where it is (for messages). */
function targets(c: CommandConfig): { template: string; path: (string | number)[]; kind: 'set' | 'block' | 'pulse' | 'expect' | 'param' }[] {
  const out: ReturnType<typeof targets> = [];
  c.steps.forEach((s, i) => {
    if ('set' in s) out.push({ template: s.set, path: ['steps', i, 'set'], kind: 'set' });
    else if ('block' in s) s.block.forEach((t, k) => out.push({ template: t, path: ['steps', i, 'block', k], kind: 'block' }));
    else out.push({ template: s.pulse, path: ['steps', i, 'pulse'], kind: 'pulse' });
  });
  if (c.expect) out.push({ template: c.expect.tag, path: ['expect', 'tag'], kind: 'expect' });
  for (const [name, p] of Object.entries(c.params)) if (p.tag) out.push({ template: p.tag, path: ['params', name, 'tag'], kind: 'param' });
  return out;
}

/** Every combination of the values of the integer parameters used in templates. */
export function templateCombinations(c: CommandConfig, vars: string[]): Record<string, number>[] {
  let combos: Record<string, number>[] = [{}];
  for (const v of vars) {
    const p = c.params[v]!;
    const next: Record<string, number>[] = [];
    for (const combo of combos) for (let x = p.min!; x <= p.max!; x++) next.push({ ...combo, [v]: x });
    combos = next;
  }
  return combos;
}

const MAX_COMBINATIONS = 1024;

/** What a tag's value is in a condition; undefined for a tag a condition cannot use (string). */
export function tagKindOf(tag: TagDefinition): Kind | undefined {
  if (tag.type === 'bool' || tag.type === 'bit') return 'boolean';
  return isNumericTag(tag) ? 'number' : undefined;
}

/**
 * The problems of one condition: syntax, parameters and tags it names (every
 * expansion of its templates), tags on another device than `device` (the
 * poller checks it on its own device's values), and the kind of its value.
 */
export function conditionProblems(
  entry: ConditionEntry,
  tags: ReadonlyMap<string, TagDefinition>,
  o: { command?: CommandConfig; device?: string },
): string[] {
  let expr;
  try {
    expr = parseCondition(entry.check);
  } catch (err) {
    if (err instanceof ConditionSyntaxError) return [`"${entry.check}": ${err.message}`];
    throw err;
  }
  const c = o.command;
  const refs = references(expr);
  const out: string[] = [];
  for (const p of refs.params) {
    if (!c) out.push(`$${p} or {${p}}: only a command's conditions can use its parameters`);
    else if (!c.params[p]) out.push(`unknown parameter "${p}" (parameters: ${Object.keys(c.params).join(', ') || 'none'})`);
  }
  if (out.length > 0) return out;
  const vars = [...new Set(refs.tags.flatMap(templateVars))];
  const badVar = c && vars.find((v) => !c.params[v]!.integer || c.params[v]!.min === undefined || c.params[v]!.max === undefined);
  if (badVar) return [`{${badVar}} in a tag name needs an integer parameter "${badVar}" with min and max`];
  const combos = c ? templateCombinations(c, vars) : [{}];
  if (combos.length > MAX_COMBINATIONS) return [`tag templates expand to ${combos.length} combinations (at most ${MAX_COMBINATIONS})`];
  const reported = new Set<string>();
  const problem = (m: string): void => {
    if (!reported.has(m)) out.push(m);
    reported.add(m);
  };
  const devices = new Set<string>(o.device ? [o.device] : []);
  for (const combo of combos) {
    for (const ref of refs.tags) {
      const name = expandTemplate(ref, combo);
      const t = tags.get(name);
      if (!t) problem(`unknown tag "${name}"`);
      else if (!tagKindOf(t)) problem(`"${name}" is a ${t.type}: a condition compares numbers and true/false values`);
      else devices.add(t.device);
    }
  }
  if (out.length > 0) return out;
  if (devices.size > 1) return [`names tags of several devices (${[...devices].join(', ')}); a condition is checked on one device's values`];
  const kindOfTag = (template: string): Kind => tagKindOf(tags.get(expandTemplate(template, combos[0]!))!)!;
  try {
    const kind = kindOf(expr, kindOfTag, (p) => paramKind(c!, p, kindOfTag));
    if (kind !== 'boolean') return [`"${entry.check}" is a number: a condition must be true or false (compare it, e.g. "... <= 1440")`];
  } catch (err) {
    if (err instanceof ConditionSyntaxError) return [`"${entry.check}": ${err.message}`];
    throw err;
  }
  return [];
}

/** The device of a command's first write target (any expansion that names a real tag). */
function firstTarget(c: CommandConfig, tags: ReadonlyMap<string, TagDefinition>): string | undefined {
  const s = c.steps[0]!;
  const template = 'set' in s ? s.set : 'block' in s ? s.block[0]! : s.pulse;
  const vars = templateVars(template);
  if (vars.some((v) => !c.params[v]?.integer || c.params[v]?.min === undefined)) return undefined;
  for (const combo of templateCombinations(c, vars).slice(0, MAX_COMBINATIONS)) {
    const t = tags.get(expandTemplate(template, combo));
    if (t) return t.device;
  }
  return undefined;
}

export function checkCommands(commands: Record<string, CommandConfig>, tags: ReadonlyMap<string, TagDefinition>, problems: RuleProblem[]): void {
  for (const [name, c] of Object.entries(commands)) {
    const problem = (path: (string | number)[], message: string): void => {
      problems.push({ path: ['commands', name, ...path], message });
    };
    for (const [p, def] of Object.entries(c.params)) {
      if (!def.tag && (def.min === undefined || def.max === undefined)) problem(['params', p], 'needs a tag (its writable limits apply) or min and max');
      if (def.min !== undefined && def.max !== undefined && def.min > def.max) problem(['params', p], `min ${def.min} is above max ${def.max}`);
    }
    const refs: [(string | number)[], unknown][] = [];
    c.steps.forEach((s, i) => {
      if ('set' in s) refs.push([['steps', i, 'value'], s.value]);
      if ('block' in s) {
        if (s.values.length !== s.block.length) problem(['steps', i, 'values'], `${s.values.length} values for ${s.block.length} tags`);
        s.values.forEach((v, k) => refs.push([['steps', i, 'values', k], v]));
      }
    });
    if (c.expect) refs.push([['expect', 'equals'], c.expect.equals]);
    for (const [path, v] of refs) {
      if (typeof v === 'string' && !(v.slice(1) in c.params)) problem(path, `unknown parameter "${v}" (parameters: ${Object.keys(c.params).join(', ') || 'none'})`);
    }
    for (const v of templateVars(c.confirmation)) if (!(v in c.params)) problem(['confirmation'], `unknown parameter {${v}}`);
    const device = firstTarget(c, tags);
    for (const section of ['requires', 'relations'] as const) {
      for (const [key, entry] of Object.entries(c[section])) {
        for (const m of conditionProblems(entry, tags, { command: c, ...(device ? { device } : {}) })) problem([section, key, 'check'], m);
      }
    }
    if (c.expect && typeof c.expect.equals === 'number') {
      const t = tags.get(expandTemplate(c.expect.tag, Object.fromEntries(Object.keys(c.params).map((p) => [p, c.params[p]!.min ?? 0]))));
      const r = t && isNumericTag(t) ? representation(t, c.expect.equals) : undefined;
      if (r && !r.ok) problem(['expect', 'equals'], `${r.message}: the read-back could never see it`);
    }

    const all = targets(c);
    const vars = [...new Set(all.flatMap((t) => templateVars(t.template)))];
    const badVar = vars.find((v) => {
      const p = c.params[v];
      return !p || !p.integer || p.min === undefined || p.max === undefined;
    });
    if (badVar) {
      problem(['params'], `{${badVar}} in a tag name needs an integer parameter "${badVar}" with min and max`);
      continue;
    }
    const combos = templateCombinations(c, vars);
    if (combos.length > MAX_COMBINATIONS) {
      problem(['params'], `tag templates expand to ${combos.length} combinations (at most ${MAX_COMBINATIONS})`);
      continue;
    }
    const reported = new Set<string>();
    const once = (path: (string | number)[], message: string): void => {
      const key = `${path.join('.')}|${message}`;
      if (!reported.has(key)) problem(path, message);
      reported.add(key);
    };
    for (const combo of combos) {
      const devices = new Set<string>();
      for (const t of all) {
        const tagName = expandTemplate(t.template, combo);
        const tag = tags.get(tagName);
        if (!tag) {
          once(t.path, `unknown tag "${tagName}"`);
          continue;
        }
        if (t.kind === 'expect' || t.kind === 'param') continue;
        devices.add(tag.device);
        const lowest = lowestWriteRole(tag);
        if (!lowest) once(t.path, `tag "${tagName}" is not writable`);
        else if (!roleAllows(c.role, lowest)) once(['role'], `role ${c.role} may not write "${tagName}" (it needs ${lowest})`);
        if (t.kind === 'pulse' && tag.area !== 'coil') once(t.path, `a pulse needs a coil; "${tagName}" is a ${tag.area}`);
      }
      if (devices.size > 1) once(['steps'], `writes to several devices (${[...devices].join(', ')}); a command acts on one device`);
      c.steps.forEach((s, i) => {
        if (!('block' in s)) return;
        const blockTags = s.block.map((tpl) => tags.get(expandTemplate(tpl, combo)));
        if (blockTags.some((t) => !t)) return;
        let next = blockTags[0]!.address;
        for (const t of blockTags as TagDefinition[]) {
          if (t.area !== blockTags[0]!.area || t.address !== next) {
            once(['steps', i, 'block'], 'a block must be tags at consecutive addresses of one area, written by one request');
            return;
          }
          next += isBitArea(t.area) ? 1 : tagSize(t);
        }
      });
    }
  }
}
