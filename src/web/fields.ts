/**
 * Bounds on the strings a request brings: free text (comments, reasons,
 * searches) is printable and of a sensible length, names are names, and a
 * query parameter given twice is refused rather than read as a list.
 *
 *   400 PLANTA_TEXT_TOO_LONG      longer than the field takes
 *   400 PLANTA_TEXT_UNPRINTABLE   a control, escape or direction-changing character
 */
import { hasUnprintable } from '../util/text.js';
import { type ErrorCode, PlantaError } from '../errors.js';

/** `value` (a string) if it is printable and at most `max` characters; `field` names it in the refusal. */
export function boundedText(value: string, field: string, max: number): string {
  if (value.length > max) throw new PlantaError('PLANTA_TEXT_TOO_LONG', `${field}: at most ${max} characters`, { field });
  if (hasUnprintable(value)) throw new PlantaError('PLANTA_TEXT_UNPRINTABLE', `${field}: printable characters only (no control, escape or direction-changing characters)`, { field });
  return value;
}

/** A name as the configuration writes them (letters, digits, "_", "." and "-", starting with a letter), at most `max` characters. */
export function isName(value: unknown, max = 128): value is string {
  return typeof value === 'string' && value.length <= max && /^[A-Za-z][A-Za-z0-9_.-]*$/.test(value);
}

/** A query parameter given at most once, or undefined; a repeated one is refused with `code`. */
export function queryParam(query: unknown, field: string, code: ErrorCode): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[field];
  if (v === undefined || typeof v === 'string') return v;
  throw new PlantaError(code, `${field}: give it once`, { field });
}
