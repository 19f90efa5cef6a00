/**
 * Shelving an alarm, or taking it out of service, asks why (and, for
 * shelving, for how long: it always comes back by itself). A modal dialog
 * that names the alarm; the server's refusal is shown in it, next to the
 * button that was clicked, and the dialog stays open.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AlarmState } from '../../../src/web/protocol.js';
import { defaultShelveMinutes, shelveChoices } from './alarm-model.js';
import { useHmiState } from '../shared/context.js';
import { ActionNote, PriorityBadge, StateWords, actionsBlocked, priorityTone } from './AlarmMarks.js';
import { msg } from '../i18n/locale.js';

export type ReasonRequest = { kind: 'shelve' | 'out-of-service'; alarm: AlarmState };

export const reasonWhere = (r: ReasonRequest): string => `summary:${r.alarm.id}:${r.kind}`;

export function ReasonDialog({ request, onClose }: { request: ReasonRequest | null; onClose(done: boolean): void }) {
  const state = useHmiState();
  const ref = useRef<HTMLDialogElement>(null);
  const reasonRef = useRef<HTMLInputElement>(null);
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState(60);
  const [missing, setMissing] = useState(false);
  const open = request !== null;
  // Only the durations the plant's rule allows for this alarm's priority.
  const rule = request ? state.plant.shelving[request.alarm.priority] : undefined;
  const choices = shelveChoices(rule?.maxMinutes ?? 1440);

  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      setReason('');
      setMinutes(defaultShelveMinutes(choices));
      setMissing(false);
      d.showModal();
      reasonRef.current?.focus();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);

  const where = request ? reasonWhere(request) : '';
  const pending = request ? state.alarms.actions.value.get(where)?.status === 'pending' : false;
  const shelve = request?.kind === 'shelve';
  const blocked = actionsBlocked(state);
  const t = msg().reason;

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!request || pending || blocked) return;
    if (!reason.trim()) {
      setMissing(true);
      reasonRef.current?.focus();
      return;
    }
    state.alarms.clearAction(where);
    const ok = shelve ? await state.alarms.shelve(where, request.alarm.id, reason.trim(), minutes) : await state.alarms.outOfService(where, request.alarm.id, reason.trim());
    if (ok) onClose(true);
  };

  return (
    <dialog
      ref={ref}
      class="cmd-dialog reason-dialog"
      aria-modal="true"
      aria-labelledby="reason-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose(false);
      }}
    >
      {request && (
        <form class="cmd-dialog-body" onSubmit={(e) => void submit(e)} noValidate>
          <p class="cmd-dialog-kicker">{shelve ? t.kickerShelve : t.kickerService}</p>
          <h2 id="reason-title">
            {shelve ? t.titleShelve : t.titleService}: {request.alarm.message}
          </h2>
          <p class="reason-alarm">
            <PriorityBadge priority={request.alarm.priority} tone={priorityTone(request.alarm)} /> <StateWords a={request.alarm} />
          </p>
          <p class="caption">
            {shelve ? t.helpShelve : t.helpService}
          </p>
          <div class={`field ${missing ? 'is-invalid' : ''}`}>
            <label class="field-label" for="reason-input">
              {t.reason}
            </label>
            <div class="field-input">
              <input
                id="reason-input"
                ref={reasonRef}
                type="text"
                maxLength={200}
                value={reason}
                aria-invalid={missing ? 'true' : undefined}
                aria-describedby={missing ? 'reason-missing' : undefined}
                onInput={(e) => {
                  setReason((e.target as HTMLInputElement).value);
                  setMissing(false);
                }}
              />
            </div>
            {missing && (
              <p class="field-error" id="reason-missing">
                {t.missing}
              </p>
            )}
          </div>
          {shelve && (
            <fieldset class="cmd-choice shelve-choice">
              <legend>
                {t.for}
                {rule && rule.maxMinutes < 1440 ? t.atMost(msg().priority.name[request.alarm.priority].toLowerCase(), choices.at(-1)!.label) : ''}
              </legend>
              <div class="cmd-choice-options">
                {choices.map((c) => (
                  <label key={c.minutes} class={`cmd-choice-option ${minutes === c.minutes ? 'is-chosen' : ''}`}>
                    <input type="radio" name="shelve-for" value={String(c.minutes)} checked={minutes === c.minutes} onChange={() => setMinutes(c.minutes)} />
                    <span>{c.label}</span>
                  </label>
                ))}
              </div>
            </fieldset>
          )}
          {blocked && (
            <p class="cmd-note cmd-note-bad" role="alert">
              <span aria-hidden="true">⊘ </span>
              {blocked}
            </p>
          )}
          <div class="cmd-dialog-actions">
            <button type="button" class="cmd-button" onClick={() => onClose(false)}>
              {msg().common.cancel}
            </button>
            <button type="submit" class="cmd-button cmd-confirm" disabled={pending || Boolean(blocked)}>
              {shelve ? t.shelveFor(choices.find((c) => c.minutes === minutes)?.label ?? `${minutes} min`) : t.titleService}
            </button>
          </div>
          <p class="reason-outcome">
            <ActionNote where={where} />
          </p>
        </form>
      )}
    </dialog>
  );
}
