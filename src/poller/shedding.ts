/**
 * A device's scan deadlines: which were missed and why, and which scan groups
 * give way while the device cannot keep up.
 *
 * A scan's deadline is the next slot: a scan that ends after it makes the
 * device skip slots (overruns). Each overrun gets the cause that took most of
 * the time from the slot to the scan's end:
 *   cpu-starved  the event loop waited, runnable, for a CPU other processes
 *                held (Linux's run-queue time): Planta could not have met it;
 *   device-slow  the replies took long, beyond what starvation explains: the
 *                device (or its line) is slower than the scan period;
 *   planta-late  the rest: Planta's own work (other devices' scans, decoding,
 *                publishing) kept the scan late — the deadlines Planta could
 *                have met, the ones to drive to zero.
 *
 * Shedding: a late scan (its deadline missed, or started more than half a
 * period late) sheds one more group of the device's shed order; ten scans in
 * time in a row take one back. A group shed is still read at one of three of
 * its scans, so that its values stay fresh (Good, never stale); the scans it
 * skipped are counted.
 */
import type { DeviceConfig } from '../config/resolve.js';

export type OverrunCause = 'planta-late' | 'device-slow' | 'cpu-starved';

export const OVERRUN_CAUSES: readonly OverrunCause[] = ['planta-late', 'device-slow', 'cpu-starved'];

/** Scans in time in a row after which one shed group comes back. */
export const CALM_SCANS = 10;
/** A shed group is still read after this many skipped scans in a row. */
export const SHED_SKIPS = 2;

/** devices[].shedOrder, else every group but the fastest (the first of the fastest), the slowest first. */
export function shedOrderOf(device: Pick<DeviceConfig, 'scanGroups' | 'shedOrder'>): string[] {
  if (device.shedOrder) return [...device.shedOrder];
  const groups = Object.entries(device.scanGroups).map(([name, periodMs], i) => ({ name, periodMs, i }));
  // Slowest first; of two with one period, the one declared later first.
  groups.sort((a, b) => b.periodMs - a.periodMs || b.i - a.i);
  return groups.slice(0, -1).map((g) => g.name);
}

/** One scan group's deadlines, as DeviceStatus shows them. */
export interface GroupFigures {
  name: string;
  periodMs: number;
  /** Its place in the shed order (0: shed first), or null: never shed. */
  shedRank: number | null;
  /** Scans that read it. */
  scans: number;
  /** Its slots skipped by overruns. */
  missed: number;
  /** Its scans skipped on purpose while the device was behind. */
  shed: number;
}

interface GroupState extends GroupFigures {
  every: number;
  skippedInARow: number;
}

/** A clock of ms the event loop waited for a CPU (StallClock.starvedMs). */
export type StarvationClock = () => number;

export class ScanBudget {
  private readonly groups: GroupState[];
  private readonly byName: Map<string, GroupState>;
  private readonly order: string[];
  /** How many groups of the shed order are shed now. */
  private level = 0;
  private calm = 0;
  readonly causes: Record<OverrunCause, number> = { 'planta-late': 0, 'device-slow': 0, 'cpu-starved': 0 };
  // The scan in progress (or the last one): when it started and got its replies, and the starvation clock then.
  private startedAt = 0;
  private repliedAt = 0;
  private starved0 = 0;
  private starved1 = 0;
  /** The starvation clock when the previous scan got its replies: an overrun's starvation counts from there. */
  private starvedPrev: number;

  constructor(
    groups: readonly { name: string; periodMs: number; every: number }[],
    order: readonly string[],
    private readonly baseMs: number,
    private readonly starvedMs: StarvationClock,
  ) {
    this.order = [...order];
    this.groups = groups.map((g) => {
      const rank = this.order.indexOf(g.name);
      return { name: g.name, periodMs: g.periodMs, every: g.every, shedRank: rank >= 0 ? rank : null, scans: 0, missed: 0, shed: 0, skippedInARow: 0 };
    });
    this.byName = new Map(this.groups.map((g) => [g.name, g]));
    this.starvedPrev = starvedMs();
    this.starved1 = this.starvedPrev;
  }

  /** Groups shed now (the first `shedding` of the shed order). */
  get shedding(): number {
    return this.level;
  }

  /** The due groups this scan reads: those shed now skip, except every third time. */
  select<G extends { name: string }>(due: readonly G[]): G[] {
    const out: G[] = [];
    for (const g of due) {
      const s = this.byName.get(g.name)!;
      if (s.shedRank !== null && s.shedRank < this.level && s.skippedInARow < SHED_SKIPS) {
        s.skippedInARow++;
        s.shed++;
        continue;
      }
      s.skippedInARow = 0;
      s.scans++;
      out.push(g);
    }
    return out;
  }

  /** The scan starts (performance.now()), its requests about to go. */
  begin(now: number): void {
    this.starvedPrev = this.starved1;
    this.startedAt = now;
    this.repliedAt = now;
    this.starved0 = this.starvedMs();
    this.starved1 = this.starved0;
  }

  /** Its replies (or errors) are in; returns the ms the event loop waited for a CPU meanwhile. */
  replied(now: number): number {
    this.repliedAt = now;
    this.starved1 = this.starvedMs();
    return this.starved1 - this.starved0;
  }

  /** The scan due at `dueAt`, started at `startedAt`, ended at `now` (performance.now() times): in time, or late (one group more shed). */
  end(dueAt: number, startedAt: number, now: number): void {
    const late = now - dueAt > this.baseMs || startedAt - dueAt > this.baseMs / 2;
    if (late) {
      this.calm = 0;
      this.level = Math.min(this.order.length, this.level + 1);
    } else if (this.level > 0 && ++this.calm >= CALM_SCANS) {
      this.calm = 0;
      this.level--;
    }
  }

  /** Periodic's overrun: the scan of `slot`, due at `dueAt`, ended now, `missed` slots later. Returns its cause. */
  overrun(slot: number, missed: number, dueAt: number, now: number): OverrunCause {
    const total = now - dueAt;
    const starvedNow = this.starvedMs();
    const cpu = Math.min(total, starvedNow - this.starvedPrev);
    const device = Math.max(0, this.repliedAt - this.startedAt - (this.starved1 - this.starved0));
    const planta = Math.max(0, total - cpu - device);
    const cause: OverrunCause = cpu >= device && cpu >= planta ? 'cpu-starved' : device >= planta ? 'device-slow' : 'planta-late';
    this.causes[cause] += missed;
    for (let s = slot + 1; s <= slot + Math.min(missed, 100_000); s++) {
      for (const g of this.groups) if (s % g.every === 0) g.missed++;
    }
    return cause;
  }

  figures(): GroupFigures[] {
    return this.groups.map(({ name, periodMs, shedRank, scans, missed, shed }) => ({ name, periodMs, shedRank, scans, missed, shed }));
  }
}
