/**
 * Display texts in Spanish and English (src/config/text.ts): a text may be a
 * string or { es, en } (es-AR for es); the configuration keeps the plain
 * (English) one for the journal, notifications and the audit trail, and the
 * texts given in both languages apart for the HMI; bad ones are refused at
 * their line, and `planta check` says so.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { run } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const device = `devices:\n  plc:\n    host: 127.0.0.1\n    scanGroups: { fast: 500ms }\n`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
  }
  return [];
}

describe('display texts in two languages', () => {
  it('takes a string or { es, en }: the plain text is the English, else the only one; both languages go to texts', () => {
    const config = parseConfig(
      `${device}tags:
  estop: { area: coil, address: 1, description: { es: "Parada de emergencia accionada", en: "Emergency stop pressed" } }
  level: { area: input, address: 0, description: { es-AR: "Nivel del reactor" } }
  plain: { area: input, address: 1, description: Plain words }
alarms:
  estop: { tag: estop, priority: critical, message: { en: "Emergency stop pressed", es: "Parada de emergencia accionada" } }
events:
  fill: { tag: estop, message: { es: "Reactor en carga aireada", en: "Reactor in aerated fill" } }
`,
      'x.yaml',
    );
    const tag = (n: string) => config.tags.find((t) => t.name === n)!;
    assert.equal(tag('estop').description, 'Emergency stop pressed');
    assert.equal(tag('level').description, 'Nivel del reactor');
    assert.equal(tag('plain').description, 'Plain words');
    assert.equal(config.alarms.estop!.message, 'Emergency stop pressed');
    assert.equal(config.events.fill!.message, 'Reactor in aerated fill');
    // Only the other language: the plain one is in every answer already.
    assert.deepEqual(config.texts, {
      tags: { estop: { description: { es: 'Parada de emergencia accionada' } } },
      alarms: { estop: { message: { es: 'Parada de emergencia accionada' } } },
      events: { fill: { message: { es: 'Reactor en carga aireada' } } },
    });
  });

  it('a configuration with plain strings only has no texts', () => {
    const config = parseConfig(`${device}tags:\n  t: { area: coil, address: 0, description: Pump }\n`, 'x.yaml');
    assert.equal(config.texts, undefined);
  });

  it('refuses bad ones at their line, with the reason', () => {
    const yaml = `${device}tags:
  a: { area: coil, address: 1, description: { fr: "Arrêt d'urgence" } }
  b: { area: coil, address: 2, description: { es: "Parada", es-AR: "Parada" } }
  c: { area: coil, address: 3, description: { es: 3 } }
  d: { area: coil, address: 4, description: {} }
  e: { area: coil, address: 5, description: [one, two] }
alarms:
  a: { tag: a, priority: low, message: { es: "", en: "Stop" } }
`;
    assert.deepEqual(problems(yaml), [
      '6:51 tags.a.description.fr: unknown language "fr" (languages: es, es-AR, en)',
      '7:68 tags.b.description.es-AR: give es or es-AR, not both',
      '8:51 tags.c.description.es: expected a text (a string)',
      '9:45 tags.d.description: expected a text in es (or es-AR) and/or en',
      '10:45 tags.e.description: expected a text, or { es: …, en: … } with a text per language',
      '12:46 alarms.a.message.es: expected a text, not an empty one',
    ]);
  });

  it('the shipped SBR plant has its tags, alarms, events, commands and phases in Spanish too', () => {
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    const texts = config.texts as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(texts.alarms!.estop, { message: { es: 'Parada de emergencia accionada' } });
    assert.equal(config.alarms.estop!.message, 'Emergency stop pressed');
    const missing = (section: string, field: string): string[] =>
      Object.entries((config as unknown as Record<string, Record<string, unknown>>)[section]!)
        .filter(([name]) => !(texts[section]?.[name] as Record<string, unknown> | undefined)?.[field])
        .map(([name]) => name);
    assert.deepEqual(missing('alarms', 'message'), []);
    assert.deepEqual(missing('events', 'message'), []);
    assert.deepEqual(missing('commands', 'label'), []);
    assert.deepEqual(config.tags.filter((t) => !(texts.tags![t.name] as Record<string, unknown> | undefined)?.description).map((t) => t.name), []);
    assert.equal(config.historian.cycles?.phases[1]?.name, 'Aeration', 'the plain name, which oxygen.phase names');
  });

  it('planta check refuses a bad text with its file, line and reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-text-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, `${device}tags:\n  a: { area: coil, address: 1, description: { de: "Not-Aus" } }\n`);
      const r = await run(process.execPath, [planta, 'check', file]);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /bad\.yaml:6:\d+ .*tags\.a\.description\.de: unknown language "de" \(languages: es, es-AR, en\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
