/**
 * Builds the browser HMI (hmi/ → hmi/dist). Preact's automatic JSX runtime
 * through Vite's own transformer (oxc), so no Babel and no React.
 * `npm run build:hmi` builds it; `npx vite --config hmi/vite.config.ts`
 * serves it with live reload, proxying /api to a running `planta start`.
 * The build ends by writing brotli and gzip copies of the text files
 * (scripts/precompress.ts), which the web server sends as they are.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, defineConfig } from 'vite';
import { precompress } from '../scripts/precompress.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function precompressed(): Plugin {
  let outDir = '';
  return {
    name: 'planta-precompress',
    apply: 'build',
    // outDir as configured is relative to the root (hmi/), not to the working directory.
    configResolved: (c) => void (outDir = resolve(c.root, c.build.outDir)),
    closeBundle: () => void precompress(outDir),
  };
}

export default defineConfig({
  root: here,
  plugins: [precompressed()],
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 200,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
