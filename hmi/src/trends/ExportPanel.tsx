/**
 * CSV export of the trend's pens: streamed from the server, with its
 * progress (the share of the period the rows have reached) and a Cancel
 * button; the file is saved at the end under the server's name.
 */
import { useRef, useState } from 'preact/hooks';
import { type ExportProgress, streamExport } from './export-model.js';
import { formatNumber } from '../shared/format.js';
import { msg } from '../i18n/locale.js';

export interface ExportChoice {
  label: string;
  url: string;
  /** The file name when the server gives none. */
  name: string;
}

type Run =
  | { status: 'idle' }
  | { status: 'running'; label: string; progress: ExportProgress }
  | { status: 'done'; fileName: string; rows: number; bytes: number }
  | { status: 'cancelled' }
  | { status: 'failed'; message: string };

/** Saves a Blob through a download link (the browser asks or saves, as it is set up). */
function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const size = (bytes: number): string => (bytes < 1_000_000 ? `${formatNumber(bytes / 1000, 1)}\u00a0kB` : `${formatNumber(bytes / 1_000_000, 1)}\u00a0MB`);

export function ExportPanel({ pens, exports }: { pens: readonly string[]; exports: readonly ExportChoice[] }) {
  const [run, setRun] = useState<Run>({ status: 'idle' });
  const abort = useRef<AbortController | null>(null);
  const running = run.status === 'running';

  const start = async (c: ExportChoice): Promise<void> => {
    const ctl = new AbortController();
    abort.current = ctl;
    setRun({ status: 'running', label: c.label, progress: { bytes: 0, rows: 0, fraction: 0 } });
    const r = await streamExport({ url: c.url, fallbackName: c.name, signal: ctl.signal, onProgress: (progress) => setRun({ status: 'running', label: c.label, progress }) });
    abort.current = null;
    if (r.kind === 'done') {
      saveBlob(r.blob, r.fileName);
      setRun({ status: 'done', fileName: r.fileName, rows: r.rows, bytes: r.bytes });
    } else setRun(r.kind === 'cancelled' ? { status: 'cancelled' } : { status: 'failed', message: r.message });
  };

  return (
    <section class="panel export-panel" aria-labelledby="h-export">
      <h2 id="h-export">{msg().exports.title}</h2>
      <p class="caption">{msg().exports.caption}</p>
      <div class="export-buttons">
        {exports.map((c) => (
          <button key={c.label} type="button" class="cmd-button" disabled={running || pens.length === 0} onClick={() => void start(c)}>
            {c.label}
          </button>
        ))}
      </div>
      {run.status === 'running' && (
        <div class="export-progress">
          <progress max={1} value={run.progress.fraction ?? undefined} aria-label={msg().exports.progress} />
          <span role="status" class="num">
            {run.progress.fraction === undefined ? '' : msg().exports.ofPeriod(formatNumber(run.progress.fraction * 100, 0))}
            {msg().exports.rows(formatNumber(run.progress.rows, 0), size(run.progress.bytes))}
          </span>
          <button type="button" class="cmd-button" onClick={() => abort.current?.abort()}>
            {msg().common.cancel}
          </button>
        </div>
      )}
      {run.status === 'done' && (
        <p class="action-note" role="status">
          <span aria-hidden="true">✓ </span>
          {msg().exports.saved(run.fileName, formatNumber(run.rows, 0), size(run.bytes))}
        </p>
      )}
      {run.status === 'cancelled' && (
        <p class="action-note" role="status">
          {msg().exports.cancelled}
        </p>
      )}
      {run.status === 'failed' && (
        <p class="action-note is-error" role="alert">
          <span aria-hidden="true">✕ </span>
          {msg().exports.failed(run.message)}
        </p>
      )}
    </section>
  );
}
