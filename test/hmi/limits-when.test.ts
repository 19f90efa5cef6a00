/**
 * A bar's `limitsWhen:` evaluated on live values (issue 21), without a
 * browser: true applies the limits; false says when they apply; a value the
 * condition needs that is not Good leaves them off and names it; a
 * condition this page cannot read leaves them off too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConditionInput, limitsWhen } from '../../hmi/src/overview/limits-when.js';

function views(values: Record<string, { value: number | boolean; good?: boolean; description?: string }>): (tag: string) => ConditionInput {
  return (name) => {
    const v = values[name];
    const good = v?.good ?? v !== undefined;
    return {
      name,
      info: v?.description ? { description: v.description } : undefined,
      live: { value: v?.value ?? null },
      reason: good ? 'read from the device' : 'no connection to the device',
      good,
    };
  };
}

describe('limitsWhen in the HMI', () => {
  it('applies the limits while the condition holds', () => {
    assert.deepEqual(limitsWhen('phase.aeration', views({ 'phase.aeration': { value: true } })), { apply: true });
    assert.deepEqual(limitsWhen('phase.fill or phase.aeration', views({ 'phase.fill': { value: false }, 'phase.aeration': { value: true } })), { apply: true });
    assert.deepEqual(limitsWhen('level > 20 and not stopped', views({ level: { value: 40 }, stopped: { value: false } })), { apply: true });
  });

  it('says when they apply while it does not: a lone tag by its description, else as written', () => {
    assert.deepEqual(limitsWhen('phase.aeration', views({ 'phase.aeration': { value: false, description: 'Reactor in aeration' } })), {
      apply: false,
      state: 'false',
      note: 'limit applies only when: Reactor in aeration',
    });
    assert.deepEqual(limitsWhen('level > 20', views({ level: { value: 10 } })), { apply: false, state: 'false', note: 'limit applies only when: level > 20' });
  });

  it('leaves them off, naming the value, while one it needs is not Good (never a false LOW)', () => {
    const r = limitsWhen('phase.aeration and level > 20', views({ 'phase.aeration': { value: true, good: false, description: 'Reactor in aeration' }, level: { value: 40 } }));
    assert.deepEqual(r, { apply: false, state: 'unknown', note: 'limits not applied: Reactor in aeration is not known (no connection to the device)' });
    // Decided without the unknown value: false and anything is false.
    assert.equal(limitsWhen('phase.fill and phase.aeration', views({ 'phase.fill': { value: false }, 'phase.aeration': { value: true, good: false } })).apply, false);
    assert.equal((limitsWhen('phase.fill and phase.aeration', views({ 'phase.fill': { value: false }, 'phase.aeration': { value: true, good: false } })) as { state: string }).state, 'false');
  });

  it('leaves them off when it cannot read the condition', () => {
    assert.deepEqual(limitsWhen('phase = 1', views({})), { apply: false, state: 'unreadable', note: 'limits not applied: cannot read the condition "phase = 1"' });
  });
});
