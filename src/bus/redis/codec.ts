/**
 * How the Redis bus writes values and reads stream replies.
 *
 * A tag's last value, in its device's hash (field = tag name):
 *   [value, quality, sourceTs, serverTs]            or, with a Modbus exception,
 *   [value, quality, sourceTs, serverTs, exceptionCode]
 * as JSON, where quality is the index in QUALITIES (src/tags/quality.ts,
 * which only ever grows at its end). A change notification on Pub/Sub is the
 * list of such entries with the tag name first: [[tag, value, quality, ...], ...].
 */
import { QUALITIES, type Quality } from '../../tags/quality.js';
import type { TagValue, TagValueType } from '../../tags/types.js';
import { BusError } from '../errors.js';

const QUALITY_INDEX = new Map<Quality, number>(QUALITIES.map((q, i) => [q, i]));

type Packed = [TagValueType | null, number, number, number] | [TagValueType | null, number, number, number, number];

function pack(v: TagValue): Packed {
  const q = QUALITY_INDEX.get(v.quality)!;
  return v.exceptionCode === undefined ? [v.value, q, v.sourceTs, v.serverTs] : [v.value, q, v.sourceTs, v.serverTs, v.exceptionCode];
}

function unpack(tag: string, p: unknown[]): TagValue {
  const quality = QUALITIES[p[1] as number];
  if (quality === undefined || typeof p[2] !== 'number' || typeof p[3] !== 'number') {
    throw new BusError('PLANTA_BUS_BAD_MESSAGE', `value of ${tag}: unreadable ${JSON.stringify(p)}`);
  }
  const v: TagValue = { tag, value: p[0] as TagValueType | null, quality, sourceTs: p[2], serverTs: p[3] };
  if (typeof p[4] === 'number') v.exceptionCode = p[4];
  return v;
}

/** A tag's hash field value. */
export function encodeValue(v: TagValue): string {
  return JSON.stringify(pack(v));
}

export function decodeValue(tag: string, text: string): TagValue {
  return unpack(tag, JSON.parse(text) as unknown[]);
}

/** A change notification: the batch as published. */
export function encodeBatch(values: TagValue[]): string {
  return JSON.stringify(values.map((v) => [v.tag, ...pack(v)]));
}

export function decodeBatch(text: string): TagValue[] {
  const rows = JSON.parse(text) as unknown;
  if (!Array.isArray(rows)) throw new BusError('PLANTA_BUS_BAD_MESSAGE', 'a value notification is not a list');
  return rows.map((r: unknown[]) => unpack(String(r[0]), r.slice(1)));
}

/** A stream entry: its id and its fields. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

function fieldsOf(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i])] = String(raw[i + 1]);
  else if (raw instanceof Map) for (const [k, v] of raw) out[String(k)] = String(v);
  else if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) out[k] = String(v);
  return out;
}

/** Entries as XRANGE returns them: [[id, [field, value, ...]], ...]; deleted entries (null) are skipped. */
export function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((e: unknown) => (Array.isArray(e) && e[0] !== null && e[1] !== null ? [{ id: String(e[0]), fields: fieldsOf(e[1]) }] : []));
}

/** XREAD / XREADGROUP replies: per stream key, its entries (null when the block timed out). */
export function parseStreams(raw: unknown): [key: string, entries: StreamEntry[]][] {
  if (raw === null || raw === undefined) return [];
  const pairs: [unknown, unknown][] = Array.isArray(raw)
    ? raw.map((s: unknown[]) => [s[0], s[1]])
    : raw instanceof Map
      ? [...(raw as Map<unknown, unknown>).entries()]
      : Object.entries(raw as Record<string, unknown>);
  return pairs.map(([k, entries]) => [String(k), parseEntries(entries)]);
}
