/** The in-memory bus's journal: entries handed to the subscribers of this process, kept nowhere. */
import type { EntryHandler, JournalBus, JournalEntry, Unsubscribe } from '../types.js';
import type { Deliveries, Handlers } from './deliveries.js';

export class MemoryJournal implements JournalBus {
  private readonly journalHandlers: Handlers<JournalEntry[]> = new Set();

  constructor(private readonly hub: Deliveries) {}

  async publishJournal(entries: JournalEntry[]): Promise<void> {
    if (entries.length > 0) this.hub.deliver(this.journalHandlers, entries);
  }

  async subscribeJournal(handler: EntryHandler<JournalEntry[]>): Promise<Unsubscribe> {
    return this.hub.subscribe(this.journalHandlers, handler);
  }

  clear(): void {
    this.journalHandlers.clear();
  }
}
