/**
 * Loads a configuration file: YAML with positions, each entry through its
 * zod schema, then the rules between entries. Entries are validated one by
 * one, so one bad tag never hides the problems of another: every problem is
 * reported, all together, as `file:line:column path: what is expected`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { relative } from 'node:path';
import { LineCounter, type Node, type Pair, type YAMLMap, isCollection, isMap, isPair, isScalar, parseDocument } from 'yaml';
import type { z } from 'zod';
import { PlantaError } from '../errors.js';
import { type PlantConfig, resolveConfig } from './resolve.js';
import { displayTexts } from './text.js';
import {
  NAME_MESSAGE,
  NAME_PATTERN,
  type RawConfig,
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
} from './schema.js';

export type ConfigPath = (string | number)[];

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class ConfigError extends PlantaError<'PLANTA_CONFIG_INVALID'> {
  constructor(readonly problems: ConfigProblem[]) {
    super('PLANTA_CONFIG_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the configuration:\n${problems.map(formatProblem).join('\n')}`);
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column} ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** Keys that would hold a secret in clear. */
const SECRET_KEY = /^(pass(word)?|user(name)?|auth|token|api[-_]?key|key)$/i;

/** A field the schema does not know; in a notification channel, a password or user field is told where secrets go. */
function unknownField(path: ConfigPath, key: string): string {
  if (path[0] === 'notifications' && path[1] === 'channels' && SECRET_KEY.test(key))
    return 'unknown field: secrets are never written in the configuration (mail: credentials: env:PREFIX or file:PATH; webhook: secret: env:VARIABLE or file:PATH)';
  return 'unknown field';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (/received undefined/.test(issue.message)) return 'is required';
      // A schema's own message (a secret given as a map) says more than the type's name.
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      const names: Record<string, string> = {
        number: 'a number',
        string: 'a string',
        boolean: 'true or false',
        object: 'a map of fields',
        record: 'a map',
        array: 'a list',
        tuple: 'a list',
        int: 'an integer',
      };
      return `expected ${names[issue.expected] ?? issue.expected}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `expected a number ≥ ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' ? `expected at most ${String(issue.maximum)} items` : `expected a number ≤ ${String(issue.maximum)}`;
    case 'invalid_union':
      return 'expected a duration such as 500ms, 2s or 1m';
    case 'invalid_format':
      // A pattern's own message says what it expects; zod's default one does not.
      return issue.message.startsWith('Invalid') ? NAME_MESSAGE : issue.message;
    default:
      return issue.message;
  }
}

class Validation {
  readonly problems: ConfigProblem[] = [];
  constructor(
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  atOffset(offset: number, path: ConfigPath, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, column: col, path: path.join('.'), message });
  }

  /** Reports at the node `node.getIn(sub)`, or its nearest existing parent; or at the key `key` of that map. */
  at(node: Node | null | undefined, path: ConfigPath, sub: ConfigPath, message: string, key?: string): void {
    let offset = 0;
    for (let n = sub.length; n >= 0 && node; n--) {
      const target = (n === 0 ? node : isCollection(node) ? node.getIn(sub.slice(0, n), true) : undefined) as Node | undefined;
      if (!target) continue;
      const pair = key !== undefined && n === sub.length && isMap(target) ? findPair(target, key) : undefined;
      offset = (pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? target.range?.[0] ?? 0;
      break;
    }
    this.atOffset(offset, [...path, ...sub, ...(key === undefined ? [] : [key])], message);
  }

  /** Validates `node` with `schema`; returns the parsed value, or undefined after reporting its issues. */
  parse<S extends z.ZodType>(schema: S, node: Node | null | undefined, path: ConfigPath): z.infer<S> | undefined {
    const r = schema.safeParse(node ? node.toJSON() : undefined);
    if (r.success) return r.data;
    for (const issue of r.error.issues) {
      const sub = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) this.at(node, path, sub, unknownField([...path, ...sub], key), key);
      else this.at(node, path, sub, describeIssue(issue));
    }
    return undefined;
  }

  /** The entries of a map section, each checked for a valid, unique name; duplicates are reported and dropped. */
  entries(section: Node | null | undefined, name: string): { key: string; value: Node | null; pair: Pair }[] {
    if (section === undefined || section === null) return [];
    if (!isMap(section)) {
      this.at(section, [name], [], 'expected a map');
      return [];
    }
    const seen = new Set<string>();
    const out: { key: string; value: Node | null; pair: Pair }[] = [];
    for (const pair of section.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (seen.has(key)) {
        this.atOffset(pair.key.range?.[0] ?? 0, [name, key], `duplicate ${name.slice(0, -1)} name "${key}"`);
        continue;
      }
      seen.add(key);
      if (!NAME_PATTERN.test(key)) this.at(section, [name], [], NAME_MESSAGE, key);
      out.push({ key, value: (pair.value as Node | null) ?? null, pair });
    }
    return out;
  }
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair | undefined;
}

