/**
 * The parameters page: values kept in the PLC that engineers change (a
 * program's phase durations, the oxygen and turbidity limits), one form per
 * command. Each field starts at the value the PLC has now (read from the
 * tag the parameter is written to) and shows its range and unit; values the
 * command cannot take are refused here before anything is sent, and the
 * server — the authority — may still refuse, its reason shown next to the
 * field. Sending goes through the same confirmation as every command.
 */
import { useEffect, useState } from 'preact/hooks';
import type { CommandInfo, CommandParamInfo } from '../../../src/web/protocol.js';
import { BlockedNotice, ChoiceGroup } from './CommandControls.js';
import { CommandStatus } from './CommandStatus.js';
import { QualityMark } from '../live/QualityMark.js';
import {
  type Params,
  actionText,
  choices,
  expandTemplate,
  formatParam,
  inputText,
  onOverview,
  paramLabel,
  paramStep,
  rangeText,
  readParam,
} from './command-model.js';
import { useHmiState } from '../shared/context.js';
import { type TagView, viewTag } from '../live/tag-view.js';
import { roleRefusal, session } from '../session/session.js';
import { NeedsRole } from '../session/NeedsRole.js';
import { msg } from '../i18n/locale.js';

interface FieldProps {
  id: string;
  info: CommandParamInfo;
  text: string;
  now: TagView | undefined;
  error: string | undefined;
  /** The server's refusal, when it named this field. */
  serverError: string | undefined;
  onInput(text: string): void;
}

function Field({ id, info, text, now, error, serverError, onInput }: FieldProps) {
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;
  const shownError = error ?? serverError;
  const range = rangeText(info);
  const nowValue = now && typeof now.live.value === 'number' ? now.live.value : undefined;
  return (
    <div class={`field ${shownError ? 'is-invalid' : ''}`}>
      <label class="field-label" for={id}>
        {paramLabel(info)}
      </label>
      <div class="field-input">
        <input
          id={id}
          name={id}
          type="number"
          inputMode={info.integer ? 'numeric' : 'decimal'}
          required
          min={info.min}
          max={info.max}
          step={paramStep(info)}
          value={text}
          aria-invalid={shownError ? 'true' : undefined}
          aria-describedby={`${hintId}${shownError ? ` ${errId}` : ''}`}
          onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)}
        />
        {info.unit && <span class="field-unit">{info.unit}</span>}
      </div>
      <div class="field-hint caption" id={hintId}>
        {range && <span class="field-range">{msg().commands.range(range)}</span>}
        {now && (
          <span class="field-now" data-tag={now.name}>
            {msg().commands.inPlcNow}
            <strong class="num">{nowValue === undefined ? '—' : formatParam(info, nowValue)}</strong>
            <QualityMark quality={now.quality} reason={now.reason} />
          </span>
        )}
      </div>
      {shownError && (
        <p class="field-error" id={errId}>
          <span aria-hidden="true">✕ </span>
          {error ? shownError : msg().commands.refusedField(shownError)}
        </p>
      )}
    </div>
  );
}

