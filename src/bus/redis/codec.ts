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

/** The value packed in `p` from index `at` on (0 in a hash field, 1 in a notification's row, after the tag). */
function unpack(tag: string, p: unknown[], at = 0): TagValue {
  const quality = QUALITIES[p[at + 1] as number];
  const sourceTs = p[at + 2];
  const serverTs = p[at + 3];
  if (quality === undefined || typeof sourceTs !== 'number' || typeof serverTs !== 'number') {
    throw new BusError('PLANTA_BUS_BAD_MESSAGE', `value of ${tag}: unreadable ${JSON.stringify(p.slice(at))}`);
  }
  const v: TagValue = { tag, value: p[at] as TagValueType | null, quality, sourceTs, serverTs };
  const exc = p[at + 4];
  if (typeof exc === 'number') v.exceptionCode = exc;
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

/** JSON of a value: a number or a boolean (nearly every value) written directly, anything else by JSON.stringify. */
function valueJson(x: TagValueType | null): string {
  if (typeof x === 'number') return Number.isFinite(x) ? String(x) : 'null';
  if (typeof x === 'boolean') return x ? 'true' : 'false';
  return JSON.stringify(x);
}

/** Tag names as JSON strings: the same few thousand names in every batch. */
const tagJson = new Map<string, string>();
function quoted(tag: string): string {
  let q = tagJson.get(tag);
  if (q === undefined) {
    if (tagJson.size >= 1_000_000) tagJson.clear();
    tagJson.set(tag, (q = JSON.stringify(tag)));
  }
  return q;
}

/**
 * A batch for its hash and its notification, each value serialised once: `fields` are HSET's field/value pairs
 * (tag, encodeValue's text), `batch` the notification (encodeBatch's text, made of the same strings).
 */
export function encodeForHash(values: readonly TagValue[]): { fields: string[]; batch: string } {
  const fields = new Array<string>(values.length * 2);
  let batch = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // The packed value without its '[': value, quality, sourceTs, serverTs(, exception code)].
    const rest =
      `${valueJson(v.value)},${QUALITY_INDEX.get(v.quality) ?? null},${v.sourceTs},${v.serverTs}` + (v.exceptionCode === undefined ? ']' : `,${v.exceptionCode}]`);
    fields[2 * i] = v.tag;
    fields[2 * i + 1] = `[${rest}`;
    batch += `${i === 0 ? '' : ','}[${quoted(v.tag)},${rest}`;
  }
  return { fields, batch: `${batch}]` };
}

export function decodeBatch(text: string): TagValue[] {
  const rows = JSON.parse(text) as unknown;
  if (!Array.isArray(rows)) throw new BusError('PLANTA_BUS_BAD_MESSAGE', 'a value notification is not a list');
  const out = new Array<TagValue>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as unknown[];
    if (!Array.isArray(r)) throw new BusError('PLANTA_BUS_BAD_MESSAGE', 'a value notification has a row that is not a list');
    out[i] = unpack(String(r[0]), r, 1);
  }
  return out;
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
