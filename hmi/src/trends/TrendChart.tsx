/**
 * The trend chart (uPlot on a canvas): one staircase per pen, solid while
 * good and dashed in the quality colour while uncertain, stopping at gaps;
 * one y axis per unit; times in the plant's zone. Dragging across selects a
 * period to zoom into; the cursor's time goes to the page (its legend).
 * Colours come from the theme's CSS variables and follow a change of theme.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber } from '../shared/format.js';
import { type AxisGroup, type Joined, PEN_DASH, PHONE_AXES, type PenInfo, penDash, timeTicks } from './trend-model.js';
import type { TrendBand, TrendLimit } from './trend-overlays.js';
import { msg } from '../i18n/locale.js';


/** The light or dark theme, followed as the toggle changes it. */
function useTheme(): string {
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? 'light');
  useEffect(() => {
    const o = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? 'light'));
    o.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => o.disconnect();
  }, []);
  return theme;
}

/** A CSS colour variable's value, for the canvas. */
function cssVar(el: Element, name: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || '#808080';
}

/** Each value holds until the next sample; a null stops the line after its hold; an undefined (another pen's sample) is skipped. */
const staircase: uPlot.Series.PathBuilder = (u, seriesIdx) => {
  const xs = u.data[0];
  const ys = u.data[seriesIdx]!;
  const scale = u.series[seriesIdx]!.scale ?? 'y';
  const { left, top, width, height } = u.bbox;
  const clampX = (px: number): number => Math.min(left + width + 2, Math.max(left - 2, px));
  const stroke = new Path2D();
  let down = false;
  let prevY = 0;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === undefined) continue;
    const px = clampX(u.valToPos(xs[i]!, 'x', true));
    if (y === null) {
      if (down) stroke.lineTo(px, prevY);
      down = false;
      continue;
    }
    const py = u.valToPos(y, scale, true);
    if (down) {
      stroke.lineTo(px, prevY);
      stroke.lineTo(px, py);
    } else stroke.moveTo(px, py);
    down = true;
    prevY = py;
  }
  const clip = new Path2D();
  clip.rect(left, top, width, height);
  return { stroke, fill: null, clip };
};

export interface TrendChartProps {
  pens: readonly PenInfo[];
  groups: readonly AxisGroup[];
  data: Joined;
  bounds: { from: number; to: number };
  timeZone: string;
  /** What the chart shows, for screen readers. */
  label: string;
  onZoom(from: number, to: number): void;
  onCursor(t: number | null): void;
  /** The chart's width in CSS pixels, once known and when it changes. */
  onWidth(px: number): void;
  /** The sequence's phases, shaded behind the pens. */
  bands?: readonly TrendBand[];
  /** The pens' configured limits, drawn as horizontal lines. */
  limits?: readonly TrendLimit[];
}

/** Shades of the phases in order (alpha over the plot's background): adjacent phases differ, each is named at its top. */
const BAND_ALPHA = [0.1, 0.22, 0.06, 0.16];

/** The phases as shaded bands with their names (before the axes and pens are drawn); returns how many were drawn. */
function drawBands(u: uPlot, bands: readonly TrendBand[], shade: string, text: string, font: string): number {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  let drawn = 0;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.font = font;
  ctx.textBaseline = 'top';
  for (const b of bands) {
    const x0 = Math.max(left, u.valToPos(b.from, 'x', true));
    const x1 = Math.min(left + width, u.valToPos(b.to, 'x', true));
    if (x1 - x0 < 0.5) continue;
    ctx.globalAlpha = BAND_ALPHA[b.index % BAND_ALPHA.length]!;
    ctx.fillStyle = shade;
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.globalAlpha = 1;
    ctx.fillStyle = text;
    // The name where it fits; a narrow band keeps its shade only (the caption names the phases).
    const name = b.label;
    if (ctx.measureText(name).width + 6 <= x1 - x0) ctx.fillText(name, x0 + 3, top + 3);
    drawn++;
  }
  ctx.restore();
  return drawn;
}

