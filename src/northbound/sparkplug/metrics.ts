/**
 * Planta's tags as Sparkplug B metrics: a name (the tag's name, "." as the
 * folder separator "/"), an alias fixed by the configuration's order, a
 * datatype from the tag's type and scaling, and the properties a host shows
 * beside the value (engineering unit and range, description, quality).
 */
import type { AlarmState } from '../../bus/types.js';
import type { PlantConfig } from '../../config/resolve.js';
import type { Quality } from '../../tags/quality.js';
import type { TagDefinition, TagValue } from '../../tags/types.js';
import { type DataTypeCode, DataType, type Metric, type PropertySet, type PropertyValue, valueField } from './payload.js';

/**
 * The Sparkplug "Quality" property as Ignition and OPC DA give it: 192 good,
 * 64 uncertain, 0 bad. A value that is not good always carries it, so no
 * host can take a Bad value for a good one.
 */
export function sparkplugQuality(q: Quality): 192 | 64 | 0 {
  if (q === 'Good') return 192;
  return q.startsWith('Uncertain_') ? 64 : 0;
}

/** A metric of the edge node: a tag of a device, or a mapped command (written only, never read). */
export interface MetricDef {
  name: string;
  alias: number;
  datatype: DataTypeCode;
  /** The Sparkplug device it belongs to (a Planta device); undefined: the edge node itself. */
  device: string | undefined;
  tag?: TagDefinition;
  /** Mapped to a command: writable from NCMD/DCMD. */
  command?: string;
  /** An alarm's state (`State`, its ISA-18.2 display state) or whether it is active (`Active`): metrics of the edge node itself. */
  alarm?: { id: string; field: 'State' | 'Active' };
}

export const metricName = (tag: string): string => tag.replaceAll('.', '/');

export function tagDataType(t: TagDefinition): DataTypeCode {
  if (t.type === 'bool' || t.type === 'bit') return DataType.Boolean;
  if (t.type === 'string') return DataType.String;
  // A scaled register is an engineering value with decimals, whatever the register's integer type.
  if (t.scale !== 1 || t.offset !== 0) return t.type === 'float32' ? DataType.Float : DataType.Double;
  return { int16: DataType.Int16, uint16: DataType.UInt16, int32: DataType.Int32, uint32: DataType.UInt32, float32: DataType.Float, float64: DataType.Double }[t.type];
}

function property(type: DataTypeCode, v: number | boolean | string): PropertyValue {
  return { type, ...valueField(type, v) };
}

const qualityProperty = (q: Quality): PropertySet => ({ keys: ['Quality'], values: [property(DataType.Int32, sparkplugQuality(q))] });

/** The value part of a metric: a Bad value (or none) is sent as null, never as a number a host would use. */
function valuePart(def: MetricDef, v: TagValue | undefined): Metric {
  if (!v || v.value === null || v.quality.startsWith('Bad_')) return { isNull: true };
  if (def.datatype === DataType.Boolean) return valueField(def.datatype, Boolean(v.value));
  if (def.datatype === DataType.String) return valueField(def.datatype, String(v.value));
  return typeof v.value === 'number' ? valueField(def.datatype, v.value) : { isNull: true };
}

/** A metric of a BIRTH: name, alias, datatype, value and every property. */
/** An alarm's metric: its display state, or whether it is active (null while unknown). */
export function alarmMetric(def: MetricDef, s: AlarmState | undefined, birth: boolean, historical = false): Metric {
  const m: Metric = { alias: def.alias, datatype: def.datatype, timestamp: s?.changedAt ?? Date.now() };
  if (birth) m.name = def.name;
  if (historical) m.isHistorical = true;
  if (def.alarm!.field === 'State') return { ...m, ...valueField(DataType.String, s?.state ?? 'unknown') };
  return s?.active === true || s?.active === false ? { ...m, ...valueField(DataType.Boolean, s.active) } : { ...m, isNull: true };
}

export function birthMetric(def: MetricDef, v: TagValue | undefined, writable: boolean): Metric {
  const keys: string[] = [];
  const values: PropertyValue[] = [];
  const add = (key: string, p: PropertyValue): void => void (keys.push(key), values.push(p));
  const t = def.tag;
  if (t) {
    add('Quality', property(DataType.Int32, sparkplugQuality(v?.quality ?? 'Bad_WaitingForInitialData')));
    if (t.unit) add('engUnit', property(DataType.String, t.unit));
    if (t.range) {
      add('engLow', property(DataType.Double, t.range[0]));
      add('engHigh', property(DataType.Double, t.range[1]));
    }
    if (t.description) add('description', property(DataType.String, t.description));
  }
  add('readOnly', property(DataType.Boolean, !writable));
  const m: Metric = { name: def.name, alias: def.alias, datatype: def.datatype, timestamp: v?.sourceTs ?? Date.now(), properties: { keys, values } };
  return t ? { ...m, ...valuePart(def, v) } : { ...m, ...valueField(def.datatype, def.datatype === DataType.Boolean ? false : 0) };
}

/**
 * A metric of a DATA message: alias only, the value and its time, and the
 * Quality property whenever it is not good or just changed (back to good).
 */
export function dataMetric(def: MetricDef, v: TagValue, qualityChanged: boolean, historical = false): Metric {
  const m: Metric = { alias: def.alias, timestamp: v.sourceTs, datatype: def.datatype, ...valuePart(def, v) };
  if (v.quality !== 'Good' || qualityChanged) m.properties = qualityProperty(v.quality);
  if (historical) m.isHistorical = true;
  return m;
}

/**
 * Every metric of the edge node: each tag on its device, aliases 1.. in the
 * configuration's order (stable across restarts), then the mapped commands
 * that are not tags.
 */
export function metricDefs(config: PlantConfig, commands: Record<string, { command: string }>, commandDevice: (command: string) => string | undefined): MetricDef[] {
  const defs: MetricDef[] = config.tags.map((tag, i) => ({ name: metricName(tag.name), alias: i + 1, datatype: tagDataType(tag), device: tag.device, tag }));
  const byName = new Map(defs.map((d) => [d.name, d]));
  let alias = defs.length;
  // Every alarm of the configuration and each device's communication alarm (the alarm engine's comm.<device>), in that order.
  for (const id of [...Object.keys(config.alarms), ...config.devices.map((d) => `comm.${d.name}`)]) {
    defs.push({ name: `Alarms/${id}/State`, alias: ++alias, datatype: DataType.String, device: undefined, alarm: { id, field: 'State' } });
    defs.push({ name: `Alarms/${id}/Active`, alias: ++alias, datatype: DataType.Boolean, device: undefined, alarm: { id, field: 'Active' } });
  }
  for (const [name, m] of Object.entries(commands)) {
    const existing = byName.get(name);
    if (existing) {
      existing.command = m.command;
      continue;
    }
    const params = config.commands[m.command]?.params ?? {};
    const datatype = Object.keys(params).length === 0 ? DataType.Boolean : DataType.Double;
    const def: MetricDef = { name, alias: ++alias, datatype, device: commandDevice(m.command), command: m.command };
    defs.push(def);
    byName.set(name, def);
  }
  return defs;
}
