/**
 * What a trend draws besides its pens (issue 21), without a browser: the
 * phases as bands from their boolean tags' history (true with usable
 * quality; a gap or bad sample ends a band; an open band runs to now; all
 * clipped to the period), and the limits configured for each pen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HmiPage } from '../../hmi/src/shared/pages.js';
import { limitSpecs, phaseBands, phaseSpecs } from '../../hmi/src/trends/trend-overlays.js';

const pages: HmiPage[] = [
  { kind: 'mimic', name: 'mimic', title: 'Mimic', bindings: [] },
  {
    kind: 'dashboard',
    name: 'overview',
    title: 'SBR',
    bars: [{ tag: 'reactor.level' }, { tag: 'reactor.oxygen', low: 'limits.oxygen_min', high: 'limits.oxygen_max', limitsWhen: 'phase.aeration' }, { tag: 'reactor.turbidity', high: 30 }],
    values: [],
    alarms: [],
    events: [],
    phases: {
      steps: [
        { label: 'Fill', active: 'phase.fill', elapsed: 'e1', durations: ['d1'] },
        { label: 'Aeration', active: 'phase.aeration', elapsed: 'e2', durations: ['d2'] },
      ],
    },
  },
];

describe('trend overlays', () => {
  it('takes the phases from the dashboard with a sequence', () => {
    assert.deepEqual(phaseSpecs(pages), [
      { label: 'Fill', tag: 'phase.fill' },
      { label: 'Aeration', tag: 'phase.aeration' },
    ]);
    assert.deepEqual(phaseSpecs([pages[0]!]), []);
  });

  it('finds each phase\'s bands: true and usable, ended by false, a gap or bad data, clipped to the period, open to now', () => {
    const data = [
      { tag: 'phase.fill', t: [0, 10, 20, 30, 40, 50], v: [1, 0, 1, null, 1, 1], q: ['good', 'good', 'uncertain', null, 'good', 'good'] as const },
      { tag: 'phase.aeration', t: [5, 10, 25, 26], v: [0, 1, 1, 0], q: ['good', 'good', 'bad', 'good'] as const },
    ].map((d) => ({ ...d, q: [...d.q] }));
    assert.deepEqual(phaseBands(phaseSpecs(pages), data, 2, 100, 60), [
      { label: 'Fill', index: 0, from: 2, to: 10 },
      { label: 'Aeration', index: 1, from: 10, to: 25 },
      { label: 'Fill', index: 0, from: 20, to: 30 },
      { label: 'Fill', index: 0, from: 40, to: 60 },
    ]);
    // Overlapping or meeting stretches of one phase (history and live tail) are one band.
    const twice = [{ tag: 'phase.fill', t: [0, 10, 10, 20, 30], v: [1, null, 1, 0, 0], q: ['good', null, 'good', 'good', 'good'] as ('good' | null)[] }];
    assert.deepEqual(phaseBands(phaseSpecs(pages), twice, 0, 100), [{ label: 'Fill', index: 0, from: 0, to: 20 }]);
    // A band beyond the period is not drawn.
    assert.deepEqual(phaseBands(phaseSpecs(pages), data, 100, 200, 60), []);
  });

  it("gives each pen its bars' limits, tags or numbers, once", () => {
    assert.deepEqual(limitSpecs([...pages, pages[1]!], ['reactor.turbidity', 'reactor.oxygen', 'volume.total']), [
      { pen: 0, kind: 'high', ref: 30 },
      { pen: 1, kind: 'low', ref: 'limits.oxygen_min' },
      { pen: 1, kind: 'high', ref: 'limits.oxygen_max' },
    ]);
  });
});
