/**
 * A tag as a screen shows it: definition, value, and the quality to draw.
 * While the live stream is down every value is at best stale — a value
 * whose connection is gone is never shown as good — so a Good value then
 * shows as Uncertain_LastUsableValue with the reason; so while the server
 * has no link to the plant's bus.
 */
import type { Quality, TagInfo } from '../../../src/web/protocol.js';
import { formatTimeZoned } from '../shared/format.js';
import { qualityReason } from './quality-view.js';
import type { HmiState, LiveValue } from './state.js';
import { msg } from '../i18n/locale.js';

export interface TagView {
  name: string;
  info: TagInfo | undefined;
  live: LiveValue;
  /** The quality to draw (the value's own, or stale while the stream is down). */
  quality: Quality;
  /** Why, in a sentence. */
  reason: string;
  good: boolean;
}

/** Reads the tag's signal and the link (so a component calling it re-renders on either). */
export function viewTag(state: HmiState, name: string): TagView {
  const info = state.tags.get(name);
  const live = state.value(name).value;
  const link = state.link.value;
  let quality = live.quality;
  const t = msg().quality;
  let reason = info ? qualityReason(live.quality, live.exceptionCode) : t.noTag(name);
  if (!info) quality = 'Bad_ConfigurationError';
  else if (link.state !== 'live' && quality === 'Good') {
    quality = 'Uncertain_LastUsableValue';
    reason = link.state === 'down' ? t.lostSince(formatTimeZoned(link.since, state.timeZone)) : t.notOpen;
  } else if (!state.bus.value.up && (quality === 'Good' || quality === 'Uncertain_LastUsableValue')) {
    // The server lost the plant's bus: it marked its values already; say since when.
    quality = 'Uncertain_LastUsableValue';
    reason = t.busLost(formatTimeZoned(state.bus.value.since, state.timeZone));
  }
  return { name, info, live, quality, reason, good: quality === 'Good' };
}

/** A limit given as a number or as a tag: its value, or undefined when unknown or not usable. */
export function limitValue(state: HmiState, limit: string | number | undefined): { value: number; good: boolean; tag?: string } | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit === 'number') return { value: limit, good: true };
  const v = viewTag(state, limit);
  if (typeof v.live.value !== 'number') return undefined;
  return { value: v.live.value, good: v.good, tag: limit };
}
