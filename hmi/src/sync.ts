/**
 * From stream events to state: a snapshot replaces every value (the first is
 * the baseline; a later one is a resync after a gap), a delta changes some,
 * a devices event refreshes the communication figures, a command event
 * reports an operator command. Changes feed the journal and the trends; the
 * link's ups and downs are journalled too.
 */
import { batch } from '@preact/signals';
import type { CommandOutcome, DeviceStatus, StreamDelta, StreamSnapshot, StreamValue } from '../../src/web/protocol.js';
import { outcomeLine } from './command-model.js';
import { commandWords, tagNames } from './command-view.js';
import { formatDuration } from './format.js';
import type { DeviceView, HmiState, LiveValue } from './state.js';
import type { LinkState, StreamHandlers } from './stream.js';

type Mode = 'baseline' | 'live' | 'resync';

function decode(v: StreamValue, t: number): LiveValue {
  if (v.length === 2) return { value: v[1], quality: 'Good', sourceTs: t };
  const live: LiveValue = { value: v[1], quality: v[2], sourceTs: v[3] };
  if (v[4] !== undefined) live.exceptionCode = v[4];
  return live;
}

const same = (a: LiveValue, b: LiveValue): boolean =>
  a.value === b.value && a.quality === b.quality && a.sourceTs === b.sourceTs && a.exceptionCode === b.exceptionCode;

export function createStreamSync(state: HmiState, now: () => number = Date.now): StreamHandlers {
  let names: readonly string[] = [];
  let snapshots = 0;
  let lostSince: number | null = null;

  const apply = (name: string, next: LiveValue, mode: Mode): void => {
    const sig = state.value(name);
    const prev = sig.value;
    if (same(prev, next)) return;
    sig.value = next;
    if (mode === 'baseline') state.journal.baseline(name, next.value, next.sourceTs);
    else state.journal.change(name, prev.value, next.value, next.sourceTs, mode === 'resync');
    if (next.sourceTs) state.trends.add(name, next.value, next.sourceTs, next.quality === 'Good');
  };

  const devices = (list: readonly DeviceStatus[]): void => {
    const byName = new Map(list.map((s) => [s.device, s]));
    state.devices.value = state.devices.value.map((d): DeviceView => {
      const status = byName.get(d.name) ?? d.status;
      if (!status || status.state === 'connected') return { ...d, status, downSince: null };
      return { ...d, status, downSince: d.downSince ?? downSince(state, d.name, status) };
    });
  };

  return {
    snapshot(s: StreamSnapshot): void {
      names = s.tags;
      state.configChanged.value = s.tags.length !== state.tags.size || s.tags.some((n) => !state.tags.has(n));
      const mode: Mode = snapshots++ === 0 ? 'baseline' : 'resync';
      batch(() => {
        for (const v of s.values) {
          const name = names[v[0]];
          if (name !== undefined) apply(name, decode(v, s.t), mode);
        }
        devices(s.devices);
        if (mode === 'resync' && lostSince !== null) {
          state.journal.link(now(), 'Resynchronised from a fresh snapshot: changes during the gap are listed as found, earlier steps may be missing');
        }
        lostSince = null;
      });
      // A command outcome may have fallen in the gap: the pending one is asked for once.
      if (mode === 'resync') void state.commands.recheck();
    },
    delta(d: StreamDelta): void {
      batch(() => {
        for (const v of d.values) {
          const name = names[v[0]];
          if (name !== undefined) apply(name, decode(v, d.t), 'live');
        }
      });
    },
    devices(list: DeviceStatus[]): void {
      devices(list);
    },
    command(o: CommandOutcome): void {
      batch(() => {
        state.commands.onOutcome(o);
        state.journal.command(o.id, o.status, o.at, outcomeLine(o, state.commands.definition(o.command), commandWords(state), tagNames(state)));
      });
    },
    link(next: LinkState, detail: string): void {
      const prev = state.link.value;
      const t = now();
      if (prev.state === next) {
        if (prev.detail !== detail) state.link.value = { ...prev, detail };
        return;
      }
      if (next === 'down' && prev.state === 'live') {
        lostSince = t;
        state.journal.link(t, `Live data lost: ${detail}`);
      }
      if (next === 'live' && prev.state === 'down') {
        state.journal.link(t, `Live data restored after ${formatDuration(t - prev.since)}`);
      }
      state.link.value = { state: next, since: t, detail };
    },
  };
}

/** Since when a device without communication has had none: when its tags turned bad, else its last error. */
function downSince(state: HmiState, device: string, status: DeviceStatus): number {
  let since = Infinity;
  for (const t of state.tagList) {
    if (t.device !== device) continue;
    const v = state.value(t.name).value;
    if (v.quality.startsWith('Bad_') && v.quality !== 'Bad_WaitingForInitialData' && v.sourceTs > 0) since = Math.min(since, v.sourceTs);
  }
  if (since === Infinity) since = status.lastError?.at ?? status.updatedAt;
  return since;
}
