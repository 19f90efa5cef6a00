/**
 * What the web server and the browser say to each other: the REST payloads
 * and the events of the SSE stream. The HMI imports these types; keep this
 * file free of server code.
 *
 * SSE stream (GET /api/stream): every event has an id "<epoch>.<seq>".
 *   event: snapshot   data: StreamSnapshot    — first, and after any gap the ring buffer cannot fill
 *   event: delta      data: StreamDelta       — changed values since the previous event
 *   event: devices    data: DeviceStatus[]    — communication figures, at most once a second
 *   event: command    data: CommandOutcome    — an operator command queued, then its outcome
 *   event: alarms     data: AlarmState[]      — alarms whose state changed
 *   event: journal    data: JournalEntry[]    — new journal entries (alarms, acknowledgements, events, commands, devices)
 *   event: bus        data: BusLink           — this server lost its link to the bus (values since are its last known), or has it again
 * A client reconnecting with Last-Event-ID gets the events it missed, or a
 * fresh snapshot when they are no longer kept (or the server restarted).
 */
import type { AlarmState, BusLink, DeviceStatus, JournalEntry } from '../bus/types.js';
import type { Quality } from '../tags/quality.js';
import type { Area, DataType, TagValueType } from '../tags/types.js';

export type { AlarmState, BusLink, DeviceStatus, JournalEntry, Quality };
export type { AlarmDisplayState, AlarmPriority, JournalKind } from '../bus/alarm-messages.js';
export type { RateFigures } from '../alarms/rates.js';

/** A tag as the HMI needs it: its definition (no Modbus details beyond the address) and its live value. */
export interface TagInfo {
  name: string;
  description: string;
  device: string;
  area: Area;
  address: number;
  type: DataType;
  unit: string;
  decimals: number;
  range?: [number, number];
  scanGroup: string;
  writable?: { min?: number; max?: number; roles: string[] };
}

export interface TagState {
  value: TagValueType | null;
  quality: Quality;
  /** Why the quality is what it is, in words. */
  qualityReason: string;
  sourceTs: number;
  serverTs: number;
  exceptionCode?: number;
  /** This server lost its link to the bus then (epoch ms): the value is its last known, not live. */
  liveDataLostAt?: number;
}

export type TagWithState = TagInfo & TagState;

export interface PlantInfo {
  name: string;
  timezone: string;
  /** HMI pages from the configuration (dashboard, mimic...). */
  pages: Record<string, unknown>;
  devices: { name: string; description: string; host: string; port: number; unitId: number }[];
  /** Who may shelve an alarm of each priority (lowest role), and for how long at most (minutes). */
  shelving: Record<'critical' | 'high' | 'medium' | 'low', { maxMinutes: number; role: 'operator' | 'engineer' | 'admin' }>;
}

/**
 * One value in a stream event: [tag index, value] when Good at the event's
 * time, else [tag index, value, quality, sourceTs, exceptionCode?].
 */
export type StreamValue = [number, TagValueType | null] | [number, TagValueType | null, Quality, number, number?];

export interface StreamSnapshot {
  /** Identifies the server run; ids from another epoch cannot be resumed. */
  epoch: string;
  /** Tag names by index; indices in deltas refer to this list. */
  tags: string[];
  /** Time of the values without their own time. */
  t: number;
  values: StreamValue[];
  devices: DeviceStatus[];
  /** Every alarm's state. */
  alarms: AlarmState[];
  /** This server's link to the bus (absent from older servers: up). */
  bus?: BusLink;
}

/** A device as GET /api/devices answers it. */
export interface DeviceInfo {
  name: string;
  description: string;
  host: string;
  port: number;
  unitId: number;
  /** Its last status, or null before any. */
  status: DeviceStatus | null;
  /** This server lost its link to the bus then (epoch ms): the status is its last known, not live. */
  liveDataLostAt?: number;
}

export interface StreamDelta {
  t: number;
  values: StreamValue[];
}

export interface ApiError {
  /** `field` names the part of the request at fault, for rejected commands. */
  error: { code: string; message: string; field?: string };
}

export type { CommandOutcome, CommandStatus } from '../bus/command-messages.js';
export type { CommandInfo, CommandParamInfo } from './commands.js';
export type { AuditEntry, User } from '../auth/store.js';
