/**
 * From a schema-valid configuration to what the rest of Planta uses: defaults
 * filled in, references resolved, and the rules between entries checked.
 */
import type { ByteOrder } from '../modbus/index.js';
import { type DataType, type TagDefinition, isBitArea, tagSize } from '../tags/types.js';
import { checkCommands, conditionProblems } from './commands.js';
import { parseCondition, references } from './conditions.js';
import { displayConditionProblems } from './page-conditions.js';
import { type LinkConfig, placeDevices, resolveLink } from './links.js';
import { checkNorthbound } from './northbound.js';
import type { NorthboundConfig } from './northbound-schema.js';
import {
  type AlarmConfig,
  type BusConfig,
  type CommandConfig,
  type ConditionEntry,
  DEFAULT_SHELVING,
  type EventConfig,
  type HistorianConfig,
  type NotificationsConfig,
  type PageConfig,
  PRIORITIES,
  type RawConfig,
  type RawDevice,
  type RawTag,
  type RuleProblem,
  type SecurityConfig,
  type ShelvingConfig,
  type ShelvingPolicy,
} from './schema.js';

export interface DeviceConfig {
  name: string;
  description: string;
  /** Its host; on a link, the link's host (or, on a serial line, the port's path, with port 0). */
  host: string;
  port: number;
  /** The link it shares with other devices (links[].name), if any. */
  link?: string;
  unitId: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** devices[].linkLoss when configured; else linkLossMs() of src/poller/device-poller.ts derives it. */
  linkLossMs?: number;
  window: number;
  maxRegisters: number;
  maxBits: number;
  maxGap: number;
  /** Scan group name → period in ms, in file order. */
  scanGroups: Record<string, number>;
  /** devices[].shedOrder when configured; else shedOrderOf() of src/poller/shedding.ts derives it. */
  shedOrder?: string[];
}

export interface PlantConfig {
  plant: { name: string; timezone?: string };
  security: SecurityConfig;
  historian: HistorianConfig;
  bus: BusConfig;
  /** Lines shared by several devices, in file order. */
  links: LinkConfig[];
  devices: DeviceConfig[];
  tags: TagDefinition[];
  alarms: Record<string, AlarmConfig>;
  /** Who may shelve an alarm of each priority, and for how long at most. */
  shelving: ShelvingPolicy;
  events: Record<string, EventConfig>;
  commands: Record<string, CommandConfig>;
  /** Relations every command that writes one of their tags must keep. */
  relations: Record<string, ConditionEntry>;
  pages: Record<string, PageConfig>;
  notifications: NotificationsConfig;
  /** MQTT Sparkplug B and OPC UA, when configured. */
  northbound: NorthboundConfig;
  /** SVG text of each mimic page's drawing, by page name. */
  drawings: Record<string, string>;
  /**
   * The display texts the file gives in Spanish and English, in the file's shape (config/text.ts); everywhere else
   * the configuration holds their plain (English) string. Only the HMI shows the others (GET api/plant → texts).
   */
  texts?: Record<string, unknown>;
}

export type { LinkConfig, RuleProblem };

function device(name: string, d: RawDevice): DeviceConfig {
  return {
    name,
    description: d.description,
    host: d.host ?? '',
    port: d.port ?? 502,
    ...(d.link !== undefined ? { link: d.link } : {}),
    unitId: d.unitId,
    timeoutMs: d.timeout,
    connectTimeoutMs: d.connectTimeout,
    ...(d.linkLoss !== undefined ? { linkLossMs: d.linkLoss } : {}),
    window: d.window,
    maxRegisters: d.maxRegisters,
    maxBits: d.maxBits,
    maxGap: d.maxGap,
    scanGroups: d.scanGroups,
    ...(d.shedOrder !== undefined ? { shedOrder: d.shedOrder } : {}),
  };
}

function defaultDecimals(t: RawTag, type: DataType): number {
  if (type === 'float32' || type === 'float64') return 2;
  const s = String(t.scale);
  return s.includes('.') && !s.includes('e') ? s.length - s.indexOf('.') - 1 : 0;
}

const NUMERIC = new Set<DataType>(['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64']);

