/**
 * The bus inside one process: every role of memory/ on one object.
 * Subscribers are called after publish returns, never inside it.
 */
import type { TagValue } from '../tags/types.js';
import { MemoryAlarms } from './memory/alarms.js';
import { MemoryCommands } from './memory/commands.js';
import { Deliveries } from './memory/deliveries.js';
import { MemoryJournal } from './memory/journal.js';
import { MemoryLeases } from './memory/leases.js';
import { MemoryRpc } from './memory/rpc.js';
import { MemoryValues } from './memory/values.js';
import type {
  AlarmState,
  Bus,
  BusLink,
  CommandClaim,
  CommandOutcome,
  CommandRequest,
  CommandSubscription,
  DeviceStatus,
  EntryHandler,
  JournalEntry,
  SampleBatch,
  SampleSubscription,
  ScanInfo,
  ServiceReply,
  ServiceRequest,
  Unsubscribe,
  ValueBatchInfo,
} from './types.js';

export class MemoryBus implements Bus {
  private readonly hub = new Deliveries();
  private readonly values = new MemoryValues(this.hub);
  private readonly commands = new MemoryCommands(this.hub);
  private readonly leases = new MemoryLeases();
  private readonly alarms = new MemoryAlarms(this.hub);
  private readonly journal = new MemoryJournal(this.hub);
  private readonly rpc = new MemoryRpc();

  /** Errors thrown by subscribers: they must never reach the publisher. */
  get subscriberErrors(): number {
    return this.hub.subscriberErrors;
  }

  // ValueBus
  publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    return this.values.publishValues(values, scan);
  }
  snapshot(): Promise<TagValue[]> {
    return this.values.snapshot();
  }
  subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    return this.values.subscribeValues(handler);
  }
  subscribeSamples(handler: (batch: SampleBatch) => void): Promise<SampleSubscription> {
    return this.values.subscribeSamples(handler);
  }
  subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    return this.values.subscribeLink(handler);
  }
  publishDeviceStatus(status: DeviceStatus): Promise<void> {
    return this.values.publishDeviceStatus(status);
  }
  deviceStatuses(): Promise<DeviceStatus[]> {
    return this.values.deviceStatuses();
  }
  subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.values.subscribeDeviceStatus(handler);
  }

  // CommandBus, CommandExecutionBus, OutcomeBus
  submitCommand(request: CommandRequest): Promise<void> {
    return this.commands.submitCommand(request);
  }
  subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    return this.commands.subscribeCommands(handler, options);
  }
  claimCommand(request: CommandRequest): Promise<CommandClaim> {
    return this.commands.claimCommand(request);
  }
  releaseCommand(): Promise<void> {
    return this.commands.releaseCommand();
  }
  commandWriting(): Promise<void> {
    return this.commands.commandWriting();
  }
  publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    return this.commands.publishCommandOutcome(outcome);
  }
  subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>): Promise<Unsubscribe> {
    return this.commands.subscribeCommandOutcomes(handler);
  }

  // LeaseBus
  acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.leases.acquireDeviceLease(device, owner, ttlMs);
  }
  renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.leases.renewDeviceLease(device, owner, ttlMs);
  }
  releaseDeviceLease(device: string, owner: string): Promise<void> {
    return this.leases.releaseDeviceLease(device, owner);
  }
  deviceLeaseHolder(device: string): Promise<string | null> {
    return this.leases.deviceLeaseHolder(device);
  }
  deviceLeaseStandbys(device: string): Promise<string[]> {
    return this.leases.deviceLeaseStandbys(device);
  }

  // AlarmBus, JournalBus
  publishAlarmStates(states: AlarmState[]): Promise<void> {
    return this.alarms.publishAlarmStates(states);
  }
  alarmStates(): Promise<AlarmState[]> {
    return this.alarms.alarmStates();
  }
  subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.alarms.subscribeAlarmStates(handler);
  }
  publishJournal(entries: JournalEntry[]): Promise<void> {
    return this.journal.publishJournal(entries);
  }
  subscribeJournal(handler: EntryHandler<JournalEntry[]>): Promise<Unsubscribe> {
    return this.journal.subscribeJournal(handler);
  }

  // RpcBus
  serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    return this.rpc.serve(service, handler);
  }
  request(service: string, request: ServiceRequest): Promise<ServiceReply> {
    return this.rpc.request(service, request);
  }

  async close(): Promise<void> {
    for (const role of [this.values, this.commands, this.leases, this.alarms, this.journal, this.rpc]) role.clear();
  }
}