function CommandForm({ def }: { def: CommandInfo }) {
  const state = useHmiState();
  const store = state.commands;
  const source = `parameters:${def.name}`;
  const names = Object.keys(def.params);
  const choiceNames = names.filter((n) => !def.params[n]!.tag && choices(def.params[n]!));
  const fieldNames = names.filter((n) => !choiceNames.includes(n));
  const [chosen, setChosen] = useState<Params>(() => Object.fromEntries(choiceNames.map((n) => [n, def.params[n]!.min!])));
  // What the operator typed, by field; a field not in here shows the PLC's value.
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});

  const tagOf = (n: string): string | undefined => (def.params[n]!.tag ? expandTemplate(def.params[n]!.tag!, chosen) : undefined);
  const views = Object.fromEntries(fieldNames.map((n) => [n, tagOf(n) ? viewTag(state, tagOf(n)!) : undefined]));
  const liveText = (n: string): string => {
    const v = views[n]?.live.value;
    return typeof v === 'number' ? inputText(def.params[n]!, v) : '';
  };
  const text = (n: string): string => edits[n] ?? liveText(n);

  // An edit that now equals the PLC's value (e.g. once it has been written and read back) is no longer an edit.
  const live = fieldNames.map(liveText).join('|');
  useEffect(() => {
    setEdits((e) => {
      const same = Object.keys(e).filter((n) => e[n] === liveText(n));
      if (same.length === 0) return e;
      const next = { ...e };
      for (const n of same) delete next[n];
      return next;
    });
  }, [live]);

  const a = store.attempt.value;
  const mine = a && a.source === source ? a : null;
  const serverField = mine?.error?.field?.startsWith('params.') ? mine.error.field.slice('params.'.length) : undefined;
  const serverMessage = mine?.error && mine.error.message.startsWith(`${mine.error.field}: `) ? mine.error.message.slice(`${mine.error.field}: `.length) : mine?.error?.message;
  const blocked = store.blocker(def);
  const formId = `form-${def.name}`;

  const submit = (e: Event): void => {
    e.preventDefault();
    const params: Params = { ...chosen };
    const found: Record<string, string> = {};
    for (const n of fieldNames) {
      const r = readParam(def.params[n]!, text(n));
      if (r.ok) params[n] = r.value;
      else found[n] = r.error;
    }
    setErrors(found);
    const firstBad = fieldNames.find((n) => found[n]);
    if (firstBad) {
      document.getElementById(`${formId}-${firstBad}`)?.focus();
      return;
    }
    store.begin(source, def, params);
  };

  const edited = Object.keys(edits).length > 0;
  return (
    <section class="panel param-form" aria-labelledby={`h-${formId}`} data-command={def.name}>
      <h2 id={`h-${formId}`}>{def.label}</h2>
      <p class="caption">
        {def.description ? `${def.description} ` : ''}
        {msg().commands.forRole(msg().roles.name[def.role] ?? def.role, def.critical)}
      </p>
      <form id={formId} noValidate onSubmit={submit} aria-labelledby={`h-${formId}`}>
        {choiceNames.map((n) => (
          <ChoiceGroup
            key={n}
            name={`${formId}-${n}`}
            info={def.params[n]!}
            value={chosen[n] as number | undefined}
            onChange={(v) => {
              // Another program: its own values, not the ones typed for the previous one.
              setChosen((c) => ({ ...c, [n]: v }));
              setEdits({});
              setErrors({});
            }}
          />
        ))}
        <div class="fields">
          {fieldNames.map((n) => (
            <Field
              key={`${n}:${tagOf(n) ?? ''}`}
              id={`${formId}-${n}`}
              info={def.params[n]!}
              text={text(n)}
              now={views[n]}
              error={errors[n]}
              serverError={serverField === n ? serverMessage : undefined}
              onInput={(t) => {
                setEdits((e) => ({ ...e, [n]: t }));
                setErrors(({ [n]: _, ...rest }) => rest);
              }}
            />
          ))}
        </div>
        <div class="form-actions">
          <button type="submit" class="cmd-button cmd-action" disabled={Boolean(blocked)} aria-describedby={blocked ? 'cmd-blocked-parameters' : undefined}>
            {actionText(def, chosen)}…
            {roleRefusal(session.value, def.role) && <NeedsRole role={def.role} />}
          </button>
          <button
            type="button"
            class="cmd-button"
            disabled={!edited && Object.keys(errors).length === 0}
            onClick={() => {
              setEdits({});
              setErrors({});
            }}
          >
            {msg().commands.undo}
          </button>
        </div>
      </form>
      <CommandStatus source={source} />
    </section>
  );
}

export function Parameters() {
  const state = useHmiState();
  const defs = state.commands.definitions.value;
  if (defs.status !== 'ready') {
    return (
      <main class="page parameters" aria-labelledby="page-title">
        <h1 id="page-title">{msg().titles.parameters}</h1>
        <p class="empty">{defs.status === 'loading' ? msg().commands.loading : msg().commands.unavailable(defs.message)}</p>
      </main>
    );
  }
  const list = defs.list.filter((c) => !onOverview(c));
  const reasons = [...new Set(list.map((c) => state.commands.blocker(c)).filter((r): r is string => r !== null))];
  return (
    <main class="page parameters" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.parameters}</h1>
      <p class="caption">{msg().commands.parametersIntro}</p>
      <BlockedNotice id="cmd-blocked-parameters" reasons={reasons} />
      {list.length === 0 ? <p class="empty">{msg().commands.noParameters}</p> : list.map((c) => <CommandForm key={c.name} def={c} />)}
    </main>
  );
}