/**
 * `declaredDevices` (and `declaredLinks`) name every device (link) of the
 * file, valid or not, so a tag on a device with its own problems is not also
 * reported as unknown.
 */
export function resolveConfig(
  raw: RawConfig,
  declaredDevices: string[] = Object.keys(raw.devices),
  readDrawing: (path: string) => string | undefined = () => undefined,
  declaredLinks: string[] = Object.keys(raw.links),
): { config: PlantConfig; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const declared = new Set(declaredDevices);
  const links = Object.entries(raw.links).map(([name, l]) => resolveLink(name, l));
  const devices = Object.entries(raw.devices).map(([name, d]) => device(name, d));
  placeDevices(devices, links, new Set(declaredLinks), problems);
  const byName = new Map(devices.map((d) => [d.name, d]));
  devices.forEach((d) => {
    if (Object.keys(d.scanGroups).length === 0) problems.push({ path: ['devices', d.name, 'scanGroups'], message: 'expected at least one scan group' });
    // Between two replies of a healthy device pass up to one scan period plus one reply's time.
    const least = d.timeoutMs + Math.min(...Object.values(d.scanGroups));
    d.shedOrder?.forEach((g, i) => {
      if (!(g in d.scanGroups)) problems.push({ path: ['devices', d.name, 'shedOrder', i], message: `unknown scan group "${g}" (groups: ${Object.keys(d.scanGroups).join(', ')})` });
      else if (d.shedOrder!.indexOf(g) !== i) problems.push({ path: ['devices', d.name, 'shedOrder', i], message: `scan group "${g}" listed twice` });
    });
    if (d.linkLossMs !== undefined && d.linkLossMs < least) {
      problems.push({ path: ['devices', d.name, 'linkLoss'], message: `expected at least the timeout plus the fastest scan period (${least} ms): shorter, a healthy device would be reported down between two replies` });
    }
  });

  const tags: TagDefinition[] = [];
  for (const [name, t] of Object.entries(raw.tags)) {
    const at = (field?: string): (string | number)[] => (field ? ['tags', name, field] : ['tags', name]);
    const problem = (field: string | undefined, message: string): void => {
      problems.push({ path: at(field), message });
    };

    let deviceName = t.device;
    if (deviceName === undefined) {
      if (declaredDevices.length === 1) deviceName = declaredDevices[0]!;
      else if (declaredDevices.length > 1) problem('device', `is required when there are several devices (${declaredDevices.join(', ')})`);
    }
    const dev = deviceName === undefined ? undefined : byName.get(deviceName);
    if (deviceName !== undefined && !declared.has(deviceName)) {
      problem('device', `unknown device "${deviceName}" (devices: ${declaredDevices.join(', ') || 'none'})`);
    }

    const bits = isBitArea(t.area as TagDefinition['area']);
    const type = (t.type ?? (bits ? 'bool' : 'uint16')) as DataType;
    if (bits && type !== 'bool') problem('type', `a ${t.area} holds one bit: expected type bool`);
    if (!bits && type === 'bool') problem('type', 'bool needs area coil or discrete; for one bit of a register use type bit with bit: N');
    if (type === 'bit' && t.bit === undefined) problem('bit', 'is required for type bit (0..15, 0 = least significant)');
    if (type !== 'bit' && t.bit !== undefined) problem('bit', 'only applies to type bit');
    if (type === 'string' && t.length === undefined) problem('length', 'is required for type string (number of registers)');
    if (type !== 'string' && t.length !== undefined) problem('length', 'only applies to type string');
    if (!NUMERIC.has(type) && (t.scale !== 1 || t.offset !== 0)) problem('scale', `scale and offset only apply to numeric types, not ${type}`);

    const def: TagDefinition = {
      name,
      description: t.description,
      device: deviceName ?? '',
      area: t.area as TagDefinition['area'],
      address: t.address,
      type,
      ...(t.bit !== undefined ? { bit: t.bit } : {}),
      ...(t.length !== undefined ? { length: t.length } : {}),
      order: t.order as ByteOrder,
      scale: t.scale,
      offset: t.offset,
      unit: t.unit,
      decimals: t.decimals ?? defaultDecimals(t, type),
      ...(t.range ? { range: t.range } : {}),
      deadband: t.deadband,
      scanGroup: t.scan ?? (dev ? (Object.keys(dev.scanGroups)[0] ?? '') : ''),
      ...(t.writable ? { writable: t.writable } : {}),
    };

    const size = tagSize(def);
    if (t.address + size > 0x10000) problem('address', `${t.address} + ${size} ${bits ? 'bits' : 'registers'} runs past address 65535`);
    if (dev) {
      const max = bits ? dev.maxBits : dev.maxRegisters;
      if (size > max) problem('length', `${size} registers do not fit in one request of device ${dev.name} (max ${max})`);
      if (!(def.scanGroup in dev.scanGroups)) {
        problem('scan', `unknown scan group "${def.scanGroup}" of device ${dev.name} (groups: ${Object.keys(dev.scanGroups).join(', ')})`);
      }
    }
    if (t.range && !(t.range[0] < t.range[1])) problem('range', `expected [min, max] with min < max, got [${t.range.join(', ')}]`);
    if (t.writable) {
      if (t.area === 'discrete' || t.area === 'input') problem('writable', `a ${t.area} is read-only in Modbus; writable tags are coils or holding registers`);
      if (type === 'bit') problem('writable', 'writing one bit of a register needs a read-modify-write that can race with the PLC; map the bit to a coil');
      if (type === 'string') problem('writable', 'string tags are read-only');
      const { min, max } = t.writable;
      if (min !== undefined && max !== undefined && min > max) problem('writable', `min ${min} is above max ${max}`);
      if (!NUMERIC.has(type) && (min !== undefined || max !== undefined)) problem('writable', 'min and max only apply to numeric tags');
    }
    tags.push(def);
  }

  overlappingWritable(tags, problems);
  const drawings = checkPages(raw.pages, new Set(Object.keys(raw.tags)), readDrawing, problems);
  const tagMap = new Map(tags.map((t) => [t.name, t]));
  checkBarConditions(raw.pages, tagMap, problems);
  checkCommands(raw.commands, tagMap, problems);
  checkRelations(raw.relations, tagMap, problems);
  checkAlarms(raw.alarms, raw.events, tagMap, problems);
  checkHistorian(raw.historian, tagMap, problems);
  checkNorthbound(raw.northbound, raw.commands, new Set(tagMap.keys()), problems);
  checkNotifiedAlarms(raw.notifications, [...Object.keys(raw.alarms), ...devices.map((d) => `comm.${d.name}`)], problems);
  return {
    config: { plant: raw.plant, security: raw.security, historian: raw.historian, bus: raw.bus, links, devices, tags, alarms: raw.alarms, shelving: shelvingPolicy(raw.shelving), events: raw.events, commands: raw.commands, relations: raw.relations, pages: raw.pages, notifications: raw.notifications, northbound: raw.northbound, drawings },
    problems,
  };
}

