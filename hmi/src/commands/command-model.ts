/**
 * Operator commands as the HMI reasons about them, without any screen: the
 * values of a command's parameters read from what the operator typed (the
 * browser's checks, a convenience: the server is the authority), templates
 * filled in, fresh command ids, when commands must be refused (no live data,
 * PLC not connected), and every status and refusal put in words.
 */
import type { CommandInfo, CommandOutcome, CommandParamInfo, CommandStatus } from '../../../src/web/protocol.js';
import { formatNumber } from '../shared/format.js';
import type { LinkState } from '../live/stream.js';
import { msg } from '../i18n/locale.js';

export type Params = Record<string, number | boolean>;

// ------------------------------------------------------------------ templates and ids

const VAR = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** "program{program}.fill" with {program: 3} → "program3.fill"; undefined while a parameter it needs has no value. */
export function expandTemplate(template: string, params: Readonly<Params>): string | undefined {
  let missing = false;
  const out = template.replace(VAR, (_, name: string) => {
    const v = params[name];
    if (v === undefined) missing = true;
    return String(v);
  });
  return missing ? undefined : out;
}

/** The confirmation question with the values filled in, each with its parameter's decimals ("2.50–8.00 mg/L"). */
export function fillConfirmation(def: Pick<CommandInfo, 'confirmation' | 'params'>, params: Readonly<Params>): string {
  return def.confirmation.replace(VAR, (whole, name: string) => {
    const v = params[name];
    if (v === undefined) return whole;
    const info = def.params[name];
    return typeof v === 'number' && info ? inputText(info, v) : String(v);
  });
}

/**
 * A fresh id for one click ([A-Za-z0-9_-], 8..64 characters): the server
 * executes an id at most once. crypto.getRandomValues works on plain http
 * too, where crypto.randomUUID does not exist.
 */
