/** `planta sim`: the simulated SBR PLC (or the load device), and its control commands. */
import type { Server } from 'node:http';
import type { Command } from 'commander';
import { type ConnectionLimits, describeSerial } from '../modbus/index.js';
import { startControlServer } from '../sim/control.js';
import { registerSimMetrics } from '../sim/metrics.js';
import { FAULTS } from '../sim/sbr/map.js';
import { parseLoadSpec } from '../sim/load.js';
import { formatMisbehaviour, parseMisbehaviour } from '../sim/misbehaviour.js';
import { Simulator } from '../sim/simulator.js';
import { parseDuration } from '../util/duration.js';
import { type Logger, createLogger } from '../util/log.js';
import { createRegistry } from '../util/metrics.js';
import { type SerialFlags, parseUnits, serialLine, serialOptions } from './link-flags.js';
import { serveMetrics } from './metrics-endpoint.js';
import { CliUsageError, describeError } from './modbus.js';
import { onShutdown } from './shutdown.js';
import type { Stops } from './wiring.js';

const DEFAULT_CONTROL = 'http://127.0.0.1:5021';

function positiveDuration(text: string, what: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new CliUsageError(`${what} "${text}" is not a duration such as 50ms or 1s`);
  return ms;
}

/** The Modbus server's connection limits given on the command line (the rest keep their defaults). */
function connectionFlags(flags: SimFlags): Partial<ConnectionLimits> {
  const out: Partial<ConnectionLimits> = {};
  const count = (text: string | undefined, what: string, min: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > 100_000) throw new CliUsageError(`${what} "${text}" is not a whole number in ${min}..100000`);
    return n;
  };
  const time = (text: string | undefined, what: string): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined || ms > 86_400_000) throw new CliUsageError(`${what} "${text}" is not a duration such as 0, 500ms or 60s (0: never)`);
    return ms;
  };
  const set = <K extends keyof ConnectionLimits>(k: K, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('maxConnections', count(flags.maxConnections, '--max-connections', 1));
  set('maxConnectionsPerAddress', count(flags.maxPerAddress, '--max-per-address', 0));
  set('idleTimeout', time(flags.idleTimeout, '--idle-timeout'));
  set('frameTimeout', time(flags.frameTimeout, '--frame-timeout'));
  set('evictAfter', time(flags.evictAfter, '--evict-after'));
  return out;
}

interface SimFlags extends SerialFlags {
  units?: string;
  rtuOverTcp?: string;
  host: string;
  port: string;
  speed: string;
  scan: string;
  seed: string;
  control: boolean;
  controlPort?: string;
  mode: string;
  autostart: boolean;
  load?: string;
  change: string;
  maxConnections?: string;
  maxPerAddress?: string;
  idleTimeout?: string;
  frameTimeout?: string;
  evictAfter?: string;
  metrics?: string;
}

