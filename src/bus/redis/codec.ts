/**
 * How the Redis bus writes values and reads stream replies.
 *
 * A tag's last value, in its device's hash (field = tag name):
 *   [value, quality, sourceTs, serverTs]            or, with a Modbus exception,
 *   [value, quality, sourceTs, serverTs, exceptionCode]
 * as JSON, where quality is the index in QUALITIES (src/tags/quality.ts,
 * which only ever grows at its end). A change notification on Pub/Sub is the
 * list of such entries with the tag name first: [[tag, value, quality, ...], ...],
 * except a device's scan report whose values are plain (each has a value, and
 * one server time), which is a frame:
 *   {"space": tag space id, "device": d, "t": sourceTs, "serverTs": s} \n {"t": sourceTs, "values": [stream values]}
 * — its second line is the web's stream delta in the tag space's indexes
 * (src/web/protocol.ts StreamValue), so a web node in the same space sends it
 * to its browsers as it is (src/web/stream.ts). A frame starts with "{", the
 * list with "[".
 */
import { QUALITIES, type Quality } from '../../tags/quality.js';
import type { TagSpace } from '../../tags/space.js';
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

/** The quality of a value as it is packed: its index in QUALITIES, as text, between commas. */
const QUALITY_PACKED = new Map<Quality, string>(QUALITIES.map((q, i) => [q, `,${i},`]));

/** A scan report encoded (encodeScan). */
export interface EncodedScan {
  /** The HSET command of the device's hash: HSET key tag encodeValue's-text … */
  hset: string[];
  /** The notification: a frame when every value is plain, else rows. */
  message: string;
  /** The values as rows (encodeBatch's text), made of the hash's texts: the samples stream's entry. */
  rows(): string;
}

/**
 * A scan report for its hash `key`, its notification and its samples, each value serialised once: a frame in
 * `space` when every value is plain, else encodeBatch's text.
 */
export function encodeScan(values: readonly TagValue[], key: string, device: string, space: TagSpace | undefined): EncodedScan {
  const hset = new Array<string>(2 + values.length * 2);
  hset[0] = 'HSET';
  hset[1] = key;
  const t = values[0]?.sourceTs ?? 0;
  const serverTs = values[0]?.serverTs ?? 0;
  // A scan's values share their times: each written as text once (a time is a double, slow to print), not per value.
  const tText = String(t);
  const times = `${tText},${serverTs}`;
  // The packed value of a Good value read at the scan's times, after the value itself.
  const goodTail = `${QUALITY_PACKED.get('Good')}${times}]`;
  let plain = space !== undefined;
  let delta = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const value = valueJson(v.value);
    const usual = v.quality === 'Good' && v.sourceTs === t && v.serverTs === serverTs && v.exceptionCode === undefined;
    hset[2 + 2 * i] = v.tag;
    // The packed value: [value, quality, sourceTs, serverTs(, exception code)].
    hset[3 + 2 * i] = usual
      ? '[' + value + goodTail
      : `[${value}${QUALITY_PACKED.get(v.quality) ?? ',null,'}${v.sourceTs},${v.serverTs}` + (v.exceptionCode === undefined ? ']' : `,${v.exceptionCode}]`);
    if (!plain) continue;
    const index = space!.index.get(v.tag);
    if (index === undefined || value === 'null' || v.quality === 'Bad_WaitingForInitialData' || v.serverTs !== serverTs) plain = false;
    else if (usual) delta += `${i === 0 ? '' : ','}[${index},${value}]`;
    else delta += `${i === 0 ? '' : ','}[${index},${value},"${v.quality}",${v.sourceTs === t ? tText : v.sourceTs}${v.exceptionCode === undefined ? '' : `,${v.exceptionCode}`}]`;
  }
  let batch: string | undefined;
  const rows = (): string => {
    if (batch !== undefined) return batch;
    batch = '[';
    for (let i = 0; i < values.length; i++) batch += `${i === 0 ? '' : ','}[${quoted(values[i]!.tag)},${hset[3 + 2 * i]!.slice(1)}`;
    return (batch += ']');
  };
  const message = plain ? `${JSON.stringify({ space: space!.id, device, t, serverTs } satisfies FrameHeader)}\n{"t":${tText},"values":[${delta}]}` : rows();
  return { hset, message, rows };
}

interface FrameHeader {
  space: string;
  device: string;
  t: number;
  serverTs: number;
}

/** A frame as received: its header, and its stream delta as the text it came in. */
export interface ReceivedFrame extends FrameHeader {
  delta: string;
}

/** Whether a notification is a frame (encodeScan), not a list of rows. */
export const isFrame = (message: string): boolean => message.charCodeAt(0) === 0x7b; // '{'

export function parseFrame(message: string): ReceivedFrame {
  const nl = message.indexOf('\n');
  const h = (nl > 0 ? JSON.parse(message.slice(0, nl)) : undefined) as Partial<FrameHeader> | undefined;
  if (!h || typeof h.space !== 'string' || typeof h.device !== 'string' || typeof h.t !== 'number' || typeof h.serverTs !== 'number') {
    throw new BusError('PLANTA_BUS_BAD_MESSAGE', `a value frame without its header: ${JSON.stringify(message.slice(0, 80))}`);
  }
  return { space: h.space, device: h.device, t: h.t, serverTs: h.serverTs, delta: message.slice(nl + 1) };
}

const QUALITY_NAMES = new Set<string>(QUALITIES);

/** A frame's values, with the names of the tag space it is in. */
export function frameValues(frame: ReceivedFrame, names: readonly string[]): TagValue[] {
  const { t, serverTs } = frame;
  const rows = (JSON.parse(frame.delta) as { values?: unknown }).values;
  if (!Array.isArray(rows)) throw new BusError('PLANTA_BUS_BAD_MESSAGE', 'a value frame without its values');
  const out = new Array<TagValue>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as unknown[];
    const tag = Array.isArray(r) ? names[r[0] as number] : undefined;
    const quality = r.length > 2 ? r[2] : 'Good';
    const sourceTs = r.length > 3 ? r[3] : t;
    if (tag === undefined || typeof quality !== 'string' || !QUALITY_NAMES.has(quality) || typeof sourceTs !== 'number') {
      throw new BusError('PLANTA_BUS_BAD_MESSAGE', `a value frame's row is unreadable: ${JSON.stringify(r).slice(0, 80)}`);
    }
    const v: TagValue = { tag, value: r[1] as TagValueType, quality: quality as Quality, sourceTs, serverTs };
    if (typeof r[4] === 'number') v.exceptionCode = r[4];
    out[i] = v;
  }
  return out;
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
