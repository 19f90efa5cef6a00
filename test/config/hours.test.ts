/** Hours of notification rules: parsing, problems in words, and spans through midnight in the plant's time zone. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hoursProblem, parseHours, withinHours } from '../../src/config/hours.js';

const TZ = 'Europe/Madrid';
/** 2026-12-07 is a Monday; Madrid is UTC+1 in December. */
const at = (day: number, hh: number, mm = 0): number => Date.UTC(2026, 11, day, hh - 1, mm);

describe('notification hours', () => {
  it('weekdays in the plant time zone', () => {
    const h = parseHours('Mon-Fri 07:00-19:00');
    assert.equal(withinHours(h, at(7, 7), TZ), true);
    assert.equal(withinHours(h, at(7, 6, 59), TZ), false);
    assert.equal(withinHours(h, at(7, 19), TZ), false, 'the end is excluded');
    assert.equal(withinHours(h, at(12, 12), TZ), false, 'Saturday');
  });

  it('through midnight, several spans, wrapping day ranges', () => {
    const night = parseHours('22:00-06:00');
    assert.equal(withinHours(night, at(7, 23), TZ), true);
    assert.equal(withinHours(night, at(8, 5, 59), TZ), true);
    assert.equal(withinHours(night, at(8, 6), TZ), false);
    const fri = parseHours('Fri 22:00-06:00; Sat,Sun 00:00-24:00');
    assert.equal(withinHours(fri, at(12, 3), TZ), true, 'Saturday 03:00, from Friday night and from Saturday');
    assert.equal(withinHours(fri, at(14, 3), TZ), false, 'Monday 03:00');
    assert.equal(withinHours(parseHours('Sat-Mon 08:00-09:00'), at(7, 8, 30), TZ), true, 'Sat-Mon wraps through Sunday');
  });

  it('says what is wrong', () => {
    assert.match(hoursProblem('Mon-Fry 07:00-19:00')!, /"Fry" is not a day/);
    assert.match(hoursProblem('07:00-07:00')!, /empty/);
    assert.match(hoursProblem('25:00-26:00')!, /not a time of day/);
    assert.match(hoursProblem('weekdays')!, /expected days and times/);
    assert.equal(hoursProblem('Mon 00:00-24:00'), undefined);
  });
});