export async function runSim(flags: SimFlags, log: Logger = createLogger('planta-sim')): Promise<{ sim: Simulator; stop: () => Promise<void> }> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliUsageError(`port "${flags.port}" is outside 0..65535 (0 picks a free port)`);
  const speed = Number(flags.speed);
  if (!(speed > 0) || speed > 100_000) throw new CliUsageError(`speed "${flags.speed}" must be a number in (0, 100000]`);
  const seed = Number(flags.seed);
  if (!Number.isInteger(seed)) throw new CliUsageError(`seed "${flags.seed}" is not an integer`);
  let load: { devices: number; registers: number; changeMs: number } | undefined;
  if (flags.load !== undefined) {
    const spec = parseLoadSpec(flags.load);
    if (!spec || spec.devices < 1 || spec.devices > 247 || spec.registers < 1 || spec.registers > 65536) {
      throw new CliUsageError(`--load "${flags.load}" is not DEVICES×REGISTERS with 1..247 devices and 1..65536 registers`);
    }
    load = { ...spec, changeMs: positiveDuration(flags.change, '--change') };
  }
  let misbehaviour;
  try {
    misbehaviour = parseMisbehaviour(flags.mode);
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const units = flags.units === undefined ? undefined : parseUnits(flags.units);
  const serial = serialLine(flags);
  let rtuOverTcp: { port: number } | undefined;
  if (flags.rtuOverTcp !== undefined) {
    const p = Number(flags.rtuOverTcp);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new CliUsageError(`--rtu-over-tcp "${flags.rtuOverTcp}" is not a port in 0..65535 (0 picks a free port)`);
    rtuOverTcp = { port: p };
  }
  if (load && (units || serial || rtuOverTcp)) throw new CliUsageError('--units, --serial and --rtu-over-tcp serve the SBR plant; the load device is Modbus/TCP only');
  const sim = new Simulator({
    host: flags.host,
    port,
    speed,
    scanMs: positiveDuration(flags.scan, '--scan'),
    seed,
    autostart: flags.autostart,
    misbehaviour,
    ...(load ? { load } : {}),
    ...(units ? { units } : {}),
    ...(serial ? { serial } : {}),
    ...(rtuOverTcp ? { rtuOverTcp } : {}),
    connections: connectionFlags(flags),
    log,
  });
  const address = await sim.start();
  let control: Server | undefined;
  const stops: Stops = [];
  const stop = async (): Promise<void> => {
    control?.close();
    for (const s of stops.splice(0).reverse()) await s();
    await sim.stop();
  };
  // Registered before anything is printed, so a signal right after the banner still stops cleanly.
  onShutdown(stop);
  try {
    const served = units ? `unit${units.length > 1 ? 's' : ''} ${units.join(', ')}` : 'any unit id';
    const what = load
      ? `load device: ${load.devices} unit ids (1..${load.devices}) × ${load.registers} registers, changing every ${load.changeMs} ms`
      : `SBR plant PLC${units && units.length > 1 ? 's, one per unit id' : ''} (${served}), speed ${speed}× (${speed} simulated s per s), scan ${flags.scan}`;
    console.log(`planta sim: ${what}`);
    console.log(`  Modbus/TCP  ${address.host}:${address.port}`);
    const rtuUnits = `unit${sim.plants.size > 1 ? 's' : ''} ${[...sim.plants.keys()].join(', ')}`;
    if (serial) console.log(`  Modbus RTU  ${describeSerial(serial)}, ${rtuUnits}`);
    if (address.rtuOverTcp) console.log(`  RTU over TCP ${address.rtuOverTcp.host}:${address.rtuOverTcp.port}, ${rtuUnits}`);
    if (flags.control !== false) {
      const asked = flags.controlPort !== undefined;
      const controlPort = asked ? Number(flags.controlPort) : port === 0 ? 0 : address.port + 1;
      // The Modbus port + 1 is only a habit: taken by something else, the control interface goes to a free port (printed below).
      const c = await startControlServer(sim, '127.0.0.1', controlPort).catch((err: NodeJS.ErrnoException) => {
        if (asked || err.code !== 'EADDRINUSE') throw err;
        console.warn(`planta sim: port ${controlPort} is taken; the control interface takes a free port`);
        return startControlServer(sim, '127.0.0.1', 0);
      });
      control = c.server;
      console.log(`  control     http://127.0.0.1:${c.port}  (planta sim fault|mode|writes|state --control http://127.0.0.1:${c.port})`);
    }
    if (flags.metrics) {
      const registry = createRegistry();
      registerSimMetrics(registry, sim);
      console.log(`  metrics     ${await serveMetrics(registry, flags.metrics, stops)}`);
    }
    const l = sim.server.limits;
    const never = (ms: number): string => (ms === 0 ? 'never' : `${ms} ms`);
    console.log(
      `  connections at most ${l.maxConnections}${l.maxConnectionsPerAddress ? ` (${l.maxConnectionsPerAddress} per address)` : ''}; idle ones closed after ${never(l.idleTimeout)}, half-sent frames after ${never(l.frameTimeout)}; at the limit the one idle longest (≥ ${l.evictAfter} ms) makes room`,
    );
    if (misbehaviour.mode !== 'normal') console.log(`  misbehaving: ${formatMisbehaviour(misbehaviour)}`);
  } catch (err) {
    // Nothing half-started may keep the process alive after the error is reported.
    await stop();
    throw err;
  }
  return { sim, stop };
}