/** The shelving rules with their defaults filled in. */
function shelvingPolicy(c: ShelvingConfig): ShelvingPolicy {
  return Object.fromEntries(
    PRIORITIES.map((p) => [p, { maxMs: c[p]?.max ?? DEFAULT_SHELVING[p].maxMs, role: c[p]?.role ?? DEFAULT_SHELVING[p].role }]),
  ) as ShelvingPolicy;
}

/** Two writable tags over the same address would let one command change another's value. */
function overlappingWritable(tags: TagDefinition[], problems: RuleProblem[]): void {
  const writable = tags.filter((t) => t.writable && t.device);
  const groups = new Map<string, TagDefinition[]>();
  for (const t of writable) {
    const key = `${t.device}/${t.area}`;
    const group = groups.get(key);
    if (group) group.push(t);
    else groups.set(key, [t]);
  }
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => a.address - b.address);
    // `prev` is the tag reaching furthest so far, so a long tag is compared with every later one.
    let prev = sorted[0]!;
    for (const cur of sorted.slice(1)) {
      const prevEnd = prev.address + tagSize(prev) - 1;
      if (cur.address <= prevEnd) {
        problems.push({
          path: ['tags', cur.name, 'address'],
          message: `overlaps writable tag "${prev.name}" (${prev.area} ${prev.address}..${prevEnd}); writable tags must not share addresses`,
        });
      }
      if (cur.address + tagSize(cur) - 1 > prevEnd) prev = cur;
    }
  }
}

