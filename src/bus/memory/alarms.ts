/** The in-memory bus's alarm states: the last state of every alarm. */
import type { AlarmBus, AlarmState, Unsubscribe } from '../types.js';
import type { Deliveries, Handlers } from './deliveries.js';

export class MemoryAlarms implements AlarmBus {
  private readonly alarms = new Map<string, AlarmState>();
  private readonly alarmHandlers: Handlers<AlarmState[]> = new Set();

  constructor(private readonly hub: Deliveries) {}

  async publishAlarmStates(states: AlarmState[]): Promise<void> {
    if (states.length === 0) return;
    for (const s of states) this.alarms.set(s.id, s);
    this.hub.deliver(this.alarmHandlers, states);
  }

  async alarmStates(): Promise<AlarmState[]> {
    return [...this.alarms.values()];
  }

  async subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.hub.subscribe(this.alarmHandlers, handler);
  }

  clear(): void {
    this.alarmHandlers.clear();
  }
}
