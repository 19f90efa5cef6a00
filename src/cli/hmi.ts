/** Finds the built HMI, building it once if it is missing (a fresh checkout where `npm install` skipped it). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from '../util/log.js';
import { projectRoot } from '../util/root.js';

const root = projectRoot(import.meta.url);
export const HMI_DIST = join(root, 'hmi', 'dist');

export function ensureHmiBuilt(log: Logger): string | undefined {
  if (existsSync(join(HMI_DIST, 'index.html'))) return HMI_DIST;
  let vite: string;
  try {
    // Vite 8 exports no bin path: find it beside its package.json.
    vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    log.warn('the HMI is not built and vite is not installed: run `npm install`; the API works meanwhile');
    return undefined;
  }
  log.info('building the HMI once (hmi/dist)…');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', join(root, 'hmi', 'vite.config.ts')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(join(HMI_DIST, 'index.html'))) {
    log.error('the HMI build failed; the API works meanwhile');
    return undefined;
  }
  return HMI_DIST;
}