/** Every tag a page names must exist; every drawing must be readable. Returns the drawings' SVG text. */
function checkPages(
  pages: Record<string, PageConfig>,
  tags: Set<string>,
  readDrawing: (path: string) => string | undefined,
  problems: RuleProblem[],
): Record<string, string> {
  const drawings: Record<string, string> = {};
  for (const [name, page] of Object.entries(pages)) {
    const refs: [(string | number)[], unknown][] = [];
    if (page.kind === 'dashboard') {
      page.bars.forEach((b, i) =>
        refs.push([['bars', i, 'tag'], b.tag], [['bars', i, 'low'], b.low], [['bars', i, 'high'], b.high]),
      );
      page.values.forEach((t, i) => refs.push([['values', i], t]));
      page.alarms.forEach((t, i) => refs.push([['alarms', i], t]));
      page.events.forEach((t, i) => refs.push([['events', i], t]));
      if (page.phases) {
        refs.push([['phases', 'selector'], page.phases.selector], [['phases', 'stopped'], page.phases.stopped]);
        page.phases.steps.forEach((s, i) => {
          refs.push([['phases', 'steps', i, 'active'], s.active], [['phases', 'steps', i, 'elapsed'], s.elapsed]);
          s.durations.forEach((d, k) => refs.push([['phases', 'steps', i, 'durations', k], d]));
        });
      }
    } else {
      page.bindings.forEach((b, i) => refs.push([['bindings', i, 'tag'], b.tag]));
      const svg = readDrawing(page.drawing);
      if (svg === undefined) problems.push({ path: ['pages', name, 'drawing'], message: `cannot read the drawing "${page.drawing}"` });
      else drawings[name] = svg;
    }
    for (const [path, ref] of refs) {
      if (typeof ref === 'string' && !tags.has(ref)) problems.push({ path: ['pages', name, ...path], message: `unknown tag "${ref}"` });
    }
  }
  return drawings;
}

/** A bar's `limitsWhen:` is a condition (as a command's `requires:`) on known tags, true or false. */
function checkBarConditions(pages: Record<string, PageConfig>, tags: ReadonlyMap<string, TagDefinition>, problems: RuleProblem[]): void {
  for (const [name, page] of Object.entries(pages)) {
    if (page.kind !== 'dashboard') continue;
    page.bars.forEach((b, i) => {
      if (b.limitsWhen === undefined) return;
      for (const message of displayConditionProblems(b.limitsWhen, tags)) problems.push({ path: ['pages', name, 'bars', i, 'limitsWhen'], message });
    });
  }
}

/** Plant-wide relations: valid conditions on one device's tags, at least one of them writable (else no command could ever break it). */
function checkRelations(relations: Record<string, ConditionEntry>, tags: ReadonlyMap<string, TagDefinition>, problems: RuleProblem[]): void {
  for (const [name, entry] of Object.entries(relations)) {
    const found = conditionProblems(entry, tags, {});
    for (const message of found) problems.push({ path: ['relations', name, 'check'], message });
    if (found.length > 0) continue;
    if (!references(parseCondition(entry.check)).tags.some((t) => tags.get(t)?.writable)) {
      problems.push({ path: ['relations', name, 'check'], message: 'names no writable tag: no command could break it, so it would never be checked' });
    }
  }
}

