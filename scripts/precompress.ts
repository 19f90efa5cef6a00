/**
 * Writes brotli (.br) and gzip (.gz) siblings of a built HMI's text files, so
 * the web server sends them as they are (@fastify/static `preCompressed`)
 * instead of compressing on every request or not at all. Run by the Vite
 * build (hmi/vite.config.ts); a variant that would not be smaller is not
 * written, and the server then sends the file itself.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** What a browser loads: the page, scripts, styles, pictures drawn as text. Source maps only open in a debugger. */
const TEXT = /\.(?:html|js|css|svg|json|txt)$/;

export interface Compressed {
  file: string;
  bytes: number;
  br?: number;
  gz?: number;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

export function precompress(dir: string): Compressed[] {
  return files(dir)
    .filter((f) => TEXT.test(f))
    .map((file) => {
      const raw = readFileSync(file);
      const out: Compressed = { file, bytes: raw.length };
      // Built once, sent many times: the slowest, smallest settings are worth it.
      const br = brotliCompressSync(raw, {
        params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
      });
      const gz = gzipSync(raw, { level: 9 });
      if (br.length < raw.length) {
        writeFileSync(`${file}.br`, br);
        out.br = br.length;
      }
      if (gz.length < raw.length) {
        writeFileSync(`${file}.gz`, gz);
        out.gz = gz.length;
      }
      return out;
    });
}
