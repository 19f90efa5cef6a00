/**
 * Builds the HMI from the current sources into a folder of its own (with the
 * build's brotli and gzip copies), so a test never runs a stale hmi/dist and
 * test files running side by side do not empty each other's output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/** `relativeToHmi`: an output folder named as `npm run build:hmi` names hmi/dist, relative to hmi/ (default: a temporary folder). */
export function buildHmi(relativeToHmi?: string): string {
  const out = relativeToHmi === undefined ? mkdtempSync(join(tmpdir(), 'planta-hmi-')) : join(ROOT, 'hmi', relativeToHmi);
  // vite's exports map hides bin/vite.js from resolve(); its package.json is exported.
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'hmi/vite.config.ts', '--outDir', relativeToHmi ?? out, '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0 || !existsSync(join(out, 'index.html'))) throw new Error(`the HMI build failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}
