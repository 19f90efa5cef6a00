/**
 * A mimic page (level 2): the configured SVG drawing, sanitised and inlined,
 * with the page's bindings drawing the live state onto it. Preact renders
 * the frame; the drawing's own nodes are updated directly by an effect that
 * follows the bound tags' signals.
 */
import { effect } from '@preact/signals';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { fetchDrawing } from '../shared/api.js';
import { useHmiState } from '../shared/context.js';
import { type PreparedDrawing, prepareDrawing, renderDrawing, translateDrawing } from './bindings.js';
import { sanitiseSvg, scopeStyles } from './sanitise.js';
import type { MimicPage } from '../shared/pages.js';
import { hrefTag } from '../shared/router.js';
import { viewTag } from '../live/tag-view.js';
import { TagValue } from '../live/TagValue.js';
import { Faceplate } from '../live/Faceplate.js';
import { locale, msg } from '../i18n/locale.js';

type Load = { state: 'loading' } | { state: 'ready'; prepared: PreparedDrawing } | { state: 'failed'; message: string };

const narrow = (): boolean => window.matchMedia('(max-width: 600px)').matches;

function BoundValues({ page }: { page: MimicPage }) {
  const state = useHmiState();
  const tags = [...new Set(page.bindings.filter((b) => b.as !== 'alarm').map((b) => b.tag))];
  return (
    // Open by default on a phone, where the drawing's own texts are small.
    <details class="mimic-values" open={narrow()}>
      <summary>{msg().mimic.valuesList}</summary>
      <dl class="values">
        {tags.map((t) => {
          const v = viewTag(state, t);
          return (
            <div class="values-row" key={t}>
              <dt>
                <a href={hrefTag(t)}>{v.info?.description || t}</a>
              </dt>
              <dd>
                <TagValue view={v} />
              </dd>
            </div>
          );
        })}
      </dl>
    </details>
  );
}

function Legend() {
  const t = msg().mimic;
  return (
    <ul class="mimic-legend" aria-label={t.legend}>
      <li>
        <svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="7" class="lg-on" /></svg> {t.running}
      </li>
      <li>
        <svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="7" class="lg-off" /></svg> {t.stopped}
      </li>
      <li>
        <svg viewBox="0 0 20 20" aria-hidden="true"><polygon points="1,18 10,2 19,18" class="lg-alarm" /></svg> {t.alarm}
      </li>
      <li>
        <svg viewBox="0 0 20 20" aria-hidden="true"><rect x="2" y="2" width="16" height="16" class="lg-bad" /></svg> {t.bad}
      </li>
    </ul>
  );
}

/** The item clicked in the drawing: its tag, and where the focus goes back to. */
interface Selected {
  tag: string;
  from: Element | null;
}

/** The faceplate of the item clicked (level 3) under the drawing, so that the drawing stays in view around it. */
function SelectedFaceplate({ tag, onClose }: { tag: string; onClose(): void }) {
  const box = useRef<HTMLElement>(null);
  const t = msg().mimic.faceplate;
  // Focused before the browser paints it: a key pressed as soon as the faceplate shows (Escape) reaches it.
  useLayoutEffect(() => box.current?.focus(), []);
  return (
    <section
      class="mimic-faceplate"
      ref={box}
      tabIndex={-1}
      aria-label={t.region}
      data-tag={tag}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div class="mimic-faceplate-bar">
        <a href={hrefTag(tag)}>{t.page}</a>
        <button type="button" class="cmd-button" onClick={onClose}>
          {t.close}
        </button>
      </div>
      <Faceplate name={tag} embedded />
    </section>
  );
}

/** Drawing widths, in % of the panel: a phone starts at 200 % (texts about 11 px) and pans sideways. */
const ZOOMS = [100, 150, 200, 300];

function Zoom({ zoom, onZoom }: { zoom: number; onZoom(z: number): void }) {
  const t = msg().mimic.zoom;
  const i = ZOOMS.indexOf(zoom);
  return (
    <div class="mimic-zoom" role="group" aria-label={t.group}>
      <button type="button" class="cmd-button" disabled={i <= 0} onClick={() => onZoom(ZOOMS[i - 1]!)} aria-label={t.zoomOut}>
        −
      </button>
      <span class="mimic-zoom-value num" aria-live="polite">{zoom}%</span>
      <button type="button" class="cmd-button" disabled={i >= ZOOMS.length - 1} onClick={() => onZoom(ZOOMS[i + 1]!)} aria-label={t.zoomIn}>
        +
      </button>
      <button type="button" class="cmd-button" disabled={zoom === 100} onClick={() => onZoom(100)}>
        {t.fit}
      </button>
      {zoom > 100 && <span class="caption">{t.pan}</span>}
    </div>
  );
}

