/**
 * An analog bar: where a value sits in its display range, the normal band
 * between its low and high limits, a marker at each limit. A value outside
 * the limits turns abnormal (colour, an arrow and the word HIGH or LOW); a
 * value whose quality is not Good is hatched and marked, never drawn as good.
 */
import { formatInUnit, formatNumber, formatValue } from '../shared/format.js';
import { qualityClass } from '../live/quality-view.js';
import { hrefTag } from '../shared/router.js';
import type { TagView } from '../live/tag-view.js';
import { QualityMark } from '../live/QualityMark.js';
import { msg } from '../i18n/locale.js';

export interface Limit {
  value: number;
  /** False when the limit itself comes from a tag whose quality is not Good. */
  good: boolean;
}

export interface AnalogBarProps {
  view: TagView;
  low?: Limit | undefined;
  high?: Limit | undefined;
  /** False while the limits do not apply (e.g. a discharge limit during aeration): drawn, never abnormal. */
  limitsApply?: boolean;
  /** Why they do not apply, shown under the bar. */
  limitsNote?: string | undefined;
  /** Why not, for tests and styles: their condition is false, or not known (a value it needs is not Good). */
  limitsState?: 'false' | 'unknown' | 'unreadable' | undefined;
}

const clamp = (x: number): number => Math.min(100, Math.max(0, x));

/** The display range: the tag's, else one that holds the value and the limits. */
export function displayRange(view: TagView, low?: Limit, high?: Limit): [number, number] {
  if (view.info?.range) return view.info.range;
  const v = typeof view.live.value === 'number' ? view.live.value : 0;
  const top = Math.max(v, high?.value ?? 0, low?.value ?? 0, 1);
  return [0, top * 1.25];
}

/** Where a value sits against its limits: 'none' without a value or while the limits do not apply. */
export function limitState(value: number | null, low: Limit | undefined, high: Limit | undefined, limitsApply = true): 'none' | 'high' | 'low' | 'normal' {
  if (value === null || !limitsApply) return 'none';
  return high && value > high.value ? 'high' : low && value < low.value ? 'low' : 'normal';
}

/** A limit's label above its marker, kept inside the bar at the ends. */
function LimitLabel({ at, text }: { at: number; text: string }) {
  const align = at < 10 ? 'start' : at > 90 ? 'end' : 'middle';
  return (
    <span class={`abar-mark abar-mark-${align}`} style={{ left: `${at}%` }}>
      {text}
    </span>
  );
}

export function AnalogBar({ view, low, high, limitsApply = true, limitsNote, limitsState }: AnalogBarProps) {
  const info = view.info;
  const label = info?.description || view.name;
  const [min, max] = displayRange(view, low, high);
  const span = max - min || 1;
  const pct = (x: number): number => clamp(((x - min) / span) * 100);
  const value = typeof view.live.value === 'number' ? view.live.value : null;
  const state = limitState(value, low, high, limitsApply);
  const abnormal = state === 'high' || state === 'low';
  const t = msg().bar;
  const word = state === 'high' ? t.high : state === 'low' ? t.low : '';
  const bandFrom = low ? pct(low.value) : 0;
  const bandTo = high ? pct(high.value) : 100;
  const valueText = formatValue(info, value);
  const limitsText = [low && t.lowLimit(formatInUnit(info, low.value)), high && t.highLimit(formatInUnit(info, high.value))].filter(Boolean).join(', ');
  const ariaText = [valueText, word && t.outside(word), !view.good && t.quality(view.reason), limitsText, limitsNote].filter(Boolean).join('; ');
  const classes = ['abar', qualityClass(view.quality), abnormal && view.good ? 'is-abnormal' : '', abnormal ? `is-${state}` : '', limitsApply ? '' : 'limits-idle'].join(' ');

  return (
    <div class={classes} data-tag={view.name} data-limits={limitsApply ? 'apply' : (limitsState ?? 'false')}>
      <div class="abar-head">
        <a class="abar-label" href={hrefTag(view.name)}>
          {label}
        </a>
        <span class="abar-reading">
          {word && (
            <span class="abar-word">
              <span aria-hidden="true">{state === 'high' ? '▲ ' : '▼ '}</span>
              {word}
            </span>
          )}
          <span class="abar-value num" title={view.good ? undefined : view.reason}>
            {valueText}
          </span>
          <QualityMark quality={view.quality} reason={view.reason} />
        </span>
      </div>
      {(low || high) && (
        <div class="abar-marks" aria-hidden="true">
          {low && <LimitLabel at={pct(low.value)} text={`${t.lowMark} ${formatNumber(low.value, info?.decimals ?? 0)}${low.good ? '' : ' ?'}`} />}
          {high && <LimitLabel at={pct(high.value)} text={`${t.highMark} ${formatNumber(high.value, info?.decimals ?? 0)}${high.good ? '' : ' ?'}`} />}
        </div>
      )}
      <div
        class="abar-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={min}
        aria-valuemax={max}
        aria-valuenow={value ?? undefined}
        aria-valuetext={ariaText}
        title={view.good ? undefined : view.reason}
      >
        {(low || high) && <div class="abar-band" style={{ left: `${bandFrom}%`, width: `${Math.max(0, bandTo - bandFrom)}%` }} />}
        {value !== null && <div class="abar-fill" style={{ width: `${pct(value)}%` }} />}
        {low && <div class={`abar-limit${low.good ? '' : ' limit-unsure'}`} style={{ left: `${pct(low.value)}%` }} />}
        {high && <div class={`abar-limit${high.good ? '' : ' limit-unsure'}`} style={{ left: `${pct(high.value)}%` }} />}
        {value !== null && <div class="abar-pointer" style={{ left: `${pct(value)}%` }} />}
      </div>
      {limitsNote && <p class="abar-note">{limitsNote}</p>}
      <div class="abar-scale">
        <span>{formatNumber(min, info?.decimals ?? 0)}</span>
        <span>
          {formatNumber(max, info?.decimals ?? 0)}
          {info?.unit ? `\u00a0${info.unit}` : ''}
        </span>
      </div>
    </div>
  );
}
