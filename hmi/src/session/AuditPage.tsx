/**
 * The audit trail (engineer and admin): who did what, newest first, with a
 * word search and older pages. The entries are hash-chained on the server;
 * `planta audit verify` checks the chain.
 */
import { ReplayFromHere } from '../replay/ReplayBar.js';
import { useEffect, useState } from 'preact/hooks';
import { type AuditRow, adminApi } from '../shared/api.js';
import { useHmiState } from '../shared/context.js';
import { formatTimeZoned } from '../shared/format.js';
import { atLeast, session } from './session.js';
import { msg } from '../i18n/locale.js';

const PAGE = 100;

export function AuditPage() {
  const tz = useHmiState().timeZone;
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [text, setText] = useState('');
  const [applied, setApplied] = useState('');
  const [more, setMore] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const allowed = atLeast(session.value, 'engineer');

  const load = async (search: string, before?: number): Promise<void> => {
    setLoading(true);
    const r = await adminApi.audit({ search, limit: PAGE, ...(before !== undefined ? { before } : {}) });
    setLoading(false);
    if (r.kind !== 'ok') {
      setProblem(r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : msg().audit.noAnswer(r.message));
      return;
    }
    setProblem(null);
    setRows((old) => (before === undefined ? r.body : [...old, ...r.body]));
    setMore(r.body.length === PAGE);
  };

  useEffect(() => {
    if (allowed) void load(applied);
  }, [applied, allowed]);

  return (
    <main class="page audit-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.audit}</h1>
      {!allowed ? (
        <p class="empty">{msg().audit.forWhom}</p>
      ) : (
        <>
          <section class="panel filters" aria-label={msg().journal.search}>
            <form
              class="journal-search"
              onSubmit={(e) => {
                e.preventDefault();
                setApplied(text.trim());
              }}
            >
              <label class="filter filter-text">
                <span>{msg().audit.words}</span>
                <input type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
              </label>
              <button type="submit" class="cmd-button">
                {msg().journal.search}
              </button>
            </form>
          </section>
          <section class="panel" aria-labelledby="h-audit">
            <h2 id="h-audit">{applied ? msg().audit.matching(applied) : msg().audit.latest}</h2>
            <p class="caption">{msg().audit.caption(tz)}</p>
            {problem && (
              <p class="action-note is-error" role="alert">
                {problem}
              </p>
            )}
            {!loading && !problem && rows.length === 0 && <p class="empty">{msg().audit.none(applied)}</p>}
            {rows.length > 0 && (
              <table class="journal-table audit-table">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>{msg().audit.time}</th>
                    <th>{msg().audit.who}</th>
                    <th>{msg().audit.action}</th>
                    <th>{msg().audit.target}</th>
                    <th>{msg().audit.detail}</th>
                    <th>{msg().replay.column}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.seq} data-action={r.action}>
                      <td class="num faint">{r.seq}</td>
                      <td class="col-time num">{formatTimeZoned(r.ts, tz)}</td>
                      <td class="col-user">{r.actor}</td>
                      <td>
                        <strong>{r.action}</strong>
                      </td>
                      <td class="col-what">{r.target}</td>
                      <td class="col-source mono">{r.detail === 'null' ? '' : r.detail}</td>
                      <td class="col-replay">
                        <ReplayFromHere ts={r.ts} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {more && (
              <div class="journal-more">
                <button type="button" class="cmd-button" disabled={loading} onClick={() => void load(applied, rows[rows.length - 1]!.seq)}>
                  {msg().audit.older}
                </button>
              </div>
            )}
          </section>
        </>
      )}
    </main>
  );
}
