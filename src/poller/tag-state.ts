/**
 * What a device poller knows of each of its tags — the last value and quality
 * it published — and the rules that turn a read, or a failed one, into a new
 * quality: report by exception, the deadband, the display range (what a
 * failed read gives is in read-errors.ts).
 */
import type { RegisterDecoder } from '../tags/codec.js';
import type { Quality } from '../tags/quality.js';
import type { TagDefinition, TagValue, TagValueType } from '../tags/types.js';

export interface TagState {
  def: TagDefinition;
  offset: number;
  decode: RegisterDecoder | undefined;
  /** Last published value and quality, and when they were read. */
  value: TagValueType | null;
  quality: Quality;
  exceptionCode: number | undefined;
  ts: number;
}

/** A value read for a tag: its quality from the display range; kept and reported (to `out`) when it changed. */
export function applyValue(t: TagState, value: TagValueType, at: number, out: TagValue[], publishedAt = at): void {
  const range = t.def.range;
  const quality: Quality = range && typeof value === 'number' && (value < range[0] || value > range[1]) ? 'Uncertain_EngineeringUnitsExceeded' : 'Good';
  if (quality === t.quality && !changed(t, value)) return;
  t.value = value;
  t.quality = quality;
  t.exceptionCode = undefined;
  t.ts = at;
  out.push({ tag: t.def.name, value, quality, sourceTs: at, serverTs: publishedAt });
}

function changed(t: TagState, value: TagValueType): boolean {
  const last = t.value;
  if (typeof value === 'number' && typeof last === 'number') {
    return t.def.deadband > 0 ? Math.abs(value - last) > t.def.deadband : !Object.is(value, last);
  }
  return value !== last;
}
