/**
 * A dashboard bar's `limitsWhen:` is a condition in the language of
 * commands' preconditions (issue 21.3): `planta check` accepts a tag, a
 * comparison or a combination, and reports a bad one at its line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { run } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;

const plant = (bars: string[]): string => `devices:
  plc: { host: 127.0.0.1, scanGroups: { fast: 1s } }
  other: { host: 127.0.0.2, scanGroups: { fast: 1s } }
tags:
  fill: { device: plc, area: coil, address: 1 }
  aeration: { device: plc, area: coil, address: 2 }
  oxygen: { device: plc, area: input, address: 1, scale: 0.01 }
  level: { device: other, area: input, address: 0 }
  name: { device: plc, area: holding, address: 20, type: string, length: 4 }
pages:
  overview:
    kind: dashboard
    title: Plant
    bars:
${bars.map((b) => `      - { tag: oxygen, low: 2, high: 8, limitsWhen: "${b}" }`).join('\n')}
`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
  }
  return [];
}

describe('limitsWhen: a condition', () => {
  it('takes a tag, a comparison or a combination, over tags of any device', () => {
    const good = ['aeration', 'fill or aeration', 'aeration and level > 20', 'not fill', 'oxygen >= 0 and aeration == true'];
    const c = parseConfig(plant(good), 'x.yaml');
    const page = c.pages.overview!;
    assert.equal(page.kind, 'dashboard');
    assert.deepEqual(page.kind === 'dashboard' ? page.bars.map((b) => b.limitsWhen) : [], good);
  });

  it('reports each bad condition at its line, saying what is wrong', () => {
    const p = problems(plant(['aeraton', 'fill = true', 'level + 1', 'name == 3', 'fill < 2', '$n > 1', 'process.exit(1)']));
    const expect = [
      /^15 pages\.overview\.bars\.0\.limitsWhen: "aeraton": unknown tag "aeraton"$/,
      /^16 pages\.overview\.bars\.1\.limitsWhen: "fill = true": unexpected "= true" at character 6$/,
      /^17 pages\.overview\.bars\.2\.limitsWhen: "level \+ 1" is a number: a condition must be true or false/,
      /^18 pages\.overview\.bars\.3\.limitsWhen: "name == 3": "name" is a string/,
      /^19 pages\.overview\.bars\.4\.limitsWhen: "fill < 2": "<" needs numbers, and fill is true\/false$/,
      /^20 pages\.overview\.bars\.5\.limitsWhen: "\$n > 1": \$n or \{n\}: only a command's conditions can use its parameters$/,
      /^21 pages\.overview\.bars\.6\.limitsWhen: "process\.exit\(1\)": unexpected "\(" after a complete condition$/,
    ];
    assert.equal(p.length, expect.length, p.join('\n'));
    expect.forEach((re, i) => assert.match(p[i]!, re));
  });

  it('planta check names the file and line of a bad limitsWhen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-limits-when-'));
    try {
      const file = join(dir, 'plant.yaml');
      writeFileSync(file, plant(['aeration', 'fill or aeratoin']));
      const r = await run(process.execPath, [planta, 'check', file]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /plant\.yaml:16:\d+ pages\.overview\.bars\.1\.limitsWhen: "fill or aeratoin": unknown tag "aeratoin"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the shipped plant: oxygen limits only during aeration', () => {
    const c = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    const page = c.pages.overview!;
    const oxygen = page.kind === 'dashboard' ? page.bars.find((b) => b.tag === 'reactor.oxygen') : undefined;
    assert.equal(oxygen?.limitsWhen, 'phase.aeration');
  });
});
