/**
 * A whole bus made of its roles: each method is handed to the object that
 * implements its role (memory/ or redis/). The two implementations extend
 * it with how they are made and closed.
 */
import type { TagValue } from '../tags/types.js';
import type {
  AlarmBus,
  AlarmState,
  Bus,
  BusLink,
  CommandBus,
  CommandClaim,
  CommandExecutionBus,
  CommandOutcome,
  CommandRequest,
  CommandSubscription,
  DeviceStatus,
  EntryHandler,
  JournalBus,
  JournalEntry,
  LeaseBus,
  OutcomeBus,
  RpcBus,
  SampleBatch,
  SampleSubscription,
  ScanInfo,
  ServiceReply,
  ServiceRequest,
  SubscribeOptions,
  Unsubscribe,
  ValueBatchInfo,
  ValueBus,
  ValueFrame,
} from './types.js';

export interface BusRoles {
  values: ValueBus;
  commands: CommandBus & CommandExecutionBus & OutcomeBus;
  leases: LeaseBus;
  alarms: AlarmBus;
  journal: JournalBus;
  rpc: RpcBus;
}

export abstract class ComposedBus implements Bus {
  constructor(private readonly roles: BusRoles) {}

  abstract close(): Promise<void>;

  // ValueBus
  publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    return this.roles.values.publishValues(values, scan);
  }
  snapshot(): Promise<TagValue[]> {
    return this.roles.values.snapshot();
  }
  subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void, frames?: (frame: ValueFrame) => void): Promise<Unsubscribe> {
    return this.roles.values.subscribeValues(handler, frames);
  }
  subscribeSamples(handler: (batch: SampleBatch) => void, options: { durable: string }): Promise<SampleSubscription> {
    return this.roles.values.subscribeSamples(handler, options);
  }
  subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    return this.roles.values.subscribeLink(handler);
  }
  publishDeviceStatus(status: DeviceStatus): Promise<void> {
    return this.roles.values.publishDeviceStatus(status);
  }
  deviceStatuses(): Promise<DeviceStatus[]> {
    return this.roles.values.deviceStatuses();
  }
  subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.roles.values.subscribeDeviceStatus(handler);
  }

  // CommandBus, CommandExecutionBus, OutcomeBus
  submitCommand(request: CommandRequest): Promise<void> {
    return this.roles.commands.submitCommand(request);
  }
  subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    return this.roles.commands.subscribeCommands(handler, options);
  }
  claimCommand(request: CommandRequest, options?: { again?: boolean }): Promise<CommandClaim> {
    return this.roles.commands.claimCommand(request, options);
  }
  releaseCommand(id: string): Promise<void> {
    return this.roles.commands.releaseCommand(id);
  }
  commandWriting(request: CommandRequest): Promise<void> {
    return this.roles.commands.commandWriting(request);
  }
  publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    return this.roles.commands.publishCommandOutcome(outcome);
  }
  subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.roles.commands.subscribeCommandOutcomes(handler, options);
  }

  // LeaseBus
  acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.roles.leases.acquireDeviceLease(device, owner, ttlMs);
  }
  renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.roles.leases.renewDeviceLease(device, owner, ttlMs);
  }
  acquireDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean> {
    return this.roles.leases.acquireDeviceLeases(devices, owner, ttlMs);
  }
  renewDeviceLeases(devices: readonly string[], owner: string, ttlMs: number): Promise<boolean> {
    return this.roles.leases.renewDeviceLeases(devices, owner, ttlMs);
  }
  releaseDeviceLease(device: string, owner: string): Promise<void> {
    return this.roles.leases.releaseDeviceLease(device, owner);
  }
  deviceLeaseHolder(device: string): Promise<string | null> {
    return this.roles.leases.deviceLeaseHolder(device);
  }
  deviceLeaseStandbys(device: string): Promise<string[]> {
    return this.roles.leases.deviceLeaseStandbys(device);
  }

  // AlarmBus, JournalBus
  publishAlarmStates(states: AlarmState[]): Promise<void> {
    return this.roles.alarms.publishAlarmStates(states);
  }
  alarmStates(): Promise<AlarmState[]> {
    return this.roles.alarms.alarmStates();
  }
  subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.roles.alarms.subscribeAlarmStates(handler);
  }
  publishJournal(entries: JournalEntry[]): Promise<void> {
    return this.roles.journal.publishJournal(entries);
  }
  subscribeJournal(handler: EntryHandler<JournalEntry[]>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.roles.journal.subscribeJournal(handler, options);
  }

  // RpcBus
  serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    return this.roles.rpc.serve(service, handler);
  }
  request(service: string, request: ServiceRequest, timeoutMs: number): Promise<ServiceReply> {
    return this.roles.rpc.request(service, request, timeoutMs);
  }
}
