/**
 * The load of bench:stream, identical in both servers: every PERIOD ms (a
 * drift-free schedule) one batch in which every tag changes, each value
 * stamped sourceTs = serverTs = Date.now() at publish time, so a delta's `t`
 * is the publish time.
 */
import { readFileSync } from 'node:fs';
import type { TagValue } from '../../src/tags/types.js';
import { Periodic } from '../../src/util/scheduler.js';

export function tagNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `plc.ai${i}`);
}

/** The configuration of Planta's side: one device on 127.0.0.1 (never polled), `count` tags. */
export function configYaml(count: number, periodMs: number): string {
  // Every benchmark client comes from 127.0.0.1: the per-client and total caps (security.limits) are lifted.
  const limits = 'connections: 100000, connectionsPerIp: 100000, streams: 100000, streamsPerIp: 100000';
  let yaml = `plant:\n  name: bench:stream\nsecurity:\n  limits: { ${limits} }\ndevices:\n  plc: { host: 127.0.0.1, port: 502, unitId: 1, scanGroups: { fast: ${periodMs}ms } }\ntags:\n`;
  for (const [i, name] of tagNames(count).entries()) yaml += `  ${name}: { device: plc, area: input, address: ${i * 2}, type: float32 }\n`;
  return yaml;
}

/** One batch: every tag with a value it did not have at the previous slot (two decimals, 0.01..1000). */
export function makeBatch(names: readonly string[], slot: number, now: number): TagValue[] {
  const batch: TagValue[] = new Array<TagValue>(names.length);
  for (let i = 0; i < names.length; i++) {
    const value = (((slot * 37 + i * 113) % 100000) + 1) / 100;
    batch[i] = { tag: names[i]!, value, quality: 'Good', sourceTs: now, serverTs: now };
  }
  return batch;
}

/**
 * Publishes `count` batches as fast as they are taken, before any client
 * connects: the server then holds what it holds after running a while (a
 * full resume ring), not the little of a fresh start.
 */
export async function prefill(names: readonly string[], count: number, publish: (batch: TagValue[]) => void): Promise<void> {
  for (let k = 0; k < count; k++) {
    publish(makeBatch(names, -count + k, Date.now()));
    await new Promise((r) => setImmediate(r));
  }
  // A server that filled its ring over minutes has collected the garbage of those minutes; this burst has not yet.
  (globalThis as { gc?: () => void }).gc?.();
}

export function startPublisher(names: readonly string[], periodMs: number, publish: (batch: TagValue[]) => void): Periodic {
  const periodic = new Periodic(periodMs, (slot) => publish(makeBatch(names, slot, Date.now())));
  periodic.start();
  return periodic;
}

/** Arguments of both servers: TAGS PERIOD_MS PREFILL [MODE]. */
export function serverArgs(): { tags: number; periodMs: number; prefill: number; mode: string } {
  const [tags = '1000', periodMs = '100', prefillCount = '0', mode = ''] = process.argv.slice(2);
  return { tags: Number(tags), periodMs: Number(periodMs), prefill: Number(prefillCount), mode };
}

const mb = (n: number): number => Math.round(n / 1e5) / 10;

/** Resident set size now, in MB. */
export const rssMb = (): number => mb(process.memoryUsage.rss());

/** What a server prints on SIGUSR2, besides its own figures. */
export function heapFigures(): { rssMb: number; heapTotalMb: number; heapUsedMb: number; externalMb: number; arrayBuffersMb: number } {
  const m = process.memoryUsage();
  return { rssMb: mb(m.rss), heapTotalMb: mb(m.heapTotal), heapUsedMb: mb(m.heapUsed), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers) };
}

/**
 * A bench server stops by itself when the bench that started it is gone
 * (even if that one was SIGKILLed and could not stop it), and after
 * `maxSeconds` in any case.
 */
export function exitWithParent(maxSeconds = 300): void {
  // process.ppid is read once at start; /proc tells the parent of now (an orphan gets another one).
  const ppid = (): number => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[1]);
  const parent = ppid();
  setInterval(() => {
    if (ppid() !== parent) process.exit(3);
  }, 500).unref();
  setTimeout(() => process.exit(4), maxSeconds * 1000).unref();
}