/** Alarm and event sources must exist and have the right kind of value. */
function checkAlarms(
  alarms: Record<string, AlarmConfig>,
  events: Record<string, EventConfig>,
  tags: ReadonlyMap<string, TagDefinition>,
  problems: RuleProblem[],
): void {
  const isBool = (t: TagDefinition): boolean => t.type === 'bool' || t.type === 'bit';
  const need = (path: (string | number)[], name: string, bool: boolean): void => {
    const t = tags.get(name);
    if (!t) problems.push({ path, message: `unknown tag "${name}"` });
    else if (bool !== isBool(t)) problems.push({ path, message: `"${name}" is ${t.type}: expected a ${bool ? 'boolean' : 'numeric'} tag` });
  };
  for (const [name, a] of Object.entries(alarms)) {
    const at = (...p: (string | number)[]): (string | number)[] => ['alarms', name, ...p];
    const analog = a.condition !== undefined;
    if (analog && a.limit === undefined) problems.push({ path: at('limit'), message: 'an analog alarm needs a limit (a number or a tag)' });
    if (!analog && a.limit !== undefined) problems.push({ path: at('condition'), message: 'a limit needs a condition: high, highhigh, low or lowlow' });
    if (analog && a.activeWhen !== undefined) problems.push({ path: at('activeWhen'), message: 'only applies to digital alarms' });
    need(at('tag'), a.tag, !analog);
    if (typeof a.limit === 'string') need(at('limit'), a.limit, false);
    if (a.enabledWhen) need(at('enabledWhen'), a.enabledWhen, true);
  }
  for (const [name, e] of Object.entries(events)) need(['events', name, 'tag'], e.tag, true);
}

/** The alarms a notification rule names exist (an id, or a prefix before a trailing *); comm.<device> are the generated ones. */
function checkNotifiedAlarms(n: NotificationsConfig, alarms: readonly string[], problems: RuleProblem[]): void {
  n.rules.forEach((r, i) =>
    r.alarms?.forEach((a, j) => {
      const found = a.endsWith('*') ? alarms.some((id) => id.startsWith(a.slice(0, -1))) : alarms.includes(a);
      if (!found) problems.push({ path: ['notifications', 'rules', i, 'alarms', j], message: `no alarm ${a.endsWith('*') ? 'starts with' : 'is'} "${a.replace(/\*$/, '')}"` });
    }),
  );
}

/** The historian's per-tag intervals and the cycle report name existing tags of the right kind. */
function checkHistorian(h: HistorianConfig, tags: ReadonlyMap<string, TagDefinition>, problems: RuleProblem[]): void {
  const need = (path: (string | number)[], name: string | number | undefined, kind?: 'bool' | 'number'): void => {
    if (typeof name !== 'string') return;
    const t = tags.get(name);
    if (!t) problems.push({ path: ['historian', ...path], message: `unknown tag "${name}"` });
    else if (kind && (kind === 'bool') !== (t.type === 'bool' || t.type === 'bit')) {
      problems.push({ path: ['historian', ...path], message: `"${name}" is ${t.type}: expected a ${kind === 'bool' ? 'boolean' : 'numeric'} tag` });
    }
  };
  for (const name of Object.keys(h.intervals)) need(['intervals', name], name);
  const c = h.cycles;
  if (!c) return;
  need(['cycles', 'program'], c.program, 'number');
  const phases = new Set(c.phases.map((p) => p.name));
  c.phases.forEach((p, i) => {
    need(['cycles', 'phases', i, 'active'], p.active, 'bool');
    p.planned.forEach((d, k) => need(['cycles', 'phases', i, 'planned', k], d, 'number'));
    need(['cycles', 'phases', i, 'elapsed'], p.elapsed, 'number');
  });
  const phase = (path: (string | number)[], name: string): void => {
    if (!phases.has(name)) problems.push({ path: ['historian', ...path], message: `unknown phase "${name}" (phases: ${[...phases].join(', ')})` });
  };
  if (c.oxygen) {
    need(['cycles', 'oxygen', 'tag'], c.oxygen.tag, 'number');
    need(['cycles', 'oxygen', 'min'], c.oxygen.min, 'number');
    need(['cycles', 'oxygen', 'max'], c.oxygen.max, 'number');
    phase(['cycles', 'oxygen', 'phase'], c.oxygen.phase);
  }
  if (c.turbidity) {
    need(['cycles', 'turbidity', 'tag'], c.turbidity.tag, 'number');
    need(['cycles', 'turbidity', 'max'], c.turbidity.max, 'number');
    phase(['cycles', 'turbidity', 'phase'], c.turbidity.phase);
  }
  if (c.volume) need(['cycles', 'volume', 'tag'], c.volume.tag, 'number');
}
