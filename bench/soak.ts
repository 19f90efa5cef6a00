/**
 * bench:soak — Planta running for a while under a mixed load, to see that it
 * stays healthy: 10,000 load tags (10 devices × 1,000 registers every 500 ms)
 * plus the SBR PLC, 200 SSE clients that connect and disconnect, an operator
 * command every second, and a fault every minute (the SBR PLC goes silent
 * for 5 s). Prints RSS and event-loop lag over time and every error that
 * was not caused by an injected fault.
 *
 * Reference: the same Planta process with no load at all, sampled at the
 * start (its idle RSS). Target: memory flat after warm-up (no growth trend:
 * the last third's mean within 10 % of the second third's, and a fitted slope
 * under 1 MB/min), event-loop lag p99 small, no unexplained error.
 *
 * usage: npm run bench:soak [-- --minutes 10]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { freePort } from '../test/helpers/ports.js';
import { run, startProcess } from '../test/helpers/process.js';
import { reportGoal } from './goal.js';

const args = process.argv.slice(2);
const minutesArg = args.indexOf('--minutes');
const MINUTES = minutesArg >= 0 ? Number(args[minutesArg + 1]) : 10;
const root = new URL('..', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');
const env = { ...process.env, PLANTA_LOG_LEVEL: 'warn', PLANTA_LOG_FORMAT: 'json' };

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'planta-soak-'));
const sbrPort = await freePort();
const loadPort = await freePort();
// The SBR tags name their device once there are several.
let yaml = readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8')
  .replace('port: 5020', `port: ${sbrPort}`)
  .replace(/^( {4}area: )/gm, '    device: plc\n$1')
  // The 200 stream clients all come from 127.0.0.1.
  .replace('security:\n', 'security:\n  limits: { connectionsPerIp: 512, streamsPerIp: 256 }\n');
// Load devices and their 10,000 tags, appended to the SBR configuration.
yaml = yaml.replace('devices:\n', `devices:\n${Array.from({ length: 10 }, (_, i) => `  load${i + 1}: { host: 127.0.0.1, port: ${loadPort}, unitId: ${i + 1}, scanGroups: { fast: 500ms } }\n`).join('')}`);
yaml = yaml.replace('tags:\n', `tags:\n${Array.from({ length: 10 }, (_, d) => Array.from({ length: 1000 }, (_, a) => `  load${d + 1}.r${a}: { device: load${d + 1}, area: holding, address: ${a} }\n`).join('')).join('')}`);
writeFileSync(join(dir, 'soak.yaml'), yaml);
copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
const db = join(dir, 'planta.db');
const password = 'steady-state-watcher-7';
const added = await run(process.execPath, [planta, 'user', 'add', 'soak', '--role', 'operator', '--password-stdin', '--db', db], { input: `${password}\n` });
if (added.code !== 0) throw new Error(`user add: ${added.stderr}`);

const sbr = await startProcess(process.execPath, [planta, 'sim', '--port', String(sbrPort), '--control-port', '0'], /control\s+(http:\S+)/, { env });
const load = await startProcess(process.execPath, [planta, 'sim', '--port', String(loadPort), '--no-control', '--load', '10x1000', '--change', '500ms'], /Modbus/, { env });
const server = await startProcess(process.execPath, [planta, 'start', '--no-sim', '--config', join(dir, 'soak.yaml'), '--port', '0', '--db', db], /Planta is running: http:\/\/localhost:(\d+)/, { env, timeoutMs: 120_000 });
const port = Number(server.match[1]);
const base = `http://127.0.0.1:${port}`;
const pid = server.child.pid!;
const control = sbr.match[1]!;

const errors: string[] = [];
let stopped = false;
const faultUntil = { t: 0 };
// A fault's effects last until the link is back: the 5 s of silence, then reconnection (backoff up to 5 s) and a scan.
const duringFault = (): boolean => Date.now() < faultUntil.t + 12_000;

const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'soak', password }) });
const session = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': ((await login.json()) as { csrf: string }).csrf };

/** A stream client that reads and throws away (a browser tab that keeps up), counting events. */
let events = 0;
function drainStream(p: number): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(p, '127.0.0.1', () => {
      socket.write('GET /api/stream HTTP/1.1\r\nHost: localhost\r\n\r\n');
      resolve({ close: () => socket.destroy() });
    });
    socket.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) if (chunk[i + 1] === 10) events++;
    });
    socket.on('error', reject);
  });
}

// 200 stream clients; every 2 s one of them drops and reconnects.
const streams = await Promise.all(Array.from({ length: 200 }, () => drainStream(port)));
let reconnects = 0;
const churn = setInterval(async () => {
  const i = Math.floor(Math.random() * streams.length);
  streams[i]!.close();
  try {
    streams[i] = await drainStream(port);
    reconnects++;
  } catch (err) {
    errors.push(`stream reconnect: ${(err as Error).message}`);
  }
}, 2000);

