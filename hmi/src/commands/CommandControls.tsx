/**
 * Pieces the command screens share: the notice saying why commands are
 * disabled, and a choice among a few whole numbers (a program 1–3) drawn as
 * 44 px radio buttons.
 */
import type { CommandParamInfo } from '../../../src/web/protocol.js';
import { choices, paramLabel } from './command-model.js';

/** Why the commands below are disabled; nothing when they are not. */
export function BlockedNotice({ id, reasons }: { id: string; reasons: readonly string[] }) {
  return (
    <div id={id} class="cmd-blocked-slot" role="status">
      {reasons.map((r) => (
        <p key={r} class="cmd-blocked">
          <span aria-hidden="true">⊘ </span>
          {r}
        </p>
      ))}
    </div>
  );
}

export function ChoiceGroup({
  name,
  info,
  value,
  disabled = false,
  onChange,
}: {
  /** Unique in the page (radio group name and ids). */
  name: string;
  info: CommandParamInfo;
  value: number | undefined;
  disabled?: boolean;
  onChange(v: number): void;
}) {
  const options = choices(info) ?? [];
  return (
    <fieldset class="cmd-choice" disabled={disabled}>
      <legend>{paramLabel(info)}</legend>
      <div class="cmd-choice-options">
        {options.map((n) => (
          <label key={n} class={`cmd-choice-option ${value === n ? 'is-chosen' : ''}`}>
            <input type="radio" name={name} value={String(n)} checked={value === n} onChange={() => onChange(n)} />
            <span>{n}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
