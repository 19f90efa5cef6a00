/**
 * Builds the browser HMI (hmi/ → hmi/dist). Preact's automatic JSX runtime
 * through Vite's own transformer (oxc), so no Babel and no React.
 * `npm run build:hmi` builds it; `npx vite --config hmi/vite.config.ts`
 * serves it with live reload, proxying /api to a running `planta start`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
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
