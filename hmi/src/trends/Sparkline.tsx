/**
 * A small trend of the last minutes, from the values this browser received:
 * a staircase (values change by exception), solid while Good, dashed in the
 * quality colour while not. Written by hand as SVG; a full trend component
 * comes later.
 */
import { useHmiState } from '../shared/context.js';
import { formatNumber, formatTime, zoneName } from '../shared/format.js';
import type { TagInfo } from '../../../src/web/protocol.js';
import type { TrendPoint } from './trends.js';
import { msg } from '../i18n/locale.js';

const W = 600;
const H = 120;

interface Segment {
  d: string;
  good: boolean;
}

/** The staircase as path segments, one per run of equal quality. */
export function staircase(points: readonly TrendPoint[], from: number, to: number, lo: number, hi: number): Segment[] {
  const x = (t: number): number => ((Math.max(from, t) - from) / (to - from)) * W;
  const y = (v: number): number => H - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1)) * H;
  const segments: Segment[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    const end = points[i + 1]?.t ?? to;
    if (end < from) continue;
    const piece = `M${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}H${x(end).toFixed(1)}`;
    const last = segments[segments.length - 1];
    if (last && last.good === p.good) last.d += piece;
    else segments.push({ d: piece, good: p.good });
    // The vertical step to the next value belongs with the next point.
    const next = points[i + 1];
    if (next) segments[segments.length - 1]!.d += `V${y(next.v).toFixed(1)}`;
  }
  return segments;
}

export function Sparkline({ tag, info }: { tag: string; info: TagInfo | undefined }) {
  const state = useHmiState();
  const now = state.clock.value;
  // Reading the value re-draws on each new value, not only each second.
  const latest = state.value(tag).value;
  const points = state.trends.points(tag, now);
  // The window: the trend's full span once this browser has that much, else what it has (at least a minute).
  const have = points.length > 0 ? now - points[0]!.t : 0;
  const span = Math.min(state.trends.windowMs, Math.max(60_000, have));
  const from = now - span;
  const values = points.filter((p) => p.t >= from || p === points[0]).map((p) => p.v);
  const decimals = info?.decimals ?? 0;
  const minutes = Math.round(span / 60_000);
  if (values.length === 0) {
    return <p class="empty">{msg().trends.noValues}</p>;
  }
  let [lo, hi] = info?.range ?? [Math.min(...values), Math.max(...values)];
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const segments = staircase(points, from, now, lo, hi);
  const unit = info?.unit ? `\u00a0${info.unit}` : '';
  const label = msg().trends.sparkline(minutes, values.length, formatNumber(Math.min(...values), decimals), `${formatNumber(Math.max(...values), decimals)}${unit}`);
  return (
    <figure class="spark" data-last={latest.sourceTs}>
      <div class="spark-plot">
        <div class="spark-y" aria-hidden="true">
          <span>{formatNumber(hi, decimals)}{unit}</span>
          <span>{formatNumber(lo, decimals)}{unit}</span>
        </div>
        <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label}>
          <rect class="spark-bg" x="0" y="0" width={W} height={H} />
          {segments.map((s, i) => (
            <path key={i} d={s.d} class={s.good ? 'spark-line' : 'spark-line spark-unsure'} vector-effect="non-scaling-stroke" />
          ))}
        </svg>
      </div>
      <div class="spark-x" aria-hidden="true">
        <span>{formatTime(from, state.timeZone)}</span>
        <span>{formatTime(now, state.timeZone)}</span>
      </div>
      <figcaption class="caption">
        {msg().trends.sparkCaption(minutes, zoneName(now, state.timeZone))}
      </figcaption>
    </figure>
  );
}
