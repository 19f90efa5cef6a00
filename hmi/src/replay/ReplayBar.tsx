/**
 * What replay shows on every page: the frame (a black-and-yellow band and
 * border saying "REPLAY 03:12:05 — not live", in words and shape, not colour
 * alone, with the way back to live), the timeline under the page (play 1×,
 * 10×, 60×, pause, step to the previous or next alarm, event or command,
 * markers for alarms and operator actions, a date-time field), the
 * "Replay…" entry of the top bar, and the "Replay from here" link other
 * screens put beside a moment.
 */
import { useState } from 'preact/hooks';
import type { AuditEntry, JournalEntry } from '../../../src/web/protocol.js';
import { useHmi } from '../shared/context.js';
import { formatDateTime, formatTime, fromZonedInput, zoneName } from '../shared/format.js';
import { MARKER_MARK, SPEEDS, inputValue, isoInZone, markerKind, withAt } from './replay-model.js';
import { msg } from '../i18n/locale.js';
import './replay.css';

/** The band on top of every page while replaying. */
export function ReplayFrame() {
  const { state, replay } = useHmi();
  const m = state.replay.value;
  if (!m || !replay) return null;
  const tz = state.timeZone;
  return (
    <div class="replay-frame" role="status" aria-label={msg().replay.frameLabel}>
      <span class="replay-word" aria-hidden="true">
        ◀◀
      </span>
      <strong class="replay-title num" data-testid="replay-frame">
        {msg().replay.frame(formatTime(m.t, tz), zoneName(m.t, tz))}
      </strong>
      <span class="replay-detail">{msg().replay.recorded(formatDateTime(m.t, tz))}</span>
      <button type="button" class="replay-live" onClick={() => replay.leave()}>
        {msg().replay.backToLive}
      </button>
    </div>
  );
}

function Marker({ e, from, span }: { e: JournalEntry; from: number; span: number }) {
  const { state, replay } = useHmi();
  const kind = markerKind(e);
  const left = Math.min(100, Math.max(0, ((e.ts - from) / span) * 100));
  const label = msg().replay.marker(formatTime(e.ts, state.timeZone), `${e.text}${e.user ? ` — ${e.user}` : ''}`);
  return (
    <button type="button" class={`replay-marker marker-${kind}`} style={{ left: `${left}%` }} title={label} aria-label={label} data-kind={e.kind} onClick={() => void replay?.enter(e.ts)}>
      {MARKER_MARK[kind]}
    </button>
  );
}

/** An entry of the audit trail (for those who may read it): an operator's action. */
function AuditMarker({ a, from, span }: { a: AuditEntry; from: number; span: number }) {
  const { state, replay } = useHmi();
  const left = Math.min(100, Math.max(0, ((a.ts - from) / span) * 100));
  const label = msg().replay.marker(formatTime(a.ts, state.timeZone), msg().replay.audited(a.actor, a.action, a.target));
  return (
    <button type="button" class="replay-marker marker-action marker-audit" style={{ left: `${left}%` }} title={label} aria-label={label} data-kind="audit" onClick={() => void replay?.enter(a.ts)}>
      {MARKER_MARK.action}
    </button>
  );
}

