/**
 * A CSV export streamed from the server, without any screen: progress as
 * the share of the period reached by the time in the last complete row
 * (the server names the period in X-Planta-Range), the file name from
 * Content-Disposition, and the download itself — read chunk by chunk,
 * cancellable, kept as a Blob to save (ExportPanel saves it).
 */

/** "1764000000000-1764086400000" → the period; undefined when the header is missing or malformed. */
export function readRangeHeader(h: string | null): { from: number; to: number } | undefined {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(h ?? '');
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  return to > from ? { from, to } : undefined;
}

/** The file name a Content-Disposition header gives (filename* first), or the fallback. */
export function fileNameFrom(h: string | null, fallback: string): string {
  if (h) {
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(h);
    if (star) {
      try {
        return clean(decodeURIComponent(star[1]!.trim()), fallback);
      } catch {
        // a malformed escape: try the plain name
      }
    }
    const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(h);
    if (quoted) return clean(quoted[1]!.replace(/\\(.)/g, '$1'), fallback);
    const bare = /filename\s*=\s*([^;\s]+)/.exec(h);
    if (bare) return clean(bare[1]!, fallback);
  }
  return fallback;
}

/** No folders in a file name. */
const clean = (name: string, fallback: string): string => name.replace(/^.*[/\\]/, '').trim() || fallback;

/**
 * Follows the CSV text as it arrives: counts the complete rows after the
 * header and reads the time (first column, ISO) of the last one.
 */
export class CsvProgress {
  rows = 0;
  lastTime: number | undefined;
  private tail = '';
  private header = true;

  constructor(private readonly range: { from: number; to: number } | undefined) {}

  feed(text: string): void {
    const all = this.tail + text;
    const end = all.lastIndexOf('\n');
    if (end < 0) {
      this.tail = all;
      return;
    }
    this.tail = all.slice(end + 1);
    const lines = all.slice(0, end).split('\n');
    for (const line of lines) {
      if (this.header) {
        this.header = false;
        continue;
      }
      if (line.trim() !== '') this.rows++;
    }
    for (let i = lines.length - 1; i >= 0; i--) {
      const t = Date.parse(lines[i]!.split(',', 1)[0]!.replace(/^"|"$/g, ''));
      if (Number.isFinite(t)) {
        this.lastTime = t;
        break;
      }
    }
  }

  /** The share of the period reached (0..1), undefined when the period is not known. */
  get fraction(): number | undefined {
    if (!this.range) return undefined;
    if (this.lastTime === undefined) return 0;
    const f = (this.lastTime - this.range.from) / (this.range.to - this.range.from);
    return Math.min(1, Math.max(0, f));
  }
}

export interface ExportProgress {
  bytes: number;
  rows: number;
  /** 0..1, undefined without X-Planta-Range. */
  fraction: number | undefined;
}

export type ExportResult =
  | { kind: 'done'; blob: Blob; fileName: string; rows: number; bytes: number }
  | { kind: 'cancelled' }
  | { kind: 'failed'; message: string };

export interface ExportOptions {
  url: string;
  fallbackName: string;
  signal: AbortSignal;
  onProgress(p: ExportProgress): void;
  fetch?: typeof fetch;
}

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string }; code?: string; message?: string };
    const e = body.error ?? body;
    if (e.message) return e.code ? `${e.message} [${e.code}]` : e.message;
  } catch {
    // not JSON
  }
  return `the server answered ${res.status} ${res.statusText}`.trim();
}

/** Streams the export: progress on every chunk, the whole file at the end as a Blob. */
export async function streamExport(o: ExportOptions): Promise<ExportResult> {
  const doFetch = o.fetch ?? fetch;
  try {
    const res = await doFetch(o.url, { signal: o.signal, credentials: 'same-origin', headers: { Accept: 'text/csv' } });
    if (!res.ok) return { kind: 'failed', message: await errorText(res) };
    if (!res.body) return { kind: 'failed', message: 'the answer has no body' };
    const progress = new CsvProgress(readRangeHeader(res.headers.get('X-Planta-Range')));
    const fileName = fileNameFrom(res.headers.get('Content-Disposition'), o.fallbackName);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parts: Uint8Array<ArrayBuffer>[] = [];
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      bytes += value.byteLength;
      progress.feed(decoder.decode(value, { stream: true }));
      o.onProgress({ bytes, rows: progress.rows, fraction: progress.fraction });
    }
    progress.feed(`${decoder.decode()}\n`);
    o.onProgress({ bytes, rows: progress.rows, fraction: progress.fraction === undefined ? undefined : 1 });
    return { kind: 'done', blob: new Blob(parts, { type: 'text/csv' }), fileName, rows: progress.rows, bytes };
  } catch (err) {
    if (o.signal.aborted) return { kind: 'cancelled' };
    return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
}
