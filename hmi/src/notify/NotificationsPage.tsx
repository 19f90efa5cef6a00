/**
 * The Notifications page (#/notifications, engineers): each channel with
 * where it sends, who is on call, what waits in the outbox and, while it
 * fails, why and when it tries again, with a button sending a test message;
 * then the log of what was sent, to whom, when, and the failures, newest
 * first. Outcomes are words with a mark, never colour alone.
 */
import { useEffect, useState } from 'preact/hooks';
import { notifyApi } from '../shared/api.js';
import type { CallResult } from '../shared/call-result.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTimeZoned } from '../shared/format.js';
import { atLeast, session } from '../session/session.js';
import type { ChannelStatus, LogRow, NotificationStatus } from './notify-api.js';
import './notify.css';
import { msg } from '../i18n/locale.js';

const PAGE = 100;
const REFRESH_MS = 10_000;

const OUTCOME: Record<LogRow['outcome'], { mark: string; word: string }> = {
  sent: { mark: '✓', word: 'sent' },
  failed: { mark: '✕', word: 'failed, will retry' },
  rejected: { mark: '⊘', word: 'refused by the receiver' },
  dropped: { mark: '⚠', word: 'dropped (outbox full)' },
};

const problemOf = (r: Exclude<CallResult<unknown>, { kind: 'ok' }>): string =>
  r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : msg().audit.noAnswer(r.message);

function ChannelRow({ c, tz, onSent }: { c: ChannelStatus; tz: string; onSent: () => void }) {
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const test = async (): Promise<void> => {
    setBusy(true);
    const r = await notifyApi.test(c.name);
    setBusy(false);
    setNote(r.kind === 'ok' ? { ok: true, text: msg().notify.sentNote(r.body.subject) } : { ok: false, text: problemOf(r) });
    // The test is in the log, sent or failed.
    onSent();
  };
  return (
    <tr data-channel={c.name}>
      <th scope="row">{c.name}</th>
      <td>{c.kind === 'mail' ? msg().notify.mail : msg().notify.webhook}</td>
      <td class="notify-target">{c.target}</td>
      <td>{c.onCall ?? '—'}</td>
      <td class="num">{c.queued}</td>
      <td>
        {c.failing ? (
          <span class="notify-failing">
            ✕ {msg().notify.failing(c.failing.attempt, c.failing.error, formatDateTimeZoned(c.failing.nextTry, tz))}
          </span>
        ) : (
          <span>✓ {msg().notify.working}</span>
        )}
      </td>
      <td>
        <button type="button" class="cmd-button" disabled={busy} aria-label={msg().notify.testThrough(c.name)} onClick={() => void test()}>
          {busy ? msg().notify.sending : msg().notify.sendTest}
        </button>
        {note && (
          <p class={`action-note ${note.ok ? '' : 'is-error'}`} role={note.ok ? 'status' : 'alert'}>
            {note.text}
          </p>
        )}
      </td>
    </tr>
  );
}

export function NotificationsPage() {
  const tz = useHmiState().timeZone;
  const allowed = atLeast(session.value, 'engineer');
  const [status, setStatus] = useState<NotificationStatus | null>(null);
  const [older, setOlder] = useState<LogRow[]>([]);
  const [more, setMore] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const load = async (): Promise<void> => {
    const r = await notifyApi.status({ limit: PAGE });
    if (r.kind !== 'ok') {
      setProblem(problemOf(r));
      return;
    }
    setProblem(null);
    setStatus(r.body);
    setMore((m) => m || r.body.log.length === PAGE);
  };
  const loadOlder = async (): Promise<void> => {
    const log = [...(status?.log ?? []), ...older];
    const r = await notifyApi.status({ limit: PAGE, before: log[log.length - 1]?.id ?? 0 });
    if (r.kind !== 'ok') return setProblem(problemOf(r));
    setOlder((o) => [...o, ...r.body.log]);
    setMore(r.body.log.length === PAGE);
  };

  useEffect(() => {
    if (!allowed) return;
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [allowed]);

  const log = [...(status?.log ?? []), ...older.filter((o) => !status?.log.some((l) => l.id === o.id))];
  return (
    <main class="page notify-page" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.notifications}</h1>
      {!allowed ? (
        <p class="empty">{msg().notify.forWhom}</p>
      ) : (
        <>
          {problem && (
            <p class="action-note is-error" role="alert">
              {problem}
            </p>
          )}
          <section class="panel" aria-labelledby="h-channels">
            <h2 id="h-channels">{msg().notify.channels}</h2>
            <p class="caption">{msg().notify.channelsCaption}</p>
            {status && status.channels.length === 0 && <p class="empty">{msg().notify.noChannel}</p>}
            {status && status.channels.length > 0 && (
              <table class="journal-table notify-channels">
                <thead>
                  <tr>
                    <th scope="col">{msg().notify.channel}</th>
                    <th scope="col">{msg().notify.kind}</th>
                    <th scope="col">{msg().notify.sendsTo}</th>
                    <th scope="col">{msg().notify.onCall}</th>
                    <th scope="col">{msg().notify.waiting}</th>
                    <th scope="col">{msg().users.state}</th>
                    <th scope="col">{msg().notify.test}</th>
                  </tr>
                </thead>
                <tbody>
                  {status.channels.map((c) => (
                    <ChannelRow key={c.name} c={c} tz={tz} onSent={() => void load()} />
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section class="panel" aria-labelledby="h-log">
            <h2 id="h-log">{msg().notify.log}</h2>
            <p class="caption">{msg().notify.logCaption(tz)}</p>
            {status && log.length === 0 && <p class="empty">{msg().notify.nothingSent}</p>}
            {log.length > 0 && (
              <table class="journal-table notify-log" aria-label={msg().notify.logLabel}>
                <thead>
                  <tr>
                    <th scope="col">{msg().audit.time}</th>
                    <th scope="col">{msg().notify.channel}</th>
                    <th scope="col">{msg().notify.to}</th>
                    <th scope="col">{msg().journal.what}</th>
                    <th scope="col">{msg().notify.subject}</th>
                    <th scope="col">{msg().notify.outcome}</th>
                  </tr>
                </thead>
                <tbody>
                  {log.map((r) => (
                    <tr key={r.id} data-outcome={r.outcome}>
                      <td class="num">{formatDateTimeZoned(r.at, tz)}</td>
                      <td>{r.channel}</td>
                      <td class="notify-target">{r.to || '—'}</td>
                      <td>
                        {msg().notify.kinds[r.kind] ?? r.kind}
                        {r.alarm ? (
                          <>
                            {' '}
                            <a href={`#/alarms/${encodeURIComponent(r.alarm)}`}>{r.alarm}</a>
                          </>
                        ) : null}
                      </td>
                      <td>
                        {r.late && <strong class="notify-late">{msg().notify.late} </strong>}
                        {r.subject}
                      </td>
                      <td class={`notify-outcome is-${r.outcome}`}>
                        {OUTCOME[r.outcome].mark} {msg().notify.outcomes[r.outcome] ?? OUTCOME[r.outcome].word}
                        {r.attempt > 1 ? msg().notify.tryN(r.attempt) : ''}
                        {r.error && <div class="faint">{r.error}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {more && (
              <button type="button" class="cmd-button" onClick={() => void loadOlder()}>
                {msg().audit.older}
              </button>
            )}
          </section>
        </>
      )}
    </main>
  );
}
