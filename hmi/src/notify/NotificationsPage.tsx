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
  r.kind === 'refused' ? `${r.error.message} [${r.error.code}]` : `No answer from the server: ${r.message}`;

function ChannelRow({ c, tz, onSent }: { c: ChannelStatus; tz: string; onSent: () => void }) {
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const test = async (): Promise<void> => {
    setBusy(true);
    const r = await notifyApi.test(c.name);
    setBusy(false);
    setNote(r.kind === 'ok' ? { ok: true, text: `Sent “${r.body.subject}”` } : { ok: false, text: problemOf(r) });
    // The test is in the log, sent or failed.
    onSent();
  };
  return (
    <tr data-channel={c.name}>
      <th scope="row">{c.name}</th>
      <td>{c.kind === 'mail' ? 'Mail' : 'Webhook'}</td>
      <td class="notify-target">{c.target}</td>
      <td>{c.onCall ?? '—'}</td>
      <td class="num">{c.queued}</td>
      <td>
        {c.failing ? (
          <span class="notify-failing">
            ✕ failing (try {c.failing.attempt}): {c.failing.error}. Next try {formatDateTimeZoned(c.failing.nextTry, tz)}
          </span>
        ) : (
          <span>✓ working</span>
        )}
      </td>
      <td>
        <button type="button" class="cmd-button" disabled={busy} aria-label={`Send a test message through ${c.name}`} onClick={() => void test()}>
          {busy ? 'Sending…' : 'Send test'}
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
        <p class="empty">Notifications are for engineers and administrators: sign in as one.</p>
      ) : (
        <>
          {problem && (
            <p class="action-note is-error" role="alert">
              {problem}
            </p>
          )}
          <section class="panel" aria-labelledby="h-channels">
            <h2 id="h-channels">Channels</h2>
            <p class="caption">The mail and webhook channels of the configuration (notifications:). What waits is kept on disk and sent in order once its channel answers.</p>
            {status && status.channels.length === 0 && <p class="empty">No channel configured.</p>}
            {status && status.channels.length > 0 && (
              <table class="journal-table notify-channels">
                <thead>
                  <tr>
                    <th scope="col">Channel</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Sends to</th>
                    <th scope="col">On call</th>
                    <th scope="col">Waiting</th>
                    <th scope="col">State</th>
                    <th scope="col">Test</th>
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
            <h2 id="h-log">Sent and failed</h2>
            <p class="caption">Newest first. Times in {tz}.</p>
            {status && log.length === 0 && <p class="empty">Nothing sent yet.</p>}
            {log.length > 0 && (
              <table class="journal-table notify-log" aria-label="Notification log">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Channel</th>
                    <th scope="col">What</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Outcome</th>
                  </tr>
                </thead>
                <tbody>
                  {log.map((r) => (
                    <tr key={r.id} data-outcome={r.outcome}>
                      <td class="num">{formatDateTimeZoned(r.at, tz)}</td>
                      <td>{r.channel}</td>
                      <td>
                        {r.kind}
                        {r.alarm ? (
                          <>
                            {' '}
                            <a href={`#/alarms/${encodeURIComponent(r.alarm)}`}>{r.alarm}</a>
                          </>
                        ) : null}
                      </td>
                      <td>
                        {r.late && <strong class="notify-late">LATE </strong>}
                        {r.subject}
                      </td>
                      <td class={`notify-outcome is-${r.outcome}`}>
                        {OUTCOME[r.outcome].mark} {OUTCOME[r.outcome].word}
                        {r.attempt > 1 ? ` (try ${r.attempt})` : ''}
                        {r.error && <div class="faint">{r.error}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {more && (
              <button type="button" class="cmd-button" onClick={() => void loadOlder()}>
                Older entries
              </button>
            )}
          </section>
        </>
      )}
    </main>
  );
}
