/**
 * The command-line forms of a Modbus link, shared by `planta sim` and
 * `planta modbus`: HOST[:PORT] (Modbus/TCP); --serial PATH with --baud,
 * --parity, --stop-bits; or --rtu-over-tcp HOST:PORT; and unit id lists
 * such as 1,2,5-8.
 */
import type { Command } from 'commander';
import { BAUD_RATES } from '../config/link-schema.js';
import { type ModbusClient, ModbusRtuClient, ModbusTcpClient, type Parity, type SerialTransportOptions, describeSerial } from '../modbus/index.js';
import { CliUsageError } from './usage.js';

export function parseTarget(text: string, defaultPort = 502): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const m = v6 ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new CliUsageError(`"${text}" is not HOST[:PORT]`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliUsageError(`port ${m[2]} is outside 1..65535`);
  return { host: m[1]!, port };
}

export interface SerialFlags {
  serial?: string;
  baud?: string;
  parity?: string;
  stopBits?: string;
}

/** Adds --serial, --baud, --parity and --stop-bits to a command. */
export function serialOptions(c: Command, what: string): Command {
  return c
    .option('--serial <path>', `${what} on this serial port (Modbus RTU), e.g. /dev/ttyUSB0`)
    .option('--baud <n>', 'serial: baud rate', '19200')
    .option('--parity <parity>', 'serial: none | even | odd', 'even')
    .option('--stop-bits <n>', 'serial: 1 | 2', '1');
}

/** The serial line the flags name, or undefined without --serial. */
export function serialLine(flags: SerialFlags): SerialTransportOptions | undefined {
  if (flags.serial === undefined) return undefined;
  const baud = Number(flags.baud ?? '19200');
  if (!(BAUD_RATES as readonly number[]).includes(baud)) throw new CliUsageError(`baud rate "${flags.baud}" is not one of ${BAUD_RATES.join(', ')}`);
  const parity = (flags.parity ?? 'even').toLowerCase();
  if (parity !== 'none' && parity !== 'even' && parity !== 'odd') throw new CliUsageError(`parity "${flags.parity}" is not none, even or odd`);
  const stopBits = Number(flags.stopBits ?? '1');
  if (stopBits !== 1 && stopBits !== 2) throw new CliUsageError(`stop bits "${flags.stopBits}" is not 1 or 2`);
  return { path: flags.serial, baud, parity: parity as Parity, dataBits: 8, stopBits };
}

/** "1,2,3", "1-247", "1,5-8" → the unit ids, each in min..247, in order, once. */
export function parseUnits(text: string, min = 1): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from < min || to > 247 || from > to) throw new CliUsageError(`units "${text}": expected unit ids in ${min}..247 such as 1,2,3 or 1-10`);
    for (let u = from; u <= to; u++) out.add(u);
  }
  return [...out].sort((a, b) => a - b);
}

export interface LinkFlags extends SerialFlags {
  rtuOverTcp?: string;
}

/** Adds the serial options and --rtu-over-tcp to a command. */
export function linkOptions(c: Command, what: string): Command {
  return serialOptions(c, what).option('--rtu-over-tcp <host:port>', `${what} through an RTU-over-TCP converter`);
}

/** Whether the flags name a link (so that no HOST[:PORT] target comes first). */
export function namesLink(flags: LinkFlags): boolean {
  return flags.serial !== undefined || flags.rtuOverTcp !== undefined;
}

/**
 * A client for a diagnostic command: RTU on the serial line or converter the
 * flags name, else Modbus/TCP to `target`; with a description for its output.
 */
export function diagnosticClient(
  flags: LinkFlags,
  target: string | undefined,
  o: { unitId: number; timeout: number; reconnect: boolean },
): { client: ModbusClient; where: string } {
  const common = { unitId: o.unitId, timeout: o.timeout, connectTimeout: Math.max(o.timeout, 2000), reconnect: o.reconnect };
  if (flags.serial !== undefined && flags.rtuOverTcp !== undefined) throw new CliUsageError('--serial and --rtu-over-tcp name two links: give one');
  const serial = serialLine(flags);
  if (serial) return { client: new ModbusRtuClient({ serial, ...common }), where: describeSerial(serial) };
  if (flags.rtuOverTcp !== undefined) {
    const { host, port } = parseTarget(flags.rtuOverTcp);
    return { client: new ModbusRtuClient({ host, port, ...common }), where: `RTU over TCP ${host}:${port}` };
  }
  if (target === undefined) throw new CliUsageError('expected HOST[:PORT], --serial PATH or --rtu-over-tcp HOST:PORT');
  const { host, port } = parseTarget(target);
  return { client: new ModbusTcpClient({ host, port, ...common }), where: `${host}:${port}` };
}
