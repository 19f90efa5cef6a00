/**
 * A sequence of steps (the SBR cycle): each step's elapsed time over its
 * duration in the selected program, the active one marked by shape and word,
 * "Stopped" when the stop tag is on.
 */
import { useHmiState } from '../shared/context.js';
import { formatNumber, formatValue } from '../shared/format.js';
import type { PhaseStep, PhasesSpec } from '../shared/pages.js';
import { qualityClass } from '../live/quality-view.js';
import { type TagView, viewTag } from '../live/tag-view.js';
import { QualityMark } from '../live/QualityMark.js';

/** The duration tag the selector picks: selector value n → durations[n-1]. */
export function durationTag(step: PhaseStep, selector: TagView | undefined): string | undefined {
  if (!selector) return step.durations[0];
  const n = selector.live.value;
  return typeof n === 'number' && Number.isInteger(n) ? step.durations[n - 1] : undefined;
}

function Step({ step, selector }: { step: PhaseStep; selector: TagView | undefined }) {
  const state = useHmiState();
  const active = viewTag(state, step.active);
  const elapsed = viewTag(state, step.elapsed);
  const durationName = durationTag(step, selector);
  const duration = durationName ? viewTag(state, durationName) : undefined;
  const isActive = active.live.value === true;
  const e = typeof elapsed.live.value === 'number' ? elapsed.live.value : null;
  const d = typeof duration?.live.value === 'number' ? duration.live.value : null;
  const worst = [active, elapsed, duration].find((v) => v && !v.good);
  const unit = elapsed.info?.unit || duration?.info?.unit || '';
  const text = `${e === null ? '—' : formatNumber(e, elapsed.info?.decimals ?? 0)} / ${d === null ? '—' : formatNumber(d, duration?.info?.decimals ?? 0)}${unit ? `\u00a0${unit}` : ''}`;
  const pct = e !== null && d ? Math.min(100, Math.max(0, (e / d) * 100)) : 0;
  return (
    <li class={`step ${isActive ? 'is-active' : ''} ${worst ? qualityClass(worst.quality) : 'q-good'}`} data-step={step.label} aria-current={isActive ? 'step' : undefined}>
      <div class="step-head">
        <span class="step-label">
          <span class="step-mark" aria-hidden="true">
            {isActive ? '▶' : '▷'}
          </span>
          {step.label}
          {isActive && <span class="step-active-word">Active</span>}
        </span>
        <span class="step-time num">
          {text}
          {worst && <QualityMark quality={worst.quality} reason={`${worst.info?.description || worst.name}: ${worst.reason}`} />}
        </span>
      </div>
      <div
        class="step-track"
        role="progressbar"
        aria-label={`${step.label} elapsed`}
        aria-valuemin={0}
        aria-valuemax={d ?? undefined}
        aria-valuenow={e ?? undefined}
        aria-valuetext={`${text}${isActive ? ', active' : ''}`}
      >
        <div class="step-fill" style={{ width: `${pct}%` }} />
      </div>
    </li>
  );
}

export function PhaseSteps({ phases }: { phases: PhasesSpec }) {
  const state = useHmiState();
  const selector = phases.selector ? viewTag(state, phases.selector) : undefined;
  const stopped = phases.stopped ? viewTag(state, phases.stopped) : undefined;
  const isStopped = stopped?.live.value === true;
  return (
    <div class="phases">
      <div class="phases-head">
        {selector && (
          <span class="phases-selector">
            {selector.info?.description || selector.name}: <strong class="num">{formatValue(selector.info, selector.live.value)}</strong>
            <QualityMark quality={selector.quality} reason={selector.reason} />
          </span>
        )}
        {stopped && (
          <span class={`phases-state ${isStopped ? 'is-stopped' : ''} ${qualityClass(stopped.quality)}`} role="status">
            <span aria-hidden="true">{isStopped ? '■ ' : '● '}</span>
            {isStopped ? 'Stopped' : 'Running'}
            <QualityMark quality={stopped.quality} reason={stopped.reason} />
          </span>
        )}
      </div>
      <ol class="steps">
        {phases.steps.map((s) => (
          <Step key={s.label} step={s} selector={selector} />
        ))}
      </ol>
    </div>
  );
}
