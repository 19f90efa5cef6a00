/** What a tag is once its configuration has been validated and resolved. */
import type { ByteOrder, NumericType } from '../modbus/index.js';
import type { Quality } from './quality.js';

export type Area = 'coil' | 'discrete' | 'holding' | 'input';
export const AREAS: readonly Area[] = ['coil', 'discrete', 'holding', 'input'];

/** bool: a coil or discrete input; bit: one bit (0..15) of a register; string: `length` registers. */
export type DataType = 'bool' | 'bit' | NumericType | 'string';
export const DATA_TYPES: readonly DataType[] = ['bool', 'bit', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string'];

export type TagValueType = number | boolean | string;

export interface WritableSpec {
  /** Engineering-unit limits an operator command must respect. */
  min?: number;
  max?: number;
  roles: string[];
}

export interface TagDefinition {
  name: string;
  description: string;
  device: string;
  area: Area;
  address: number;
  type: DataType;
  /** For type bit: which bit of the register, 0 = least significant. */
  bit?: number;
  /** For type string: registers. */
  length?: number;
  order: ByteOrder;
  scale: number;
  offset: number;
  unit: string;
  decimals: number;
  /** Display range in engineering units. */
  range?: [number, number];
  deadband: number;
  scanGroup: string;
  writable?: WritableSpec;
}

/** A tag's value as published on the bus. Plain data: serialisable as JSON. */
export interface TagValue {
  tag: string;
  value: TagValueType | null;
  quality: Quality;
  /** When the poller observed this value or quality at the device (epoch ms). */
  sourceTs: number;
  /** When the poller published it (epoch ms). */
  serverTs: number;
  /** The Modbus exception code behind Bad_DeviceFailure. */
  exceptionCode?: number;
}

/** Registers (or bits) a tag occupies. */
export function tagSize(tag: Pick<TagDefinition, 'area' | 'type' | 'length'>): number {
  if (tag.area === 'coil' || tag.area === 'discrete' || tag.type === 'bit') return 1;
  switch (tag.type) {
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
    case 'string':
      return tag.length ?? 1;
    default:
      return 1;
  }
}

export function isBitArea(area: Area): boolean {
  return area === 'coil' || area === 'discrete';
}
