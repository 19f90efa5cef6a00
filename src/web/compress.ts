/**
 * Compressed JSON for the API: an answer of /api/* bigger than THRESHOLD
 * bytes goes out as brotli or gzip, whichever the browser accepts first
 * (a tag list or a week of history shrinks five- to tenfold). Register it
 * before any route: it marks the routes as they are added.
 *
 * Left alone, on purpose:
 * - /api/stream: Server-Sent Events must reach the browser the moment they
 *   are written; a compressor would hold them back until its buffer fills.
 *   (The stream route hijacks its socket anyway; this keeps it that way if it
 *   ever stops.)
 * - the HMI's files: the build precompresses them (scripts/precompress.ts)
 *   and @fastify/static picks the .br or .gz; compressing them again per
 *   request would only spend CPU.
 * - /metrics, /healthz, /readyz: read by scrapers and probes, small.
 */
import fastifyCompress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/** Below this, compressing costs more than the bytes it saves. */
export const COMPRESS_THRESHOLD = 1024;

/** Routes whose answers may be compressed: the JSON API, never its event stream. */
export const compressible = (url: string): boolean => url.startsWith('/api/') && !url.startsWith('/api/stream');

export async function registerApiCompression(app: FastifyInstance): Promise<void> {
  // Before the plugin's own onRoute hook, which compresses every route not marked `compress: false`.
  app.addHook('onRoute', (route) => {
    if (!compressible(route.url)) route.compress = false;
  });
  await app.register(fastifyCompress, { global: true, threshold: COMPRESS_THRESHOLD, encodings: ['br', 'gzip'] });
}
