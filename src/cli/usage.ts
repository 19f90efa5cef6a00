/** A command line that cannot run as typed (exit status 2), and how a command's failure is said. */
import { type ErrorCode, PlantaError } from '../errors.js';
import { ModbusError, ModbusExceptionError } from '../modbus/index.js';

export class CliUsageError extends PlantaError {
  /** PLANTA_CLI_USAGE, or the code of the problem behind it (e.g. an invalid configuration). */
  constructor(message: string, code: ErrorCode = 'PLANTA_CLI_USAGE') {
    super(code, message);
  }
}

export function describeError(err: unknown): string {
  if (err instanceof ModbusExceptionError) {
    return `the device answered with a Modbus exception: ${err.message} [${err.code}]`;
  }
  if (err instanceof ModbusError) return `${err.message} [${err.code}]`;
  if (err instanceof CliUsageError) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

/** A decimal or 0x-hexadecimal integer in min..max. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new CliUsageError(`${what} "${text}" is not an integer in ${min}..${max}`);
  return n;
}
