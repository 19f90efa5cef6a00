/**
 * bench:rtu — Modbus RTU throughput, FC03 × 10 registers of one unit, one
 * request at a time (the only way on a half-duplex line), Planta's client
 * against `planta sim`, each in its own process:
 *
 *   1. on a serial line at 19200 and 115200 baud (8N1), against the line's
 *      limit. A pty pair moves bytes at memory speed whatever the baud rate,
 *      so the line is measured two ways: against `planta sim --serial` on a
 *      bare pty (the software's own ceiling, both ends Planta's: what is left
 *      when the wire takes no time), and against a device that also plays the
 *      wire (bench/rtu/device.ts: it answers when a real line would deliver
 *      the answer). That second figure is the one compared with the limit.
 *      Line limit = 1 / (request + reply characters × bits per character / baud
 *      + the two 3.5-character silences the spec puts between frames).
 *      Target (issue 22): ≥ 90 % of it through the wire.
 *   2. RTU over TCP against Modbus/TCP, both on loopback to the same
 *      simulator: what the RTU framing (CRC, no transaction id) costs.
 *
 * In two placements, like bench:modbus: processes left to the scheduler,
 * and every process (client, simulator or device, socat) pinned to CPU 0.
 *
 * usage: npm run bench:rtu [-- --seconds S]
 */
import { execFileSync } from 'node:child_process';
import { lineTiming } from '../src/modbus/index.js';
import { run } from '../test/helpers/process.js';
import { type Check, childTracker, hasTaskset, lastJsonLine, pin, summarise } from './proc.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 5);
const QUANTITY = 10;
const BAUDS = [19200, 115200];
const here = new URL('.', import.meta.url).pathname;
const planta = new URL('../bin/planta.js', import.meta.url).pathname;
const node = process.execPath;
const start = childTracker();

try {
  execFileSync('socat', ['-V'], { stdio: 'ignore' });
} catch {
  console.error('bench:rtu needs socat (apt-get install -y socat)');
  process.exit(1);
}

interface Result {
  rps: number;
  p50_us: number;
  p99_us: number;
  timeouts: number;
  badFrames: number;
}

async function ptyPair(pinned: boolean): Promise<[string, string]> {
  const [c, a] = pin(pinned, 'socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0']);
  const s = await start(c, a, /PTY is (\S+)[\s\S]*PTY is (\S+)[\s\S]*starting data transfer loop/);
  return [s.match[1]!, s.match[2]!];
}

async function sim(pinned: boolean, extra: string[]): Promise<{ output: string; stop: () => Promise<void> }> {
  const [c, a] = pin(pinned, node, [planta, 'sim', '--port', '0', '--no-control', '--no-autostart', '--units', '1', ...extra]);
  const s = await start(c, a, /connections at most/);
  return { output: s.output(), stop: () => s.stop() };
}

async function client(pinned: boolean, target: string[]): Promise<Result> {
  const [c, a] = pin(pinned, node, ['--import', 'tsx', `${here}rtu/client.ts`, ...target, '--seconds', String(SECONDS), '--quantity', String(QUANTITY)]);
  const r = await run(c, a, { timeoutMs: (SECONDS + 60) * 1000 });
  return lastJsonLine<Result>(r, `client ${target.join(' ')}`);
}

/** Requests per second a line allows: characters of request and reply, and the silences between frames. */
function lineLimit(baud: number): { withSilences: number; bitsOnly: number } {
  const t = lineTiming({ baud, parity: 'none', dataBits: 8, stopBits: 1 });
  const chars = 8 + 5 + 2 * QUANTITY;
  return { withSilences: 1000 / (chars * t.charMs + 2 * t.interFrameMs), bitsOnly: 1000 / (chars * t.charMs) };
}

const fmt = (r: Result): string => `${r.rps.toFixed(1).padStart(8)} req/s   p50 ${(r.p50_us / 1000).toFixed(2).padStart(6)} ms   p99 ${(r.p99_us / 1000).toFixed(2).padStart(6)} ms${r.timeouts + r.badFrames > 0 ? `   (${r.timeouts} timeouts, ${r.badFrames} bad frames)` : ''}`;

async function placement(pinned: boolean): Promise<Check[]> {
  const where = pinned ? 'every process pinned to CPU 0 (taskset -c 0)' : 'processes left to the scheduler';
  console.log(`\n== ${where}; ${SECONDS} s per run`);
  const checks: Check[] = [];
  for (const baud of BAUDS) {
    const limit = lineLimit(baud);
    const serial = (path: string): string[] => ['--serial', path, '--baud', String(baud), '--parity', 'none'];
    // Bare pty: no wire time at all.
    const [a, b] = await ptyPair(pinned);
    const s1 = await sim(pinned, serial(a));
    const bare = await client(pinned, ['--serial', b, '--baud', String(baud)]);
    await s1.stop();
    // Against a device that gives every exchange its time on the wire.
    const [a2, b2] = await ptyPair(pinned);
    const [dc, da] = pin(pinned, node, ['--import', 'tsx', `${here}rtu/device.ts`, a2, String(baud)]);
    const device = await start(dc, da, /serving/);
    const wired = await client(pinned, ['--serial', b2, '--baud', String(baud)]);
    await device.stop();
    const ratio = wired.rps / limit.withSilences;
    console.log(`${baud} baud 8N1, FC03 × ${QUANTITY} (${8 + 5 + 2 * QUANTITY} characters a round): line limit ${limit.withSilences.toFixed(1)} req/s with the 3.5-character silences (${limit.bitsOnly.toFixed(1)} for the bits alone)`);
    console.log(`  planta sim, bare pty (no wire)    ${fmt(bare)}   ${(bare.rps / limit.withSilences).toFixed(2)} × the line limit`);
    console.log(`  device with the wire's timing     ${fmt(wired)}   ${ratio.toFixed(2)} × the line limit (target ≥ 0.9)`);
    checks.push({ name: `${baud} baud (${pinned ? 'pinned' : 'unpinned'})`, ratio, target: 0.9, unit: '× the line limit' });
  }
  const s = await sim(pinned, ['--rtu-over-tcp', '0']);
  const tcpPort = /Modbus\/TCP\s+127\.0\.0\.1:(\d+)/.exec(s.output)![1]!;
  const rtuPort = /RTU over TCP 127\.0\.0\.1:(\d+)/.exec(s.output)![1]!;
  const tcp = await client(pinned, ['--tcp', `127.0.0.1:${tcpPort}`]);
  const rtu = await client(pinned, ['--rtu-over-tcp', `127.0.0.1:${rtuPort}`]);
  await s.stop();
  console.log(`loopback, FC03 × ${QUANTITY}, one request at a time:`);
  console.log(`  Modbus/TCP                        ${fmt(tcp)}`);
  console.log(`  RTU over TCP                      ${fmt(rtu)}   ${(rtu.rps / tcp.rps).toFixed(2)} × Modbus/TCP`);
  return checks;
}

console.log(`bench:rtu — node ${process.version}, ${QUANTITY} registers per request`);
const checks = [...(await placement(false)), ...(hasTaskset() ? await placement(true) : [])];
summarise(checks);
// socat and the children are stopped by the tracker on exit.
process.exit();
