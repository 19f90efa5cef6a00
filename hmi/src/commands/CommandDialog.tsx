/**
 * The confirmation of a command: a modal dialog that repeats what will
 * happen (the command's question with the values filled in) and the current
 * state — for a critical command, the values the server read when it
 * reserved the PLC, with their quality and how long the reservation lasts;
 * otherwise the live values of the tags the command touches.
 *
 * Focus starts on Cancel (Enter alone never sends), stays inside the dialog
 * (Tab wraps), Escape cancels, and returns to the button that opened it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Quality } from '../../../src/web/protocol.js';
import { formatParam, refusalInWords } from './command-model.js';
import type { Attempt } from './command-store.js';
import { commandTags, commandWords, paramTags, tagNames } from './command-view.js';
import { useHmiState } from '../shared/context.js';
import { formatTimeZoned, formatValue } from '../shared/format.js';
import { qualityClass, qualityReason } from '../live/quality-view.js';
import { session } from '../session/session.js';
import { viewTag } from '../live/tag-view.js';
import { QualityMark } from '../live/QualityMark.js';
import { msg } from '../i18n/locale.js';

const FOCUSABLE = 'button:not([disabled]), a[href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function StateRow({ name, value, quality, reason, next }: { name: string; value: number | boolean | string | null; quality: Quality; reason: string; next?: string | undefined }) {
  const state = useHmiState();
  const info = state.tags.get(name);
  return (
    <div class="facts-row cmd-state-row" data-tag={name}>
      <dt>{info?.description || name}</dt>
      <dd>
        <span class="cmd-state-now">
          <span class={`tagvalue ${qualityClass(quality)}`}>
            <span class="num">{formatValue(info, value)}</span>
          </span>
          <QualityMark quality={quality} reason={reason} withWord />
        </span>
        {next !== undefined && (
          <span class="cmd-state-next">
            <span aria-hidden="true">→ </span>
            <span class="visually-hidden">{msg().commands.willBe}</span>
            <strong class="num">{next}</strong>
          </span>
        )}
      </dd>
    </div>
  );
}

function CurrentState({ a }: { a: Attempt }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const order = commandTags(a.command, a.params);
  // The value each tag will have once written (tags the parameters go to).
  const byTag = paramTags(a.command, a.params);
  const next = (tag: string): string | undefined => {
    const p = byTag.get(tag);
    return p && a.params[p] !== undefined ? formatParam(a.command.params[p], a.params[p]!) : undefined;
  };
  let rows: ComponentChildren;
  let caption: string;
  if (a.command.critical) {
    if (!a.selection) return null;
    const current = a.selection.current;
    const names = [...order.filter((n) => n in current), ...Object.keys(current).filter((n) => !order.includes(n))];
    if (names.length === 0) return null;
    rows = names.map((n) => {
      const c = current[n]!;
      return <StateRow key={n} name={n} value={c.value} quality={c.quality} reason={qualityReason(c.quality)} next={next(n)} />;
    });
    caption = msg().commands.asReserved(formatTimeZoned(a.selection.readAt, tz));
  } else {
    if (order.length === 0) return null;
    rows = order.map((n) => {
      const v = viewTag(state, n);
      return <StateRow key={n} name={n} value={v.live.value} quality={v.quality} reason={v.reason} next={next(n)} />;
    });
    caption = msg().commands.liveNow;
  }
  return (
    <section class="cmd-current" aria-labelledby="cmd-current-h">
      <h3 id="cmd-current-h">{msg().commands.currentState}</h3>
      <dl class="facts">{rows}</dl>
      <p class="caption">{caption}</p>
    </section>
  );
}

/** Seconds left to confirm. `now` is the page's clock (read so the countdown redraws every second) or later. */
const secondsLeft = (deadline: number, now: number): number => Math.max(0, Math.ceil((deadline - Math.max(now, Date.now())) / 1000));

function Reservation({ a }: { a: Attempt }) {
  const state = useHmiState();
  if (!a.command.critical) return null;
  if (a.phase === 'selecting') {
    return (
      <p class="cmd-note" role="status">
        {msg().commands.reserving(a.command.device)}
      </p>
    );
  }
  if (!a.selection) return null;
  const left = secondsLeft(a.selection.deadline, state.clock.value);
  if (left === 0) {
    return (
      <div class="cmd-note cmd-note-bad" role="alert">
        <p>
          <span aria-hidden="true">✕ </span>
          {msg().commands.ranOut}
        </p>
        <button type="button" class="cmd-button" onClick={() => state.commands.reselect()}>
          {msg().commands.selectAgain}
        </button>
      </div>
    );
  }
  return (
    <p class="cmd-note cmd-countdown" data-seconds-left={left}>
      {msg().commands.reservedFor(a.command.device)}
      <strong class="num">{left}&nbsp;s</strong>.
    </p>
  );
}

