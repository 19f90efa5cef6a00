/**
 * The project's folder (where package.json, config/ and hmi/ are), found by
 * walking up from a module's location: the same answer from the TypeScript
 * sources (src/cli/…) and from the bundled server (dist/planta.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'planta') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no planta package.json above ${fileURLToPath(moduleUrl)}`);
    dir = up;
  }
}
