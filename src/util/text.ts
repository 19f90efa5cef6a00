/**
 * Characters that must never reach a journal, an audit trail or a log from
 * outside: C0 and C1 controls (escape sequences move a terminal's cursor),
 * DEL, lone surrogates, line and paragraph separators, and the marks that
 * reorder text for display (a name could then read as another).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cs}\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** Whether `s` holds a character that is not plain printable text. */
export function hasUnprintable(s: string): boolean {
  return UNPRINTABLE.test(s);
}
