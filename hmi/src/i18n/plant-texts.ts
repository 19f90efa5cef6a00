/**
 * The plant's configured texts in the user's language (see config-text.ts):
 * applied once, when the plant, its tags, pages, commands and alarms are
 * loaded or arrive, as getters that follow the language switch.
 */
import type { AlarmState, CommandInfo, PlantInfo, TagInfo } from '../../../src/web/protocol.js';
import type { HmiPage } from '../shared/pages.js';
import { localize, localizeWith, textAt } from './config-text.js';
import { msg } from './locale.js';

/** Tag descriptions, device descriptions, page titles and phase names. */
export function localizePlant(plant: PlantInfo, tags: readonly TagInfo[], pages: readonly HmiPage[]): void {
  const texts = plant.texts;
  if (!texts) return;
  localize(plant, 'name', textAt(texts, 'plant', 'name'));
  for (const t of tags) localize(t, 'description', textAt(texts, 'tags', t.name, 'description'));
  for (const d of plant.devices) localize(d, 'description', textAt(texts, 'devices', d.name, 'description'));
  for (const p of pages) {
    localize(p, 'title', textAt(texts, 'pages', p.name, 'title'));
    if (p.kind === 'dashboard') p.phases?.steps.forEach((s, i) => localize(s, 'label', textAt(texts, 'pages', p.name, 'phases', 'steps', i, 'label')));
  }
}

/** Command labels, descriptions, confirmations and their parameters' labels. */
export function localizeCommands(texts: unknown, list: readonly CommandInfo[]): void {
  if (!texts) return;
  for (const c of list) {
    for (const f of ['label', 'description', 'confirmation'] as const) localize(c, f, textAt(texts, 'commands', c.name, f));
    for (const [name, p] of Object.entries(c.params)) localize(p, 'label', textAt(texts, 'commands', c.name, 'params', name, 'label'));
  }
}

/**
 * An alarm's message in the user's language: the configured one, or for a
 * generated communication alarm (comm.<device>) the catalogue's sentence
 * naming the device.
 */
export function alarmLocalizer(plant: PlantInfo): (a: AlarmState) => AlarmState {
  const devices = new Map(plant.devices.map((d) => [d.name, d]));
  return (a) => {
    const device = a.id.startsWith('comm.') ? devices.get(a.id.slice(5)) : undefined;
    if (device && a.source === device.name) localizeWith(a, 'message', () => msg().alarms.commLost(device.name, device.description));
    else localize(a, 'message', textAt(plant.texts, 'alarms', a.id, 'message'));
    return a;
  };
}
