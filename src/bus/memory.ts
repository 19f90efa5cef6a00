/** The bus inside one process. Subscribers are called after publish returns, never inside it. */
import { QUALITIES, type Quality } from '../tags/quality.js';
import type { TagValue, TagValueType } from '../tags/types.js';
import { BusError } from './errors.js';
import { answer } from './service.js';
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

/** A claim outlives its command's expiry by this much, so that no clock step can let a late delivery write. */
export const CLAIM_RETENTION_MS = 10 * 60_000;
const LIVE: ValueBatchInfo = Object.freeze({ resync: false });

const QUALITY_INDEX = Object.fromEntries(QUALITIES.map((q, i) => [q, i])) as Record<Quality, number>;
const enum Kind {
  Null,
  Number,
  Boolean,
  String,
}

/**
 * The last value of every tag, in flat typed arrays rather than the
 * published objects: at a million values a second, keeping those objects
 * alive would promote each of them to the old generation and make garbage
 * collection the largest cost of polling.
 */
class LastValues {
  private readonly slots = new Map<string, number>();
  /**
   * The slots of the last batch that began with a given tag. A poller
   * publishes its tags in the same order scan after scan, so a batch is
   * matched by comparing names (by identity, cheap) instead of one hash lookup
   * per value.
   */
  private readonly orders = new Map<string, { tags: string[]; slots: Int32Array }>();
  private names: string[] = [];
  private kind = new Uint8Array(1024);
  private num = new Float64Array(1024);
  private quality = new Uint8Array(1024);
  private sourceTs = new Float64Array(1024);
  private serverTs = new Float64Array(1024);
  private exception = new Int16Array(1024);
  private readonly strings = new Map<number, string>();

  setBatch(values: TagValue[]): void {
    const first = values[0]!.tag;
    const order = this.orders.get(first);
    let misses = 0;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (order !== undefined && k < order.tags.length && order.tags[k] === v.tag) {
        this.set(order.slots[k]!, v);
      } else {
        misses++;
        this.set(this.slotOf(v.tag), v);
      }
    }
    if (misses > 0) {
      this.orders.set(first, { tags: values.map((v) => v.tag), slots: Int32Array.from(values, (v) => this.slots.get(v.tag)!) });
    }
  }

  private slotOf(tag: string): number {
    let i = this.slots.get(tag);
    if (i === undefined) {
      i = this.names.length;
      if (i === this.kind.length) this.grow();
      this.names.push(tag);
      this.slots.set(tag, i);
    }
    return i;
  }

  private set(i: number, v: TagValue): void {
    const value = v.value;
    if (typeof value === 'number') {
      this.kind[i] = Kind.Number;
      this.num[i] = value;
    } else if (typeof value === 'boolean') {
      this.kind[i] = Kind.Boolean;
      this.num[i] = value ? 1 : 0;
    } else if (typeof value === 'string') {
      this.kind[i] = Kind.String;
      this.strings.set(i, value);
    } else {
      this.kind[i] = Kind.Null;
    }
    this.quality[i] = QUALITY_INDEX[v.quality];
    this.sourceTs[i] = v.sourceTs;
    this.serverTs[i] = v.serverTs;
    this.exception[i] = v.exceptionCode ?? -1;
  }

  all(): TagValue[] {
    return this.names.map((tag, i) => {
      const k = this.kind[i];
      const value: TagValueType | null =
        k === Kind.Number ? this.num[i]! : k === Kind.Boolean ? this.num[i] === 1 : k === Kind.String ? this.strings.get(i)! : null;
      const v: TagValue = { tag, value, quality: QUALITIES[this.quality[i]!]!, sourceTs: this.sourceTs[i]!, serverTs: this.serverTs[i]! };
      if (this.exception[i]! >= 0) v.exceptionCode = this.exception[i]!;
      return v;
    });
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const grow = <T extends Uint8Array | Float64Array | Int16Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(n);
      b.set(a);
      return b;
    };
    this.kind = grow(this.kind, Uint8Array);
    this.num = grow(this.num, Float64Array);
    this.quality = grow(this.quality, Uint8Array);
    this.sourceTs = grow(this.sourceTs, Float64Array);
    this.serverTs = grow(this.serverTs, Float64Array);
    this.exception = grow(this.exception, Int16Array);
  }
}

