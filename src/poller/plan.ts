/**
 * The read planner: the fewest Modbus requests that read a set of tags,
 * within the spec's limits, the device's maximum request size and the largest
 * gap of unused addresses worth reading to merge two requests.
 *
 * Greedy from the lowest address is optimal here: a block is a window of at
 * most `max` addresses whose tags are whole and whose holes are ≤ maxGap;
 * extending the current block whenever the next tag fits never needs more
 * blocks than any other choice.
 */
import { type Area, type TagDefinition, isBitArea, tagSize } from '../tags/types.js';

export interface PlanLimits {
  maxRegisters: number;
  maxBits: number;
  maxGap: number;
}

export interface PlannedTag {
  tag: TagDefinition;
  /** Position of the tag's first register (or bit) in the block. */
  offset: number;
}

export interface ReadBlock {
  area: Area;
  address: number;
  quantity: number;
  tags: PlannedTag[];
}

const AREA_ORDER: Area[] = ['coil', 'discrete', 'holding', 'input'];

export function planReads(tags: readonly TagDefinition[], limits: PlanLimits): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const area of AREA_ORDER) {
    const inArea = tags
      .filter((t) => t.area === area)
      .sort((a, b) => a.address - b.address || tagSize(b) - tagSize(a));
    const max = isBitArea(area) ? limits.maxBits : limits.maxRegisters;
    let block: { start: number; end: number; tags: TagDefinition[] } | undefined;
    const flush = (): void => {
      if (!block) return;
      blocks.push({
        area,
        address: block.start,
        quantity: block.end - block.start,
        tags: block.tags.map((tag) => ({ tag, offset: tag.address - block!.start })),
      });
    };
    for (const tag of inArea) {
      const start = tag.address;
      const end = start + tagSize(tag);
      if (block && start - block.end <= limits.maxGap && Math.max(end, block.end) - block.start <= max) {
        block.end = Math.max(end, block.end);
        block.tags.push(tag);
      } else {
        flush();
        block = { start, end, tags: [tag] };
      }
    }
    flush();
  }
  return blocks;
}
