/**
 * A period to look at: last hour, day or week (up to now: live), or a
 * custom range typed as date and time in the plant's zone. A page may offer
 * other presets (e.g. calendar months, see periods.ts).
 */
import { useState } from 'preact/hooks';
import { useHmiState } from './context.js';
import { fromZonedInput, toZonedInput, zoneName } from './format.js';
import { PRESETS, type PresetChoice, type RangePreset, presetPeriod } from './periods.js';
import { msg } from '../i18n/locale.js';

export interface Range {
  preset: RangePreset;
  from: number;
  /** Undefined: up to now. */
  to: number | undefined;
}

/** A preset's period at `now` (calendar months in `timeZone`). */
export function presetNow(preset: Exclude<RangePreset, 'custom'>, now: number, timeZone = 'UTC'): Range {
  return presetPeriod(preset, now, timeZone);
}

export function RangePicker({
  idPrefix,
  value,
  onChange,
  presets = PRESETS,
}: {
  idPrefix: string;
  value: Range;
  onChange(r: Range): void;
  presets?: readonly PresetChoice[];
}) {
  const state = useHmiState();
  const tz = state.timeZone;
  const [fromText, setFromText] = useState(toZonedInput(value.from, tz));
  const [toText, setToText] = useState(toZonedInput(value.to ?? Date.now(), tz));
  const [error, setError] = useState<string | null>(null);
  const custom = value.preset === 'custom';

  const choose = (preset: RangePreset): void => {
    setError(null);
    if (preset === 'custom') {
      const to = Date.now();
      const from = value.from;
      setFromText(toZonedInput(from, tz));
      setToText(toZonedInput(to, tz));
      onChange({ preset, from, to });
      return;
    }
    onChange(presetNow(preset, Date.now(), tz));
  };

  const apply = (e: Event): void => {
    e.preventDefault();
    const from = fromZonedInput(fromText, tz);
    const to = fromZonedInput(toText, tz);
    if (from === undefined || to === undefined) {
      setError(msg().periods.enterBoth);
      return;
    }
    if (from >= to) {
      setError(msg().periods.fromBeforeTo);
      return;
    }
    setError(null);
    onChange({ preset: 'custom', from, to });
  };

  return (
    <div class="range-picker">
      <fieldset class="cmd-choice range-presets">
        <legend>{msg().periods.period}</legend>
        <div class="cmd-choice-options">
          {[...presets.map((p) => ({ value: p.value, label: p.label })), { value: 'custom' as const, label: 'Custom' }].map((p) => (
            <label key={p.value} class={`cmd-choice-option ${value.preset === p.value ? 'is-chosen' : ''}`}>
              <input type="radio" name={`${idPrefix}-preset`} value={p.value} checked={value.preset === p.value} onChange={() => choose(p.value)} />
              <span>{msg().periods.preset[p.value] ?? p.label}</span>
            </label>
          ))}
        </div>
      </fieldset>
      {custom && (
        <form class="range-custom" onSubmit={apply}>
          <label class="filter">
            <span>{msg().periods.from(zoneName(value.from, tz))}</span>
            <input id={`${idPrefix}-from`} type="datetime-local" value={fromText} onInput={(e) => setFromText((e.target as HTMLInputElement).value)} />
          </label>
          <label class="filter">
            <span>{msg().periods.to(zoneName(value.to ?? Date.now(), tz))}</span>
            <input id={`${idPrefix}-to`} type="datetime-local" value={toText} onInput={(e) => setToText((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="cmd-button">
            {msg().periods.show}
          </button>
          {error && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
    </div>
  );
}
