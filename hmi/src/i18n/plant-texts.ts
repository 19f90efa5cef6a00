/**
 * The plant's configured texts in the user's language (see config-text.ts):
 * applied once, when the plant, its tags, pages, commands and alarms are
 * loaded or arrive, as getters that follow the language switch.
 */
import type { AlarmState, CommandInfo, JournalEntry, PlantInfo, TagInfo } from '../../../src/web/protocol.js';
import type { HmiPage } from '../shared/pages.js';
import { configText as configTextAt, isLocalized, localize, localizeWith, pickText, textAt } from './config-text.js';
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

/** How the alarm engine words each journal entry after the alarm's message (src/alarms/machine.ts), and the same in the user's language. */
const ENTRY_SHAPES: readonly { kind: string; re: RegExp; say: (m: RegExpExecArray) => string }[] = [
  { kind: 'unshelve', re: /^([\s\S]*): unshelved \(shelving expired\)$/, say: () => msg().journal.unshelvedExpired },
  { kind: 'unshelve', re: /^([\s\S]*): unshelved$/, say: () => msg().journal.unshelved },
  { kind: 'unknown', re: /^([\s\S]*): state unknown \(its source's quality is bad\)$/, say: () => msg().journal.stateUnknown },
  { kind: 'return', re: /^([\s\S]*): returned to normal \(not yet acknowledged\)$/, say: () => msg().journal.returnedUnacked },
  { kind: 'return', re: /^([\s\S]*): returned to normal$/, say: () => msg().journal.returned },
  { kind: 'ack', re: /^([\s\S]*?): acknowledged( — [\s\S]*)?$/, say: (m) => `${msg().journal.acknowledged}${m[2] ?? ''}` },
  { kind: 'shelve', re: /^([\s\S]*?): shelved until (\S+)( — [\s\S]*)?$/, say: (m) => `${msg().journal.shelvedUntil(m[2]!)}${m[3] ?? ''}` },
  { kind: 'out-of-service', re: /^([\s\S]*?): taken out of service( — [\s\S]*)?$/, say: (m) => `${msg().journal.takenOut}${m[2] ?? ''}` },
  { kind: 'in-service', re: /^([\s\S]*): returned to service$/, say: () => msg().journal.returnedToService },
  // A device's connection (src/alarms/engine.ts): "plc: connected", "plc: connection lost — <error>".
  { kind: 'device', re: /^(\S+): connected$/, say: () => msg().journal.deviceConnected },
  { kind: 'device', re: /^(\S+): connection lost( — [\s\S]*)?$/, say: (m) => `${msg().journal.deviceLost}${m[2] ?? ''}` },
];

/**
 * A journal entry's text in the user's language: the server writes it once,
 * in the configuration's plain (English) words; an alarm's entries start with
 * its message (said again as `alarmMessage` gives it now) and end with what
 * happened, an event's text is its configured message. Anything else is
 * left as written.
 */
export function entryText(e: Pick<JournalEntry, 'kind' | 'source' | 'text'>, texts: unknown, alarmMessage: (id: string) => string | undefined): string {
  if (e.kind === 'event') return configTextAt(texts, ['events', e.source, 'message'], e.text);
  if (e.kind === 'alarm') return alarmMessage(e.source) ?? e.text;
  for (const shape of ENTRY_SHAPES) {
    if (shape.kind !== e.kind) continue;
    const m = shape.re.exec(e.text);
    if (m) return `${(e.kind === 'device' ? undefined : alarmMessage(e.source)) ?? m[1]}${shape.say(m)}`;
  }
  return e.text;
}

/**
 * Cycle phases' names in the user's language. The cycle report names phases
 * by their plain (English, or only) name, in the configuration's order
 * (`names`, as a cycle lists them); the configuration may give each in both
 * languages (historian.cycles.phases[i].name).
 */
export function phaseLabeller(texts: unknown, names: readonly string[]): (name: string) => string {
  return (name) => {
    const i = names.indexOf(name);
    const v = i < 0 ? undefined : textAt(texts, 'historian', 'cycles', 'phases', i, 'name');
    return isLocalized(v) ? pickText(v, name) : name;
  };
}
