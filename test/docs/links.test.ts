/**
 * The manual stays true: every relative link in README.md and docs/ leads to
 * a file (and heading) that exists, nothing points into ../shared/ (a
 * user's clone does not have it), the README stays a short front door, and
 * every `planta …` command shown in code exists in the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (page: string): string => readFileSync(join(ROOT, page), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');

function anchors(page: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of text(page).split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) out.add(slug(m[1]!));
  }
  return out;
}

/** Markdown outside fenced blocks and inline code (links in code are examples, not links). */
const prose = (md: string): string => md.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');

test('every relative link in README.md and docs/ resolves, headings included', () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const m of prose(text(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [path, hash] = target.split('#') as [string, string | undefined];
      const file = path === '' ? page : relative(ROOT, join(ROOT, dirname(page), path));
      if (!existsSync(join(ROOT, file))) broken.push(`${page}: ${target} (no file ${file})`);
      else if (hash && file.endsWith('.md') && !anchors(file).has(hash)) broken.push(`${page}: ${target} (no heading #${hash} in ${file})`);
    }
  }
  assert.deepEqual(broken, []);
});

test('nothing in README.md or docs/ points into ../shared/', () => {
  assert.deepEqual(pages.filter((p) => text(p).includes('../shared')), []);
});

test('the README stays a short front door (at most 200 lines)', () => {
  const lines = text('README.md').split('\n').length;
  assert.ok(lines <= 200, `README.md has ${lines} lines`);
});

/** The words after `planta` in code, up to the first flag, placeholder or value. */
function commandsShown(md: string): string[][] {
  const code = [...md.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((m) => m[0]);
  const out: string[][] = [];
  for (const c of code) {
    for (const m of c.matchAll(/(?:^|[\s(`$])planta((?: [a-z][a-z-]*)+)/g)) out.push(m[1]!.trim().split(' '));
  }
  return out;
}

test('every `planta …` command shown in README.md and docs/ exists', () => {
  const program = buildProgram();
  const missing: string[] = [];
  for (const page of pages) {
    for (const words of commandsShown(text(page))) {
      let cmd: Command = program;
      for (const w of words) {
        if (cmd.commands.length === 0) break; // the rest are the command's arguments
        const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
        if (!sub) {
          missing.push(`${page}: planta ${words.join(' ')} ("${w}" is not a command of "${cmd.name()}")`);
          break;
        }
        cmd = sub;
      }
    }
  }
  assert.deepEqual(missing, []);
});
