/**
 * The manual stays true: every relative link in README.md and docs/ leads to
 * a file (and heading) that exists, nothing points into ../shared/ (a
 * user's clone does not have it), the README stays a short front door, and
 * every `planta …` command and `npm run …` script shown in code exists, and
 * the manual has each page the project promises, with what it is for.
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

test('every `npm run …` script shown in README.md and docs/ exists in package.json', () => {
  const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
  const missing: string[] = [];
  for (const page of pages) {
    const code = [...text(page).matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((m) => m[0]).join('\n');
    for (const m of code.matchAll(/npm run ([a-z][\w:-]*)/g)) if (!scripts.includes(m[1]!)) missing.push(`${page}: npm run ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});

/** The manual's pages (issue 24) and what each must hold. */
const MANUAL: Record<string, RegExp[]> = {
  'docs/architecture.md': [/```mermaid/, /## The bus by role/],
  'docs/configuration.md': [/## Every field\n\nGenerated from `src\/config\/schema.ts`/],
  'docs/operator-guide.md': [/planta/],
  'docs/http-api.md': [/GET/, /POST/],
  'docs/error-codes.md': [/PLANTA_/],
  'docs/security.md': [/./],
  'docs/distributed.md': [/Redis/, /PostgreSQL/, /systemd/, /failover|fails over/i],
  'docs/benchmarks.md': [/npm run bench:/],
  'docs/testing.md': [/## Peers/, /## CI/, /## Adding a test/],
  'docs/notifications.md': [/Gmail/, /Office 365/, /Postfix/, /Slack/],
};

test('the manual has every page, each with what it is for; the README is a front door with a screenshot and the two commands', () => {
  const wanting: string[] = [];
  for (const [page, musts] of Object.entries(MANUAL)) {
    if (!existsSync(join(ROOT, page))) wanting.push(`${page}: missing`);
    else for (const re of musts) if (!re.test(text(page))) wanting.push(`${page}: nothing matches ${re}`);
  }
  const readme = text('README.md');
  for (const re of [/!\[[^\]]*\]\(docs\/img\/[^)]+\.png\)/, /npm install && npm start/, /npm test/, /## What you see/, /## Where to go next/]) if (!re.test(readme)) wanting.push(`README.md: nothing matches ${re}`);
  assert.deepEqual(wanting, []);
});