/** Sections whose entries are validated one by one, each with its schema. */
const ENTRY_SECTIONS = [
  ['links', linkSchema],
  ['devices', deviceSchema],
  ['tags', tagSchema],
  ['pages', pageSchema],
  ['commands', commandSchema],
  ['alarms', alarmSchema],
  ['events', eventSchema],
  ['relations', conditionSchema],
] as const;
type EntrySection = (typeof ENTRY_SECTIONS)[number][0];

export type DrawingReader = (path: string) => string | undefined;

/** Reads drawings (mimic SVG files) relative to the configuration file's folder. */
function drawingsBeside(file: string): DrawingReader {
  return (path) => {
    try {
      return readFileSync(isAbsolute(path) ? path : join(dirname(file), path), 'utf8');
    } catch {
      return undefined;
    }
  };
}

/**
 * Parses and validates configuration text; throws ConfigError with every
 * problem found. The YAML document keeps positions, so every problem says
 * where it is.
 */
export function parseConfig(text: string, file: string, readDrawing: DrawingReader = drawingsBeside(file)): PlantConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => {
        const { line, col } = lines.linePos(err.pos[0]);
        return { file, line, column: col, path: '', message: `YAML: ${err.message.split('\n')[0]}` };
      }),
    );
  }
  const v = new Validation(lines, file);
  const root = doc.contents;
  if (!isMap(root)) {
    v.at(root, [], [], 'expected a map with sections devices and tags');
    throw new ConfigError(v.problems);
  }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(SECTIONS as readonly string[]).includes(key)) v.at(root, [], [], `unknown section (sections: ${SECTIONS.join(', ')})`, key);
  }
  const section = (name: string): Node | null | undefined => root.get(name, true) as Node | null | undefined;

  const raw: RawConfig = { plant: { name: 'Planta' }, security: securitySchema.parse({}), historian: historianSchema.parse({}), bus: busSchema.parse({}), links: {}, devices: {}, tags: {}, alarms: {}, shelving: {}, events: {}, commands: {}, relations: {}, pages: {}, notifications: notificationsSchema.parse({}), northbound: {} };
  const plant = section('plant');
  if (plant) raw.plant = v.parse(plantSchema, plant, ['plant']) ?? raw.plant;
  const security = section('security');
  if (security) raw.security = v.parse(securitySchema, security, ['security']) ?? raw.security;
  const historian = section('historian');
  if (historian) raw.historian = v.parse(historianSchema, historian, ['historian']) ?? raw.historian;
  const bus = section('bus');
  if (bus) raw.bus = v.parse(busSchema, bus, ['bus']) ?? raw.bus;
  const notifications = section('notifications');
  if (notifications) raw.notifications = v.parse(notificationsSchema, notifications, ['notifications']) ?? raw.notifications;
  const northbound = section('northbound');
  if (northbound) raw.northbound = v.parse(northboundSchema, northbound, ['northbound']) ?? raw.northbound;
  const shelving = section('shelving');
  if (shelving) raw.shelving = v.parse(shelvingSchema, shelving, ['shelving']) ?? raw.shelving;
  if (!section('devices')) v.at(root, [], [], 'is required: the devices Planta polls', 'devices');
  if (!section('tags')) v.at(root, [], [], 'is required: the tags Planta reads', 'tags');
  // The node of each entry, to locate the problems found between entries.
  const nodes = new Map<string, Node | null>();
  const deviceNames: string[] = [];
  const linkNames: string[] = [];
  for (const [name, schema] of ENTRY_SECTIONS) {
    for (const e of v.entries(section(name), name)) {
      nodes.set(`${name}/${e.key}`, e.value);
      if (name === 'devices') deviceNames.push(e.key);
      if (name === 'links') linkNames.push(e.key);
      const entry = v.parse(schema, e.value, [name, e.key]);
      if (entry) (raw[name as EntrySection] as Record<string, unknown>)[e.key] = entry;
    }
  }

  if (section('devices') && deviceNames.length === 0) v.at(section('devices'), ['devices'], [], 'expected at least one device');
  const { config, problems } = resolveConfig(raw, deviceNames, readDrawing, linkNames);
  for (const p of problems) {
    const [kind, name, ...sub] = p.path.map(String);
    // A single-map section (historian, notifications): the path inside it, numbers as list indexes.
    if (kind === 'historian' || kind === 'notifications' || kind === 'northbound') v.at(section(kind), [kind], p.path.slice(1), p.message);
    else if (name === undefined) v.at(section(kind!), [kind!], [], p.message);
    else v.at(nodes.get(`${kind}/${name}`), [kind!, name], sub, p.message);
  }
  if (v.problems.length > 0) throw new ConfigError(v.problems.sort((a, b) => a.line - b.line || a.column - b.column));
  const texts = displayTexts(doc.toJSON());
  if (texts) config.texts = texts;
  return config;
}

export function loadConfig(path: string): PlantConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, line: 0, column: 0, path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  const rel = relative(process.cwd(), path);
  return parseConfig(text, rel.startsWith('..') ? path : rel);
}
