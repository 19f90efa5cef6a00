/**
 * The HMI pages of the configuration (GET api/plant → pages), as the screens
 * use them. The server has validated them against its schema; this reads
 * them defensively anyway and skips what it does not know, so a newer server
 * never breaks an older page.
 */

export interface BarSpec {
  tag: string;
  /** A tag name or a number: the low and high limits drawn on the bar. */
  low?: string | number;
  high?: string | number;
  /** A condition (the language of commands' `requires:`): the limits apply only while it is true. */
  limitsWhen?: string;
}

export interface PhaseStep {
  label: string;
  active: string;
  elapsed: string;
  durations: string[];
}

export interface PhasesSpec {
  selector?: string;
  stopped?: string;
  steps: PhaseStep[];
}

export interface DashboardPage {
  kind: 'dashboard';
  name: string;
  title: string;
  bars: BarSpec[];
  values: string[];
  phases?: PhasesSpec;
  /** Alarm and event tags the page names. The screens now take alarms and events from the server's alarm engine and journal. */
  alarms: string[];
  events: string[];
}

export type BindingKind = 'level' | 'text' | 'running' | 'open' | 'alarm' | 'instrument';

export interface MimicBinding {
  element: string;
  tag: string;
  as: BindingKind;
  range?: [number, number];
}

export interface MimicPage {
  kind: 'mimic';
  name: string;
  title: string;
  bindings: MimicBinding[];
}

export type HmiPage = DashboardPage | MimicPage;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const limit = (v: unknown): string | number | undefined => (typeof v === 'string' || typeof v === 'number' ? v : undefined);
const pair = (v: unknown): [number, number] | undefined =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : undefined;

const KINDS: readonly BindingKind[] = ['level', 'text', 'running', 'open', 'alarm', 'instrument'];

function dashboard(name: string, p: Obj): DashboardPage {
  const bars: BarSpec[] = [];
  for (const b of Array.isArray(p.bars) ? p.bars : []) {
    if (!isObj(b) || !str(b.tag)) continue;
    const bar: BarSpec = { tag: b.tag as string };
    const low = limit(b.low);
    const high = limit(b.high);
    if (low !== undefined) bar.low = low;
    if (high !== undefined) bar.high = high;
    const when = str(b.limitsWhen);
    if (when) bar.limitsWhen = when;
    bars.push(bar);
  }
  const page: DashboardPage = {
    kind: 'dashboard',
    name,
    title: str(p.title) ?? name,
    bars,
    values: strings(p.values),
    alarms: strings(p.alarms),
    events: strings(p.events),
  };
  if (isObj(p.phases)) {
    const steps: PhaseStep[] = [];
    for (const s of Array.isArray(p.phases.steps) ? p.phases.steps : []) {
      if (!isObj(s) || !str(s.active) || !str(s.elapsed)) continue;
      steps.push({ label: str(s.label) ?? String(s.active), active: s.active as string, elapsed: s.elapsed as string, durations: strings(s.durations) });
    }
    if (steps.length > 0) {
      const phases: PhasesSpec = { steps };
      const selector = str(p.phases.selector);
      const stopped = str(p.phases.stopped);
      if (selector) phases.selector = selector;
      if (stopped) phases.stopped = stopped;
      page.phases = phases;
    }
  }
  return page;
}

function mimic(name: string, p: Obj): MimicPage {
  const bindings: MimicBinding[] = [];
  for (const b of Array.isArray(p.bindings) ? p.bindings : []) {
    if (!isObj(b) || !str(b.element) || !str(b.tag) || !KINDS.includes(b.as as BindingKind)) continue;
    const binding: MimicBinding = { element: b.element as string, tag: b.tag as string, as: b.as as BindingKind };
    const range = pair(b.range);
    if (range) binding.range = range;
    bindings.push(binding);
  }
  return { kind: 'mimic', name, title: str(p.title) ?? name, bindings };
}

/** The pages in configuration order; unknown kinds are left out. */
export function readPages(pages: Record<string, unknown>): HmiPage[] {
  const out: HmiPage[] = [];
  for (const [name, p] of Object.entries(pages)) {
    if (!isObj(p)) continue;
    if (p.kind === 'dashboard') out.push(dashboard(name, p));
    else if (p.kind === 'mimic') out.push(mimic(name, p));
  }
  return out;
}
