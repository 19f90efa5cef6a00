/**
 * `planta modbus scan`: which unit ids answer on a line (a serial line, a
 * converter, a gateway). Each unit is asked for one register; any valid
 * answer, a Modbus exception too, means a device is there. Read-only.
 */
import type { Command } from 'commander';
import { ModbusExceptionError, ModbusTimeoutError, describeException } from '../modbus/index.js';
import { parseDuration } from '../util/duration.js';
import { type LinkFlags, diagnosticClient, linkOptions, namesLink, parseUnits } from './link-flags.js';
import { CliUsageError, describeError, parseInteger } from './usage.js';

interface ScanFlags extends LinkFlags {
  units: string;
  timeout: string;
  area: string;
  address: string;
}

export function registerScanCommand(modbus: Command): void {
  const scan = modbus
    .command('scan')
    .description('list the unit ids that answer on a serial line, an RTU-over-TCP converter or a Modbus/TCP gateway (reads one register of each; never writes)')
    .argument('[target]', 'HOST[:PORT] of a Modbus/TCP gateway (left out with --serial or --rtu-over-tcp)')
    .option('--units <ids>', 'unit ids to try, e.g. 1-247 or 1,2,10-20', '1-247')
    .option('--timeout <duration>', 'how long each unit has to answer', '300ms')
    .option('--area <area>', 'what to read: holding | input', 'holding')
    .option('--address <n>', 'the register read', '0')
    .addHelpText('after', '\nExamples:\n  planta modbus scan --serial /dev/ttyUSB0 --baud 9600 --parity none\n  planta modbus scan --rtu-over-tcp 10.0.0.7:4001 --units 1-32\n  planta modbus scan 10.0.0.8:502 --units 1-10');
  linkOptions(scan, 'scan the line').action(async (target: string | undefined, flags: ScanFlags) => {
    try {
      await runScan(target, flags);
    } catch (err) {
      console.error(`planta modbus scan: ${describeError(err)}`);
      process.exitCode = err instanceof CliUsageError ? 2 : 1;
    }
  });
}

async function runScan(target: string | undefined, flags: ScanFlags): Promise<void> {
  if (namesLink(flags) && target !== undefined) throw new CliUsageError(`"${target}": a target and a link (--serial or --rtu-over-tcp) name two lines; give one`);
  const units = parseUnits(flags.units, namesLink(flags) ? 1 : 0);
  const timeout = parseDuration(flags.timeout);
  if (timeout === undefined || timeout < 1) throw new CliUsageError(`timeout "${flags.timeout}" is not a duration`);
  const area = flags.area.toLowerCase();
  if (area !== 'holding' && area !== 'input') throw new CliUsageError(`area "${flags.area}" is not holding or input`);
  const address = parseInteger(flags.address, 'address', 0, 0xffff);
  const { client, where } = diagnosticClient(flags, target, { unitId: units[0]!, timeout, reconnect: false });
  const found: number[] = [];
  const started = performance.now();
  const progress = process.stderr.isTTY;
  try {
    await client.connect();
    console.log(`scanning ${where}: units ${flags.units}, ${area} register ${address}, ${timeout} ms each`);
    for (const [i, unitId] of units.entries()) {
      if (progress) process.stderr.write(`\r  unit ${unitId} (${i + 1}/${units.length})…`);
      const fc = area === 'holding' ? 3 : 4;
      try {
        const res = await client.request({ fc, address, quantity: 1 }, { unitId });
        found.push(unitId);
        note(progress, `unit ${unitId}: answers (${area} ${address} = ${(res as { registers: Uint16Array }).registers[0]})`);
      } catch (err) {
        if (err instanceof ModbusExceptionError) {
          found.push(unitId);
          note(progress, `unit ${unitId}: answers, with exception ${err.exceptionCode} (${describeException(err.exceptionCode)})`);
        } else if (!(err instanceof ModbusTimeoutError)) {
          throw err;
        }
      }
    }
  } finally {
    if (progress) process.stderr.write('\r\x1b[K');
    await client.close();
  }
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(found.length > 0 ? `${found.length} unit(s) answer: ${found.join(', ')} (${units.length} tried in ${s} s)` : `no unit answers (${units.length} tried in ${s} s)`);
  if (found.length === 0) process.exitCode = 1;
}

function note(progress: boolean, line: string): void {
  if (progress) process.stderr.write('\r\x1b[K');
  console.log(`  ${line}`);
}
