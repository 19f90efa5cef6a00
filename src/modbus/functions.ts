/**
 * The Modbus functions as methods of a client, each resolving with what its
 * caller wants of the response (bits, registers, nothing).
 */
import { EventEmitter } from 'node:events';
import type { ClientEvents, RequestOptions } from './client-options.js';
import type { ModbusRequest, ModbusResponse } from './pdu.js';

export abstract class ModbusFunctions extends EventEmitter<ClientEvents> {
  /** Sends a request; resolves with `pick(response)`. */
  protected abstract send<T>(req: ModbusRequest, opts: RequestOptions | undefined, pick: (res: ModbusResponse) => T): Promise<T>;

  readCoils(address: number, quantity: number, opts?: RequestOptions): Promise<boolean[]> {
    return this.send({ fc: 1, address, quantity }, opts, bitsOf);
  }

  readDiscreteInputs(address: number, quantity: number, opts?: RequestOptions): Promise<boolean[]> {
    return this.send({ fc: 2, address, quantity }, opts, bitsOf);
  }

  readHoldingRegisters(address: number, quantity: number, opts?: RequestOptions): Promise<Uint16Array> {
    return this.send({ fc: 3, address, quantity }, opts, registersOf);
  }

  readInputRegisters(address: number, quantity: number, opts?: RequestOptions): Promise<Uint16Array> {
    return this.send({ fc: 4, address, quantity }, opts, registersOf);
  }

  writeSingleCoil(address: number, value: boolean, opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 5, address, value }, opts, nothing);
  }

  writeSingleRegister(address: number, value: number, opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 6, address, value }, opts, nothing);
  }

  writeMultipleCoils(address: number, values: readonly boolean[], opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 15, address, values }, opts, nothing);
  }

  writeMultipleRegisters(address: number, values: ArrayLike<number>, opts?: RequestOptions): Promise<void> {
    return this.send({ fc: 16, address, values }, opts, nothing);
  }

  readWriteMultipleRegisters(
    readAddress: number,
    readQuantity: number,
    writeAddress: number,
    values: ArrayLike<number>,
    opts?: RequestOptions,
  ): Promise<Uint16Array> {
    return this.send({ fc: 23, readAddress, readQuantity, writeAddress, values }, opts, registersOf);
  }
}

const bitsOf = (res: ModbusResponse): boolean[] => (res as { bits: boolean[] }).bits;
const registersOf = (res: ModbusResponse): Uint16Array => (res as { registers: Uint16Array }).registers;
const nothing = (): void => undefined;
