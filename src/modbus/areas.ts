/**
 * A request handler over the four Modbus data areas, each an array in memory.
 * Passing the same BitArea as coils and discrete inputs (or the same
 * RegisterArea as holding and input registers) gives the aliased memory of
 * PLCs such as the Twido, where both tables are one %M / %MW memory.
 */
import { IllegalDataAddressError, IllegalFunctionError } from './errors.js';
import type { ModbusRequest } from './pdu.js';
import { allocRegisters } from './words.js';
import type { HandlerResult, RequestContext, RequestHandler } from './serve.js';

export class BitArea {
  readonly bits: Uint8Array;
  constructor(readonly size: number) {
    this.bits = new Uint8Array(size);
  }
  get(address: number): boolean {
    return this.bits[address] === 1;
  }
  set(address: number, value: boolean): void {
    this.bits[address] = value ? 1 : 0;
  }
}

export class RegisterArea {
  readonly registers: Uint16Array;
  constructor(readonly size: number) {
    this.registers = new Uint16Array(size);
  }
  get(address: number): number {
    return this.registers[address]!;
  }
  set(address: number, value: number): void {
    this.registers[address] = value;
  }
}

export type AreaName = 'coils' | 'discreteInputs' | 'holdingRegisters' | 'inputRegisters';

export interface WriteRequest {
  area: 'coils' | 'holdingRegisters';
  address: number;
  values: readonly boolean[] | ArrayLike<number>;
  ctx: RequestContext;
  fc: number;
}

export interface DataAreas {
  coils?: BitArea;
  discreteInputs?: BitArea;
  holdingRegisters?: RegisterArea;
  inputRegisters?: RegisterArea;
  /**
   * Called before a write is applied, after the address check. Throw a
   * ModbusExceptionError (e.g. IllegalDataValueError) to refuse it.
   */
  beforeWrite?: (write: WriteRequest) => void;
  /** Called after a write was applied. */
  afterWrite?: (write: WriteRequest) => void;
}

function area<T extends BitArea | RegisterArea>(a: T | undefined, fc: number): T {
  if (!a) throw new IllegalFunctionError(fc);
  return a;
}

function checkRange(a: { size: number }, address: number, quantity: number, fc: number): void {
  if (address + quantity > a.size) throw new IllegalDataAddressError(fc);
}

function readBits(a: BitArea, address: number, quantity: number): boolean[] {
  const out = new Array<boolean>(quantity);
  for (let i = 0; i < quantity; i++) out[i] = a.bits[address + i] === 1;
  return out;
}

/** A copy (the answer does not change with the area), cut from a shared slab rather than allocated alone. */
function copyRegisters(a: RegisterArea, address: number, quantity: number): Uint16Array {
  const out = allocRegisters(quantity);
  out.set(a.registers.subarray(address, address + quantity));
  return out;
}

export function createAreaHandler(areas: DataAreas): RequestHandler {
  const write = (w: WriteRequest, apply: () => void): void => {
    areas.beforeWrite?.(w);
    apply();
    areas.afterWrite?.(w);
  };
  return (req: ModbusRequest, ctx: RequestContext): HandlerResult => {
    switch (req.fc) {
      case 1:
      case 2: {
        const a = area(req.fc === 1 ? areas.coils : areas.discreteInputs, req.fc);
        checkRange(a, req.address, req.quantity, req.fc);
        return { fc: req.fc, bits: readBits(a, req.address, req.quantity) };
      }
      case 3:
      case 4: {
        const a = area(req.fc === 3 ? areas.holdingRegisters : areas.inputRegisters, req.fc);
        checkRange(a, req.address, req.quantity, req.fc);
        return { fc: req.fc, registers: copyRegisters(a, req.address, req.quantity) };
      }
      case 5: {
        const a = area(areas.coils, 5);
        checkRange(a, req.address, 1, 5);
        write({ area: 'coils', address: req.address, values: [req.value], ctx, fc: 5 }, () => a.set(req.address, req.value));
        return { fc: 5, address: req.address, value: req.value };
      }
      case 6: {
        const a = area(areas.holdingRegisters, 6);
        checkRange(a, req.address, 1, 6);
        write({ area: 'holdingRegisters', address: req.address, values: [req.value], ctx, fc: 6 }, () =>
          a.set(req.address, req.value),
        );
        return { fc: 6, address: req.address, value: req.value };
      }
      case 15: {
        const a = area(areas.coils, 15);
        checkRange(a, req.address, req.values.length, 15);
        write({ area: 'coils', address: req.address, values: req.values, ctx, fc: 15 }, () => {
          for (let i = 0; i < req.values.length; i++) a.set(req.address + i, req.values[i]!);
        });
        return { fc: 15, address: req.address, quantity: req.values.length };
      }
      case 16: {
        const a = area(areas.holdingRegisters, 16);
        checkRange(a, req.address, req.values.length, 16);
        write({ area: 'holdingRegisters', address: req.address, values: req.values, ctx, fc: 16 }, () =>
          a.registers.set(Array.from(req.values), req.address),
        );
        return { fc: 16, address: req.address, quantity: req.values.length };
      }
      case 23: {
        // The spec performs the write before the read.
        const a = area(areas.holdingRegisters, 23);
        checkRange(a, req.readAddress, req.readQuantity, 23);
        checkRange(a, req.writeAddress, req.values.length, 23);
        write({ area: 'holdingRegisters', address: req.writeAddress, values: req.values, ctx, fc: 23 }, () =>
          a.registers.set(Array.from(req.values), req.writeAddress),
        );
        return { fc: 23, registers: copyRegisters(a, req.readAddress, req.readQuantity) };
      }
    }
  };
}
