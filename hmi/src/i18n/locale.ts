/**
 * The language of the screens: English or Argentine Spanish, chosen by the
 * user (the switch in the top bar, remembered in this browser) or else by
 * the browser's languages (es* → es-AR, anything else → en). `msg()` gives
 * the catalogue of the current language; a component that calls it while
 * rendering re-renders when the language changes (the choice is a signal).
 * `<html lang>` follows the choice.
 *
 * English is in the page's first script (it is also every text's fallback);
 * the Spanish catalogue is a script of its own, loaded before the first
 * screen when Spanish is chosen, so an English page does not carry it
 * (first load ≤ 100 kB, issue 21).
 */
import { signal } from '@preact/signals';
import { en, type Messages } from './en.js';

export const LOCALES = ['es-AR', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

const KEY = 'planta.lang';

/** The browser's objects this module reads, as far as it needs them (the unit tests run it in Node, without them). */
const web = globalThis as {
  localStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void };
  navigator?: { languages?: readonly string[]; language?: string };
  document?: { documentElement: { lang: string } };
};
/** The catalogues loaded so far. */
const CATALOGUES: Partial<Record<Locale, Messages>> = { en };
const LOADERS: Record<Locale, () => Promise<Messages>> = {
  en: () => Promise.resolve(en),
  'es-AR': () => import('./es-AR.js').then((m) => m.esAR),
};

/** Loads a language's catalogue (once); msg() gives English until it is there. */
export async function loadCatalogue(l: Locale): Promise<void> {
  CATALOGUES[l] ??= await LOADERS[l]();
}

/** es, es-AR, es-419… → es-AR; en… → en; undefined for any other language. */
export function localeOf(tag: string | null | undefined): Locale | undefined {
  if (!tag) return undefined;
  const lang = tag.toLowerCase().split(/[-_]/)[0];
  if (lang === 'es') return 'es-AR';
  if (lang === 'en') return 'en';
  return undefined;
}

/** The remembered choice, else the first of the browser's languages that is Spanish or English, else English. */
export function chooseLocale(stored: string | null, languages: readonly string[]): Locale {
  if (stored === 'en' || stored === 'es-AR') return stored;
  for (const l of languages) {
    const found = localeOf(l);
    if (found) return found;
  }
  return 'en';
}

function stored(): string | null {
  try {
    return web.localStorage?.getItem(KEY) ?? null;
  } catch {
    return null;
  }
}

function browserLanguages(): readonly string[] {
  const n = web.navigator;
  if (!n) return [];
  return n.languages?.length ? n.languages : n.language ? [n.language] : [];
}

/** The current language (a signal: reading it subscribes). */
export const locale = signal<Locale>(chooseLocale(stored(), browserLanguages()));

/** `<html lang>` follows the language, so screen readers and hyphenation use the right one. */
export function applyLocale(l: Locale = locale.value): void {
  if (web.document) web.document.documentElement.lang = l;
}

/** The user's choice: applied as soon as its catalogue is loaded, and remembered in this browser. */
export async function setLocale(l: Locale): Promise<void> {
  await loadCatalogue(l);
  locale.value = l;
  applyLocale(l);
  try {
    web.localStorage?.setItem(KEY, l);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

/** The catalogue of the current language. */
export function msg(): Messages {
  return CATALOGUES[locale.value] ?? en;
}
