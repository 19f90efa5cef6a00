/**
 * How a quality is shown: a class (for the greyed/hatched look), a mark
 * ("?" uncertain, "✕" bad), a short word and the reason in a sentence.
 * Colour is never the only sign: the mark and the word go with it.
 */
import { isBad, isGood, qualityReason } from '../../../src/tags/quality.js';
import type { Quality } from '../../../src/web/protocol.js';

export { isBad, isGood, qualityReason };

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

const WORDS: Record<Quality, string> = {
  Good: 'Good',
  Uncertain_LastUsableValue: 'Stale',
  Uncertain_EngineeringUnitsExceeded: 'Out of range',
  Bad_WaitingForInitialData: 'Waiting',
  Bad_NoCommunication: 'No comms',
  Bad_Timeout: 'Timeout',
  Bad_DeviceFailure: 'Device error',
  Bad_CommunicationError: 'Comms error',
  Bad_ConfigurationError: 'Config error',
  Bad_OutOfService: 'Out of service',
};

/** A word or two for a table cell: "Good", "Stale", "No comms"... */
export function qualityWord(q: Quality): string {
  return WORDS[q] ?? q;
}
