/**
 * From stream events to state: a snapshot replaces every value and every
 * alarm (the first is the baseline; a later one is a resync after a gap)
 * and fetches the recent journal again, a delta changes some values, a
 * devices event refreshes the communication figures, a command event
 * reports an operator command (to the place it was clicked), an alarms
 * event changes alarm states, a journal event adds to the event list.
 * Values feed the trends; the link's ups and downs are noted in the event
 * list as this browser's.
 */
import { batch } from '@preact/signals';
import type { AlarmState, BusLink, CommandOutcome, DeviceStatus, JournalEntry, StreamDelta, StreamSnapshot, StreamValue } from '../../../src/web/protocol.js';
import { formatDuration } from '../shared/format.js';
import type { DeviceView, HmiState, LiveValue } from './state.js';
import type { LinkState, StreamHandlers } from './stream.js';

type Mode = 'baseline' | 'resync';

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

  const apply = (name: string, next: LiveValue): void => {
    const sig = state.value(name);
    if (same(sig.value, next)) return;
    sig.value = next;
    if (next.sourceTs) state.trends.add(name, next.value, next.sourceTs, next.quality === 'Good');
  };

  const devices = (list: readonly DeviceStatus[]): void => {
    const byName = new Map(list.map((s) => [s.device, s]));
    state.devices.value = state.devices.value.map((d): DeviceView => {
      const status = byName.get(d.name) ?? d.status;
      if (!status || status.state !== 'down') return { ...d, status, downSince: null };
      return { ...d, status, downSince: status.noReplySince ?? d.downSince ?? downSince(state, d.name, status) };
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
          if (name !== undefined) apply(name, decode(v, s.t));
        }
        devices(s.devices);
        state.bus.value = s.bus ?? { up: true, since: now() };
        state.alarms.snapshot(s.alarms);
        if (mode === 'resync' && lostSince !== null) {
          state.journal.link(now(), 'Resynchronised from a fresh snapshot: values and alarms are current again, and the event list was read anew from the journal');
        }
        lostSince = null;
      });
      // What the plant journalled before the page opened, or during a gap the stream could not fill.
      void state.journal.refresh();
      // A command outcome may have fallen in the gap: the pending one is asked for once.
      if (mode === 'resync') void state.commands.recheck();
    },
    delta(d: StreamDelta): void {
      batch(() => {
        for (const v of d.values) {
          const name = names[v[0]];
          if (name !== undefined) apply(name, decode(v, d.t));
        }
      });
    },
    devices(list: DeviceStatus[]): void {
      devices(list);
    },
    command(o: CommandOutcome): void {
      // Shown where the operator clicked; the event list gets the outcome from the journal.
      state.commands.onOutcome(o);
    },
    alarms(list: AlarmState[]): void {
      state.alarms.update(list);
    },
    journal(entries: JournalEntry[]): void {
      state.journal.add(entries);
    },
    bus(link: BusLink): void {
      const prev = state.bus.value;
      state.bus.value = link;
      if (prev.up && !link.up) state.journal.link(link.since, `Live data stopped: the server lost the plant's bus${link.detail ? ` (${link.detail})` : ''}`);
      if (!prev.up && link.up) state.journal.link(link.since, `Live data from the plant's bus again after ${formatDuration(link.since - prev.since)}`);
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