export class MemoryBus implements Bus {
  private readonly values = new LastValues();
  private readonly statuses = new Map<string, DeviceStatus>();
  private readonly valueHandlers = new Set<(values: TagValue[]) => void>();
  private readonly sampleHandlers = new Set<(batch: SampleBatch) => void>();
  private readonly statusHandlers = new Set<(status: DeviceStatus) => void>();
  private readonly commandHandlers = new Set<(request: CommandRequest) => void>();
  private readonly outcomeHandlers = new Set<(outcome: CommandOutcome) => void>();
  private readonly alarms = new Map<string, AlarmState>();
  private readonly alarmHandlers = new Set<(states: AlarmState[]) => void>();
  private readonly journalHandlers = new Set<(entries: JournalEntry[]) => void>();
  /** Command id → until when its claim is kept. */
  private readonly claims = new Map<string, number>();
  private readonly leases = new Map<string, { owner: string; until: number }>();
  /** Device → standby poller → until when it counts as waiting. */
  private readonly standbys = new Map<string, Map<string, number>>();
  private readonly services = new Map<string, (request: ServiceRequest) => Promise<unknown>>();
  /** Inside one process nothing comes between publisher and subscriber: the link is up from the start. */
  private readonly link: BusLink = { up: true, since: Date.now() };
  /** Errors thrown by subscribers: they must never reach the publisher. */
  subscriberErrors = 0;

  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length > 0) {
      this.values.setBatch(values);
      this.deliver(this.valueHandlers, values);
    }
    if (values.length > 0 || scan) this.deliver(this.sampleHandlers, scan ? { device: scan.device, upTo: scan.upTo, values } : { values });
  }

  async subscribeSamples(handler: (batch: SampleBatch) => void): Promise<SampleSubscription> {
    // Nothing outlives the process: there is nothing to resume, so nothing to acknowledge.
    return { position: () => 0, acknowledge: async () => undefined, stop: this.subscribe(this.sampleHandlers, handler) };
  }

  async snapshot(): Promise<TagValue[]> {
    return this.values.all();
  }

  async subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    // Nothing is ever missed inside one process: every batch is live.
    return this.subscribe(this.valueHandlers, (values) => handler(values, LIVE));
  }

  async subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    handler(this.link);
    return async () => undefined;
  }

  async publishDeviceStatus(status: DeviceStatus): Promise<void> {
    this.statuses.set(status.device, status);
    this.deliver(this.statusHandlers, status);
  }

  async deviceStatuses(): Promise<DeviceStatus[]> {
    return [...this.statuses.values()];
  }

  async subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.subscribe(this.statusHandlers, handler);
  }

  async submitCommand(request: CommandRequest): Promise<void> {
    this.deliver(this.commandHandlers, request);
  }

  async subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    const only = options?.devices;
    return this.subscribe(this.commandHandlers, only ? (r: CommandRequest) => void (only.includes(r.device) && handler(r)) : handler);
  }

  async acquireDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    const l = this.leases.get(device);
    let standby = this.standbys.get(device);
    if (!standby) this.standbys.set(device, (standby = new Map()));
    if (l && l.until > Date.now() && l.owner !== owner) {
      standby.set(owner, Date.now() + ttlMs);
      return false;
    }
    standby.delete(owner);
    this.leases.set(device, { owner, until: Date.now() + ttlMs });
    return true;
  }

  async renewDeviceLease(device: string, owner: string, ttlMs: number): Promise<boolean> {
    const l = this.leases.get(device);
    if (!l || l.owner !== owner || l.until <= Date.now()) return false;
    l.until = Date.now() + ttlMs;
    return true;
  }

  async releaseDeviceLease(device: string, owner: string): Promise<void> {
    if (this.leases.get(device)?.owner === owner) this.leases.delete(device);
    this.standbys.get(device)?.delete(owner);
  }

  async deviceLeaseStandbys(device: string): Promise<string[]> {
    const now = Date.now();
    return [...(this.standbys.get(device) ?? [])].filter(([, until]) => until > now).map(([owner]) => owner).sort();
  }

  async deviceLeaseHolder(device: string): Promise<string | null> {
    const l = this.leases.get(device);
    return l && l.until > Date.now() ? l.owner : null;
  }

  async serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    this.services.set(service, handler);
    return async () => {
      if (this.services.get(service) === handler) this.services.delete(service);
    };
  }

  async request(service: string, request: ServiceRequest): Promise<ServiceReply> {
    const handler = this.services.get(service);
    if (!handler) throw new BusError('PLANTA_BUS_NO_ANSWER', `no ${service} service on this bus`);
    return answer(handler, request);
  }

  /** Nothing to hand back: in one process there are no leases, and a command is never refused for want of one. */
  async releaseCommand(): Promise<void> {}

  async claimCommand(request: CommandRequest): Promise<CommandClaim> {
    const now = Date.now();
    if (now >= request.expiresAt) return 'expired';
    if (this.claims.size > 1000) for (const [id, until] of this.claims) if (until < now) this.claims.delete(id);
    if ((this.claims.get(request.id) ?? 0) >= now) return 'duplicate';
    this.claims.set(request.id, request.expiresAt + CLAIM_RETENTION_MS);
    return 'claimed';
  }

  async commandWriting(): Promise<void> {
    // Nothing outlives the process: the executor's ledger on disk says it after a restart.
  }

  async publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    this.deliver(this.outcomeHandlers, outcome);
  }

  async subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>): Promise<Unsubscribe> {
    return this.subscribe(this.outcomeHandlers, handler);
  }

  async publishAlarmStates(states: AlarmState[]): Promise<void> {
    if (states.length === 0) return;
    for (const s of states) this.alarms.set(s.id, s);
    this.deliver(this.alarmHandlers, states);
  }

  async alarmStates(): Promise<AlarmState[]> {
    return [...this.alarms.values()];
  }

  async subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.subscribe(this.alarmHandlers, handler);
  }

  async publishJournal(entries: JournalEntry[]): Promise<void> {
    if (entries.length > 0) this.deliver(this.journalHandlers, entries);
  }

  async subscribeJournal(handler: EntryHandler<JournalEntry[]>): Promise<Unsubscribe> {
    return this.subscribe(this.journalHandlers, handler);
  }

  async close(): Promise<void> {
    this.claims.clear();
    this.leases.clear();
    this.standbys.clear();
    this.services.clear();
    for (const set of [this.valueHandlers, this.sampleHandlers, this.statusHandlers, this.commandHandlers, this.outcomeHandlers, this.alarmHandlers, this.journalHandlers]) {
      set.clear();
    }
  }

  private subscribe<T>(handlers: Set<(m: T) => void>, handler: (m: T) => void): Unsubscribe {
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
    };
  }

  private deliver<T>(handlers: Set<(m: T) => void>, message: T): void {
    if (handlers.size === 0) return;
    queueMicrotask(() => {
      for (const h of handlers) {
        try {
          const settled = h(message) as unknown;
          if (settled instanceof Promise) settled.catch(() => this.subscriberErrors++);
        } catch {
          this.subscriberErrors++;
        }
      }
    });
  }
}
