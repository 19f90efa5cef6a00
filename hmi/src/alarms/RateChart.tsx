/**
 * Alarm activations over the period as bars (plain SVG), with the flood
 * rate drawn as a dashed line where the bars are 10 minutes or wider. An
 * image with a title and a description for screen readers, and the same
 * numbers as a table underneath.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RateFigures } from '../../../src/web/protocol.js';
import { useHmiState } from '../shared/context.js';
import { formatDateTime, formatDuration, formatTime, zoneName } from '../shared/format.js';
import { chartGeometry } from './rates-model.js';
import { msg } from '../i18n/locale.js';

const HEIGHT = 220;

/** The width the chart has on screen, so its text is drawn at its size and never stretched. */
function useWidth(fallback: number): [ref: { current: HTMLElement | null }, width: number] {
  const ref = useRef<HTMLElement | null>(null);
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = (): void => setWidth(Math.max(240, Math.floor(el.clientWidth)));
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

export function RateChart({ f }: { f: RateFigures }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const [ref, WIDTH] = useWidth(720);
  const g = chartGeometry(f.buckets, f.bucketMs, f.targets.floodPer10Min, { width: WIDTH, height: HEIGHT });
  const width = formatDuration(f.bucketMs).replace(/ 00 (s|min)$/, '');
  const busiest = f.buckets.reduce((best, n, i) => (n > (f.buckets[best] ?? 0) ? i : best), 0);
  const most = f.buckets[busiest] ?? 0;
  const t = msg().rateChart;
  const desc =
    f.activations === 0
      ? t.none(formatDateTime(f.from, tz), formatDateTime(f.to, tz))
      : t.desc(f.activations, f.buckets.length, width, formatDateTime(f.from + busiest * f.bucketMs, tz), most) + (g.flood ? t.floodLine(f.targets.floodPer10Min) : '');
  const ticksX = [0, Math.floor(f.buckets.length / 2), f.buckets.length];
  return (
    <figure class="rate-chart" ref={ref}>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-labelledby="rate-chart-title rate-chart-desc">
        <title id="rate-chart-title">{t.title(width)}</title>
        <desc id="rate-chart-desc">{desc}</desc>
        <rect class="chart-bg" x={g.plot.left} y={g.plot.top} width={g.plot.width} height={g.plot.height} />
        {g.ticks.map((t) => (
          <g key={t.value}>
            <line class="chart-grid" x1={g.plot.left} x2={g.plot.left + g.plot.width} y1={t.y} y2={t.y} />
            <text class="chart-label" x={g.plot.left - 6} y={t.y + 4} text-anchor="end">
              {Math.round(t.value)}
            </text>
          </g>
        ))}
        {g.bars.map((b) =>
          b.count > 0 ? <rect key={b.i} class={`chart-bar ${b.over ? 'is-over' : ''}`} x={b.x} y={b.y} width={b.width} height={b.height} /> : null,
        )}
        {g.flood && <line class="chart-flood" x1={g.plot.left} x2={g.plot.left + g.plot.width} y1={g.flood.y} y2={g.flood.y} />}
        {ticksX.map((i, k) => (
          <text
            key={i}
            class="chart-label"
            x={g.plot.left + (i / Math.max(1, f.buckets.length)) * g.plot.width}
            y={HEIGHT - 6}
            text-anchor={k === 0 ? 'start' : k === ticksX.length - 1 ? 'end' : 'middle'}
          >
            {formatTime(f.from + i * f.bucketMs, tz)}
          </text>
        ))}
      </svg>
      <figcaption class="caption">
        {t.caption(width, formatDateTime(f.from, tz), `${formatDateTime(f.to, tz)} ${zoneName(f.to, tz)}`)}
        {g.flood ? t.dashed : t.narrow}
      </figcaption>
      <details class="chart-table">
        <summary>{t.asTable}</summary>
        <div class="table-scroll">
          <table class="tag-table">
            <thead>
              <tr>
                <th scope="col">{t.from}</th>
                <th scope="col">{t.activations}</th>
              </tr>
            </thead>
            <tbody>
              {f.buckets.map((n, i) => (
                <tr key={i}>
                  <td class="num">{formatDateTime(f.from + i * f.bucketMs, tz)}</td>
                  <td class="num">{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
