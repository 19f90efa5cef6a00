/**
 * CSV export of raw samples, streamed: the range is read a window at a time
 * (all tags), merged by time, and written as text chunks, so a month of
 * data never sits in memory at once.
 *
 *   time,<tag> [<unit>],<tag> quality,...
 *   2026-11-01T00:00:00.000Z,42.5,Good,,
 *
 * One row per time at which any tag has a sample; a tag without a sample
 * at that time has empty cells. The quality is the OPC UA name.
 */
import { QUALITIES } from '../tags/quality.js';
import type { Samples } from './codec.js';

export interface ExportColumn {
  tag: string;
  unit: string;
}

export interface RawReader {
  readRaw(tag: string, from: number, to: number): Promise<Samples>;
}

/** RFC 4180: quote a cell holding a comma, quote or line break. */
export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(columns: readonly ExportColumn[]): string {
  const cells = ['time'];
  for (const c of columns) cells.push(csvCell(c.unit ? `${c.tag} [${c.unit}]` : c.tag), csvCell(`${c.tag} quality`));
  return `${cells.join(',')}\r\n`;
}

/** The CSV text in chunks of about `rowsPerChunk` rows; reads `windowMs` of every tag at a time. */
export async function* exportCsv(
  reader: RawReader,
  columns: readonly ExportColumn[],
  from: number,
  to: number,
  { windowMs = 6 * 3_600_000, rowsPerChunk = 2000 }: { windowMs?: number; rowsPerChunk?: number } = {},
): AsyncGenerator<string> {
  yield csvHeader(columns);
  const empty = ',,';
  for (let w = from; w < to; w += windowMs) {
    const end = Math.min(to, w + windowMs);
    const series: Samples[] = [];
    for (const c of columns) series.push(await reader.readRaw(c.tag, w, end));
    const pos = series.map(() => 0);
    let out = '';
    let rows = 0;
    for (;;) {
      let t = Infinity;
      for (let k = 0; k < series.length; k++) if (pos[k]! < series[k]!.n && series[k]!.ts[pos[k]!]! < t) t = series[k]!.ts[pos[k]!]!;
      if (t === Infinity) break;
      let line = new Date(t).toISOString();
      for (let k = 0; k < series.length; k++) {
        const s = series[k]!;
        const i = pos[k]!;
        if (i < s.n && s.ts[i] === t) {
          const v = s.v[i]!;
          line += `,${Number.isFinite(v) ? String(v) : ''},${QUALITIES[s.q[i]!] ?? ''}`;
          pos[k] = i + 1;
        } else {
          line += empty;
        }
      }
      out += `${line}\r\n`;
      if (++rows === rowsPerChunk) {
        yield out;
        out = '';
        rows = 0;
      }
    }
    if (out) yield out;
  }
}
