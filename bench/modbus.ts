/**
 * bench:modbus — FC03 x 125 registers on loopback, Planta against libmodbus,
 * measured in the same run, in two placements: processes left to the
 * scheduler, and every process pinned to CPU 0 (taskset -c 0). Compare only
 * figures of the same placement.
 *
 * Goals (issue 3, raised by issue 25), in both placements:
 *   Planta client, window 1   ≥ 1.0 × libmodbus client          (against the libmodbus server)
 *   Planta client, window 32  ≥ 0.8 × C pipelined client, W=32   (against the libmodbus server)
 *   Planta server             ≥ 1.0 × libmodbus server           (both answering the libmodbus client)
 *
 * Each round runs every client once, back to back, in turn; a ratio is the
 * median over the rounds of the ratio measured within one round (its two
 * figures a few seconds apart), so a change of load between rounds moves
 * both sides of it. Node's floor (bench/modbus/node-floor-*.ts: canned bytes,
 * no Modbus) is measured beside, to show how much of the time is Node's own.
 * A server's CPU per request is read from /proc over its run.
 *
 * usage: npm run bench:modbus [-- --count N] [-- --rounds R]
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { buildPeer } from '../test/peers/build.js';
import { type Started, startProcess, run } from '../test/helpers/process.js';
import { type Check, hasTaskset, lastJsonLine, pin, summarise } from './proc.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const COUNT = opt('count', 60000);
const ROUNDS = opt('rounds', 3);
const WINDOW = 32;
const CLIENT_GOAL = 1.0;
const PIPELINED_GOAL = 0.8;
const SERVER_GOAL = 1.0;

interface Result {
  rps: number;
  p50_us: number;
  p99_us: number;
  /** The server's CPU time per request over the run, µs. */
  serverCpuUs: number;
}

const lmServer = buildPeer('lm-server');
const lmClient = buildPeer('lm-bench-client');
const pipelined = buildPeer('pipelined-client');
if (!lmServer || !lmClient || !pipelined) {
  console.error('bench:modbus needs gcc and libmodbus-dev (apt-get install -y gcc libmodbus-dev)');
  process.exit(1);
}
const node = process.execPath;
const tsx = ['--import', 'tsx'];
const here = new URL('.', import.meta.url).pathname;
const TICK_US = 1e6 / 100; // USER_HZ, 100 on Linux

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Server {
  port: string;
  pid: number;
  process: Started;
}

async function startServer(pinned: boolean, cmd: string, cmdArgs: string[]): Promise<Server> {
  const [c, a] = pin(pinned, cmd, cmdArgs);
  const p = await startProcess(c, a, /listening (\d+)/);
  return { port: p.match[1]!, pid: p.child.pid!, process: p };
}