export function newCommandId(random: (bytes: Uint8Array<ArrayBuffer>) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return `hmi-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// ------------------------------------------------------------------ parameters

/** The label without a trailing "(unit)", since the unit is shown beside the value anyway. */
export function paramLabel(info: CommandParamInfo): string {
  const suffix = info.unit ? ` (${info.unit})` : '';
  return suffix && info.label.endsWith(suffix) ? info.label.slice(0, -suffix.length) : info.label;
}

/** The step an input allows: 1 for whole numbers, else one unit of the last decimal. */
export function paramStep(info: CommandParamInfo): number {
  return info.integer ? 1 : 10 ** -info.decimals;
}

/** A number as an input holds it: no grouping, the parameter's decimals. */
export function inputText(info: CommandParamInfo, value: number): string {
  return info.integer ? String(Math.round(value)) : value.toFixed(info.decimals);
}

/** A parameter's value for display: fixed decimals and its unit. */
export function formatParam(info: CommandParamInfo | undefined, value: number | boolean): string {
  if (typeof value === 'boolean') return value ? msg().common.on : msg().common.off;
  if (!info) return String(value);
  const text = formatNumber(value, info.integer ? 0 : info.decimals);
  return info.unit ? `${text}\u00a0${info.unit}` : text;
}

/** "1–9999 min", "0.01–99.99 mg/L", "at least 1"...; "" without limits. Written as they are typed (no grouping). */
export function rangeText(info: CommandParamInfo): string {
  const f = (n: number): string => `${inputText(info, n)}${info.unit ? `\u00a0${info.unit}` : ''}`;
  if (info.min !== undefined && info.max !== undefined) return `${inputText(info, info.min)}–${f(info.max)}`;
  if (info.min !== undefined) return msg().commands.atLeast(f(info.min));
  if (info.max !== undefined) return msg().commands.atMost(f(info.max));
  return '';
}

/** The choices of a small whole-number parameter (a program 1–3), or undefined for a free number. */
export function choices(info: CommandParamInfo): number[] | undefined {
  if (!info.integer || info.type !== 'number' || info.min === undefined || info.max === undefined) return undefined;
  if (info.max < info.min || info.max - info.min > 11) return undefined;
  return Array.from({ length: info.max - info.min + 1 }, (_, i) => info.min! + i);
}

export type ParamRead = { ok: true; value: number | boolean } | { ok: false; error: string };

/** What the operator typed, checked as the server will check it (type, whole numbers, decimals, range). */
export function readParam(info: CommandParamInfo, text: string): ParamRead {
  const range = rangeText(info);
  const within = range ? ` (${range})` : '';
  const m = msg().commands;
  if (info.type === 'boolean') {
    if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
    return { ok: false, error: m.chooseOnOff };
  }
  const t = text.trim();
  if (t === '') return { ok: false, error: m.enterValue(within) };
  const n = Number(t);
  if (!Number.isFinite(n)) return { ok: false, error: m.enterNumber(within) };
  if (info.integer && !Number.isInteger(n)) return { ok: false, error: m.enterWhole(within) };
  if (!info.integer) {
    const scaled = n * 10 ** info.decimals;
    if (Math.abs(scaled - Math.round(scaled)) > 1e-6) {
      return { ok: false, error: m.decimals(info.decimals, formatNumber(paramStep(info), info.decimals)) };
    }
  }
  if ((info.min !== undefined && n < info.min) || (info.max !== undefined && n > info.max)) {
    return { ok: false, error: m.outOfRange(formatParam(info, n), range, info.min === undefined || info.max === undefined) };
  }
  return { ok: true, value: n };
}

/** The parameters in words, in the command's order: "Program 2" or "Aerated fill 35 min, Aeration 50 min". */
export function describeParams(def: CommandInfo | undefined, params: Readonly<Params>): string {
  return Object.entries(params)
    .sort(([a], [b]) => order(def, a) - order(def, b))
    .map(([name, v]) => {
      const info = def?.params[name];
      return `${info ? paramLabel(info) : name} ${formatParam(info, v)}`;
    })
    .join(', ');
}

function order(def: CommandInfo | undefined, name: string): number {
  const keys = def ? Object.keys(def.params) : [];
  const i = keys.indexOf(name);
  return i < 0 ? keys.length : i;
}

/**
 * What a button says: the command's label and the values it will send, e.g.
 * "Start program 2" (the value follows a label that ends with the
 * parameter's name) or "Edit program durations for program 3".
 */
export function actionText(def: CommandInfo, choice: Readonly<Params>): string {
  const parts = Object.entries(choice).filter(([n]) => def.params[n]);
  if (parts.length === 0) return def.label;
  const [name, value] = parts[0]!;
  const info = def.params[name]!;
  const label = paramLabel(info);
  const v = formatParam(info, value);
  if (parts.length === 1 && def.label.toLowerCase().endsWith(label.toLowerCase())) return `${def.label} ${v}`;
  return msg().commands.forWhat(def.label, parts.map(([n, x]) => `${paramLabel(def.params[n]!).toLowerCase()} ${formatParam(def.params[n], x)}`));
}


/**
 * Where a command's control goes until pages name their commands: the
 * operators' actions (no parameter, or a small choice such as the program)
 * on the overview; everything else — the engineers' settings, values to
 * type — on the parameters page.
 */
export function onOverview(c: CommandInfo): boolean {
  return (c.role === 'viewer' || c.role === 'operator') && Object.values(c.params).every((p) => choices(p) !== undefined);
}

// ------------------------------------------------------------------ when commands are refused in the browser

export interface CommandConditions {
  link: LinkState;
  /** The server's link to the plant's message bus: while it is down the server cannot queue a command. */
  busUp: boolean;
  devices: readonly { name: string; status: { state: string } | null }[];
  configChanged: boolean;
}

/**
 * Why a command for `device` cannot be sent now, or null when it can: no
 * live data (the operator cannot see what they act on), at the browser or at
 * the server, the PLC not connected, or a page out of date with the
 * server's configuration.
 */
export function commandBlocker(c: CommandConditions, device: string): string | null {
  const m = msg().commands;
  if (c.link === 'down') return m.blockedDown;
  if (c.link === 'connecting') return m.blockedConnecting;
  if (!c.busUp) return m.blockedBus;
  if (c.configChanged) return m.blockedConfig;
  if (!device) return null;
  const d = c.devices.find((x) => x.name === device);
  if (!d || !d.status) return m.blockedUnknown(device);
  if (d.status.state !== 'connected') return m.blockedNotConnected(device);
  return null;
}

// ------------------------------------------------------------------ words

/** SENT, CONFIRMED... in the user's language. */
export const statusWord = (s: CommandStatus): string => msg().commands.word[s] ?? s;

export const STATUS_ICON: Record<CommandStatus, string> = {
  queued: '→',
  confirmed: '✓',
  rejected: '✕',
  failed: '✕',
  'not-accepted': '✕',
  expired: '✕',
  unknown: '?',
};

/** The first sentence of an outcome, where the operator clicked. */
export const statusLead = (s: CommandStatus): string => msg().commands.lead[s] ?? s;

export const isFinal = (s: CommandStatus): boolean => s !== 'queued';

export interface Words {
  /** A tag's description, to name tags in words. */
  describe(tag: string): string | undefined;
  /** A time (epoch ms) in the plant's zone. */
  time(ts: number): string;
  /** A command's label ("Stop the cycle"), to name commands in words. */
  label?(command: string): string | undefined;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A server reason in words: tag names by their description, true/false as
 * ON/OFF, whole seconds instead of milliseconds, ISO times in plant time.
 */
export function reasonInWords(reason: string, words: Words, tagNames: readonly string[]): string {
  let out = reason.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\b/g, (iso) => words.time(Date.parse(iso)));
  const names = [...tagNames].filter((n) => out.includes(n)).sort((a, b) => b.length - a.length);
  if (names.length > 0) {
    const re = new RegExp(`(?<![\\w.])(${names.map(escape).join('|')})(?![\\w.])`, 'g');
    out = out.replace(re, (name: string) => {
      const d = words.describe(name);
      return d ? `“${d}”` : name;
    });
  }
  out = out.replace(/\btrue\b/g, msg().common.on).replace(/\bfalse\b/g, msg().common.off);
  out = out.replace(/\b(\d+) ms\b/g, (whole, ms: string) => (Number(ms) >= 1000 && Number(ms) % 1000 === 0 ? `${Number(ms) / 1000}\u00a0s` : whole));
  return out;
}

/** A refusal by the server (HTTP 4xx), in words an operator can act on. */
export function refusalInWords(error: { code: string; message: string }, words: Words, tagNames: readonly string[]): string {
  const label = (command: string): string => `“${words.label?.(command) ?? command}”`;
  const r = msg().commands.refusals;
  const role = (x: string): string => msg().roles.name[x] ?? x;
  switch (error.code) {
    case 'PLANTA_AUTH_REQUIRED':
      return r.authRequired;
    case 'PLANTA_AUTH_REAUTH':
      return r.reauth;
    case 'PLANTA_AUTH_CSRF':
      return r.csrf;
    case 'PLANTA_COMMAND_DEVICE_SELECTED': {
      // "plc is selected by bob for "stop_cycle" until 2026-11-25T18:01:49.000Z"
      const m = /^(\S+) is selected by (.+) for "([^"]+)" until (\S+)$/.exec(error.message);
      if (!m) return r.anotherUser(reasonInWords(error.message, words, tagNames));
      return r.reserved(m[1]!, m[2]!, label(m[3]!), words.time(Date.parse(m[4]!)));
    }
    case 'PLANTA_COMMAND_FORBIDDEN': {
      // "ana (operator) may not run "edit_limits": it needs engineer"
      const m = /^(.+) \((\w+)\) may not run "([^"]+)": it needs (\w+)$/.exec(error.message);
      if (!m) return r.notAllowed(error.message);
      return r.needsRole(label(m[3]!), role(m[4]!), m[1]!, role(m[2]!));
    }
    case 'PLANTA_COMMAND_TOKEN_EXPIRED':
      return r.tokenExpired;
    case 'PLANTA_COMMAND_NOT_QUEUED':
      return r.notQueued;
    case 'PLANTA_COMMAND_UNCONFIRMED':
      return r.unconfirmed;
    case 'PLANTA_COMMAND_DUPLICATE':
      return r.duplicate;
    case 'PLANTA_COMMAND_PRECONDITION':
    case 'PLANTA_COMMAND_RELATION':
    case 'PLANTA_COMMAND_STATE_UNKNOWN': {
      // "<configured message> — precondition <name> (<condition>) does not hold with <values>", perhaps after the poller's "not sent: ".
      const text = error.message.replace(/^not sent: /, '');
      const cut = text.indexOf(' — ');
      return r.notSent(cut > 0 ? text.slice(0, cut) : reasonInWords(text, words, tagNames));
    }
    default:
      return reasonInWords(error.message, words, tagNames);
  }
}

/**
 * Why an outcome is what it is, in words. For "not accepted" the server's
 * closing "the PLC did not take it" is left out: the status says so already.
 */
export function outcomeReason(o: Pick<CommandOutcome, 'status' | 'reason' | 'code'>, words: Words, tagNames: readonly string[]): string | undefined {
  if (!o.reason || o.status === 'confirmed' || o.status === 'queued') return undefined;
  if (o.status === 'rejected' && o.code) return refusalInWords({ code: o.code, message: o.reason }, words, tagNames);
  let r = o.reason;
  if (o.status === 'not-accepted') r = r.replace(/: (the PLC did not take (it|the value)|it did not act on the command)$/, '');
  return reasonInWords(r, words, tagNames);
}

/** An outcome in one line for the event list: who, what, with which values, and why when it did not go through. */
export function outcomeLine(o: CommandOutcome, def: CommandInfo | undefined, words: Words, tagNames: readonly string[]): string {
  const what = def?.label ?? o.command;
  const values = describeParams(def, o.params);
  const reason = outcomeReason(o, words, tagNames);
  const why = reason ? `: ${reason}` : '';
  return `${o.user || msg().commands.unknownUser} — ${what}${values ? ` (${values})` : ''}${why}`;
}

/**
 * Until when, on this browser's clock, the operator may confirm a
 * selection. Measured from the server's Date header, so a browser clock set
 * wrong changes nothing; the header has whole seconds, so a second less: the
 * page never promises time the server will not give.
 */
export function localDeadline(expiresAt: number, serverDate: number | undefined, receivedAt: number): number {
  if (serverDate === undefined) return expiresAt;
  return receivedAt + Math.max(0, Math.min(expiresAt - serverDate - 1000, 600_000));
}
