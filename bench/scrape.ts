/** What the benchmarks read of a process's Prometheus /metrics: samples, counters between two scrapes, histograms' percentiles. */

/** A histogram's p50/p99 over the window (interpolated in its buckets), ms, and its count. */
export interface Stage {
  count: number;
  p50: number;
  p99: number;
}

export type Samples = { name: string; labels: Record<string, string>; value: number }[];

export async function scrape(m: { url: string; token?: string }): Promise<Samples> {
  const res = await fetch(m.url, m.token ? { headers: { authorization: `Bearer ${m.token}` } } : {});
  if (!res.ok) throw new Error(`${m.url}: HTTP ${res.status}`);
  const out: Samples = [];
  for (const line of (await res.text()).split('\n')) {
    const x = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!x) continue;
    const labels: Record<string, string> = {};
    for (const l of (x[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: x[1]!, labels, value: Number(x[3]) });
  }
  return out;
}

export const pick = (s: Samples, name: string, labels: Record<string, string> = {}): Samples =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
export const sum = (s: Samples): number => s.reduce((n, x) => n + x.value, 0);

/** A histogram's figures between two scrapes. */
export function stage(before: Samples, after: Samples, name: string, labels: Record<string, string> = {}): Stage | undefined {
  const buckets = pick(after, `${name}_bucket`, labels).map((b) => {
    const was = pick(before, `${name}_bucket`, { ...labels, le: b.labels.le! });
    return { le: b.labels.le === '+Inf' ? Infinity : Number(b.labels.le), n: b.value - sum(was) };
  });
  buckets.sort((x, y) => x.le - y.le);
  const count = buckets.at(-1)?.n ?? 0;
  if (count <= 0) return undefined;
  const q = (f: number): number => {
    const want = f * count;
    let lo = 0;
    let below = 0;
    for (const b of buckets) {
      if (b.n >= want) {
        if (b.le === Infinity) return lo * 1000;
        return (lo + ((want - below) / Math.max(1, b.n - below)) * (b.le - lo)) * 1000;
      }
      lo = b.le;
      below = b.n;
    }
    return lo * 1000;
  };
  return { count, p50: q(0.5), p99: q(0.99) };
}