/** Each limit as a dashed line across the plot on its pen's scale, labelled at the right; returns how many were drawn. */
function drawLimits(u: uPlot, limits: readonly TrendLimit[], scaleOf: (pen: number) => string, colour: string, font: string, decimals: (pen: number) => number): number {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  let drawn = 0;
  ctx.save();
  ctx.font = font;
  ctx.textAlign = 'right';
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = Math.max(1, devicePixelRatio);
  for (const l of limits) {
    const y = Math.round(u.valToPos(l.value, scaleOf(l.pen), true));
    if (!Number.isFinite(y) || y < top || y > top + height) continue;
    ctx.setLineDash(l.good ? [8 * devicePixelRatio, 4 * devicePixelRatio] : [2 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.textBaseline = l.kind === 'high' ? 'bottom' : 'top';
    ctx.fillText(msg().trendOverlay.limitMark(l.kind, formatNumber(l.value, decimals(l.pen)), l.good), left + width - 4, l.kind === 'high' ? y - 2 : y + 2);
    drawn++;
  }
  ctx.restore();
  return drawn;
}

const PHONE = 600;

export function TrendChart(props: TrendChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const theme = useTheme();
  const [width, setWidth] = useState(0);
  const phone = width > 0 && width < PHONE;
  const structure = `${theme}|${phone}|${props.pens.map((p) => `${p.tag}:${p.unit}:${p.bool}`).join(',')}`;

  // The width follows the panel (phones, rotation, a resized window).
  useEffect(() => {
    const el = box.current!;
    const o = new ResizeObserver(() => setWidth(Math.floor(el.clientWidth)));
    o.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => o.disconnect();
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el || width === 0 || props.pens.length === 0) return;
    const p = latest.current;
    const colour = (name: string): string => cssVar(el, name);
    const muted = colour('--muted');
    const grid = colour('--track');
    const quality = colour('--quality');
    const font = `${phone ? 11 : 12}px system-ui, sans-serif`;
    const series: uPlot.Series[] = [{}];
    p.pens.forEach((pen, i) => {
      const scale = p.groups.find((g) => g.pens.includes(i))!.key;
      series.push(
        { label: pen.tag, scale, stroke: cssVar(el, `--pen-${(i % PEN_DASH.length) + 1}`), width: 2, dash: penDash(i), paths: staircase, points: { show: false }, spanGaps: false },
        { label: `${pen.tag} (uncertain)`, scale, stroke: quality, width: 2, dash: [5, 4], paths: staircase, points: { show: false }, spanGaps: false },
      );
    });
    const scales: uPlot.Scales = {
      x: { time: true, auto: false, range: () => [latest.current.bounds.from, latest.current.bounds.to] },
    };
    const axes: uPlot.Axis[] = [
      {
        stroke: muted,
        font,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1 },
        size: phone ? 44 : 48,
        // Room for "16:47:46.5" between ticks.
        space: 84,
        values: (_u: uPlot, splits: number[], _i: number, _space: number, incr: number) => timeTicks(splits, incr, latest.current.timeZone),
      },
    ];
    p.groups.forEach((g, gi) => {
      const decimals = Math.min(...g.pens.map((i) => p.pens[i]!.decimals));
      // The limits of the group's pens stay in view, with the data.
      scales[g.key] = g.bool
        ? { range: [-0.15, 1.15] }
        : {
            auto: true,
            range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => {
              const ls = (latest.current.limits ?? []).filter((l) => g.pens.includes(l.pen)).map((l) => l.value);
              const lo = Math.min(min, ...ls);
              const hi = Math.max(max, ...ls);
              return Number.isFinite(lo) && Number.isFinite(hi) ? uPlot.rangeNum(lo, hi, 0.1, true) : [min, max];
            },
          };
      axes.push({
        // Phones: the first axes only, so the plot keeps its width.
        show: !phone || gi < PHONE_AXES,
        scale: g.key,
        side: gi % 2 === 0 ? 3 : 1,
        stroke: muted,
        font,
        labelFont: `600 ${font}`,
        label: g.bool ? 'on/off' : g.unit || 'value',
        labelSize: phone ? 14 : 18,
        labelGap: 0,
        size: phone ? 40 : 56,
        gap: 3,
        grid: { show: gi === 0, stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1, size: 4 },
        ...(g.bool
          ? { splits: () => [0, 1], values: (_u: uPlot, splits: number[]) => splits.map((v) => (v === 1 ? 'ON' : v === 0 ? 'OFF' : '')) }
          : { values: (_u: uPlot, splits: number[]) => splits.map((v) => formatNumber(v, Math.max(0, Math.min(decimals, 2)))) }),
      });
    });
    const opts: uPlot.Options = {
      width,
      height: phone ? 240 : 380,
      ms: 1,
      tzDate: (ts) => uPlot.tzDate(new Date(ts), latest.current.timeZone),
      legend: { show: false },
      series,
      scales,
      axes,
      padding: [8, phone ? 4 : 8, 0, phone ? 4 : 8],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        x: true,
        y: false,
      },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      hooks: {
        drawClear: [
          (u) => {
            el.dataset.bands = String(drawBands(u, latest.current.bands ?? [], colour('--muted'), colour('--text'), font));
          },
        ],
        draw: [
          (u) => {
            const scaleOf = (pen: number): string => latest.current.groups.find((g) => g.pens.includes(pen))?.key ?? 'y';
            const decimals = (pen: number): number => latest.current.pens[pen]?.decimals ?? 2;
            el.dataset.limits = String(drawLimits(u, latest.current.limits ?? [], scaleOf, colour('--text'), font, decimals));
          },
        ],
        setCursor: [
          (u) => {
            const left = u.cursor.left;
            latest.current.onCursor(left === undefined || left < 0 ? null : u.posToVal(left, 'x'));
          },
        ],
        setSelect: [
          (u) => {
            const { left, width: w } = u.select;
            if (w > 4) latest.current.onZoom(u.posToVal(left, 'x'), u.posToVal(left + w, 'x'));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
      },
    };
    const u = new uPlot(opts, toAligned(p.data, p.pens.length), el);
    plot.current = u;
    const leave = (): void => latest.current.onCursor(null);
    u.over.addEventListener('mouseleave', leave);
    return () => {
      u.over.removeEventListener('mouseleave', leave);
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when what it draws changes shape; the data and the width go through setData and setSize.
  }, [structure, width > 0]);

  useEffect(() => {
    if (width === 0) return;
    props.onWidth(width);
    const u = plot.current;
    if (u && u.width !== width) u.setSize({ width, height: phone ? 240 : 380 });
  }, [width]);

  useEffect(() => {
    plot.current?.setData(toAligned(props.data, props.pens.length), true);
  }, [props.data, props.bounds.from, props.bounds.to]);

  // New bands or limits: the scales (limits stay in view) and the drawing follow.
  useEffect(() => {
    const u = plot.current;
    if (u) u.setData(u.data, true);
  }, [props.bands, props.limits]);

  const hidden = phone ? props.groups.slice(PHONE_AXES) : [];
  return (
    <>
      <div class="trend-canvas" ref={box} role="img" aria-label={props.label} />
      {hidden.length > 0 && (
        <p class="caption trend-hidden-axes">
          At this width the axes of {hidden.map((g) => (g.bool ? 'on/off' : g.unit || 'unitless values')).join(', ')} are not drawn: the legend gives their values.
        </p>
      )}
    </>
  );
}

/** The joined series in uPlot's order: time, then each pen's good and uncertain staircases. */
function toAligned(j: Joined, pens: number): uPlot.AlignedData {
  const out: (number | null | undefined)[][] = [j.x];
  for (let i = 0; i < pens; i++) out.push(j.good[i] ?? [], j.unsure[i] ?? []);
  return out as uPlot.AlignedData;
}
