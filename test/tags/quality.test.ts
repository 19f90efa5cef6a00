/**
 * The quality enumeration's order is pinned: the historian stores a quality
 * as its index (one byte a sample, in files and in PostgreSQL), and exports
 * and bridges map it one to one. A quality may be added at the end only;
 * reordering, removing or inserting one elsewhere would change what stored
 * history means.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUALITY_INDEX } from '../../src/historian/types.js';
import { QUALITIES } from '../../src/tags/quality.js';

const PINNED = [
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
];

describe('quality enumeration', () => {
  it('keeps its order: new qualities only at the end', () => {
    assert.deepEqual(QUALITIES.slice(0, PINNED.length), PINNED);
    assert.equal(new Set(QUALITIES).size, QUALITIES.length, 'no quality twice');
    PINNED.forEach((q, i) => assert.equal(QUALITY_INDEX[q as keyof typeof QUALITY_INDEX], i, `${q} is stored as ${i}`));
  });
});
