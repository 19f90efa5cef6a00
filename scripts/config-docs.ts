/**
 * The reference tables of docs/configuration.md, made from the zod schema
 * (src/config/schema.ts): per section, every field with its type, default,
 * allowed values and description (`.describe()`; `format` metadata names
 * durations, sizes, tags, conditions...). test/config/docs.test.ts fails
 * while the page is out of date;
 *   node --import tsx scripts/config-docs.ts
 * rewrites it.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  SECTIONS,
  alarmSchema,
  busSchema,
  commandSchema,
  conditionSchema,
  deviceSchema,
  eventSchema,
  historianSchema,
  notificationsSchema,
  northboundSchema,
  linkSchema,
  pageSchema,
  plantSchema,
  securitySchema,
  shelvingSchema,
  tagSchema,
} from '../src/config/schema.js';
import { generatedPart } from './generated-docs.js';

type Schema = z.core.$ZodType;

/** The parts of zod's definitions read here (zod 4, `schema._zod.def`). */
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  options?: Schema[];
  element?: Schema;
  keyType?: Schema;
  valueType?: Schema;
  items?: Schema[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
  checks?: { _zod: { def: CheckDef } }[];
}

interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  format?: string;
  pattern?: RegExp;
  error?: () => string;
}

interface Meta {
  description?: string;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
}

const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const metaOf = (s: Schema): Meta => (z.globalRegistry.get(s) ?? {}) as Meta;

/** A field with its wrappers (optional, default, refinements) taken off. */
interface Field {
  base: Schema;
  description?: string;
  format?: Meta;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  /** Messages of refinements ("expected a duration between 1m and 24h"). */
  rules: string[];
}

function unwrap(schema: Schema): Field {
  const f: Field = { base: schema, optional: false, hasDefault: false, rules: [] };
  for (let s: Schema | undefined = schema; s; ) {
    const meta = metaOf(s);
    f.description ??= meta.description;
    if (meta.format && !f.format) f.format = meta;
    const d = defOf(s);
    for (const c of d.checks ?? []) if (c._zod.def.check === 'custom' && c._zod.def.error) f.rules.push(c._zod.def.error());
    f.base = s;
    if (d.type === 'optional' || d.type === 'prefault') f.optional = true;
    else if (d.type === 'default') {
      f.hasDefault = true;
      f.defaultValue = d.defaultValue;
    } else if (d.type === 'pipe' && !meta.format) {
      s = defOf(d.in!).type === 'transform' ? d.out : d.in; // z.preprocess: the schema after it
      continue;
    } else break;
    s = d.innerType;
  }
  return f;
}

const FORMAT_TYPES: Record<string, string> = {
  duration: 'duration',
  size: 'size',
  retention: 'retention',
  tag: 'tag',
  'tag template': 'tag template',
  parameter: '$parameter',
  condition: 'condition',
  address: 'address or network',
  secret: 'env:VARIABLE or file:PATH',
  'host:port': 'HOST:PORT',
  'display text': 'text or {es, en}',
};

function typeName(schema: Schema): string {
  const f = unwrap(schema);
  if (f.format?.format) return FORMAT_TYPES[f.format.format] ?? f.format.format;
  const d = defOf(f.base);
  switch (d.type) {
    case 'string':
    case 'enum':
      return 'text';
    case 'number':
      return (d.checks ?? []).some((c) => c._zod.def.format === 'safeint') ? 'integer' : 'number';
    case 'boolean':
      return 'true/false';
    case 'literal':
      return `\`${String(d.values![0])}\``;
    case 'tuple':
      return `[${d.items!.map(typeName).join(', ')}]`;
    case 'array':
      return isGroup(d.element!) ? 'list' : `list of ${typeName(d.element!)}`;
    case 'record':
      return isGroup(d.valueType!) ? 'map' : `map: ${keyName(d.keyType!).toLowerCase()} → ${typeName(d.valueType!)}`;
    case 'union':
      return [...new Set(d.options!.map(typeName))].join(' or ');
    case 'object':
      return 'object';
    default:
      throw new Error(`no words for a zod ${d.type}`);
  }
}

