/**
 * A device's scan groups as its poller reads them: each group's read requests (planReads) and the state of the tags
 * each request carries; the base period (the groups' greatest common divisor) the scan loop ticks at.
 */
import type { ModbusRequest } from '../modbus/index.js';
import type { DeviceConfig } from '../config/resolve.js';
import { compileRegisterDecoder } from '../tags/codec.js';
import type { TagDefinition } from '../tags/types.js';
import { type ReadBlock, planReads } from './plan.js';
import type { TagState } from './tag-state.js';

export interface Block {
  /** Its scan group, by which a link schedules requests fairly. */
  group: string;
  request: ModbusRequest;
  bits: boolean;
  tags: TagState[];
}

export interface Group {
  name: string;
  periodMs: number;
  /** Runs every `every` base ticks. */
  every: number;
  blocks: Block[];
  lastCompleted: number;
  /** The process's stalls (StallClock.stalledMs) then: a stall is no staleness of the device's values. */
  stalledAtCompletion: number;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

const FC_OF_AREA = { coil: 1, discrete: 2, holding: 3, input: 4 } as const;

function toRequest(b: ReadBlock): ModbusRequest {
  return { fc: FC_OF_AREA[b.area], address: b.address, quantity: b.quantity };
}

/** The device's groups with their requests and tag states, in file order; the tags of other devices are left out. */
export function scanGroups(device: DeviceConfig, tags: readonly TagDefinition[]): { groups: Group[]; tags: TagState[]; base: number } {
  const states: TagState[] = [];
  const byGroup = new Map<string, TagDefinition[]>();
  for (const t of tags) {
    if (t.device !== device.name) continue;
    const group = byGroup.get(t.scanGroup);
    if (group) group.push(t);
    else byGroup.set(t.scanGroup, [t]);
  }
  const periods = Object.values(device.scanGroups);
  const base = periods.reduce(gcd);
  const groups: Group[] = Object.entries(device.scanGroups).map(([name, periodMs]) => ({
    name,
    periodMs,
    every: periodMs / base,
    lastCompleted: 0,
    stalledAtCompletion: 0,
    blocks: planReads(byGroup.get(name) ?? [], device).map((b) => ({
      group: name,
      request: toRequest(b),
      bits: b.area === 'coil' || b.area === 'discrete',
      tags: b.tags.map(({ tag, offset }) => {
        const state: TagState = {
          def: tag,
          offset,
          decode: b.area === 'coil' || b.area === 'discrete' ? undefined : compileRegisterDecoder(tag),
          value: null,
          quality: 'Bad_WaitingForInitialData',
          exceptionCode: undefined,
          ts: 0,
        };
        states.push(state);
        return state;
      }),
    })),
  }));
  return { groups, tags: states, base };
}
