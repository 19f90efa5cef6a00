/**
 * Data quality, named after OPC UA status codes so exports and bridges map one
 * to one. Good means the value was read from the device in the last scan;
 * Uncertain means usable with care; Bad means do not trust the value.
 */
export const QUALITIES = [
  'Good',
  'Uncertain_LastUsableValue',
  'Uncertain_EngineeringUnitsExceeded',
  'Bad_WaitingForInitialData',
  'Bad_NoCommunication',
  'Bad_Timeout',
  'Bad_DeviceFailure',
  'Bad_CommunicationError',
  'Bad_ConfigurationError',
  'Bad_OutOfService',
] as const;

export type Quality = (typeof QUALITIES)[number];

export const isGood = (q: Quality): boolean => q === 'Good';
export const isBad = (q: Quality): boolean => q.startsWith('Bad_');
export const isUncertain = (q: Quality): boolean => q.startsWith('Uncertain_');

/** Why a value has its quality, in English: the server's words, and the HMI's English catalogue. */
export const QUALITY_REASONS: Readonly<Record<Quality, string>> = {
  Good: 'read from the device',
  Uncertain_LastUsableValue: 'stale: the last value known, no longer updated (its device, its poller or the live data stopped)',
  Uncertain_EngineeringUnitsExceeded: 'outside the configured display range',
  Bad_WaitingForInitialData: 'not read yet',
  Bad_NoCommunication: 'no connection to the device',
  Bad_Timeout: 'the device did not answer in time',
  Bad_DeviceFailure: 'the device answered with a Modbus exception',
  Bad_CommunicationError: 'the device sent a reply that does not fit the request',
  Bad_ConfigurationError: 'the tag configuration does not fit the device',
  Bad_OutOfService: 'taken out of service',
};

/** A sentence an operator can read, e.g. on hover over a greyed value. */
export function qualityReason(q: Quality, exceptionCode?: number): string {
  if (q === 'Bad_DeviceFailure' && exceptionCode !== undefined) {
    return `${QUALITY_REASONS[q]} (exception ${exceptionCode.toString(16).padStart(2, '0').toUpperCase()})`;
  }
  return QUALITY_REASONS[q];
}
