/**
 * Everything the screens show, as signals: the plant and its tags (from
 * REST, fixed for the session), one signal per tag value (so a change
 * re-renders only what shows that tag), the devices, the live link, a clock
 * ticking every second, the alarms as the server states them, the plant's
 * journal, the annunciation and the trends. Created once per page load by
 * main.tsx; nothing here is module-level state.
 */
import { type Signal, signal } from '@preact/signals';
import type { BusLink, DeviceStatus, PlantInfo, Quality, TagInfo, TagWithState } from '../../../src/web/protocol.js';
import type { AlarmApi } from '../alarms/alarm-api.js';
import { AlarmBoard } from '../alarms/alarm-board.js';
import { highestPriority } from '../alarms/alarm-model.js';
import { Annunciator, type AnnunciatorOptions } from '../alarms/annunciator.js';
import { alarmApi as defaultAlarmApi, commandApi } from '../shared/api.js';
import type { CommandApi } from '../commands/command-api.js';
import { commandBlocker } from '../commands/command-model.js';
import { CommandStore } from '../commands/command-store.js';
import { roleRefusal, session } from '../session/session.js';
import { LiveJournal } from '../journal/journal.js';
import { type HmiPage, readPages } from '../shared/pages.js';
import type { LinkState } from './stream.js';
import { Trends } from '../trends/trends.js';
import { type ReplayMoment, replayBlocker, replayJournalQuery } from '../replay/replay-model.js';
import { alarmLocalizer, localizePlant } from '../i18n/plant-texts.js';

export interface LiveValue {
  value: number | boolean | string | null;
  quality: Quality;
  /** When the value or its quality last changed at the source (epoch ms); 0 when never read. */
  sourceTs: number;
  exceptionCode?: number;
}

export interface Link {
  state: LinkState;
  /** When the link entered this state. */
  since: number;
  detail: string;
}

export interface DeviceView {
  name: string;
  description: string;
  host: string;
  port: number;
  unitId: number;
  /** Where it is, for people: host and port, or its unit on its link. */
  where: string;
  status: DeviceStatus | null;
  /**
   * Since when the device has had no communication: from its poller, since when no valid reply came; else (its
   * poller silent, or the server cut off from the bus) as far as the browser can tell. Null while connected.
   */
  downSince: number | null;
}

export interface HmiState {
  plant: PlantInfo;
  /** When this page started following the plant. */
  startedAt: number;
  timeZone: string;
  pages: readonly HmiPage[];
  /** Tag definitions in configuration order, and by name. */
  tagList: readonly TagInfo[];
  tags: ReadonlyMap<string, TagInfo>;
  devices: Signal<readonly DeviceView[]>;
  link: Signal<Link>;
  /** The server's link to the plant's bus: while down, every value it sends is its last known, not live. */
  bus: Signal<BusLink>;
  /** The server's tag list no longer matches the one this page loaded (it restarted with another configuration). */
  configChanged: Signal<boolean>;
  /** Now, updated every second: ages and trends read it. */
  clock: Signal<number>;
  /** Every alarm's state as the server has it, and the operator's actions on them. */
  alarms: AlarmBoard;
  /** The plant's journal, recent entries (the overview's event list). */
  journal: LiveJournal;
  /** Tone and pulse for new alarms in this browser. */
  sound: Annunciator;
  /** Alarm actions, journal queries and rate figures. */
  alarmApi: AlarmApi;
  trends: Trends;
  /** Operator commands: their definitions and the one being confirmed or followed. */
  commands: CommandStore;
  /** The live value of a tag (created on first use, so unknown names show as waiting). */
  value(name: string): Signal<LiveValue>;
  /** Replay: the recorded moment shown instead of the live plant (commands disabled), or null while live. */
  replay: Signal<ReplayMoment | null>;
}

/** The definition part of a tag from api/tags (its value lives in a signal). */
function definitionOf(t: TagWithState): TagInfo {
  const info: TagInfo = {
    name: t.name,
    description: t.description,
    device: t.device,
    area: t.area,
    address: t.address,
    type: t.type,
    unit: t.unit,
    decimals: t.decimals,
    scanGroup: t.scanGroup,
  };
  if (t.range) info.range = t.range;
  if (t.writable) info.writable = t.writable;
  return info;
}

const WAITING: LiveValue = { value: null, quality: 'Bad_WaitingForInitialData', sourceTs: 0 };

export interface HmiServices {
  commands?: CommandApi;
  alarms?: AlarmApi;
  sound?: AnnunciatorOptions;
}

export function createHmiState(plant: PlantInfo, tags: readonly TagWithState[], now: number = Date.now(), services: HmiServices = {}): HmiState {
  const api = services.commands ?? commandApi;
  const alarmApi = services.alarms ?? defaultAlarmApi;
  const tagList = tags.map(definitionOf);
  const byName = new Map(tagList.map((t) => [t.name, t]));
  const pages = readPages(plant.pages);
  localizePlant(plant, tagList, pages);
  const values = new Map<string, Signal<LiveValue>>();
  const replay = signal<ReplayMoment | null>(null);
  // In replay the event list is the journal up to the moment shown (commands for those who may read the audit trail).
  const journal = new LiveJournal({ fetchRecent: (limit) => alarmApi.journal(replay.value ? replayJournalQuery(replay.value.t, limit, session.value) : { limit }) });
  const sound = new Annunciator(services.sound);
  const alarms: AlarmBoard = new AlarmBoard({
    api: alarmApi,
    onNew: (fresh) => void (replay.value || sound.noteNew(highestPriority(fresh), alarms.summary.value.urgent)),
    localize: alarmLocalizer(plant),
  });
  const trends = new Trends();
  for (const t of tags) {
    const live: LiveValue = { value: t.value, quality: t.quality, sourceTs: t.sourceTs };
    if (t.exceptionCode !== undefined) live.exceptionCode = t.exceptionCode;
    values.set(t.name, signal(live));
    if (t.sourceTs) trends.add(t.name, t.value, t.sourceTs, t.quality === 'Good');
  }
  const devices = signal<readonly DeviceView[]>(plant.devices.map((d) => ({ ...d, status: null, downSince: null })));
  const link = signal<Link>({ state: 'connecting', since: now, detail: 'opening the live stream' });
  const lost = tags.find((t) => t.liveDataLostAt !== undefined)?.liveDataLostAt;
  const bus = signal<BusLink>(lost !== undefined ? { up: false, since: lost } : { up: true, since: now });
  const configChanged = signal(false);
  // Read at the moment of a click or a send, so a command is never sent on a link that is down.
  const blocked = (device: string): string | null =>
    replayBlocker(replay.value) ??
    commandBlocker({ link: link.value.state, busUp: bus.value.up, devices: devices.value, configChanged: configChanged.value }, device);
  return {
    plant,
    startedAt: now,
    timeZone: plant.timezone,
    pages,
    tagList,
    tags: byName,
    devices,
    link,
    bus,
    configChanged,
    clock: signal(now),
    alarms,
    journal,
    sound,
    alarmApi,
    trends,
    commands: new CommandStore({ api, blocked, mayNot: (c) => roleRefusal(session.value, c.role) }),
    replay,
    value(name: string): Signal<LiveValue> {
      let s = values.get(name);
      if (!s) {
        s = signal(WAITING);
        values.set(name, s);
      }
      return s;
    },
  };
}
