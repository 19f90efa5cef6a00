/**
 * What a trend draws behind and over its pens, without any screen: the SBR
 * phases as shaded bands (from the history of each phase's boolean tag, as
 * the cycle report finds them: true with usable quality), and each pen's
 * configured limits (a dashboard bar's low and high) as horizontal lines.
 */
import type { DashboardPage, HmiPage } from '../shared/pages.js';
import type { PenData } from './trend-model.js';

/** A phase of the sequence, by its boolean tag. */
export interface PhaseSpec {
  label: string;
  tag: string;
}

/** A stretch of time in one phase. */
export interface TrendBand {
  label: string;
  /** The phase's place in the sequence (its shade). */
  index: number;
  from: number;
  to: number;
}

/** A limit line: on pen `pen`'s scale. */
export interface TrendLimit {
  pen: number;
  kind: 'low' | 'high';
  value: number;
  /** False when the limit's own tag is not Good (the line is drawn dotted). */
  good: boolean;
}

const dashboard = (pages: readonly HmiPage[]): DashboardPage | undefined => pages.find((p): p is DashboardPage => p.kind === 'dashboard' && p.phases !== undefined);

/** The phases of the first dashboard that has a sequence. */
export function phaseSpecs(pages: readonly HmiPage[]): PhaseSpec[] {
  return dashboard(pages)?.phases?.steps.map((s) => ({ label: s.label, tag: s.active })) ?? [];
}

/** The limits configured for each pen (dashboard bars of the same tag), as references: a tag or a number. */
export function limitSpecs(pages: readonly HmiPage[], pens: readonly string[]): { pen: number; kind: 'low' | 'high'; ref: string | number }[] {
  const out: { pen: number; kind: 'low' | 'high'; ref: string | number }[] = [];
  pens.forEach((tag, pen) => {
    const seen = new Set<string>();
    for (const p of pages) {
      if (p.kind !== 'dashboard') continue;
      for (const b of p.bars) {
        if (b.tag !== tag) continue;
        for (const kind of ['low', 'high'] as const) {
          const ref = b[kind];
          const key = `${kind}:${String(ref)}`;
          if (ref === undefined || seen.has(key)) continue;
          seen.add(key);
          out.push({ pen, kind, ref });
        }
      }
    }
  });
  return out;
}

/**
 * The bands of each phase within [from, to]: while its tag is true with good
 * or uncertain quality; a gap or bad sample ends it; a band still open at the
 * end of the data runs to `openEnd` (now, for a live trend).
 */
export function phaseBands(specs: readonly PhaseSpec[], data: readonly PenData[], from: number, to: number, openEnd = to): TrendBand[] {
  const out: TrendBand[] = [];
  specs.forEach((spec, index) => {
    const d = data.find((x) => x.tag === spec.tag);
    if (!d) return;
    let open: number | null = null;
    const close = (end: number): void => {
      if (open === null) return;
      const a = Math.max(open, from);
      const b = Math.min(end, to);
      if (b > a) out.push({ label: spec.label, index, from: a, to: b });
      open = null;
    };
    for (let i = 0; i < d.t.length; i++) {
      const v = d.v[i];
      const q = d.q[i];
      const on = v !== null && v !== undefined && v >= 0.5 && q !== 'bad';
      if (on && open === null) open = d.t[i]!;
      else if (!on) close(d.t[i]!);
    }
    close(openEnd);
  });
  return merged(out).sort((a, b) => a.from - b.from);
}

/** One band per stretch of a phase: the historian's answer and the live tail may both hold its start (or meet). */
function merged(bands: TrendBand[]): TrendBand[] {
  const out: TrendBand[] = [];
  for (const b of [...bands].sort((x, y) => x.index - y.index || x.from - y.from)) {
    const last = out[out.length - 1];
    if (last && last.index === b.index && b.from <= last.to) last.to = Math.max(last.to, b.to);
    else out.push({ ...b });
  }
  return out;
}
