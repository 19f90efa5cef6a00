/** The bus inside one process. Subscribers are called after publish returns, never inside it. */
import type { TagValue } from '../tags/types.js';
import type { Bus, DeviceStatus, Unsubscribe } from './types.js';

export class MemoryBus implements Bus {
  private readonly values = new Map<string, TagValue>();
  private readonly statuses = new Map<string, DeviceStatus>();
  private readonly valueHandlers = new Set<(values: TagValue[]) => void>();
  private readonly statusHandlers = new Set<(status: DeviceStatus) => void>();
  /** Errors thrown by subscribers: they must never reach the publisher. */
  subscriberErrors = 0;

  async publishValues(values: TagValue[]): Promise<void> {
    if (values.length === 0) return;
    for (const v of values) this.values.set(v.tag, v);
    this.deliver(this.valueHandlers, values);
  }

  async snapshot(): Promise<TagValue[]> {
    return [...this.values.values()];
  }

  async subscribeValues(handler: (values: TagValue[]) => void): Promise<Unsubscribe> {
    this.valueHandlers.add(handler);
    return async () => {
      this.valueHandlers.delete(handler);
    };
  }

  async publishDeviceStatus(status: DeviceStatus): Promise<void> {
    this.statuses.set(status.device, status);
    this.deliver(this.statusHandlers, status);
  }

  async deviceStatuses(): Promise<DeviceStatus[]> {
    return [...this.statuses.values()];
  }

  async subscribeDeviceStatus(handler: (status: DeviceStatus) => void): Promise<Unsubscribe> {
    this.statusHandlers.add(handler);
    return async () => {
      this.statusHandlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.valueHandlers.clear();
    this.statusHandlers.clear();
  }

  private deliver<T>(handlers: Set<(m: T) => void>, message: T): void {
    if (handlers.size === 0) return;
    queueMicrotask(() => {
      for (const h of handlers) {
        try {
          h(message);
        } catch {
          this.subscriberErrors++;
        }
      }
    });
  }
}
