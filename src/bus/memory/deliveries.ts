/**
 * How every role of the in-memory bus hands messages to its subscribers:
 * after publish returns, never inside it, and a subscriber's error never
 * reaches the publisher (it is counted).
 */
import type { Unsubscribe } from '../types.js';

export type Handlers<T> = Set<(message: T) => void>;

export class Deliveries {
  /** Errors thrown by subscribers: they must never reach the publisher. */
  subscriberErrors = 0;

  subscribe<T>(handlers: Handlers<T>, handler: (message: T) => void): Unsubscribe {
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
    };
  }

  deliver<T>(handlers: Handlers<T>, message: T): void {
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
