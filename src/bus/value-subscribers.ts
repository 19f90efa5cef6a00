/**
 * The subscribers of a bus's values (ValueBus.subscribeValues), as the Redis
 * bus and the watch over silent pollers both keep them: each with its handler
 * of values and, if it takes frames, its handler of frames. A frame goes to
 * each subscriber in the form it takes; its values are decoded at most once
 * (ValueFrame.values keeps them).
 */
import type { TagValue } from '../tags/types.js';
import type { ValueBatchInfo, ValueFrame } from './types.js';

export type ValueHandler = (values: TagValue[], info: ValueBatchInfo) => void;
export type FrameHandler = (frame: ValueFrame) => void;

/** A batch of changes, not the whole state. */
export const LIVE: ValueBatchInfo = Object.freeze({ resync: false });

export class ValueSubscribers {
  private readonly handlers = new Set<ValueHandler>();
  private readonly frameHandlers = new Map<ValueHandler, FrameHandler>();

  /** `guard`: how each call is made (the Redis bus logs a subscriber that throws and goes on). */
  constructor(private readonly guard: (call: () => void) => void = (call) => call()) {}

  /** The subscriber, as a set of handlers takes it (LiveState.subscribe adds it once Redis confirmed the channel). */
  with(frames: FrameHandler | undefined): { add(h: ValueHandler): void; delete(h: ValueHandler): void } {
    return {
      add: (h) => {
        this.handlers.add(h);
        if (frames) this.frameHandlers.set(h, frames);
      },
      delete: (h) => {
        this.handlers.delete(h);
        this.frameHandlers.delete(h);
      },
    };
  }

  values(values: TagValue[], info: ValueBatchInfo): void {
    for (const h of this.handlers) this.guard(() => h(values, info));
  }

  frame(frame: ValueFrame): void {
    for (const h of this.handlers) {
      const frames = this.frameHandlers.get(h);
      this.guard(() => (frames ? frames(frame) : h(frame.values(), LIVE)));
    }
  }

  clear(): void {
    this.handlers.clear();
    this.frameHandlers.clear();
  }
}
