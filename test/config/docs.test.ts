/**
 * docs/configuration.md stays the reference of the configuration: its
 * tables are generated from the schema (scripts/config-docs.ts), every field
 * has a description, and the page holds what the schema says today
 * (PLANTA_UPDATE_DOCS=1 rewrites it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configReference } from '../../scripts/config-docs.js';
import { framed, generatedPart } from '../../scripts/generated-docs.js';
import { SECTIONS } from '../../src/config/schema.js';

test('docs/configuration.md lists every field of the schema as the schema says', () => {
  const reference = configReference();
  for (const section of SECTIONS) assert.match(reference, new RegExp(`^### ${section}$`, 'm'), `a table of ${section}`);
  for (const field of ['`linkLoss`', '`writable.roles`', '`limits.bodyBytes`', '`cycles.phases[].elapsed`', '`steps[].pulse`', '`bindings[].as`', '`relations.NAME`']) {
    assert.ok(reference.includes(`| ${field} |`), `a row of ${field}`);
  }
  const part = generatedPart('configuration.md', 'config-reference');
  if (process.env.PLANTA_UPDATE_DOCS === '1') part.write(reference);
  else assert.equal(part.current, framed(reference), 'docs/configuration.md: the reference differs from src/config/schema.ts (node --import tsx scripts/config-docs.ts, or PLANTA_UPDATE_DOCS=1, rewrites it)');
});
