/**
 * The notifier's whole use of the bus, in one function: the alarms' states
 * once at the start, then the journal under a durable name (on Redis a
 * restart resumes where it stopped: entries written meanwhile are notified,
 * late, not lost), and the sources' values on demand. It never publishes
 * anything, and never reaches a PLC.
 */
import type { AlarmState, JournalEntry } from '../bus/alarm-messages.js';
import type { AlarmBus, JournalBus, Unsubscribe, ValueBus } from '../bus/types.js';
import type { NoticeAlarm } from './notice.js';

/** What the notifier reads of the bus. */
export type AlarmFeedBus = Pick<AlarmBus, 'alarmStates'> & Pick<JournalBus, 'subscribeJournal'> & Pick<ValueBus, 'snapshot'>;

export interface AlarmFeedHandlers {
  /** The states when it starts, before any entry. */
  states(states: AlarmState[]): void;
  /** Entries in journal order; the next batch waits for the returned promise. */
  entries(entries: JournalEntry[]): Promise<void>;
}

/** How long a snapshot of the values answers for the sources (a flood asks for many at once). */
const SNAPSHOT_MS = 1000;

export async function followAlarms(
  bus: AlarmFeedBus,
  durable: string,
  h: AlarmFeedHandlers,
): Promise<{ stop: Unsubscribe; source: (tag: string) => Promise<Pick<NoticeAlarm, 'value' | 'quality'>> }> {
  h.states(await bus.alarmStates());
  let chain = Promise.resolve();
  const stop = await bus.subscribeJournal(
    (entries) => {
      // In order, one batch after the other; on Redis the entry is acknowledged once it is in the outbox (a failure
      // leaves it pending, taken again later), and the next batch does not wait on this one's failure.
      const handled = chain.then(() => h.entries(entries));
      chain = handled.catch(() => undefined);
      return handled;
    },
    { durable },
  );
  let snap: { at: number; values: Promise<Map<string, { value: unknown; quality: string }>> } | undefined;
  const source = async (tag: string): Promise<Pick<NoticeAlarm, 'value' | 'quality'>> => {
    if (!snap || Date.now() - snap.at > SNAPSHOT_MS) snap = { at: Date.now(), values: bus.snapshot().then((vs) => new Map(vs.map((v) => [v.tag, v]))) };
    const v = (await snap.values).get(tag);
    if (!v) return {};
    const value = v.value;
    return { value: typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string' ? value : null, quality: v.quality };
  };
  return { stop, source };
}
