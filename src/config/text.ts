/**
 * Texts shown to people (tag descriptions, alarm and event messages, command
 * labels, page titles, phase names) may be one string, or the same text in
 * Spanish and English: `{ es: "Parada de emergencia accionada", en:
 * "Emergency stop pressed" }` (`es-AR` is taken for `es`). The schema turns
 * either into one plain string, the English (else the only one): the journal,
 * notifications, the audit trail, Sparkplug and OPC UA use that one. The
 * texts given in both languages are kept apart (displayTexts) for the HMI,
 * which shows the user's language (GET api/plant → texts).
 */
import { z } from 'zod';

export const TEXT_LANGUAGES = ['es', 'es-AR', 'en'] as const;

export type LocalizedText = Partial<Record<(typeof TEXT_LANGUAGES)[number], string>>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The plain text of a localized one: English, else Spanish. */
export const plainText = (t: LocalizedText): string => t.en ?? t.es ?? t['es-AR'] ?? '';

/**
 * A display text: a string that `text` accepts, or `{ es, en }` with such a
 * string per language (at least one; es or es-AR, not both). Its value is
 * the plain string.
 */
export function displayText(text: z.ZodString = z.string()) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      const check = (s: unknown, path: string[]): void => {
        if (typeof s !== 'string') {
          ctx.addIssue({ code: 'custom', path, message: path.length ? 'expected a text (a string)' : 'expected a text, or { es: …, en: … } with a text per language' });
          return;
        }
        const r = text.safeParse(s);
        if (r.success) return;
        if (s === '') ctx.addIssue({ code: 'custom', path, message: 'expected a text, not an empty one' });
        else for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path, message: i.message });
      };
      if (!isObj(v)) return check(v, []);
      const keys = Object.keys(v);
      const unknown = keys.filter((k) => !(TEXT_LANGUAGES as readonly string[]).includes(k));
      for (const k of unknown) ctx.addIssue({ code: 'custom', path: [k], message: `unknown language "${k}" (languages: es, es-AR, en)` });
      if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'expected a text in es (or es-AR) and/or en' });
      if ('es' in v && 'es-AR' in v) ctx.addIssue({ code: 'custom', path: ['es-AR'], message: 'give es or es-AR, not both' });
      for (const k of keys) if (!unknown.includes(k)) check(v[k], [k]);
    })
    .transform((v) => (typeof v === 'string' ? v : plainText(v as LocalizedText)))
    .meta({ format: 'display text' });
}

/** Whether a value of the configuration file is a text in several languages (only display texts may be; the schema checked them). */
export function isLocalizedText(v: unknown): v is LocalizedText {
  return isObj(v) && Object.keys(v).length > 0 && Object.entries(v).every(([k, x]) => (TEXT_LANGUAGES as readonly string[]).includes(k) && typeof x === 'string');
}

/**
 * The texts the file gives in several languages, in the file's shape and
 * nothing else: e.g. { alarms: { estop: { message: { es } } } }; arrays
 * become objects keyed by index. Only the languages other than the plain
 * text's (which every answer carries already) are kept. Undefined when
 * there is none.
 */
export function displayTexts(raw: unknown): Record<string, unknown> | undefined {
  if (isLocalizedText(raw)) return undefined;
  const walk = (node: unknown): unknown => {
    if (isLocalizedText(node)) {
      const plain = plainText(node);
      const others = Object.entries(node).filter(([, v]) => v !== plain);
      return others.length ? Object.fromEntries(others) : undefined;
    }
    if (!isObj(node) && !Array.isArray(node)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const sub = walk(v);
      if (sub !== undefined) out[k] = sub;
    }
    return Object.keys(out).length ? out : undefined;
  };
  return walk(raw) as Record<string, unknown> | undefined;
}