/** Objects (or unions of objects) are described by a row each of their fields. */
function isGroup(schema: Schema): boolean {
  const f = unwrap(schema);
  const d = defOf(f.base);
  return !f.format && (d.type === 'object' || (d.type === 'union' && d.options!.every(isGroup)));
}

const keyName = (key: Schema): string => (unwrap(key).format?.format === 'tag' ? 'TAG' : 'NAME');

/** What the checks allow, in words. */
function allowed(schema: Schema): string {
  const f = unwrap(schema);
  if (f.rules.length > 0) return f.rules.map(expected).join('; ');
  const fmt = f.format;
  if (fmt?.format) {
    if (fmt.exclusiveMinimum !== undefined) return `> ${fmt.exclusiveMinimum}`;
    if (fmt.minimum !== undefined) return `≥ ${fmt.format === 'size' ? size(fmt.minimum) : fmt.minimum}`;
    return checkWords(defOf(f.base)).join('; ');
  }
  const d = defOf(f.base);
  switch (d.type) {
    case 'enum':
      return Object.values(d.entries!).map((v) => show(String(v))).join(', ');
    case 'union':
      return [...new Set(d.options!.map(allowed).filter(Boolean))].join('; ');
    case 'array':
      return [...checkWords(d), isGroup(d.element!) ? '' : allowed(d.element!)].filter(Boolean).join('; ');
    case 'record': {
      const key = allowed(d.keyType!);
      return [key && `names: ${key}`, isGroup(d.valueType!) ? '' : allowed(d.valueType!)].filter(Boolean).join('; ');
    }
    default:
      return checkWords(d).join('; ');
  }
}

function checkWords(d: Def): string[] {
  let [min, max] = [undefined as string | undefined, undefined as string | undefined];
  const out: string[] = [];
  for (const { _zod: c } of d.checks ?? []) {
    const k = c.def;
    if (k.check === 'greater_than') min = `${k.inclusive ? '≥' : '>'} ${k.value}`;
    else if (k.check === 'less_than') max = `${k.inclusive ? '≤' : '<'} ${k.value}`;
    else if (k.check === 'min_length' && k.minimum! > 1) out.push(`at least ${k.minimum}`);
    else if (k.check === 'max_length') out.push(`at most ${k.maximum} characters`);
    else if (k.check === 'string_format' && k.format === 'regex') out.push(k.error ? expected(k.error()) : show(String(k.pattern)));
  }
  if (min?.startsWith('≥') && max?.startsWith('≤')) out.unshift(`${min.slice(2)}..${max.slice(2)}`);
  else out.unshift(...[min, max].filter((x): x is string => x !== undefined));
  return out;
}

const expected = (message: string): string => message.replace(/^expected /, '');
const show = (v: string): string => `\`${v}\``;

function duration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

function size(bytes: number): string {
  for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (bytes % n === 0) return `${bytes / n}${unit}`;
  return `${bytes}B`;
}

function retention(ms: number | null): string {
  if (ms === null) return 'forever';
  const days = ms / 86_400_000;
  return days % 365 === 0 ? `${days / 365}y` : duration(ms);
}

