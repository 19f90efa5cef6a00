/**
 * Bundles the server (src/cli/main.ts) into dist/planta.mjs with esbuild, so
 * `planta` runs as plain JavaScript: no TypeScript loader thread (tsx's
 * costs ~40 MB of memory per process) and a faster start. Packages stay
 * external (node_modules). bin/planta.js uses the bundle only while it is
 * newer than every source file, and the sources through tsx otherwise.
 */
import { basename, dirname, extname } from 'node:path';
import { build } from 'esbuild';

export async function bundle(entry, outfile) {
  await build({
    entryPoints: [entry],
    // Code split at each import(): what only some commands need (the OPC UA server and its node-opcua, the Sparkplug
    // edge node) goes in chunks loaded when used, not at every start of every command.
    outdir: dirname(outfile),
    entryNames: basename(outfile, extname(outfile)),
    outExtension: { '.js': extname(outfile) },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  await bundle(`${root}src/cli/main.ts`, `${root}dist/planta.mjs`);
}
