/** What the command screens share: words in the plant's terms and time zone, and the tags a command concerns. */
import type { CommandInfo } from '../../../src/web/protocol.js';
import { type Params, type Words, expandTemplate } from './command-model.js';
import { formatTimeZoned } from '../shared/format.js';
import type { HmiState } from '../live/state.js';

export function commandWords(state: HmiState): Words {
  return {
    describe: (tag) => state.tags.get(tag)?.description || undefined,
    time: (ts) => formatTimeZoned(ts, state.timeZone),
    label: (command) => state.commands.definition(command)?.label,
  };
}

export function tagNames(state: HmiState): string[] {
  return state.tagList.map((t) => t.name);
}

/** For each tag a parameter is written to (with these values): the parameter's name. */
export function paramTags(def: CommandInfo, params: Readonly<Params>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, info] of Object.entries(def.params)) {
    const tag = info.tag ? expandTemplate(info.tag, params) : undefined;
    if (tag) out.set(tag, name);
  }
  return out;
}

/** The tags a command writes or watches, with these parameter values (templates that cannot be filled are left out). */
export function commandTags(def: CommandInfo, params: Readonly<Params>): string[] {
  return [...new Set((def.tags ?? []).map((t) => expandTemplate(t, params)).filter((t): t is string => t !== undefined))];
}
