/**
 * The recorded plant at a moment, for incident replay: each tag's last
 * sample at or before T, as recorded (never interpolated). A tag with no
 * sample before T has none; a sample older than the tag's repeat interval
 * allows (the recorder stopped hearing of it) is marked stale.
 *
 * No index of its own is needed: both stores key a tag's samples by
 * (tag_id, t_start) blocks, so a tag's last sample before T is one probe of
 * that key and one block decoded, whatever the length of the history
 * (`npm run bench:replay` measures it on a year). `lastBeforeMany` does all
 * tags at once: one SQLite snapshot, one PostgreSQL round trip.
 */
import type { Samples } from './codec.js';
import type { HistoryStore } from './types.js';

export interface SampleAt {
  ts: number;
  /** NaN when there is no number (bad quality). */
  v: number;
  /** An index into QUALITIES. */
  q: number;
  /** Older than the tag's repeat interval allows at T: the value was no longer confirmed then. */
  stale: boolean;
}

/** What replay needs of the historian: its store and each tag's staleness bound. */
export interface ReplaySource {
  readonly store: Pick<HistoryStore, 'lastBefore' | 'lastBeforeMany' | 'readRaw'>;
  staleAfterMs(tag: string): number;
}

/** Each tag's last sample at or before `t` (epoch ms), in the order given. */
export async function samplesAt(h: ReplaySource, tags: readonly string[], t: number): Promise<(SampleAt | undefined)[]> {
  // lastBefore is strict: at or before t is before t + 1 (times are whole milliseconds).
  const store = h.store;
  const last = store.lastBeforeMany ? await store.lastBeforeMany(tags, t + 1) : await Promise.all(tags.map((tag) => store.lastBefore(tag, t + 1)));
  return last.map((s, k) => (s ? { ...s, stale: t - s.ts > h.staleAfterMs(tags[k]!) } : undefined));
}

/** Every sample of each tag with from < ts ≤ to (the samples a replay plays between two moments). */
export async function samplesBetween(h: ReplaySource, tags: readonly string[], from: number, to: number): Promise<Samples[]> {
  return Promise.all(tags.map((tag) => h.store.readRaw(tag, from + 1, to + 1)));
}
