/**
 * A generic load device for benchmarks: `devices` unit ids (1..N) on one
 * port, each with `registers` holding/input registers whose values change
 * every `changeMs` with a known pattern, so a benchmark can check every value
 * it received. Coils and discrete inputs follow the low bit of the pattern.
 *
 *   value(unit, address, generation) = (generation·0x9E37 + unit·131 + address·7) mod 65536
 *
 * 0x9E37 is odd, hence invertible mod 65536: `loadGeneration` recovers the
 * generation from any single value, and all values of one reply share it.
 */
import { IllegalDataAddressError, IllegalFunctionError, type HandlerResult, type ModbusRequest, type RequestContext } from '../modbus/index.js';

const K = 0x9e37;
/** K⁻¹ mod 65536. */
const K_INVERSE = modInverse16(K);

export function loadValue(unit: number, address: number, generation: number): number {
  return (Math.imul(generation, K) + unit * 131 + address * 7) & 0xffff;
}

/** The generation (mod 65536) that produced `value` at `unit`/`address`. */
export function loadGeneration(unit: number, address: number, value: number): number {
  return Math.imul((value - unit * 131 - address * 7) & 0xffff, K_INVERSE) & 0xffff;
}

function modInverse16(k: number): number {
  // Newton's iteration for the inverse of an odd number modulo 2^16.
  let x = k;
  for (let i = 0; i < 4; i++) x = Math.imul(x, 2 - Math.imul(k, x)) & 0xffff;
  return x;
}

export interface LoadOptions {
  devices: number;
  registers: number;
  changeMs: number;
  now?: () => number;
}

export class LoadDevice {
  private readonly start: number;
  private readonly now: () => number;

  constructor(readonly options: LoadOptions) {
    if (options.devices < 1 || options.devices > 247) throw new RangeError('devices must be 1..247 unit ids');
    if (options.registers < 1 || options.registers > 65536) throw new RangeError('registers must be 1..65536');
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  generation(): number {
    return Math.floor((this.now() - this.start) / this.options.changeMs);
  }

  readonly handler = (req: ModbusRequest, ctx: RequestContext): HandlerResult => {
    const unit = ctx.unitId;
    if (unit < 1 || unit > this.options.devices) throw new IllegalDataAddressError(req.fc);
    if (req.fc !== 1 && req.fc !== 2 && req.fc !== 3 && req.fc !== 4) throw new IllegalFunctionError(req.fc);
    if (req.address + req.quantity > this.options.registers) throw new IllegalDataAddressError(req.fc);
    const g = this.generation();
    if (req.fc === 3 || req.fc === 4) {
      const registers = new Uint16Array(req.quantity);
      for (let i = 0; i < req.quantity; i++) registers[i] = loadValue(unit, req.address + i, g);
      return { fc: req.fc, registers };
    }
    const bits = new Array<boolean>(req.quantity);
    for (let i = 0; i < req.quantity; i++) bits[i] = (loadValue(unit, req.address + i, g) & 1) === 1;
    return { fc: req.fc, bits };
  };
}

/** Parses "10x1000" (devices × registers). */
export function parseLoadSpec(text: string): { devices: number; registers: number } | undefined {
  const m = /^(\d+)\s*[x×]\s*(\d+)$/i.exec(text.trim());
  if (!m) return undefined;
  return { devices: Number(m[1]), registers: Number(m[2]) };
}