export function CommandDialog() {
  const state = useHmiState();
  const store = state.commands;
  const a = store.attempt.value;
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const open = Boolean(a?.dialog);
  const source = a?.source;

  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      d.showModal();
      cancelRef.current?.focus();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);

  useEffect(() => {
    if (open) return;
    // Back where the operator clicked; the button may be disabled by now, then its outcome takes the focus.
    const back = opener.current;
    opener.current = null;
    if (back && back.isConnected && !(back as HTMLButtonElement).disabled) back.focus();
    else if (source) document.querySelector<HTMLElement>(`[data-cmd-source="${CSS.escape(source)}"]`)?.focus();
  }, [open, source]);

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (items.length === 0) return;
    const first = items[0]!;
    const last = items[items.length - 1]!;
    if (e.shiftKey && (document.activeElement === first || !ref.current.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !ref.current.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  };

  // Redrawn the moment the reservation runs out, not at the next tick of the clock.
  const deadline = a?.dialog ? a.selection?.deadline : undefined;
  const [, redraw] = useState(0);
  useEffect(() => {
    if (deadline === undefined) return;
    const timer = setTimeout(() => redraw((n) => n + 1), Math.max(0, deadline - Date.now()) + 5);
    return () => clearTimeout(timer);
  }, [deadline]);

  // A critical command asks for the user's password again (the server checks it); never kept past the dialog.
  const [password, setPassword] = useState('');
  const askPassword = Boolean(a?.command.critical && session.value?.reauth);
  useEffect(() => {
    if (!open) setPassword('');
  }, [open]);

  const blocker = a ? store.blocker(a.command) : null;
  const expired = Boolean(a?.command.critical && a.selection && secondsLeft(a.selection.deadline, state.clock.value) === 0);
  const canConfirm = Boolean(a && a.phase === 'ready' && !blocker && !expired && (!askPassword || password !== ''));
  const refusal = a?.error ? refusalInWords(a.error, commandWords(state), tagNames(state)) : undefined;

  return (
    <dialog
      ref={ref}
      class="cmd-dialog"
      role="dialog"
      aria-modal="true"
      aria-labelledby="cmd-dialog-title"
      aria-describedby={a?.command.description ? 'cmd-dialog-desc' : undefined}
      onKeyDown={onKeyDown}
      onCancel={(e) => {
        // Escape: cancel the command (and release the reservation), whatever the browser does next.
        e.preventDefault();
        store.cancel();
      }}
      onClose={() => {
        if (store.attempt.value?.dialog) store.cancel();
      }}
    >
      {a && open && (
        <div class="cmd-dialog-body" data-command={a.command.name}>
          <p class="cmd-dialog-kicker">{a.command.critical ? msg().commands.criticalKicker : msg().commands.kicker}</p>
          <h2 id="cmd-dialog-title">{a.question}</h2>
          {a.command.description && (
            <p id="cmd-dialog-desc" class="caption">
              {a.command.description}
            </p>
          )}
          <CurrentState a={a} />
          <Reservation a={a} />
          {a.phase === 'select-refused' && refusal && (
            <p class="cmd-note cmd-note-bad" role="alert">
              <span aria-hidden="true">✕ </span>
              <strong>{msg().commands.refusedByServer}</strong> {refusal}
            </p>
          )}
          {blocker && a.phase !== 'select-refused' && (
            <p class="cmd-note cmd-note-bad" role="alert">
              <span aria-hidden="true">⊘ </span>
              {blocker}
            </p>
          )}
          {askPassword && a.phase !== 'select-refused' && (
            <div class="field cmd-password">
              <label for="cmd-password">{msg().commands.password}</label>
              <input
                id="cmd-password"
                type="password"
                autocomplete="current-password"
                value={password}
                onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
              />
            </div>
          )}
          <div class="cmd-dialog-actions">
            <button type="button" class="cmd-button" ref={cancelRef} onClick={() => store.cancel()}>
              {a.phase === 'select-refused' ? msg().common.close : msg().common.cancel}
            </button>
            {a.phase !== 'select-refused' && (
              <button type="button" class="cmd-button cmd-confirm" disabled={!canConfirm} onClick={() => void store.confirm(askPassword ? password : undefined)}>
                {msg().commands.confirm}
              </button>
            )}
          </div>
        </div>
      )}
    </dialog>
  );
}