// An operator command every second.
let commands = 0;
const commanding = setInterval(async () => {
  const id = `soak-${Date.now().toString(36)}-${commands++}`;
  if (stopped) return;
  try {
    const res = await fetch(`${base}/api/commands`, { method: 'POST', headers: { 'content-type': 'application/json', ...session }, body: JSON.stringify({ id, command: 'silence_horn' }) });
    if (res.status !== 202) errors.push(`command ${res.status}: ${await res.text()}`);
    setTimeout(async () => {
      if (stopped) return;
      try {
        const o = (await (await fetch(`${base}/api/commands/${id}`, { headers: session })).json()) as { status: string; reason?: string };
        if (o.status !== 'confirmed' && !duringFault()) errors.push(`command ${id} ${o.status}: ${o.reason}`);
      } catch (err) {
        if (!stopped) errors.push(`command outcome: ${(err as Error).message}`);
      }
    }, 4000);
  } catch (err) {
    errors.push(`command: ${(err as Error).message}`);
  }
}, 1000);

// A fault every minute: the SBR PLC goes silent for 5 s.
const faults = setInterval(async () => {
  faultUntil.t = Date.now();
  const mode = (m: string): Promise<unknown> => fetch(`${control}/mode`, { method: 'PUT', body: JSON.stringify({ mode: m }) }).catch((err: Error) => stopped || errors.push(`fault injection: ${err.message}`));
  await mode('silent');
  setTimeout(() => void mode('normal'), 5000);
}, 60_000);

const samples: { t: number; rss: number; lag: number }[] = [];
const idleRss = rssMb(pid);
const t0 = Date.now();
console.log(`bench:soak — ${MINUTES} min: 10,000 load tags + the SBR PLC, 200 SSE clients churning, a command a second, a fault a minute`);
console.log(`  Planta pid ${pid}, RSS at start ${idleRss.toFixed(0)} MB (the reference: the same process before load)`);
while (Date.now() - t0 < MINUTES * 60_000) {
  await new Promise((r) => setTimeout(r, 10_000));
  const metrics = await (await fetch(`${base}/metrics`, { headers: session })).text();
  const lag = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(metrics)?.[1] ?? NaN) * 1000;
  const s = { t: (Date.now() - t0) / 60_000, rss: rssMb(pid), lag };
  samples.push(s);
  console.log(`  ${s.t.toFixed(1).padStart(5)} min  RSS ${s.rss.toFixed(0).padStart(4)} MB  event-loop lag p99 ${lag.toFixed(1).padStart(6)} ms  stream events ${events}  errors ${errors.length}`);
}
stopped = true;
clearInterval(churn);
clearInterval(commanding);
clearInterval(faults);
for (const s of streams) s.close();
await server.stop();
await sbr.stop();
await load.stop();
rmSync(dir, { recursive: true, force: true });

const third = Math.max(1, Math.floor(samples.length / 3));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const middle = mean(samples.slice(third, 2 * third).map((s) => s.rss));
const last = mean(samples.slice(-third).map((s) => s.rss));
const warm = samples.slice(third);
const mt = mean(warm.map((s) => s.t));
const mr = mean(warm.map((s) => s.rss));
const slope = warm.reduce((n, s) => n + (s.t - mt) * (s.rss - mr), 0) / Math.max(1e-9, warm.reduce((n, s) => n + (s.t - mt) ** 2, 0));
const lagP99 = Math.max(...samples.map((s) => s.lag));
console.log('\nsummary');
console.log(`  RSS: ${idleRss.toFixed(0)} MB idle → ${middle.toFixed(0)} MB (second third) → ${last.toFixed(0)} MB (last third); fitted slope after warm-up ${slope.toFixed(2)} MB/min`);
console.log(`  event-loop lag p99: worst sample ${lagP99.toFixed(1)} ms; stream reconnects ${reconnects}; commands ${commands}`);
console.log(`  errors not caused by an injected fault: ${errors.length}`);
for (const e of errors.slice(0, 20)) console.log(`    ${e}`);
const flat = last <= middle * 1.1 && slope < 1;
reportGoal('soak memory', 'RSS flat after warm-up (last third ≤ 1.1× the second, slope < 1 MB/min)', `${(last / middle).toFixed(2)}× the second third, ${slope.toFixed(2)} MB/min`, flat);
reportGoal('soak errors', 'no unexplained error', `${errors.length} errors`, errors.length === 0);
process.exitCode = flat && errors.length === 0 ? 0 : 1;
