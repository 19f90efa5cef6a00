/**
 * Conditions in the configuration (issue 20.3): `planta check` reports every
 * bad relation or precondition — syntax, unknown tags and parameters, tags of
 * another device, a number where true/false is needed, a relation no command
 * could break — with its line; the parser never evaluates code, and a valid
 * condition means what it says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { ConditionSyntaxError, evaluate, parseCondition } from '../../src/config/conditions.js';
import { run } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
  }
  return [];
}

const plant = `devices:
  plc: { host: 127.0.0.1, scanGroups: { fast: 1s } }
  other: { host: 127.0.0.2, scanGroups: { fast: 1s } }
tags:
  estop: { device: plc, area: coil, address: 1 }
  go: { device: plc, area: coil, address: 2, writable: { roles: [operator] } }
  lo: { device: plc, area: holding, address: 5, scale: 0.01, writable: { roles: [engineer] } }
  hi: { device: plc, area: holding, address: 6, scale: 0.01, writable: { roles: [engineer] } }
  p1.fill: { device: plc, area: holding, address: 9, writable: { roles: [operator] } }
  p2.fill: { device: plc, area: holding, address: 10, writable: { roles: [operator] } }
  name: { device: plc, area: holding, address: 20, type: string, length: 4 }
  far: { device: other, area: input, address: 0 }
`;
const command = (extra: string): string => `commands:
  start:
    label: Start
    confirmation: Start?
    params: { n: { min: 1, max: 2, integer: true }, v: { tag: lo } }
    steps: [{ set: "p{n}.fill", value: 5 }, { pulse: go }]
${extra}`;

describe('conditions in the configuration', () => {
  it('a valid file: plant relations and a command\'s requires and relations, with templates, parameters and functions', () => {
    const c = parseConfig(
      `${plant}relations:\n  order: lo < hi\n  sum: { check: "sum(p1.fill, p2.fill) <= 1440 and not (lo == 0)", message: at most a day }\n${command(
        '    requires:\n      no_estop: { check: estop == false, message: released first }\n    relations:\n      mine: "p{n}.fill + $v * 2 <= max(hi, 100) - -1 or estop"\n',
      )}`,
      'x.yaml',
    );
    assert.deepEqual(c.relations.sum, { check: 'sum(p1.fill, p2.fill) <= 1440 and not (lo == 0)', message: 'at most a day' });
    assert.deepEqual(c.relations.order, { check: 'lo < hi' });
    assert.deepEqual(c.commands.start!.requires.no_estop, { check: 'estop == false', message: 'released first' });
  });

  it('reports each bad condition at its line, naming what is wrong', () => {
    const p = problems(
      `${plant}relations:\n  typo: lo < hii\n  number: lo + hi\n  nothing_writable: estop == true\n  two_devices: lo < far\n  param: lo < $v\n${command(
        [
          '    requires:',
          '      syntax: "estop = false"',
          '      chained: "1 < lo < 2"',
          '      kinds: estop < 3',
          '      text: name == 3',
          '      unknown_param: $x > 1',
          '      template: "q{n}.fill > 1"',
          '      eval: "process.exit(1)"',
          '    relations:',
          '      open: "(lo < hi"',
          '',
        ].join('\n'),
      )}`,
    );
    const expect = [
      /^14 relations\.typo\.check: unknown tag "hii"$/,
      /^15 relations\.number\.check: "lo \+ hi" is a number: a condition must be true or false/,
      /^16 relations\.nothing_writable\.check: names no writable tag/,
      /^17 relations\.two_devices\.check: names tags of several devices \(plc, other\)/,
      /^18 relations\.param\.check: \$v or \{v\}: only a command's conditions can use its parameters/,
      /^26 commands\.start\.requires\.syntax\.check: "estop = false": unexpected "= false" at character 7/,
      /^27 commands\.start\.requires\.chained\.check: .*join comparisons with "and"/,
      /^28 commands\.start\.requires\.kinds\.check: "estop < 3": "<" needs numbers, and estop is true\/false/,
      /^29 commands\.start\.requires\.text\.check: "name" is a string/,
      /^30 commands\.start\.requires\.unknown_param\.check: unknown parameter "x"/,
      /^31 commands\.start\.requires\.template\.check: unknown tag "q1\.fill"/,
      /^31 commands\.start\.requires\.template\.check: unknown tag "q2\.fill"/,
      /^32 commands\.start\.requires\.eval\.check: "process\.exit\(1\)": unexpected "\(" after a complete condition/,
      /^34 commands\.start\.relations\.open\.check: "\(lo < hi": expected "\)" at the end/,
    ];
    assert.equal(p.length, expect.length, p.join('\n'));
    expect.forEach((re, i) => assert.match(p[i]!, re));
    assert.deepEqual(problems(`${plant}relations:\n  empty: { check: "" }\n  bad: { check: lo < hi, why: x }\n`), ['14 relations.empty.check: must not be empty', '15 relations.bad.why: unknown field']);
  });

  it('planta check names the file and line of a bad relation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-cond-'));
    try {
      const file = join(dir, 'plant.yaml');
      writeFileSync(file, `${plant}relations:\n  order: lo <= hii\n`);
      const r = await run(process.execPath, [planta, 'check', file]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /plant\.yaml:14:\d+ relations\.order\.check: unknown tag "hii"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('evaluates as written: precedence, short-circuit, functions', () => {
    const v = (text: string, tags: Record<string, number | boolean> = {}, params: Record<string, number | boolean> = {}) => evaluate(parseCondition(text), params, (t) => tags[t]);
    assert.equal(v('1 + 2 * 3 == 7'), true);
    assert.equal(v('(1 + 2) * 3 == 9'), true);
    assert.equal(v('10 - 2 - 3 == 5'), true);
    assert.equal(v('-2 < -1 and not false'), true);
    assert.equal(v('false and missing > 1'), false, 'the right side is not needed');
    assert.equal(v('a-b > 0', { 'a-b': 1 }), true, 'a tag name may contain "-"');
    assert.equal(v('sum(a, b, 3) == 6 and min(a, b) == 1 and max(a, b) == 2', { a: 1, b: 2 }), true);
    assert.equal(v('p{n}.fill + $x == 7', { 'p2.fill': 4 }, { n: 2, x: 3 }), true);
    assert.equal(v('1e3 == 1000 and 2.5 >= 2.5 and 1 != 2'), true);
    assert.throws(() => v('a < 1'), /the value of a is not known/);
  });

  it('property: any text either parses or is refused with a ConditionSyntaxError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: fc.constantFrom(...'ab1.{}$()<>=!+-*/, andornt\n'.split('')) }), (text) => {
        try {
          parseCondition(text);
        } catch (err) {
          assert.ok(err instanceof ConditionSyntaxError, String(err));
        }
      }),
      { numRuns: 3000 },
    );
    assert.throws(() => parseCondition(`${'('.repeat(200)}1${')'.repeat(200)}`), /nested too deeply/);
    assert.throws(() => parseCondition('a'.repeat(1001)), /longer than 1000 characters/);
  });
});