/** A default value as it would be written in the file. */
function valueText(schema: Schema, value: unknown): string {
  const f = unwrap(schema);
  const d = defOf(f.base);
  switch (f.format?.format ?? d.type) {
    case 'duration':
      return duration(value as number);
    case 'size':
      return size(value as number);
    case 'retention':
      return retention(value as number | null);
    case 'array':
      return (value as unknown[]).map((v) => valueText(d.element!, v)).join(', ');
    case 'record':
      return Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${k}: ${valueText(d.valueType!, v)}`)
        .join(', ');
    default:
      return String(value);
  }
}

function defaultText(f: Field): string {
  if (!f.hasDefault) return f.optional ? '' : 'required';
  const v = f.defaultValue;
  if (v === '') return 'empty';
  if (Array.isArray(v) && v.length === 0) return 'none';
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    if (Object.keys(v).length === 0) return 'none';
    if (defOf(f.base).type === 'object') return ''; // each field shows its own
  }
  return show(valueText(f.base, v));
}

interface Row {
  field: string;
  type: string;
  default: string;
  allowed: string;
  description: string;
}

function rowsOf(path: string, schema: Schema, out: Row[], section: string): Row[] {
  const f = unwrap(schema);
  const d = defOf(f.base);
  if (path && !f.description) throw new Error(`${section}: ${path} has no description: give it one with .describe() in src/config/schema.ts`);
  if (path) out.push({ field: path, type: typeName(schema), default: defaultText(f), allowed: allowed(schema), description: f.description! });
  if (!isGroup(f.base) && !(d.type === 'array' && isGroup(d.element!)) && !(d.type === 'record' && isGroup(d.valueType!))) return out;
  const inner = d.type === 'array' ? `${path}[]` : d.type === 'record' ? `${path}.${keyName(d.keyType!)}` : path;
  const group = unwrap(d.type === 'array' ? d.element! : d.type === 'record' ? d.valueType! : f.base).base;
  const objects = defOf(group).type === 'union' ? defOf(group).options!.map((o) => unwrap(o).base) : [group];
  for (const o of objects) for (const [key, field] of Object.entries(defOf(o).shape!)) rowsOf(inner ? `${inner}.${key}` : key, field, out, section);
  return out;
}

/** Markdown table cells: no line breaks, no bare |, no < (read as HTML). */
const cell = (text: string): string => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').replace(/</g, '&lt;');

function table(rows: Row[]): string {
  return [
    '| field | type | default | allowed | description |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| \`${r.field}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.description)} |`),
  ].join('\n');
}

/** Each section: an object of fields, or named entries (devices.NAME...); `intro` where the entries' own description does not say what the section is. */
const SECTION_SCHEMAS: Record<(typeof SECTIONS)[number], { schema: Schema; entries?: true; intro?: string }> = {
  plant: { schema: plantSchema },
  security: { schema: securitySchema },
  historian: { schema: historianSchema },
  bus: { schema: busSchema },
  links: { schema: linkSchema, entries: true },
  devices: { schema: deviceSchema, entries: true },
  tags: { schema: tagSchema, entries: true },
  alarms: { schema: alarmSchema, entries: true },
  shelving: { schema: shelvingSchema },
  events: { schema: eventSchema, entries: true },
  commands: { schema: commandSchema, entries: true },
  relations: { schema: conditionSchema, entries: true, intro: 'Relations between values, by name, that every command writing one of their tags must keep (e.g. a minimum below its maximum).' },
  pages: { schema: pageSchema, entries: true, intro: "The HMI's pages, by name (the name is in the page's address), in the navigation's order." },
  notifications: { schema: notificationsSchema },
  northbound: { schema: northboundSchema },
};

function section(name: string, { schema, entries, intro }: (typeof SECTION_SCHEMAS)[keyof typeof SECTION_SCHEMAS]): string {
  const out = [`### ${name}`, ''];
  const f = unwrap(schema);
  const variants = defOf(f.base).type === 'union' ? defOf(f.base).options! : [f.base];
  const kinds = variants.length > 1 ? ` It is one of ${variants.map((v) => typeName(defOf(unwrap(v).base).shape!['kind']!)).join(', ')}, by its \`kind\`.` : '';
  out.push(`${intro ?? f.description}${entries ? ` Each entry: \`${name}.NAME\`.` : ''}${kinds}`, '');
  for (const v of variants) {
    if (variants.length > 1) out.push(`#### ${name}: ${typeName(defOf(unwrap(v).base).shape!['kind']!)}`, '', unwrap(v).description ?? '', '');
    const rows = isGroup(v) ? rowsOf('', v, [], name) : [{ ...rowsOf('NAME', v, [], name)[0]!, field: `${name}.NAME` }];
    out.push(table(rows), '');
  }
  return out.join('\n');
}

/** The generated reference: a heading and a table per section, in the file's order. */
export function configReference(): string {
  return SECTIONS.map((name) => section(name, SECTION_SCHEMAS[name]))
    .join('\n')
    .trimEnd();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  generatedPart('configuration.md', 'config-reference').write(configReference());
  console.log('docs/configuration.md: reference rewritten');
}
