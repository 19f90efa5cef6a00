/**
 * The configuration's texts in a notification's language: an alarm's message
 * and the plant's name as the file gives them in Spanish or English
 * (config/text.ts; the configuration itself holds the plain, English, one),
 * and a generated communication alarm (comm.<device>) worded from the words
 * catalogue with its device's description.
 */
import type { PlantConfig } from '../config/resolve.js';
import { isLocalizedText, type LocalizedText } from '../config/text.js';
import type { NotifyLanguage, Words } from './words.js';

export interface NoticeTexts {
  /** The plant's name in `language` (else the plain one). */
  plant(language: NotifyLanguage): string | undefined;
  /** An alarm's message in `language`, when the configuration has it in that language (or it is a comm.<device> alarm). */
  alarm(id: string, language: NotifyLanguage, words: Words): string | undefined;
}

const pick = (v: unknown, language: NotifyLanguage): string | undefined => {
  if (!isLocalizedText(v)) return undefined;
  const t: LocalizedText = v;
  return (language === 'es' ? (t.es ?? t['es-AR']) : t.en) || undefined;
};

const at = (tree: unknown, ...path: string[]): unknown => {
  let node = tree;
  for (const p of path) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[p] : undefined;
  return node;
};

/** The texts of a configuration (its `texts` keep the languages other than the plain one). */
export function noticeTexts(config: Pick<PlantConfig, 'alarms' | 'devices' | 'texts'>): NoticeTexts {
  const devices = new Map(config.devices.map((d) => [d.name, d]));
  return {
    plant: (language) => pick(at(config.texts, 'plant', 'name'), language),
    alarm(id, language, words) {
      const configured = pick(at(config.texts, 'alarms', id, 'message'), language);
      if (configured !== undefined || id in config.alarms) return configured;
      const device = id.startsWith('comm.') ? devices.get(id.slice(5)) : undefined;
      if (!device) return undefined;
      return words.commLost(device.name, pick(at(config.texts, 'devices', device.name, 'description'), language) ?? device.description);
    },
  };
}
