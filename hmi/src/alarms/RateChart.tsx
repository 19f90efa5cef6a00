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
  const desc =
    f.activations === 0
      ? `No activations from ${formatDateTime(f.from, tz)} to ${formatDateTime(f.to, tz)}.`
      : `${f.activations} activations in ${f.buckets.length} bars of ${width} each. The busiest, from ${formatDateTime(f.from + busiest * f.bucketMs, tz)}, had ${most}.` +
        (g.flood ? ` The dashed line is the flood rate, ${f.targets.floodPer10Min} per 10 minutes.` : '');
  const ticksX = [0, Math.floor(f.buckets.length / 2), f.buckets.length];
  return (
    <figure class="rate-chart" ref={ref}>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-labelledby="rate-chart-title rate-chart-desc">
        <title id="rate-chart-title">Alarm activations per {width}</title>
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
        Activations per {width}, {formatDateTime(f.from, tz)} to {formatDateTime(f.to, tz)} {zoneName(f.to, tz)}.
        {g.flood ? ' Dashed line: the flood rate; a bar reaching above it marks a flood.' : ' Bars narrower than 10 minutes cannot show a flood by themselves: see “Peak rate” and “Time in flood”.'}
      </figcaption>
      <details class="chart-table">
        <summary>The chart as a table</summary>
        <div class="table-scroll">
          <table class="tag-table">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Activations</th>
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
