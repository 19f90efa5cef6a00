/**
 * No source file over 500 lines without a reason written at its top. A long
 * file is allowed when it says why in its first lines, with the marker
 * "Why this file is long:" followed by the reason (e.g. src/config/schema.ts:
 * the configuration reference is generated from it). Anything else that grows
 * past the limit is split along a seam it already has.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;
const FOLDERS = ['src', 'hmi/src', 'scripts'];
const MAX_LINES = 500;
/** The marker must appear within this many lines of the top (the file's leading comment). */
const HEAD_LINES = 30;
const MARKER = /Why this file is long:\s*\S/;

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    return e.isDirectory() ? walk(path) : [path];
  });
}

const files = FOLDERS.flatMap(walk).sort();
const lineCount = (text: string): number => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

test('the walk finds the source files', () => {
  assert.ok(files.includes('src/config/schema.ts') && files.some((f) => f.startsWith('hmi/src/')) && files.some((f) => f.startsWith('scripts/')));
});

test(`every source file over ${MAX_LINES} lines says at its top why it is long`, () => {
  const unexplained: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lines = lineCount(text);
    if (lines <= MAX_LINES) continue;
    if (!MARKER.test(text.split('\n').slice(0, HEAD_LINES).join('\n'))) unexplained.push(`${file} (${lines} lines)`);
  }
  assert.deepEqual(
    unexplained,
    [],
    `split these files, or write "Why this file is long: <reason>" in their first ${HEAD_LINES} lines`,
  );
});
