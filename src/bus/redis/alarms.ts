/** Alarm states on Redis: the hash `P alarms` (alarm id → state) and its channel `P alarms`. */
import type { AlarmBus, AlarmState, Unsubscribe } from '../types.js';
import type { RedisConnection } from './connection.js';
import type { LiveState } from './live.js';

export class RedisAlarms implements AlarmBus {
  private readonly alarmHandlers = new Set<(states: AlarmState[]) => void>();
  /** States not published (Redis away): sent when it is back, newest per alarm. */
  private readonly unsent = new Map<string, AlarmState>();

  constructor(
    private readonly conn: RedisConnection,
    private readonly live: LiveState,
  ) {
    live.add<AlarmState>({
      name: 'alarms',
      read: () => this.alarmStates(),
      stamp: (a) => [a.id, a.changedAt],
      handOver: (alarms) => {
        if (alarms.length > 0) for (const h of this.alarmHandlers) conn.guard(() => h(alarms));
      },
      dispatch: (message, fresh) => {
        const states = (JSON.parse(message) as AlarmState[]).filter(fresh);
        if (states.length > 0) for (const h of this.alarmHandlers) conn.guard(() => h(states));
      },
    });
  }

  async publishAlarmStates(states: AlarmState[]): Promise<void> {
    if (states.length === 0) return;
    if (!this.conn.cmd.isReady) return this.keep(states);
    const fields = Object.fromEntries(states.map((s) => [s.id, JSON.stringify(s)]));
    await this.live.publish(
      (kept: AlarmState[]) => this.keep(kept),
      states,
      () => this.conn.cmd.multi().hSet(this.conn.key('alarms'), fields).publish(this.conn.key('alarms'), JSON.stringify(states)).exec(),
    );
  }

  async alarmStates(): Promise<AlarmState[]> {
    return (await this.conn.cmd.hVals(this.conn.key('alarms'))).map((s) => JSON.parse(s) as AlarmState);
  }

  subscribeAlarmStates(handler: (states: AlarmState[]) => void): Promise<Unsubscribe> {
    return this.live.subscribe('alarms', this.alarmHandlers, handler);
  }

  private keep(states: AlarmState[]): void {
    for (const a of states) this.unsent.set(a.id, a);
  }

  /** Publishes the states kept while Redis was away. */
  flush(): void {
    if (this.unsent.size === 0) return;
    const states = [...this.unsent.values()];
    this.unsent.clear();
    void this.publishAlarmStates(states);
  }

  /** The bus closes: no subscriber is called again. */
  clear(): void {
    this.alarmHandlers.clear();
  }
}
