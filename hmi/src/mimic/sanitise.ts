/**
 * Makes a configured SVG drawing safe to inline in the page: no scripts, no
 * foreign HTML, no event handlers, no javascript: or external links, no
 * animation; its <style> rules are scoped to the drawing so they cannot
 * restyle the rest of the HMI.
 */

const REMOVE = new Set(['script', 'foreignobject', 'iframe', 'object', 'embed', 'animate', 'animatemotion', 'animatetransform', 'set', 'handler', 'listener']);
const SVG_NS = 'http://www.w3.org/2000/svg';

export class DrawingError extends Error {}

/** A URL attribute value that may run code or leave the drawing. */
function unsafeUrl(value: string): boolean {
  // Browsers ignore control characters and spaces inside a scheme: "java\tscript:" runs.
  const v = [...value]
    .filter((c) => {
      const n = c.charCodeAt(0);
      return n > 0x20 && (n < 0x7f || n > 0x9f);
    })
    .join('')
    .toLowerCase();
  if (v.startsWith('#')) return false;
  return /^(javascript|vbscript|data|https?|file|ftp):/.test(v) || v.startsWith('//');
}

function unsafeStyle(value: string): boolean {
  const v = value.toLowerCase();
  return v.includes('javascript:') || v.includes('expression(') || /url\(\s*['"]?\s*(?!#)/.test(v) || v.includes('@import');
}

function cleanElement(el: Element): void {
  for (const attr of [...el.attributes]) {
    const name = attr.name.toLowerCase();
    const local = attr.localName.toLowerCase();
    if (name.startsWith('on')) el.removeAttributeNode(attr);
    else if ((local === 'href' || local === 'src' || local === 'action' || local === 'formaction') && unsafeUrl(attr.value)) el.removeAttributeNode(attr);
    else if (name === 'style' && unsafeStyle(attr.value)) el.removeAttributeNode(attr);
    else if (/url\(/i.test(attr.value) && !/^url\(\s*['"]?#/i.test(attr.value.trim())) el.removeAttributeNode(attr);
  }
}

/** Parses and cleans an SVG drawing; throws DrawingError when it is not SVG. */
export function sanitiseSvg(text: string, parser: DOMParser = new DOMParser()): SVGSVGElement {
  const doc = parser.parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (doc.getElementsByTagName('parsererror').length > 0 || root.namespaceURI !== SVG_NS || root.localName !== 'svg') {
    throw new DrawingError('the drawing is not a valid SVG document');
  }
  const all = [root, ...root.querySelectorAll('*')];
  for (const el of all) {
    if (!el.isConnected && el !== root) continue; // inside an element already removed
    if (REMOVE.has(el.localName.toLowerCase()) || el.namespaceURI !== SVG_NS) {
      el.remove();
      continue;
    }
    cleanElement(el);
  }
  return root as unknown as SVGSVGElement;
}

/** Rewrites the drawing's <style> rules to apply only under `scope` (e.g. ":where(.mimic-drawing)"); drops @import. */
export function scopeStyles(svg: SVGSVGElement, scope: string): void {
  for (const style of svg.querySelectorAll('style')) {
    const sheet = new CSSStyleSheet();
    try {
      sheet.replaceSync(style.textContent ?? '');
    } catch {
      style.remove();
      continue;
    }
    style.textContent = [...sheet.cssRules].map((r) => scopeRule(r, scope)).join('\n');
  }
}

function scopeRule(rule: CSSRule, scope: string): string {
  if (rule instanceof CSSStyleRule) {
    const selectors = rule.selectorText.split(',').map((s) => `${scope} ${s.trim()}`);
    return unsafeStyle(rule.style.cssText) ? '' : `${selectors.join(', ')} { ${rule.style.cssText} }`;
  }
  if (rule instanceof CSSMediaRule) {
    return `@media ${rule.conditionText} { ${[...rule.cssRules].map((r) => scopeRule(r, scope)).join('\n')} }`;
  }
  return ''; // @import, @font-face and the like: a drawing needs none of them
}
