/**
 * Applies a mimic page's bindings to its inlined drawing. State is shown by
 * classes (styled in mimic.css), not inline colours:
 *   level   — the element's height over the range, anchored at its bottom
 *             (its drawn height is full scale)
 *   text    — the value with its unit and fixed decimals
 *   running — pl-running (filled) or pl-stopped (outline)
 *   open    — pl-open (filled) or pl-closed (outline)
 *   alarm   — pl-alarm (abnormal colour) and a "!" triangle marker
 *   instrument — the element stands for the tag's instrument (a probe): only
 *             its quality shows on it, the value is written elsewhere
 * Several running (or open) bindings on one element: running while any is
 * true (an aerator runs in fill and in aeration).
 * Any binding whose value is not Good greys/hatches the element (pl-bad or
 * pl-uncertain) and its <title> says why.
 *
 * Each bound element is a button (click, Enter or Space) to the faceplate
 * of its first binding's tag, named by the drawing's aria-label. A
 * <text id="ID-state"> in the drawing, when there is one, gets the element's
 * state in a word (RUN, STOP, OPEN, SHUT, OK, ALARM, or the quality), so
 * that no state is told by colour or fill alone.
 */
import { formatValue } from '../shared/format.js';
import type { MimicBinding } from '../shared/pages.js';
import { qualityLevel, qualityMark, qualityWord } from '../live/quality-view.js';
import type { TagView } from '../live/tag-view.js';
import { locale, msg } from '../i18n/locale.js';

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
  /** The element's name for people: the drawing's aria-label, else its first tag's. */
  name?: string;
  /** Its name in Spanish (the drawing's data-es-label), shown when the user chose Spanish. */
  nameEs?: string;
  /** Where its state is written in a word: the drawing's <text id="ID-state">. */
  state?: SVGTextElement;
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

/** Makes a bound element (and its state word) open its first tag's faceplate, by pointer and keyboard. */
function makeButton(bound: Bound, open: (tag: string) => void): void {
  const tag = bound.bindings[0]!.tag;
  const go = (): void => open(tag);
  bound.el.setAttribute('tabindex', '0');
  bound.el.setAttribute('role', 'button');
  bound.el.dataset.tag = tag;
  bound.el.addEventListener('click', go);
  bound.el.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    go();
  });
  bound.state?.addEventListener('click', go);
}

/**
 * Finds the bound elements (the drawing must be in the document: markers need its geometry); `open` shows a tag's
 * faceplate.
 */
export function prepareDrawing(svg: SVGSVGElement, bindings: readonly MimicBinding[], open: (tag: string) => void = () => {}): PreparedDrawing {
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
      const name = el.getAttribute('aria-label');
      if (name) bound.name = name;
      if (el.dataset.esLabel) bound.nameEs = el.dataset.esLabel;
      const state = svg.querySelector<SVGTextElement>(`text[id="${CSS.escape(`${b.element}-state`)}"]`);
      if (state) {
        bound.state = state;
        state.classList.add('pl-state');
      }
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
  for (const b of byId.values()) {
    b.el.classList.toggle('pl-alarm-only', b.bindings.every((x) => x.as === 'alarm'));
    makeButton(b, open);
  }
  return { bound: [...byId.values()], missing };
}

function levelFraction(view: TagView, binding: MimicBinding): number | undefined {
  const v = view.live.value;
  if (typeof v !== 'number') return undefined;
  const [lo, hi] = binding.range ?? view.info?.range ?? [0, 100];
  return Math.min(1, Math.max(0, (v - lo) / (hi - lo || 1)));
}

/** The element's state in a word: its quality's mark when not good, else an alarm, else running/open, else an instrument's reading, else OK. */
function stateWord(classes: ReadonlySet<string>, notGood: TagView | undefined, hasAlarm: boolean, reading: string | undefined): string {
  const w = msg().mimic.word;
  // The mark only, where the drawing has room for a short word; the quality's word and reason are in the tooltip and the name.
  if (notGood) return qualityMark(notGood.quality);
  if (classes.has('pl-alarm')) return w.alarm;
  if (classes.has('pl-running')) return w.running;
  if (classes.has('pl-stopped')) return w.stopped;
  if (classes.has('pl-open')) return w.open;
  if (classes.has('pl-closed')) return w.closed;
  if (reading !== undefined) return reading;
  return hasAlarm ? w.normal : '';
}

