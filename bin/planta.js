#!/usr/bin/env node
// Runs the bundled server (dist/planta.mjs, built by `npm install`) while it
// is newer than every source file; otherwise the TypeScript sources through
// tsx's loader, so an edit never runs stale code and there is no build step
// to forget. PLANTA_FROM_SOURCE=1 always takes the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const bundle = new URL('dist/planta.mjs', root);

function newestSource() {
  const src = new URL('src/', root).pathname;
  let newest = 0;
  for (const f of readdirSync(src, { recursive: true })) newest = Math.max(newest, statSync(src + f).mtimeMs);
  return newest;
}

let main;
if (process.env.PLANTA_FROM_SOURCE !== '1' && existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource()) {
  ({ main } = await import(bundle.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
