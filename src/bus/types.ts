/**
 * The bus: how the poller's values reach everything else. Two
 * implementations share this interface: in memory (one process) and Redis
 * (many processes), so messages are plain serialisable data and every
 * operation is asynchronous.
 */
import type { TagValue } from '../tags/types.js';
import type { AlarmState, JournalEntry } from './alarm-messages.js';
import type { CommandOutcome, CommandRequest } from './command-messages.js';

export type { AlarmState, CommandOutcome, CommandRequest, JournalEntry };

export type DeviceState = 'connected' | 'connecting' | 'down';

/** A device's communication figures, for the diagnostics display and metrics. */
export interface DeviceStatus {
  device: string;
  state: DeviceState;
  /** Epoch ms of the current connection, or null while down. */
  connectedSince: number | null;
  lastError: { code: string; message: string; at: number } | null;
  requests: number;
  responses: number;
  errors: {
    timeout: number;
    connection: number;
    protocol: number;
    /** Exception responses by exception code. */
    exception: Record<string, number>;
  };
  latencyMs: { p50: number | null; p99: number | null };
  reconnects: number;
  scans: number;
  overruns: number;
  /** How late scans start behind their slot. */
  jitterMs: { p50: number | null; p99: number | null };
  /** Tags of this device by quality. */
  qualities: Record<string, number>;
  updatedAt: number;
}

export type Unsubscribe = () => Promise<void>;

export interface Bus {
  /** Publishes changed values (report by exception); the bus keeps the last value of every tag. */
  publishValues(values: TagValue[]): Promise<void>;
  /** The last value of every tag published so far. */
  snapshot(): Promise<TagValue[]>;
  /** Calls `handler` with each batch published after subscribing. */
  subscribeValues(handler: (values: TagValue[]) => void): Promise<Unsubscribe>;

  publishDeviceStatus(status: DeviceStatus): Promise<void>;
  deviceStatuses(): Promise<DeviceStatus[]>;
  subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe>;

  /** Queues an operator command for the poller that owns its device. */
  submitCommand(request: CommandRequest): Promise<void>;
  subscribeCommands(handler: (request: CommandRequest) => void): Promise<Unsubscribe>;
  /** Outcomes (queued, confirmed, rejected...): to the browsers, the audit log and the event list. */
  publishCommandOutcome(outcome: CommandOutcome): Promise<void>;
  subscribeCommandOutcomes(handler: (outcome: CommandOutcome) => void): Promise<Unsubscribe>;

  /** Alarm states that changed; the bus keeps the last state of every alarm. */
  publishAlarmStates(states: AlarmState[]): Promise<void>;
  alarmStates(): Promise<AlarmState[]>;
  subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe>;
  /** Journal entries as they are written (alarms, acknowledgements, events, commands, devices). */
  publishJournal(entries: JournalEntry[]): Promise<void>;
  subscribeJournal(handler: (entries: JournalEntry[]) => void): Promise<Unsubscribe>;

  close(): Promise<void>;
}
