/**
 * A sequence of steps (the SBR cycle): each step's elapsed, planned (in the
 * selected program) and time left, the active one marked by shape and word,
 * "Stopped" when the stop tag is on; above them the current step with its
 * time left and the cycle's expected end, in the plant's time zone.
 */
import { useHmiState } from '../shared/context.js';
import { formatNumber, formatTimeZoned, formatValue } from '../shared/format.js';
import type { PhaseStep, PhasesSpec } from '../shared/pages.js';
import { qualityClass } from '../live/quality-view.js';
import { type TagView, viewTag } from '../live/tag-view.js';
import { QualityMark } from '../live/QualityMark.js';
import type { HmiState } from '../live/state.js';
import { type StepTiming, cycleLeft, timeLeft, unitMs } from './phase-model.js';
import { msg } from '../i18n/locale.js';

/** The duration tag the selector picks: selector value n → durations[n-1]. */
export function durationTag(step: PhaseStep, selector: TagView | undefined): string | undefined {
  if (!selector) return step.durations[0];
  const n = selector.live.value;
  return typeof n === 'number' && Number.isInteger(n) ? step.durations[n - 1] : undefined;
}

interface StepView extends StepTiming {
  step: PhaseStep;
  /** The step's tags not good, the worst first. */
  worst: TagView | undefined;
  unit: string;
  decimals: number;
}

function viewStep(state: HmiState, step: PhaseStep, selector: TagView | undefined): StepView {
  const active = viewTag(state, step.active);
  const elapsed = viewTag(state, step.elapsed);
  const durationName = durationTag(step, selector);
  const duration = durationName ? viewTag(state, durationName) : undefined;
  return {
    step,
    active: active.live.value === true,
    elapsed: typeof elapsed.live.value === 'number' ? elapsed.live.value : null,
    planned: typeof duration?.live.value === 'number' ? duration.live.value : null,
    worst: [active, elapsed, duration].find((v): v is TagView => v !== undefined && !v.good),
    unit: elapsed.info?.unit || duration?.info?.unit || '',
    decimals: Math.max(elapsed.info?.decimals ?? 0, duration?.info?.decimals ?? 0),
  };
}

const amount = (v: number | null, s: StepView): string => `${v === null ? '—' : formatNumber(v, s.decimals)}${s.unit ? `\u00a0${s.unit}` : ''}`;

function Step({ v }: { v: StepView }) {
  const { step, worst } = v;
  const isActive = v.active;
  const e = v.elapsed;
  const d = v.planned;
  const left = timeLeft(v);
  const t = msg().phases;
  const text = t.of(amount(e, v), amount(d, v), amount(left, v));
  const pct = e !== null && d ? Math.min(100, Math.max(0, (e / d) * 100)) : 0;
  return (
    <li class={`step ${isActive ? 'is-active' : ''} ${worst ? qualityClass(worst.quality) : 'q-good'}`} data-step={step.label} aria-current={isActive ? 'step' : undefined}>
      <div class="step-head">
        <span class="step-label">
          <span class="step-mark" aria-hidden="true">
            {isActive ? '▶' : '▷'}
          </span>
          {step.label}
          {isActive && <span class="step-active-word">{t.active}</span>}
        </span>
        <span class="step-time num">
          <span class="step-elapsed">{amount(e, v)}</span>
          <span class="step-planned"> / {amount(d, v)}</span>
          <span class={`step-left ${left === 0 ? 'is-done' : ''}`}>{t.left(amount(left, v))}</span>
          {worst && <QualityMark quality={worst.quality} reason={`${worst.info?.description || worst.name}: ${worst.reason}`} />}
        </span>
      </div>
      <div
        class="step-track"
        role="progressbar"
        aria-label={t.elapsedLabel(step.label)}
        aria-valuemin={0}
        aria-valuemax={d ?? undefined}
        aria-valuenow={e ?? undefined}
        aria-valuetext={`${text}${isActive ? t.activeSuffix : ''}`}
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
  const steps = phases.steps.map((s) => viewStep(state, s, selector));
  return (
    <div class="phases">
      <CurrentStep steps={steps} stopped={isStopped} />
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
            {isStopped ? msg().phases.stopped : msg().phases.running}
            <QualityMark quality={stopped.quality} reason={stopped.reason} />
          </span>
        )}
      </div>
      <ol class="steps">
        {steps.map((v) => (
          <Step key={v.step.label} v={v} />
        ))}
      </ol>
    </div>
  );
}

/** The step running now, its time left, and when the cycle should end at the planned durations. */
function CurrentStep({ steps, stopped }: { steps: readonly StepView[]; stopped: boolean }) {
  const state = useHmiState();
  const now = steps.find((s) => s.active);
  const t = msg().phases;
  if (!now || stopped) {
    return (
      <p class="phase-now" data-testid="phase-now">
        <span aria-hidden="true">■ </span>
        <strong>{stopped ? t.cycleStopped : t.noStep}</strong>
        {t.noEnd}
      </p>
    );
  }
  const left = cycleLeft(steps);
  const ms = unitMs(now.unit);
  const end = left !== null && ms !== undefined ? state.clock.value + left * ms : null;
  return (
    <p class="phase-now" data-testid="phase-now" data-step={now.step.label}>
      <span aria-hidden="true">▶ </span>
      <strong>{now.step.label}</strong>: <strong class="num phase-now-left">{t.left(amount(timeLeft(now), now))}</strong>
      <span class="phase-now-end num">
        {t.cycleEnds(end === null ? null : formatTimeZoned(end, state.timeZone))}
      </span>
      {now.worst && <QualityMark quality={now.worst.quality} reason={`${now.worst.info?.description || now.worst.name}: ${now.worst.reason}`} />}
    </p>
  );
}

/** The current step alone (the phone's first screen), from the page's phases. */
export function CurrentStepOf({ phases }: { phases: PhasesSpec }) {
  const state = useHmiState();
  const selector = phases.selector ? viewTag(state, phases.selector) : undefined;
  const stopped = phases.stopped ? viewTag(state, phases.stopped) : undefined;
  return <CurrentStep steps={phases.steps.map((s) => viewStep(state, s, selector))} stopped={stopped?.live.value === true} />;
}
