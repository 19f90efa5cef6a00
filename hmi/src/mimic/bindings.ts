/**
 * Applies a mimic page's bindings to its inlined drawing. State is shown by
 * classes (styled in mimic.css), not inline colours:
 *   level   — the element's height over the range, anchored at its bottom
 *             (its drawn height is full scale)
 *   text    — the value with its unit and fixed decimals
 *   running — pl-running (filled) or pl-stopped (outline)
 *   open    — pl-open (filled) or pl-closed (outline)
 *   alarm   — pl-alarm (abnormal colour) and a "!" triangle marker
 * Any binding whose value is not Good greys/hatches the element (pl-bad or
 * pl-uncertain) and its <title> says why.
 */
import { formatValue } from '../shared/format.js';
import type { MimicBinding } from '../shared/pages.js';
import { qualityLevel, qualityMark, qualityWord } from '../live/quality-view.js';
import type { TagView } from '../live/tag-view.js';
import { msg } from '../i18n/locale.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const STATE_CLASSES = ['pl-running', 'pl-stopped', 'pl-open', 'pl-closed', 'pl-alarm', 'pl-bad', 'pl-uncertain'];

interface Bound {
  el: SVGGraphicsElement;
  bindings: MimicBinding[];
  title: SVGTitleElement;
  /** For a level binding: the drawn geometry, which is full scale. */
  full?: { y: number; height: number };
  marker?: SVGGElement;
  /** For a text binding: where the value is written. */
  text?: SVGTSpanElement;
}

export interface PreparedDrawing {
  bound: Bound[];
  /** Bindings whose element is not in the drawing (a configuration mistake, listed on the page). */
  missing: MimicBinding[];
}

function svgEl<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A hatch pattern for bad-quality fills, defined once in the drawing. */
function addHatch(svg: SVGSVGElement, id: string): void {
  const defs = svgEl('defs');
  const pattern = svgEl('pattern', { id, patternUnits: 'userSpaceOnUse', width: 8, height: 8, patternTransform: 'rotate(45)' });
  pattern.append(svgEl('rect', { width: 8, height: 8, class: 'pl-hatch-bg' }), svgEl('line', { x1: 0, y1: 0, x2: 0, y2: 8, class: 'pl-hatch-line' }));
  defs.append(pattern);
  svg.prepend(defs);
}

/** A "!" in a triangle at the element's top right corner: the alarm's shape, besides its colour. */
function addMarker(el: SVGGraphicsElement): SVGGElement {
  const box = el.getBBox();
  const x = box.x + box.width;
  const y = box.y;
  const g = svgEl('g', { class: 'pl-alarm-marker', 'aria-hidden': 'true' });
  g.append(
    svgEl('polygon', { points: `${x - 9},${y + 6} ${x},${y - 11} ${x + 9},${y + 6}` }),
    Object.assign(svgEl('text', { x, y: y + 4, 'text-anchor': 'middle' }), { textContent: '!' }),
  );
  // Last in its parent, so that nothing drawn later covers it.
  (el.parentNode ?? el.ownerSVGElement)?.appendChild(g);
  return g;
}

/** Finds the bound elements (the drawing must be in the document: markers need its geometry). */
export function prepareDrawing(svg: SVGSVGElement, bindings: readonly MimicBinding[]): PreparedDrawing {
  addHatch(svg, 'pl-hatch');
  const byId = new Map<string, Bound>();
  const missing: MimicBinding[] = [];
  for (const b of bindings) {
    let bound = byId.get(b.element);
    if (!bound) {
      const el = svg.querySelector<SVGGraphicsElement>(`[id="${CSS.escape(b.element)}"]`);
      if (!el) {
        missing.push(b);
        continue;
      }
      const title = svgEl('title');
      el.prepend(title);
      el.classList.add('pl-bound');
      bound = { el, bindings: [], title };
      byId.set(b.element, bound);
    }
    bound.bindings.push(b);
    if (b.as === 'level') {
      bound.full = { y: Number(bound.el.getAttribute('y') ?? 0), height: Number(bound.el.getAttribute('height') ?? 0) };
      bound.el.classList.add('pl-level');
    }
    if (b.as === 'alarm' && !bound.marker) bound.marker = addMarker(bound.el);
    if (b.as === 'text' && !bound.text) {
      bound.text = svgEl('tspan', { class: 'pl-text' });
      bound.el.replaceChildren(bound.title, bound.text);
    }
  }
  // An element bound only to alarms (a vessel, a pump's fault) keeps its fill when its value is not good: only its
  // outline says so, so that a hatched liquid inside it still shows where the level was.
  for (const b of byId.values()) b.el.classList.toggle('pl-alarm-only', b.bindings.every((x) => x.as === 'alarm'));
  return { bound: [...byId.values()], missing };
}

function levelFraction(view: TagView, binding: MimicBinding): number | undefined {
  const v = view.live.value;
  if (typeof v !== 'number') return undefined;
  const [lo, hi] = binding.range ?? view.info?.range ?? [0, 100];
  return Math.min(1, Math.max(0, (v - lo) / (hi - lo || 1)));
}

/** Draws the current values; `view` gives a tag's view (reading it subscribes the caller's effect). */
export function renderDrawing(prepared: PreparedDrawing, view: (tag: string) => TagView): void {
  for (const b of prepared.bound) {
    const classes = new Set<string>();
    const lines: string[] = [];
    let worst: 'good' | 'uncertain' | 'bad' = 'good';
    let text: string | undefined;
    for (const binding of b.bindings) {
      const v = view(binding.tag);
      const level = qualityLevel(v.quality);
      if (level === 'bad' || (level === 'uncertain' && worst === 'good')) worst = level;
      const on = v.live.value === true;
      switch (binding.as) {
        case 'level': {
          const f = levelFraction(v, binding);
          if (f !== undefined && b.full && b.el instanceof SVGRectElement) {
            const h = b.full.height * f;
            b.el.setAttribute('height', h.toFixed(2));
            b.el.setAttribute('y', (b.full.y + b.full.height - h).toFixed(2));
          }
          break;
        }
        case 'text':
          text = `${formatValue(v.info, v.live.value)}${v.good ? '' : ` ${qualityMark(v.quality)}`}`;
          break;
        case 'running':
          classes.add(on ? 'pl-running' : 'pl-stopped');
          break;
        case 'open':
          classes.add(on ? 'pl-open' : 'pl-closed');
          break;
        case 'alarm':
          if (on) classes.add('pl-alarm');
          break;
      }
      const t = msg().mimic;
      const what = binding.as === 'alarm' ? (on ? t.stateAlarm : t.stateNoAlarm) : binding.as === 'running' ? (on ? t.stateRunning : t.stateStopped) : binding.as === 'open' ? (on ? t.stateOpen : t.stateClosed) : formatValue(v.info, v.live.value);
      lines.push(`${v.info?.description || binding.tag}: ${what}${v.good ? '' : ` — ${qualityWord(v.quality)}: ${v.reason}`}`);
    }
    if (worst !== 'good') classes.add(worst === 'bad' ? 'pl-bad' : 'pl-uncertain');
    for (const c of STATE_CLASSES) b.el.classList.toggle(c, classes.has(c));
    b.el.dataset.quality = worst;
    if (b.marker) b.marker.classList.toggle('is-shown', classes.has('pl-alarm'));
    if (text !== undefined && b.text) b.text.textContent = text;
    b.title.textContent = lines.join('\n');
  }
}
