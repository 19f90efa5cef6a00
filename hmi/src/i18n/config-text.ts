/**
 * Texts of the plant's configuration (tag descriptions, alarm and event
 * messages, command labels, page titles, phase names...) in the user's
 * language. The configuration may give a text as a plain string or as
 * `{ es: ..., en: ... }` (or `es-AR`); the server sends every object so
 * given in GET api/plant → texts, a tree with the configuration's shape (e.g.
 * texts.alarms.estop.message = { es, en }), and keeps the plain string (the
 * English, else the only one) where its other answers carry the text.
 *
 * The screens read those texts where they always did (`info.description`,
 * `alarm.message`, `page.title`...): `localize` turns such a field into a
 * getter that picks the current language — the user's, else the other one,
 * else the plain string — so a screen that shows it re-renders when the
 * language changes, and no screen needs to know which texts are translated.
 */
import { type Locale, locale } from './locale.js';

export interface Localized {
  es?: string;
  'es-AR'?: string;
  en?: string;
}

type Tree = Record<string, unknown>;

const isObj = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Whether a node of the texts tree is one text in several languages (not a branch). */
export function isLocalized(v: unknown): v is Localized {
  return isObj(v) && Object.keys(v).length > 0 && Object.entries(v).every(([k, x]) => (k === 'es' || k === 'es-AR' || k === 'en') && typeof x === 'string');
}

/**
 * The text in `l`, else `fallback`: the plain string, which the server makes
 * the English, else the only language given — so a text missing in one
 * language shows in the other.
 */
export function pickText(v: Localized | undefined, fallback: string, l: Locale = locale.value): string {
  if (!v) return fallback;
  return (l === 'en' ? str(v.en) : (str(v['es-AR']) ?? str(v.es))) ?? fallback;
}

/** The node at `path` of the texts tree (undefined where nothing is translated). */
export function textAt(texts: unknown, ...path: readonly (string | number)[]): unknown {
  let node = texts;
  for (const p of path) {
    if (!isObj(node)) return undefined;
    node = node[String(p)];
  }
  return node;
}

/** The configured text at `path` in the current language, or `fallback` (the plain string). */
export function configText(texts: unknown, path: readonly (string | number)[], fallback: string): string {
  const v = textAt(texts, ...path);
  return pickText(isLocalized(v) ? v : undefined, fallback);
}

/**
 * Makes `obj[field]` follow the language: a getter picking from what
 * `localized()` gives when read (its plain value the fallback), so texts
 * that arrive later (they are loaded with the Spanish catalogue) apply too.
 */
export function localize<T extends object>(obj: T, field: keyof T & string, localized: () => unknown): void {
  const plain = (obj as Record<string, unknown>)[field];
  const fallback = typeof plain === 'string' ? plain : '';
  Object.defineProperty(obj, field, {
    get: () => {
      const v = localized();
      return isLocalized(v) ? pickText(v, fallback) : fallback;
    },
    enumerable: true,
    configurable: true,
  });
}

/** localize for a computed text: the getter calls `text()` each time (e.g. a message naming a device). */
export function localizeWith<T extends object>(obj: T, field: keyof T & string, text: () => string): void {
  Object.defineProperty(obj, field, { get: text, enumerable: true, configurable: true });
}
