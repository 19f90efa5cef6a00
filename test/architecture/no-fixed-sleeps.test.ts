/**
 * No fixed sleeps to wait for a condition (docs/testing.md): a test waits
 * for what it is about with waitFor, or moves a clock of its own. A timed
 * pause that remains in test/ is a pace (a publisher's scan rate), a fault's
 * length (Redis down for 4 s), an age or a scripted slow reply, and says so
 * in a comment on its line or just above it; anything else fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;
/** Where the waiting helpers are defined (their own timers are the poll period of a condition wait). */
const HELPERS = new Set(['test/helpers/wait.ts', 'test/modbus/helpers.ts']);
/** A timed pause: the helpers sleep/delay, or a promise resolved by a timer. */
const PAUSE = /\b(?:sleep|delay)\(|setTimeout\((?:r|resolve)\s*,/;
/** What a comment calls a pause that is not a wait. */
const REASON = /\b(pace|not a wait|fault|outage|age|rhythm|scripted|length|flush)\b/i;

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    return e.isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The timed pauses of a file without a reason in a comment on their line or the two above, as FILE:LINE. */
export function unexplainedPauses(file: string, text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (!PAUSE.test(line) || /^\s*(export )?const \w+ = /.test(line)) return;
    const context = lines.slice(Math.max(0, i - 2), i + 1).filter((l) => l.includes('//') || /^\s*\*/.test(l)).join('\n');
    if (!REASON.test(context)) out.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return out;
}

test('the check finds a sleep that waits for a condition, and passes a pace that says so', () => {
  const bad = "await fetch(url);\nawait sleep(500);\nassert.equal(await read(), 1);\n";
  const pace = 'while (on) {\n  // A pace, not a wait: a scan every 10 ms.\n  await sleep(10);\n}\n';
  assert.deepEqual(unexplainedPauses('x.ts', bad), ['x.ts:2: await sleep(500);']);
  assert.deepEqual(unexplainedPauses('x.ts', pace), []);
  assert.deepEqual(unexplainedPauses('x.ts', 'await new Promise((r) => setTimeout(r, 300));\n'), ['x.ts:1: await new Promise((r) => setTimeout(r, 300));']);
});

test('no test sleeps for a fixed time to wait for a condition', () => {
  const found = walk('test')
    .filter((f) => !HELPERS.has(f) && f !== 'test/architecture/no-fixed-sleeps.test.ts')
    .flatMap((f) => unexplainedPauses(f, readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(found, [], 'wait for the condition (waitFor, an event) instead, or say in a comment why the pause is not a wait');
});