/** Runs `cmd ...script HOST PORT COUNT ...extra` against `server`. */
async function client(pinned: boolean, server: Server, cmd: string, script: string[], extra: string[] = []): Promise<Result> {
  const [c, a] = pin(pinned, cmd, [...script, '127.0.0.1', server.port, String(COUNT), ...extra]);
  const before = cpuTicks(server.pid);
  const r = await run(c, a, { timeoutMs: 300_000 });
  const ticks = cpuTicks(server.pid) - before;
  // The server's ticks include the client's warm-up (≤ 5000 requests): the figure is an upper bound.
  return { ...lastJsonLine<Omit<Result, 'serverCpuUs'>>(r, cmd), serverCpuUs: (ticks * TICK_US) / COUNT };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The median figures of a series of runs (each field on its own). */
function med(rs: Result[]): Result {
  return {
    rps: Math.round(median(rs.map((r) => r.rps))),
    p50_us: median(rs.map((r) => r.p50_us)),
    p99_us: median(rs.map((r) => r.p99_us)),
    serverCpuUs: median(rs.map((r) => r.serverCpuUs)),
  };
}

const fmt = (r: Result, cpu = false): string =>
  `${String(r.rps).padStart(7)} req/s   p50 ${r.p50_us.toFixed(1).padStart(6)} µs   p99 ${r.p99_us.toFixed(1).padStart(7)} µs` +
  (cpu ? `   server CPU ${r.serverCpuUs.toFixed(1)} µs/req` : '');

const verdict = (ratio: number, goal: number): string => `ratio ${ratio.toFixed(2)} (goal ≥ ${goal.toFixed(1)}: ${ratio >= goal ? 'MET' : 'MISSED'})`;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function placement(pinned: boolean): Promise<Check[]> {
  const where = pinned ? 'pinned' : 'unpinned';
  const label = pinned ? 'every process pinned to CPU 0 (taskset -c 0)' : 'processes left to the scheduler';
  const loadBefore = load();
  console.log(`\n== ${label}; ${COUNT} requests per run, median of ${ROUNDS} rounds; load average ${loadBefore}`);
  const planta = [...tsx, `${here}modbus/planta-client.ts`];
  const servers = {
    lm: await startServer(pinned, lmServer!, ['0']),
    planta: await startServer(pinned, node, [...tsx, `${here}modbus/planta-server.ts`, '0']),
    floor: await startServer(pinned, node, [...tsx, `${here}modbus/node-floor-server.ts`, '0']),
  };
  const runs = { lm1: [] as Result[], pl1: [] as Result[], floorClient: [] as Result[], cW: [] as Result[], plW: [] as Result[], lmS: [] as Result[], plS: [] as Result[], floorServer: [] as Result[] };
  const ratios = { client: [] as number[], pipelined: [] as number[], server: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const lm1 = await client(pinned, servers.lm, lmClient!, []);
      const pl1 = await client(pinned, servers.lm, node, planta, ['1']);
      runs.floorClient.push(await client(pinned, servers.lm, node, [...tsx, `${here}modbus/node-floor-client.ts`]));
      const cW = await client(pinned, servers.lm, pipelined!, [], [String(WINDOW)]);
      const plW = await client(pinned, servers.lm, node, planta, [String(WINDOW)]);
      const plS = await client(pinned, servers.planta, lmClient!, []);
      const lmS = await client(pinned, servers.lm, lmClient!, []);
      runs.floorServer.push(await client(pinned, servers.floor, lmClient!, []));
      runs.lm1.push(lm1);
      runs.pl1.push(pl1);
      runs.cW.push(cW);
      runs.plW.push(plW);
      runs.lmS.push(lmS);
      runs.plS.push(plS);
      ratios.client.push(pl1.rps / lm1.rps);
      ratios.pipelined.push(plW.rps / cW.rps);
      ratios.server.push(plS.rps / lmS.rps);
    }
  } finally {
    for (const s of Object.values(servers)) await s.process.stop();
  }
  const r = { client: median(ratios.client), pipelined: median(ratios.pipelined), server: median(ratios.server) };
  const rounds = (xs: number[]): string => `rounds ${xs.map((x) => x.toFixed(2)).join(' ')}`;
  console.log(`libmodbus server, answering:`);
  console.log(`  libmodbus client, 1 at a time     ${fmt(med(runs.lm1))}`);
  console.log(`  Planta client, window 1           ${fmt(med(runs.pl1))}   ${verdict(r.client, CLIENT_GOAL)}; ${rounds(ratios.client)}`);
  console.log(`  Node floor client, 1 at a time    ${fmt(med(runs.floorClient))}   (no Modbus: what Node itself costs)`);
  console.log(`  C pipelined client, window ${WINDOW}     ${fmt(med(runs.cW))}`);
  console.log(`  Planta client, window ${WINDOW}          ${fmt(med(runs.plW))}   ${verdict(r.pipelined, PIPELINED_GOAL)}`);
  console.log(`libmodbus client, asking:`);
  console.log(`  libmodbus server                  ${fmt(med(runs.lmS), true)}`);
  console.log(`  Planta server                     ${fmt(med(runs.plS), true)}   ${verdict(r.server, SERVER_GOAL)}; ${rounds(ratios.server)}`);
  console.log(`  Node floor server                 ${fmt(med(runs.floorServer), true)}   (no Modbus: what Node itself costs)`);
  console.log(`load average ${loadBefore} before, ${load()} after`);
  return [
    { name: `client window 1 (${where})`, ratio: r.client, target: CLIENT_GOAL },
    { name: `client window ${WINDOW} (${where})`, ratio: r.pipelined, target: PIPELINED_GOAL },
    { name: `server (${where})`, ratio: r.server, target: SERVER_GOAL },
  ];
}

console.log(`bench:modbus — FC03 x 125 registers on 127.0.0.1, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`);
const checks = [...(await placement(false)), ...(hasTaskset() ? await placement(true) : [])];
summarise(checks);
