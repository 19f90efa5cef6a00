/**
 * The bus inside one process: every role of memory/ on one object.
 * Subscribers are called after publish returns, never inside it.
 */
import { ComposedBus } from './composed.js';
import { MemoryAlarms } from './memory/alarms.js';
import { MemoryCommands } from './memory/commands.js';
import { Deliveries } from './memory/deliveries.js';
import { MemoryJournal } from './memory/journal.js';
import { MemoryLeases } from './memory/leases.js';
import { MemoryRpc } from './memory/rpc.js';
import { MemoryValues } from './memory/values.js';
import type { SampleBatch, SampleSubscription } from './types.js';

function memoryRoles(hub: Deliveries) {
  return {
    values: new MemoryValues(hub),
    commands: new MemoryCommands(hub),
    leases: new MemoryLeases(),
    alarms: new MemoryAlarms(hub),
    journal: new MemoryJournal(hub),
    rpc: new MemoryRpc(),
  };
}

export class MemoryBus extends ComposedBus {
  private readonly hub: Deliveries;
  private readonly parts: ReturnType<typeof memoryRoles>;

  constructor() {
    const hub = new Deliveries();
    const parts = memoryRoles(hub);
    super(parts);
    this.hub = hub;
    this.parts = parts;
  }

  /** Errors thrown by subscribers: they must never reach the publisher. */
  get subscriberErrors(): number {
    return this.hub.subscriberErrors;
  }

  /** Nothing outlives the process, so no durable name is needed here. */
  override subscribeSamples(handler: (batch: SampleBatch) => void): Promise<SampleSubscription> {
    return this.parts.values.subscribeSamples(handler);
  }

  async close(): Promise<void> {
    for (const role of Object.values(this.parts)) role.clear();
  }
}
