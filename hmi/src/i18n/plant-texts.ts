/**
 * The plant's configured texts in the user's language (see config-text.ts):
 * applied once, when the plant, its tags, pages, commands and alarms are
 * loaded or arrive, as getters that follow the language switch. The texts
 * in the other language (GET api/plant/texts) are read only for a language
 * other than English, like the Spanish catalogue: an English page never
 * loads them.
 */
import { signal } from '@preact/signals';
import type { AlarmState, CommandInfo, JournalEntry, PlantInfo, TagInfo } from '../../../src/web/protocol.js';
import type { HmiPage } from '../shared/pages.js';
import { configText as configTextAt, isLocalized, localize, localizeWith, pickText, textAt } from './config-text.js';
import { type Locale, msg } from './locale.js';

/** The configuration's texts in the other language, once loaded (a signal: the screens re-render when they arrive). */
export const configTexts = signal<Record<string, unknown> | undefined>(undefined);

let loading: Promise<void> | undefined;

/** Loads the texts for a language other than English (once; a failure leaves the plain texts and may be retried). */
export function loadConfigTexts(l: Locale, fetchTexts: () => Promise<Record<string, unknown>>): Promise<void> {
  if (l === 'en' || configTexts.value) return Promise.resolve();
  loading ??= fetchTexts().then(
    (t) => void (configTexts.value = t),
    () => void (loading = undefined),
  );
  return loading;
}

const at =
  (...path: (string | number)[]): (() => unknown) =>
  () =>
    textAt(configTexts.value, ...path);

/** Tag descriptions, device descriptions, page titles and phase names. */
export function localizePlant(plant: PlantInfo, tags: readonly TagInfo[], pages: readonly HmiPage[]): void {
  localize(plant, 'name', at('plant', 'name'));
  for (const t of tags) localize(t, 'description', at('tags', t.name, 'description'));
  for (const d of plant.devices) localize(d, 'description', at('devices', d.name, 'description'));
  for (const p of pages) {
    localize(p, 'title', at('pages', p.name, 'title'));
    if (p.kind === 'dashboard') p.phases?.steps.forEach((s, i) => localize(s, 'label', at('pages', p.name, 'phases', 'steps', i, 'label')));
  }
}

/** Command labels, descriptions, confirmations and their parameters' labels. */
export function localizeCommands(list: readonly CommandInfo[]): void {
  for (const c of list) {
    for (const f of ['label', 'description', 'confirmation'] as const) localize(c, f, at('commands', c.name, f));
    for (const [name, p] of Object.entries(c.params)) localize(p, 'label', at('commands', c.name, 'params', name, 'label'));
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
    else localize(a, 'message', at('alarms', a.id, 'message'));
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
export function entryText(e: Pick<JournalEntry, 'kind' | 'source' | 'text'>, alarmMessage: (id: string) => string | undefined, texts: unknown = configTexts.value): string {
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
export function phaseLabeller(names: readonly string[], texts: unknown = configTexts.value): (name: string) => string {
  return (name) => {
    const i = names.indexOf(name);
    const v = i < 0 ? undefined : textAt(texts, 'historian', 'cycles', 'phases', i, 'name');
    return isLocalized(v) ? pickText(v, name) : name;
  };
}