/** Draws the current values; `view` gives a tag's view (reading it subscribes the caller's effect). */
export function renderDrawing(prepared: PreparedDrawing, view: (tag: string) => TagView): void {
  for (const b of prepared.bound) {
    const classes = new Set<string>();
    const lines: string[] = [];
    let worst: 'good' | 'uncertain' | 'bad' = 'good';
    let text: string | undefined;
    let worstView: TagView | undefined;
    let reading: string | undefined;
    for (const binding of b.bindings) {
      const v = view(binding.tag);
      const level = qualityLevel(v.quality);
      if (level === 'bad' || (level === 'uncertain' && worst === 'good')) {
        worst = level;
        worstView = v;
      }
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
        case 'instrument':
          reading = formatValue(v.info, v.live.value);
          break;
        case 'alarm':
          if (on) classes.add('pl-alarm');
          break;
      }
      const t = msg().mimic;
      const what = binding.as === 'alarm' ? (on ? t.stateAlarm : t.stateNoAlarm) : binding.as === 'running' ? (on ? t.stateRunning : t.stateStopped) : binding.as === 'open' ? (on ? t.stateOpen : t.stateClosed) : formatValue(v.info, v.live.value);
      lines.push(`${v.info?.description || binding.tag}: ${what}${v.good ? '' : ` — ${qualityWord(v.quality)}: ${v.reason}`}`);
    }
    // Running (open) while any of its running (open) bindings is true.
    if (classes.has('pl-running')) classes.delete('pl-stopped');
    if (classes.has('pl-open')) classes.delete('pl-closed');
    if (worst !== 'good') classes.add(worst === 'bad' ? 'pl-bad' : 'pl-uncertain');
    for (const c of STATE_CLASSES) b.el.classList.toggle(c, classes.has(c));
    b.el.dataset.quality = worst;
    if (b.marker) b.marker.classList.toggle('is-shown', classes.has('pl-alarm'));
    if (text !== undefined && b.text) b.text.textContent = text;
    const word = stateWord(classes, worstView, b.bindings.some((x) => x.as === 'alarm'), reading);
    if (b.state) {
      b.state.textContent = word;
      for (const c of ['pl-alarm', 'pl-bad', 'pl-uncertain']) b.state.classList.toggle(c, classes.has(c));
    }
    const name = (locale.value === 'es-AR' ? b.nameEs : undefined) ?? b.name ?? view(b.bindings[0]!.tag).info?.description ?? b.bindings[0]!.tag;
    const said = worstView ? `${word} ${qualityWord(worstView.quality)}` : word || (text ?? '');
    b.el.setAttribute('aria-label', msg().mimic.button(name, said));
    b.title.textContent = [...lines, msg().mimic.opens(b.bindings[0]!.tag)].join('\n');
  }
}

/**
 * The drawing's own words in the user's language: a text with data-es shows
 * that Spanish instead of its English, an element with data-es-label gets
 * that aria-label (the English stays in data-en / data-en-label, for the way
 * back). The drawing is the plant's file, so its words are not in the catalogue.
 */
export function translateDrawing(svg: SVGSVGElement, lang: string): void {
  const es = lang === 'es-AR';
  for (const el of svg.querySelectorAll<SVGElement>('[data-es]')) {
    el.dataset.en ??= el.textContent ?? '';
    el.textContent = es ? el.dataset.es! : el.dataset.en;
  }
  for (const el of svg.querySelectorAll<SVGElement>('[data-es-label]:not(.pl-bound)')) {
    el.dataset.enLabel ??= el.getAttribute('aria-label') ?? '';
    el.setAttribute('aria-label', es ? el.dataset.esLabel! : el.dataset.enLabel);
  }
}
