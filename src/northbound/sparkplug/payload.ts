/**
 * Sparkplug B payloads (Eclipse Sparkplug 3.0, chapter 6): the protobuf
 * message `Payload` encoded with protobufjs. The schema below is the part of
 * the specification's `sparkplug_b.proto` an edge node of plain metrics uses
 * (no templates, data sets or files), written as a protobufjs JSON
 * descriptor (proto2: a 0 or false is sent, not left out) with the
 * specification's field numbers, which are all that
 * reach the wire: a host decoding with the full .proto reads these messages
 * unchanged (test/northbound/ decodes them with Eclipse Tahu's own decoder).
 */
import protobuf from 'protobufjs';

/** Sparkplug B data types (specification 6.4.16) of the metrics and properties Planta sends. */
export const DataType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

const VALUE_FIELDS = {
  intValue: { type: 'uint32', id: 0 },
  longValue: { type: 'uint64', id: 0 },
  floatValue: { type: 'float', id: 0 },
  doubleValue: { type: 'double', id: 0 },
  booleanValue: { type: 'bool', id: 0 },
  stringValue: { type: 'string', id: 0 },
} as const;

/** The value fields at their numbers from `first` on (metric: 10.., property value: 3..). */
function values(first: number): Record<string, { type: string; id: number }> {
  return Object.fromEntries(Object.entries(VALUE_FIELDS).map(([name, f], i) => [name, { type: f.type, id: first + i }]));
}

const root = protobuf.Root.fromJSON({
  nested: {
    spb: {
      nested: {
        Payload: {
          edition: 'proto2',
          fields: {
            timestamp: { type: 'uint64', id: 1 },
            metrics: { rule: 'repeated', type: 'Metric', id: 2 },
            seq: { type: 'uint64', id: 3 },
            uuid: { type: 'string', id: 4 },
            body: { type: 'bytes', id: 5 },
          },
          nested: {
            PropertyValue: {
              edition: 'proto2',
              oneofs: { value: { oneof: Object.keys(VALUE_FIELDS) } },
              fields: { type: { type: 'uint32', id: 1 }, isNull: { type: 'bool', id: 2 }, ...values(3) },
            },
            PropertySet: {
              edition: 'proto2',
              fields: { keys: { rule: 'repeated', type: 'string', id: 1 }, values: { rule: 'repeated', type: 'PropertyValue', id: 2 } },
            },
            Metric: {
              edition: 'proto2',
              oneofs: { value: { oneof: [...Object.keys(VALUE_FIELDS), 'bytesValue'] } },
              fields: {
                name: { type: 'string', id: 1 },
                alias: { type: 'uint64', id: 2 },
                timestamp: { type: 'uint64', id: 3 },
                datatype: { type: 'uint32', id: 4 },
                isHistorical: { type: 'bool', id: 5 },
                isTransient: { type: 'bool', id: 6 },
                isNull: { type: 'bool', id: 7 },
                properties: { type: 'PropertySet', id: 9 },
                ...values(10),
                bytesValue: { type: 'bytes', id: 16 },
              },
            },
          },
        },
      },
    },
  },
});

const PayloadType = root.lookupType('spb.Payload');

/** The value fields a metric and a property value share (VALUE_FIELDS); one is set at most. */
export interface ValueFields {
  intValue?: number;
  longValue?: number;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
}

export interface PropertyValue extends ValueFields {
  type: DataTypeCode;
  isNull?: boolean;
}

export interface PropertySet {
  keys: string[];
  values: PropertyValue[];
}

/** A metric as encoded: one value field at most, matching `datatype` (see metricValue). */
export interface Metric extends ValueFields {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype?: DataTypeCode;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
  properties?: PropertySet;
}

export interface Payload {
  timestamp?: number;
  metrics?: Metric[];
  seq?: number;
  uuid?: string;
}

export function encodePayload(p: Payload): Uint8Array {
  return PayloadType.encode(PayloadType.fromObject(p)).finish();
}

/** Decodes a payload (an NCMD or DCMD from a host); throws on bytes that are not one. */
export function decodePayload(bytes: Uint8Array): Payload {
  const message = PayloadType.decode(bytes);
  return PayloadType.toObject(message, { longs: Number, defaults: false, oneofs: false }) as Payload;
}

/** The value fields of a metric or property of `type`, with `v` in its field (signed ints up to 32 bits as two's complement uint32 in int_value; UInt32 and 64-bit in long_value). */
export function valueField(type: DataTypeCode, v: number | boolean | string): Pick<Metric, 'intValue' | 'longValue' | 'floatValue' | 'doubleValue' | 'booleanValue' | 'stringValue'> {
  switch (type) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
      return { intValue: Number(v) >>> 0 };
    // UInt32 travels in long_value, as Eclipse Tahu's encoders put it (it does not fit a signed 32-bit host type).
    case DataType.UInt32:
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime:
      return { longValue: Number(v) };
    case DataType.Float:
      return { floatValue: Number(v) };
    case DataType.Double:
      return { doubleValue: Number(v) };
    case DataType.Boolean:
      return { booleanValue: Boolean(v) };
    default:
      return { stringValue: String(v) };
  }
}

/** The value a host sent in a metric, read from whichever value field it used (ints back to signed by `datatype`). */
export function metricValue(m: Metric): number | boolean | string | undefined {
  if (m.isNull) return undefined;
  if (m.booleanValue !== undefined) return m.booleanValue;
  if (m.doubleValue !== undefined) return m.doubleValue;
  if (m.floatValue !== undefined) return m.floatValue;
  if (m.stringValue !== undefined) return m.stringValue;
  if (m.longValue !== undefined) return m.datatype === DataType.Int64 ? BigInt.asIntN(64, BigInt(m.longValue)) <= Number.MAX_SAFE_INTEGER ? Number(BigInt.asIntN(64, BigInt(m.longValue))) : m.longValue : m.longValue;
  if (m.intValue !== undefined) {
    if (m.datatype === DataType.Int8) return (m.intValue << 24) >> 24;
    if (m.datatype === DataType.Int16) return (m.intValue << 16) >> 16;
    if (m.datatype === DataType.Int32) return m.intValue | 0;
    return m.intValue;
  }
  return undefined;
}
