/**
 * Planta's error catalogue: every stable PLANTA_* code, by area
 * (src/errors/*.ts), with the HTTP status it is answered with and what it
 * means; and PlantaError, the class of the errors that carry one.
 * docs/error-codes.md is made from it (scripts/error-codes.ts), and
 * test/errors/catalogue.test.ts fails when a code is used and not
 * catalogued, or catalogued and used nowhere.
 */
import { ALARMS } from './errors/alarms.js';
import type { Area, CodeEntry } from './errors/area.js';
import { AUTH } from './errors/auth.js';
import { BUS } from './errors/bus.js';
import { COMMANDS } from './errors/commands.js';
import { HISTORIAN } from './errors/historian.js';
import { HMI } from './errors/hmi.js';
import { MODBUS } from './errors/modbus.js';
import { NORTHBOUND } from './errors/northbound.js';
import { NOTIFY } from './errors/notify.js';
import { POLLER } from './errors/poller.js';
import { SETUP } from './errors/setup.js';
import { SIM } from './errors/sim.js';
import { WEB } from './errors/web.js';

export type { Area, CodeEntry };

/** The areas in the order of the reference page. */
export const AREAS: readonly Area[] = [WEB, AUTH, COMMANDS, ALARMS, NOTIFY, NORTHBOUND, HISTORIAN, POLLER, MODBUS, BUS, SETUP, SIM, HMI];

export const CATALOGUE = Object.freeze({
  ...WEB.codes,
  ...AUTH.codes,
  ...COMMANDS.codes,
  ...ALARMS.codes,
  ...NOTIFY.codes,
  ...NORTHBOUND.codes,
  ...HISTORIAN.codes,
  ...POLLER.codes,
  ...MODBUS.codes,
  ...BUS.codes,
  ...SETUP.codes,
  ...SIM.codes,
  ...HMI.codes,
});

type Catalogue = typeof CATALOGUE;
export type ErrorCode = keyof Catalogue;

type Statuses<E> = E extends { readonly status: infer S } ? (S extends readonly number[] ? S[number] : S) : never;
/** The HTTP statuses the catalogue gives `C` (never for a code no request is answered with). */
export type StatusOf<C extends ErrorCode> = C extends ErrorCode ? Statuses<Catalogue[C]> : never;
/** The codes answered over HTTP. */
export type HttpErrorCode = { [C in ErrorCode]: [StatusOf<C>] extends [never] ? never : C }[ErrorCode];

/** The statuses of a catalogue entry, the usual one first. */
export const statusesOf = (entry: CodeEntry): readonly number[] => (entry.status === undefined ? [] : typeof entry.status === 'number' ? [entry.status] : entry.status);

/** The usual HTTP status of a code answered over HTTP. */
export const httpStatus = (code: HttpErrorCode): number => statusesOf(CATALOGUE[code])[0]!;

export interface PlantaErrorOptions<C extends ErrorCode> {
  /** Where the catalogue gives the code more than one status, the one of this case (default: the first). */
  status?: StatusOf<C>;
  /** The field of the request at fault, answered with the error. */
  field?: string;
  cause?: unknown;
}

/**
 * An error with a stable code. Answered over HTTP (src/web/server.ts) as
 * {error: {code, message, field?}} with `statusCode`, the catalogue's status
 * of its code; an error of a code no request is answered with has none.
 */
export class PlantaError<C extends ErrorCode = ErrorCode> extends Error {
  // Declared, not defined: an error without a status or a field has no such property at all.
  declare readonly statusCode?: number;
  declare readonly field?: string;

  constructor(
    readonly code: C,
    message: string,
    options: PlantaErrorOptions<C> = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const status = options.status ?? statusesOf(CATALOGUE[code])[0];
    Object.assign(this, status === undefined ? {} : { statusCode: status }, options.field === undefined ? {} : { field: options.field });
  }
}

/** An error answered with its own code and status: a PlantaError, or one carried from another process with both (src/bus/service.ts). */
export interface Answerable {
  code: string;
  statusCode: number;
  message: string;
  field?: unknown;
}

export function isAnswerable(err: unknown): err is Answerable {
  const e = err as { code?: unknown; statusCode?: unknown } | null | undefined;
  return typeof e?.code === 'string' && e.code.startsWith('PLANTA_') && typeof e.statusCode === 'number';
}