export function Mimic({ page }: { page: MimicPage }) {
  const state = useHmiState();
  const host = useRef<HTMLDivElement>(null);
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [zoom, setZoom] = useState(() => (narrow() ? 200 : 100));
  const [selected, setSelected] = useState<Selected | null>(null);
  const closeFaceplate = (): void => {
    const back = selected?.from;
    setSelected(null);
    if (back instanceof SVGElement || back instanceof HTMLElement) back.focus();
  };

  useEffect(() => {
    const abort = new AbortController();
    setLoad({ state: 'loading' });
    fetchDrawing(page.name, abort.signal)
      .then((text) => {
        const el = host.current;
        if (abort.signal.aborted || !el) return;
        const svg = sanitiseSvg(text);
        scopeStyles(svg, ':where(.mimic-drawing)');
        svg.removeAttribute('width');
        svg.removeAttribute('height');
        svg.setAttribute('role', 'img');
        svg.setAttribute('aria-label', page.title);
        el.replaceChildren(document.importNode(svg, true));
        const inlined = el.querySelector('svg')!;
        setLoad({ state: 'ready', prepared: prepareDrawing(inlined, page.bindings, (tag) => setSelected({ tag, from: document.activeElement })) });
      })
      .catch((err: unknown) => {
        if (!abort.signal.aborted) setLoad({ state: 'failed', message: err instanceof Error ? err.message : String(err) });
      });
    return () => abort.abort();
  }, [page.name]);

  useEffect(() => {
    if (load.state !== 'ready') return undefined;
    return effect(() => renderDrawing(load.prepared, (tag) => viewTag(state, tag)));
  }, [load, state]);

  // The drawing's labels follow the language switch (bound elements' names are set by renderDrawing).
  useEffect(() => {
    const svg = host.current?.querySelector('svg');
    if (load.state !== 'ready' || !svg) return undefined;
    return effect(() => translateDrawing(svg, locale.value));
  }, [load]);

  // Zoomed in (a phone), the frame starts on the process unit: the element of the first level binding (the reactor).
  useEffect(() => {
    const frame = host.current?.parentElement;
    const level = page.bindings.find((b) => b.as === 'level');
    const el = level && host.current?.querySelector(`[id="${CSS.escape(level.element)}"]`);
    if (load.state !== 'ready' || !frame || !el || frame.scrollWidth <= frame.clientWidth) return;
    const box = el.getBoundingClientRect();
    const at = frame.getBoundingClientRect();
    frame.scrollLeft += box.left + box.width / 2 - (at.left + at.width / 2);
  }, [load, zoom]);

  return (
    <main class="page mimic" aria-labelledby="page-title">
      <h1 id="page-title">{page.title}</h1>
      <section class="panel">
        {load.state === 'loading' && <p class="empty">{msg().mimic.loading}</p>}
        {load.state === 'failed' && (
          <p class="empty" role="alert">
            {msg().mimic.failed(load.message)}
          </p>
        )}
        <Zoom zoom={zoom} onZoom={setZoom} />
        <div class="mimic-scroll" tabIndex={zoom > 100 ? 0 : undefined} aria-label={zoom > 100 ? page.title : undefined} role={zoom > 100 ? 'region' : undefined}>
          <div class="mimic-drawing" ref={host} data-page={page.name} data-zoom={zoom} style={{ width: `${zoom}%` }} />
        </div>
        {load.state === 'ready' && load.prepared.missing.length > 0 && (
          <p class="caption">{msg().mimic.missing(load.prepared.missing.map((b) => `${b.element} (${b.tag})`).join(', '))}</p>
        )}
        <Legend />
      </section>
      {selected && <SelectedFaceplate key={selected.tag} tag={selected.tag} onClose={closeFaceplate} />}
      <BoundValues page={page} />
    </main>
  );
}
