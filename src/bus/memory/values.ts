/** The in-memory bus's values role: last values, samples, device statuses and the link (always up). */
import { QUALITIES, type Quality } from '../../tags/quality.js';
import type { TagValue, TagValueType } from '../../tags/types.js';
import type { BusLink, DeviceStatus, SampleBatch, SampleSubscription, ScanInfo, Unsubscribe, ValueBatchInfo, ValueBus } from '../types.js';
import { LIVE } from '../value-subscribers.js';
import type { Deliveries, Handlers } from './deliveries.js';


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

export class MemoryValues implements ValueBus {
  private readonly values = new LastValues();
  private readonly statuses = new Map<string, DeviceStatus>();
  private readonly valueHandlers: Handlers<TagValue[]> = new Set();
  private readonly sampleHandlers: Handlers<SampleBatch> = new Set();
  private readonly statusHandlers: Handlers<DeviceStatus> = new Set();
  /** Inside one process nothing comes between publisher and subscriber: the link is up from the start. */
  private readonly link: BusLink = { up: true, since: Date.now() };

  constructor(private readonly hub: Deliveries) {}

  async publishValues(values: TagValue[], scan?: ScanInfo): Promise<void> {
    if (values.length > 0) {
      this.values.setBatch(values);
      this.hub.deliver(this.valueHandlers, values);
    }
    if (values.length > 0 || scan) this.hub.deliver(this.sampleHandlers, scan ? { device: scan.device, upTo: scan.upTo, values } : { values });
  }

  async subscribeSamples(handler: (batch: SampleBatch) => void): Promise<SampleSubscription> {
    // Nothing outlives the process: there is nothing to resume, so nothing to acknowledge.
    return { position: () => 0, acknowledge: async () => undefined, stop: this.hub.subscribe(this.sampleHandlers, handler) };
  }

  async snapshot(): Promise<TagValue[]> {
    return this.values.all();
  }

  async subscribeValues(handler: (values: TagValue[], info: ValueBatchInfo) => void): Promise<Unsubscribe> {
    // Nothing is ever missed inside one process: every batch is live.
    return this.hub.subscribe(this.valueHandlers, (values) => handler(values, LIVE));
  }

  async subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    handler(this.link);
    return async () => undefined;
  }

  async publishDeviceStatus(status: DeviceStatus): Promise<void> {
    this.statuses.set(status.device, status);
    this.hub.deliver(this.statusHandlers, status);
  }

  async deviceStatuses(): Promise<DeviceStatus[]> {
    return [...this.statuses.values()];
  }

  async subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    return this.hub.subscribe(this.statusHandlers, handler);
  }

  /** The bus closes: no subscriber is called again. */
  clear(): void {
    this.valueHandlers.clear();
    this.sampleHandlers.clear();
    this.statusHandlers.clear();
  }
}
