/**
 * How a quality is shown: a class (for the greyed/hatched look), a mark
 * ("?" uncertain, "✕" bad), a short word and the reason in a sentence.
 * Colour is never the only sign: the mark and the word go with it.
 */
import { isBad, isGood } from '../../../src/tags/quality.js';
import type { Quality } from '../../../src/web/protocol.js';
import { msg } from '../i18n/locale.js';

export { isBad, isGood };

/** A sentence an operator can read, e.g. on hover over a greyed value, in the user's language. */
export function qualityReason(q: Quality, exceptionCode?: number): string {
  const t = msg().quality;
  const reason = t.reason[q] ?? q;
  return q === 'Bad_DeviceFailure' && exceptionCode !== undefined ? `${reason}${t.exception(exceptionCode.toString(16).padStart(2, '0').toUpperCase())}` : reason;
}

export type QualityLevel = 'good' | 'uncertain' | 'bad';

export function qualityLevel(q: Quality): QualityLevel {
  if (isGood(q)) return 'good';
  return isBad(q) ? 'bad' : 'uncertain';
}

/** CSS class for a value of this quality: q-good, q-uncertain or q-bad. */
export function qualityClass(q: Quality): string {
  return `q-${qualityLevel(q)}`;
}

/** "" for Good, "?" for Uncertain, "✕" for Bad. */
export function qualityMark(q: Quality): string {
  const level = qualityLevel(q);
  return level === 'good' ? '' : level === 'bad' ? '✕' : '?';
}

/** A word or two for a table cell: "Good", "Stale", "No comms"... */
export function qualityWord(q: Quality): string {
  return msg().quality.word[q] ?? q;
}
