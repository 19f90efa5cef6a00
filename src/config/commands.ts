/**
 * Operator commands in the configuration: tag templates, parameter
 * references, and the rules a command must satisfy before Planta will ever
 * send it (every target writable by the command's role, on one device,
 * blocks contiguous, every template expanding to real tags).
 */
import { type TagDefinition, isBitArea, tagSize } from '../tags/types.js';
import { ROLES, type CommandConfig, type Role, type RuleProblem } from './schema.js';

const VAR = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The parameters a template such as "program{program}.fill" refers to. */
export function templateVars(template: string): string[] {
  return [...template.matchAll(VAR)].map((m) => m[1]!);
}

/** Replaces {param} by the parameter's value. */
export function expandTemplate(template: string, params: Readonly<Record<string, unknown>>): string {
  return template.replace(VAR, (_, name: string) => String(params[name]));
}

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
    for (const m of c.confirmation.matchAll(VAR)) if (!(m[1]! in c.params)) problem(['confirmation'], `unknown parameter {${m[1]}}`);

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