/** The timeline under the page while replaying. */
export function ReplayTimeline() {
  const { state, replay } = useHmi();
  const m = state.replay.value;
  const [typed, setTyped] = useState<string | null>(null);
  if (!m || !replay) return null;
  const tz = state.timeZone;
  const mk = replay.markers.value;
  const span = Math.max(1, mk.to - mk.from);
  const cursor = Math.min(100, Math.max(0, ((m.t - mk.from) / span) * 100));
  const go = (e: Event): void => {
    e.preventDefault();
    const t = fromZonedInput(typed ?? inputValue(m.t, tz), tz);
    if (t !== undefined && t <= Date.now()) {
      setTyped(null);
      void replay.enter(t);
    }
  };
  return (
    <section class="replay-timeline" aria-label={msg().replay.timelineLabel}>
      <div class="replay-controls">
        {SPEEDS.map((s) => (
          <button key={s} type="button" class="replay-button" aria-label={msg().replay.playLabel(s)} aria-pressed={m.playing && m.speed === s} onClick={() => replay.play(s)}>
            ▶ {msg().replay.play(s)}
          </button>
        ))}
        <button type="button" class="replay-button" disabled={!m.playing} onClick={() => replay.pause()}>
          ‖ {msg().replay.pause}
        </button>
        <button type="button" class="replay-button" aria-label={msg().replay.previousLabel} onClick={() => void replay.step(-1)}>
          ◀ {msg().replay.previous}
        </button>
        <button type="button" class="replay-button" aria-label={msg().replay.nextLabel} onClick={() => void replay.step(1)}>
          {msg().replay.next} ▶
        </button>
        <form class="replay-goto" onSubmit={go}>
          <label>
            {msg().replay.moment}{' '}
            <input type="datetime-local" step={1} value={typed ?? inputValue(m.t, tz)} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="replay-button">
            {msg().replay.go}
          </button>
        </form>
        <span class="replay-state" role="status">
          <span class="num">{formatDateTime(m.t, tz)}</span> {zoneName(m.t, tz)} · {m.loading ? msg().replay.loading : msg().replay.speedNow(m.speed, m.playing)}
          {m.note && <span class="replay-note"> · {m.note}</span>}
        </span>
      </div>
      <div class="replay-track" role="group" aria-label={msg().replay.markersLabel}>
        <span class="replay-cursor" style={{ left: `${cursor}%` }} aria-hidden="true" />
        {mk.entries.map((e) => (
          <Marker key={e.seq} e={e} from={mk.from} span={span} />
        ))}
        {mk.audit.map((a) => (
          <AuditMarker key={`audit-${a.seq}`} a={a} from={mk.from} span={span} />
        ))}
      </div>
      <p class="replay-legend caption">
        <span>{formatTime(mk.from, tz)}</span>
        <span>{msg().replay.legend}</span>
        <span>{formatTime(mk.to, tz)}</span>
      </p>
    </section>
  );
}

/** The top bar's entry into replay: a date-time field in the plant's zone. */
export function ReplayStart() {
  const { state, replay } = useHmi();
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  if (!replay || state.replay.value) return null;
  const tz = state.timeZone;
  if (!open) {
    return (
      <button type="button" class="replay-start" aria-label={msg().replay.startLabel} onClick={() => (setValue(inputValue(Date.now() - 600_000, tz)), setOpen(true))}>
        ◀◀ {msg().replay.start}
      </button>
    );
  }
  const submit = (e: Event): void => {
    e.preventDefault();
    const t = fromZonedInput(value, tz);
    if (t === undefined || t > Date.now()) return setProblem(msg().replay.badMoment);
    setOpen(false);
    void replay.enter(t);
  };
  return (
    <form class="replay-start-form" onSubmit={submit} aria-label={msg().replay.startTitle}>
      <label>
        {msg().replay.moment} ({zoneName(Date.now(), tz)}){' '}
        <input type="datetime-local" step={1} value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="replay-button">
        {msg().replay.startSubmit}
      </button>
      <button type="button" class="replay-button" onClick={() => setOpen(false)}>
        {msg().replay.startCancel}
      </button>
      {problem && <span role="alert">{problem}</span>}
    </form>
  );
}

/** "Replay from here": a link that opens the overview (or `page`) at `ts`. */
export function ReplayFromHere({ ts, page = '#/' }: { ts: number; page?: string }) {
  const { state } = useHmi();
  const time = formatDateTime(ts, state.timeZone);
  return (
    <a class="replay-from-here" href={withAt(page, isoInZone(ts, state.timeZone))} aria-label={msg().replay.fromHereLabel(time)} title={msg().replay.fromHereLabel(time)}>
      ◀◀ {msg().replay.fromHere}
    </a>
  );
}
