/**
 * The error catalogue (src/errors.ts) lists every PLANTA_* code that src/
 * and hmi/src use, and only those; docs/error-codes.md says what the
 * catalogue says (scripts/error-codes.ts, or PLANTA_UPDATE_DOCS=1, rewrites
 * it). Names read from the environment (env.PLANTA_…) are settings, not codes.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCodeReference } from '../../scripts/error-codes.js';
import { framed, generatedPart } from '../../scripts/generated-docs.js';
import { AREAS, CATALOGUE, PlantaError, statusesOf } from '../../src/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The catalogue itself: naming a code there is not using it. */
const CATALOGUE_FILES = /^src\/errors(\.ts$|\/)/;

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => `${dir}/${f}`)
    .filter((f) => !CATALOGUE_FILES.test(f));

/** Every PLANTA_… name in src/ and hmi/src, with the files naming it; a name ending in "_" is a prefix (PLANTA_AUDIT_KEY_*). */
function namesInUse(): { codes: Map<string, string[]>; environment: Set<string> } {
  const named = new Map<string, string[]>();
  const environment = new Set<string>();
  for (const file of [...sources('src'), ...sources('hmi/src')]) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const [name] of text.matchAll(/PLANTA_[A-Z0-9_]+/g)) if (!name.endsWith('_')) named.set(name, [...new Set([...(named.get(name) ?? []), file])]);
    for (const [, name] of text.matchAll(/\benv\.(PLANTA_[A-Z0-9_]+)/g)) environment.add(name!);
  }
  for (const name of environment) named.delete(name);
  return { codes: named, environment };
}

const catalogued = new Set(Object.keys(CATALOGUE));

test('every PLANTA_* code used in src/ and hmi/src is in the catalogue', () => {
  const { codes } = namesInUse();
  assert.ok(codes.size > 100, `found ${codes.size} codes: the scan reads the sources`);
  const missing = [...codes].filter(([code]) => !catalogued.has(code)).map(([code, files]) => `${code} (${files.join(', ')})`);
  assert.deepEqual(missing, [], 'used but not catalogued: add them to an area of src/errors/, with the HTTP status they are answered with and their meaning');
});

test('every code of the catalogue is used somewhere, and none is the name of an environment variable', () => {
  const { codes, environment } = namesInUse();
  assert.deepEqual([...catalogued].filter((code) => !codes.has(code)), [], 'catalogued but used nowhere: remove them from src/errors/');
  assert.deepEqual([...catalogued].filter((code) => environment.has(code)), [], 'these are read from the environment: settings, not error codes');
});

test('each code is in one area, with a one-line meaning and an HTTP error status', () => {
  const seen = new Map<string, string>();
  for (const area of AREAS) {
    for (const [code, entry] of Object.entries(area.codes)) {
      assert.equal(seen.get(code), undefined, `${code} is in "${seen.get(code)}" and in "${area.title}"`);
      seen.set(code, area.title);
      assert.match(code, /^PLANTA_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      assert.match(entry.meaning, /^\S[^\n]*\.$|^\S[^\n]*\?$/, `${code}: one line, a sentence`);
      for (const status of statusesOf(entry)) assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status} is not an error status`);
    }
  }
  assert.equal(seen.size, catalogued.size, 'the catalogue is the areas put together');
});

test('a PlantaError takes its status from the catalogue, or the one of its case', () => {
  assert.equal(new PlantaError('PLANTA_AUTH_REQUIRED', 'sign in first').statusCode, 401);
  assert.equal(new PlantaError('PLANTA_COMMAND_BAD_TOKEN', 'token: no token').statusCode, 400);
  assert.equal(new PlantaError('PLANTA_COMMAND_BAD_TOKEN', 'token: unknown', { status: 409, field: 'token' }).statusCode, 409);
  const quiet = new PlantaError('PLANTA_BUS_CLOSED', 'the bus is closed');
  assert.ok(!('statusCode' in quiet) && !('field' in quiet), 'an error no request is answered with has no status (nor a field it was not given)');
});

test('docs/error-codes.md lists every code of the catalogue as the catalogue says', () => {
  const reference = errorCodeReference();
  for (const area of AREAS) assert.match(reference, new RegExp(`^## ${area.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  for (const code of catalogued) assert.ok(reference.includes(`| \`${code}\` |`), `a row of ${code}`);
  const part = generatedPart('error-codes.md', 'error-codes');
  if (process.env.PLANTA_UPDATE_DOCS === '1') part.write(reference);
  else assert.equal(part.current, framed(reference), 'docs/error-codes.md differs from src/errors.ts (node --import tsx scripts/error-codes.ts, or PLANTA_UPDATE_DOCS=1, rewrites it)');
});
