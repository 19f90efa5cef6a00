/** The event journal on Redis: the stream `P journal`, one entry per batch of journal entries. */
import type { EntryHandler, JournalBus, JournalEntry, SubscribeOptions, Unsubscribe } from '../types.js';
import type { RedisConnection } from './connection.js';
import { type Streams, durableRead } from './streams.js';

export class RedisJournal implements JournalBus {
  constructor(
    private readonly conn: RedisConnection,
    private readonly streams: Streams,
  ) {}

  async publishJournal(entries: JournalEntry[]): Promise<void> {
    if (entries.length > 0) await this.streams.xadd(this.conn.key('journal'), 'j', JSON.stringify(entries));
  }

  subscribeJournal(handler: EntryHandler<JournalEntry[]>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.streams.read({
      keys: [this.conn.key('journal')],
      ...durableRead(options),
      ackAfter: true,
      onEntry: (_key, entry) => handler(JSON.parse(entry.fields.j ?? '[]') as JournalEntry[]),
    });
  }
}
