/**
 * `planta modbus read` and `planta modbus scan`: read-only commissioning
 * tools, on Modbus/TCP, a serial line or an RTU-over-TCP converter. There is
 * deliberately no `modbus write`: the only way Planta writes to a PLC is an
 * operator command.
 */
import type { Command } from 'commander';
import { parseDuration } from '../util/duration.js';
import {
  BYTE_ORDERS,
  type ByteOrder,
  Limits,
  type ModbusClient,
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

import { type LinkFlags, diagnosticClient, linkOptions, namesLink } from './link-flags.js';
import { registerScanCommand } from './modbus-scan.js';
import { CliUsageError, describeError, parseInteger } from './usage.js';

export { CliUsageError, describeError } from './usage.js';
export { parseTarget } from './link-flags.js';


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

async function readOnce(client: ModbusClient, plan: ReadPlan): Promise<Row[]> {
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

export function registerModbusCommands(program: Command): void {
  const modbus = program.command('modbus').description('read-only Modbus diagnostics for commissioning (Modbus/TCP, serial RTU, RTU over TCP)');
  const read = modbus
    .command('read')
    .description('read and decode a range of a device, like mbpoll but friendlier (never writes)')
    .usage('[HOST[:PORT] | --serial PATH | --rtu-over-tcp HOST:PORT] AREA ADDRESS [COUNT] [options]')
    .argument('<args...>', 'HOST[:PORT] of a Modbus/TCP device (port 502 by default; left out with --serial or --rtu-over-tcp), then AREA: coils | discrete | holding | input (aliases: c, di, hr, ir, 0x, 1x, 4x, 3x), ADDRESS: the first, 0-based, COUNT: how many (default 1)')
    .option('-u, --unit <n>', 'unit id', '1')
    .option('-t, --type <type>', `register data type: ${NUMERIC_TYPES.join(', ')}`, 'uint16')
    .option('-o, --order <order>', `byte/word order: ${BYTE_ORDERS.join(', ')}`, 'ABCD')
    .option('--timeout <duration>', 'request timeout', '1s')
    .option('-w, --watch <interval>', 'read again every interval (e.g. 500ms) until Ctrl-C')
    .addHelpText(
      'after',
      '\nExamples:\n  planta modbus read 127.0.0.1:5020 input 0 8\n  planta modbus read plc.local holding 100 2 --type float32 --order CDAB --watch 500ms' +
        '\n  planta modbus read --serial /dev/ttyUSB0 --baud 9600 --parity none --unit 3 input 0 4\n  planta modbus read --rtu-over-tcp 10.0.0.7:4001 --unit 2 holding 8',
    );
  linkOptions(read, 'the device is').action(async (args: string[], opts: Record<string, string>) => {
    try {
      await runRead(args, opts);
    } catch (err) {
      console.error(`planta modbus read: ${describeError(err)}`);
      process.exitCode = err instanceof CliUsageError ? 2 : 1;
    }
  });
  registerScanCommand(modbus);
}

async function runRead(args: string[], opts: Record<string, string> & LinkFlags): Promise<void> {
  const linked = namesLink(opts);
  const [target, areaText, addressText, countText = '1', ...extra] = linked ? [undefined, ...args] : args;
  if (areaText === undefined || addressText === undefined || extra.length > 0) {
    throw new CliUsageError(`expected ${linked ? '' : 'HOST[:PORT] '}AREA ADDRESS [COUNT], got ${args.join(' ') || 'nothing'}`);
  }
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

  const { client, where } = diagnosticClient(opts, target, { unitId, timeout, reconnect: watch !== undefined });
  const plan: ReadPlan = { area, address, count, type, order };
  const label = `${area} ${address}..${address + span - 1} of ${where} unit ${unitId}`;
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
