/**
 * `planta modbus read`: a read-only commissioning tool. There is deliberately
 * no `modbus write`: the only way Planta writes to a PLC is an operator command.
 */
import type { Command } from 'commander';
import { type ErrorCode, PlantaError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import {
  BYTE_ORDERS,
  type ByteOrder,
  Limits,
  ModbusError,
  ModbusExceptionError,
  ModbusTcpClient,
  NUMERIC_TYPES,
  type NumericType,
  decodeValue,
  registerCount,
} from '../modbus/index.js';

type Area = 'coils' | 'discrete' | 'holding' | 'input';

const AREA_ALIASES: Record<string, Area> = {
  coil: 'coils', coils: 'coils', c: 'coils', '0x': 'coils',
  discrete: 'discrete', 'discrete-inputs': 'discrete', di: 'discrete', '1x': 'discrete',
  holding: 'holding', 'holding-registers': 'holding', hr: 'holding', '4x': 'holding',
  input: 'input', 'input-registers': 'input', ir: 'input', '3x': 'input',
};

export class CliUsageError extends PlantaError {
  /** PLANTA_CLI_USAGE, or the code of the problem behind it (e.g. an invalid configuration). */
  constructor(message: string, code: ErrorCode = 'PLANTA_CLI_USAGE') {
    super(code, message);
  }
}

export function parseTarget(text: string, defaultPort = 502): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const m = v6 ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new CliUsageError(`"${text}" is not HOST[:PORT]`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliUsageError(`port ${m[2]} is outside 1..65535`);
  return { host: m[1]!, port };
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new CliUsageError(`${what} "${text}" is not an integer in ${min}..${max}`);
  return n;
}

interface ReadPlan {
  area: Area;
  address: number;
  count: number;
  type: NumericType | 'bool';
  order: ByteOrder;
}

interface Row {
  address: number;
  raw: string;
  value: string;
}

async function readOnce(client: ModbusTcpClient, plan: ReadPlan): Promise<Row[]> {
  if (plan.type === 'bool') {
    const rows: Row[] = [];
    for (let done = 0; done < plan.count; done += Limits.readBits) {
      const n = Math.min(Limits.readBits, plan.count - done);
      const start = plan.address + done;
      const bits = plan.area === 'coils' ? await client.readCoils(start, n) : await client.readDiscreteInputs(start, n);
      bits.forEach((b, i) => rows.push({ address: start + i, raw: b ? '1' : '0', value: b ? 'ON' : 'OFF' }));
    }
    return rows;
  }
  const words = registerCount(plan.type);
  const total = plan.count * words;
  const registers: number[] = [];
  // Whole values per request, so no value straddles two reads.
  const perRequest = Math.floor(Limits.readRegisters / words) * words;
  for (let done = 0; done < total; done += perRequest) {
    const n = Math.min(perRequest, total - done);
    const start = plan.address + done;
    const regs = plan.area === 'holding' ? await client.readHoldingRegisters(start, n) : await client.readInputRegisters(start, n);
    registers.push(...regs);
  }
  const rows: Row[] = [];
  for (let i = 0; i < plan.count; i++) {
    const slice = registers.slice(i * words, (i + 1) * words);
    const value = decodeValue(registers, i * words, plan.type, plan.order);
    rows.push({
      address: plan.address + i * words,
      raw: slice.map((w) => w.toString(16).padStart(4, '0').toUpperCase()).join(' '),
      value: plan.type.startsWith('float') ? String(Number(value.toPrecision(9))) : String(value),
    });
  }
  return rows;
}

function formatTable(rows: Row[], type: string): string {
  const head = { address: 'address', raw: 'raw (hex)', value: type };
  const all = [head, ...rows];
  const wa = Math.max(...all.map((r) => String(r.address).length));
  const wr = Math.max(...all.map((r) => r.raw.length));
  return all.map((r) => `${String(r.address).padStart(wa)}  ${r.raw.padEnd(wr)}  ${r.value}`).join('\n');
}

export function describeError(err: unknown): string {
  if (err instanceof ModbusExceptionError) {
    return `the device answered with a Modbus exception: ${err.message} [${err.code}]`;
  }
  if (err instanceof ModbusError) return `${err.message} [${err.code}]`;
  if (err instanceof CliUsageError) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

export function registerModbusCommands(program: Command): void {
  const modbus = program.command('modbus').description('read-only Modbus/TCP diagnostics for commissioning');
  modbus
    .command('read')
    .description('read and decode a range of a device, like mbpoll but friendlier (never writes)')
    .argument('<target>', 'HOST[:PORT] of the device (port 502 by default)')
    .argument('<area>', 'coils | discrete | holding | input (aliases: c, di, hr, ir, 0x, 1x, 4x, 3x)')
    .argument('<address>', 'first address, 0-based (0..65535)')
    .argument('[count]', 'number of values to read', '1')
    .option('-u, --unit <n>', 'unit id', '1')
    .option('-t, --type <type>', `register data type: ${NUMERIC_TYPES.join(', ')}`, 'uint16')
    .option('-o, --order <order>', `byte/word order: ${BYTE_ORDERS.join(', ')}`, 'ABCD')
    .option('--timeout <duration>', 'request timeout', '1s')
    .option('-w, --watch <interval>', 'read again every interval (e.g. 500ms) until Ctrl-C')
    .addHelpText(
      'after',
      '\nExamples:\n  planta modbus read 127.0.0.1:5020 input 0 8\n  planta modbus read plc.local holding 100 2 --type float32 --order CDAB --watch 500ms',
    )
    .action(async (target: string, areaText: string, addressText: string, countText: string, opts: Record<string, string>) => {
      try {
        await runRead(target, areaText, addressText, countText, opts);
      } catch (err) {
        console.error(`planta modbus read: ${describeError(err)}`);
        process.exitCode = err instanceof CliUsageError ? 2 : 1;
      }
    });
}

async function runRead(target: string, areaText: string, addressText: string, countText: string, opts: Record<string, string>): Promise<void> {
  const { host, port } = parseTarget(target);
  const area = AREA_ALIASES[areaText.toLowerCase()];
  if (!area) throw new CliUsageError(`area "${areaText}" is not one of coils, discrete, holding, input`);
  const address = parseInteger(addressText, 'address', 0, 0xffff);
  const count = parseInteger(countText, 'count', 1, 0x10000);
  const unitId = parseInteger(opts.unit ?? '1', 'unit id', 0, 255);
  const isBits = area === 'coils' || area === 'discrete';
  const typeText = opts.type ?? 'uint16';
  if (!isBits && !NUMERIC_TYPES.includes(typeText as NumericType)) {
    throw new CliUsageError(`type "${typeText}" is not one of ${NUMERIC_TYPES.join(', ')}`);
  }
  const order = (opts.order ?? 'ABCD').toUpperCase() as ByteOrder;
  if (!BYTE_ORDERS.includes(order)) throw new CliUsageError(`order "${opts.order}" is not one of ${BYTE_ORDERS.join(', ')}`);
  const type = isBits ? 'bool' : (typeText as NumericType);
  const span = isBits ? count : count * registerCount(type as NumericType);
  if (address + span > 0x10000) throw new CliUsageError(`address ${address} + ${span} runs past 65535`);
  const timeout = parseDuration(opts.timeout ?? '1s');
  if (timeout === undefined || timeout < 1) throw new CliUsageError(`timeout "${opts.timeout}" is not a duration`);
  const watch = opts.watch === undefined ? undefined : parseDuration(opts.watch);
  if (opts.watch !== undefined && (watch === undefined || watch < 10)) {
    throw new CliUsageError(`watch interval "${opts.watch}" is not a duration of at least 10ms`);
  }

  const client = new ModbusTcpClient({ host, port, unitId, timeout, connectTimeout: Math.max(timeout, 2000), reconnect: watch !== undefined });
  const plan: ReadPlan = { area, address, count, type, order };
  const label = `${area} ${address}..${address + span - 1} of ${host}:${port} unit ${unitId}`;
  try {
    if (watch === undefined) {
      await client.connect();
      console.log(`${label}\n${formatTable(await readOnce(client, plan), type)}`);
      return;
    }
    let stop = false;
    const onSignal = (): void => {
      stop = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let failures = 0;
    while (!stop) {
      const started = Date.now();
      try {
        const rows = await readOnce(client, plan);
        console.log(`${new Date().toISOString()}  ${label}\n${formatTable(rows, type)}\n`);
      } catch (err) {
        failures++;
        console.error(`${new Date().toISOString()}  ${describeError(err)}`);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, watch! - (Date.now() - started))));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (failures > 0) process.exitCode = 1;
  } finally {
    await client.close();
  }
}