async function callControl(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (err) {
    throw new Error(`cannot reach the simulator's control interface at ${base}: ${String((err as Error).cause ?? err)}`, { cause: err });
  }
  const json = (await res.json()) as { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(`${json.error?.message ?? res.statusText} [${json.error?.code ?? res.status}]`);
  return json;
}

type ControlCall = (base: string, args: string[], opts: Record<string, string>) => Promise<unknown>;

/** An action that calls the control interface named by --control and prints its JSON answer. */
function controlAction(f: ControlCall) {
  return async (...params: unknown[]): Promise<void> => {
    const cmd = params[params.length - 1] as Command;
    const opts = cmd.opts<Record<string, string>>();
    try {
      const out = await f(opts.control ?? DEFAULT_CONTROL, params.slice(0, -2) as string[], opts);
      console.log(JSON.stringify(out, null, 2));
    } catch (err) {
      console.error(`planta sim: ${describeError(err)}`);
      process.exitCode = 1;
    }
  };
}

export function registerSimCommands(program: Command): void {
  const sim = program
    .command('sim')
    .description('serve the simulated SBR plant PLC (or a load device) over Modbus/TCP, and over Modbus RTU on a serial line or RTU over TCP')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'Modbus/TCP port', '5020')
    .option('--units <ids>', 'serve one SBR plant per unit id, e.g. 1,2,3 (default: one plant, any unit id on TCP, unit 1 on RTU)')
    .option('--rtu-over-tcp <port>', 'also serve the units as RTU frames on this TCP port (as behind an RTU-over-TCP converter)')
    .option('--speed <n>', 'simulated seconds per real second', '60')
    .option('--scan <duration>', 'PLC scan period', '50ms')
    .option('--seed <n>', 'seed of the measurement noise', '1')
    .option('--control-port <port>', 'control interface port on 127.0.0.1 (default: Modbus port + 1)')
    .option('--no-control', 'do not serve the control interface')
    .option('--no-autostart', 'power on with the reactor stopped (default: program 1 starts)')
    .option('--mode <mode>', 'misbehaviour: normal | slow:MS | silent | close | hangup | exception:CODE | garbage | noise', 'normal')
    .option('--load <DEVICESxREGISTERS>', 'serve the generic load device instead, e.g. 10x1000')
    .option('--change <duration>', 'load device: how often every register changes', '100ms')
    .option('--max-connections <n>', 'Modbus connections at most; at the limit a newcomer evicts the one idle longest (default 64, load device 1024)')
    .option('--max-per-address <n>', 'Modbus connections per client address at most (default 0: no such limit)')
    .option('--idle-timeout <duration>', 'close a connection that sends no complete request this long (default 60s; 0 never)')
    .option('--frame-timeout <duration>', 'close a connection that leaves a frame half-sent this long (default 2s; 0 never)')
    .option('--evict-after <duration>', 'only a connection idle this long may be evicted for a newcomer; a newcomer waits up to twice this for one (default 500ms)')
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics (connections, evictions, idle closes) on this port');
  serialOptions(sim, 'also serve the units')
    .addHelpText(
      'after',
      `\nFaults (planta sim fault set NAME): ${Object.keys(FAULTS).join(', ')}\n` +
        '\nExamples:\n  planta sim --speed 120\n  planta sim fault set estop\n  planta sim mode slow:1500\n  planta sim --load 10x1000 --port 5502' +
        '\n  planta sim --units 1,2,3 --serial /dev/ttyUSB0 --baud 9600 --parity none\n  planta sim --units 1,2,3 --rtu-over-tcp 4001\n  planta sim mode silent --unit 2',
    )
    .action(async (flags: SimFlags) => {
      try {
        await runSim(flags);
      } catch (err) {
        console.error(`planta sim: ${describeError(err)}`);
        process.exitCode = err instanceof CliUsageError ? 2 : 1;
      }
    });

  const controlOpt = (c: Command): Command => c.option('--control <url>', 'control interface of the simulator', DEFAULT_CONTROL);
  const unitOpt = (c: Command, what: string): Command => c.option('--unit <n>', `only unit n's ${what} (with --units; default: every unit's)`);
  const unitQuery = (opts: Record<string, string>): string => (opts.unit === undefined ? '' : `?unit=${encodeURIComponent(opts.unit)}`);
  const fault = sim.command('fault').description('inject or clear equipment alarms and the emergency stop');
  controlOpt(unitOpt(fault.command('set').argument('<name>', 'fault name or bit number').description('inject a fault'), 'plant')).action(
    controlAction((base, [name], opts) => callControl(base, 'PUT', `/faults/${encodeURIComponent(name!)}${unitQuery(opts)}`)),
  );
  controlOpt(unitOpt(fault.command('clear').argument('<name>', 'fault name or bit number').description('clear a fault'), 'plant')).action(
    controlAction((base, [name], opts) => callControl(base, 'DELETE', `/faults/${encodeURIComponent(name!)}${unitQuery(opts)}`)),
  );
  controlOpt(fault.command('list').description('list active and injectable faults')).action(
    controlAction((base) => callControl(base, 'GET', '/faults')),
  );
  controlOpt(
    unitOpt(sim.command('mode').argument('<mode>', 'normal | slow:MS | silent | close | hangup | exception:CODE | garbage | noise').description('make the simulated device misbehave'), 'behaviour'),
  ).action(
    controlAction((base, [text], opts) => callControl(base, 'PUT', '/mode', { ...parseMisbehaviour(text!), ...(opts.unit === undefined ? {} : { unit: Number(opts.unit) }) })),
  );
  controlOpt(sim.command('writes').description('list the writes the simulated PLC received').option('--since <seq>', 'only after this sequence number', '0')).action(
    controlAction((base, _args, opts) => callControl(base, 'GET', `/writes?since=${encodeURIComponent(opts.since ?? '0')}`)),
  );
  controlOpt(sim.command('state').description('show the simulated plant state')).action(controlAction((base) => callControl(base, 'GET', '/state')));
  controlOpt(sim.command('connections').description('show the Modbus connections: limits, evictions, idle closes, and each open one')).action(
    controlAction((base) => callControl(base, 'GET', '/connections')),
  );
  controlOpt(sim.command('restart').description('restart the simulated PLC (memory to power-on values)')).action(
    controlAction((base) => callControl(base, 'POST', '/restart')),
  );
}
