/** The cycle's timing without a browser: time left per step, what is left of the cycle, units. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cycleLeft, timeLeft, unitMs } from '../../hmi/src/overview/phase-model.js';

describe('phase model', () => {
  const step = (active: boolean, elapsed: number | null, planned: number | null) => ({ active, elapsed, planned });

  it('time left is planned minus elapsed, never below zero, unknown without both', () => {
    assert.equal(timeLeft(step(true, 19, 60)), 41);
    assert.equal(timeLeft(step(false, 75, 60)), 0);
    assert.equal(timeLeft(step(true, null, 60)), null);
  });

  it("the cycle: the active step's time left plus the planned steps after it; nothing before it counts", () => {
    assert.equal(cycleLeft([step(false, 60, 60), step(true, 30, 90), step(false, 0, 45), step(false, 0, 30)]), 60 + 45 + 30);
    assert.equal(cycleLeft([step(false, 0, 60), step(false, 0, 90)]), null, 'no step active');
    assert.equal(cycleLeft([step(true, 10, 60), step(false, 0, null)]), null, 'a later duration unknown');
  });

  it('units to milliseconds; an unknown unit gives no end time', () => {
    assert.equal(unitMs('min'), 60_000);
    assert.equal(unitMs('s'), 1000);
    assert.equal(unitMs('furlong'), undefined);
    assert.equal(unitMs(undefined), undefined);
  });
});
