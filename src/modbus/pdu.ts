/**
 * Modbus PDUs (function code + data) for function codes 1, 2, 3, 4, 5, 6, 15,
 * 16 and 23 (responses: response.ts). Pure functions over Buffers: nothing
 * here knows about sockets or framing. All multi-byte fields are big-endian.
 */
import { ExceptionCode, ModbusRequestError } from './errors.js';
import { readBits, readRegisters, writeBits, writeRegisters } from './words.js';

export const FunctionCode = {
  ReadCoils: 1,
  ReadDiscreteInputs: 2,
  ReadHoldingRegisters: 3,
  ReadInputRegisters: 4,
  WriteSingleCoil: 5,
  WriteSingleRegister: 6,
  WriteMultipleCoils: 15,
  WriteMultipleRegisters: 16,
  ReadWriteMultipleRegisters: 23,
} as const;

/** Quantity limits of the Modbus Application Protocol v1.1b3. */
export const Limits = {
  readBits: 2000,
  readRegisters: 125,
  writeCoils: 1968,
  writeRegisters: 123,
  readWriteRead: 125,
  readWriteWrite: 121,
} as const;

/** The largest PDU the spec allows (an ADU of 260 bytes minus the 7-byte MBAP header). */
export const MAX_PDU_LENGTH = 253;

export interface ReadBitsRequest {
  fc: 1 | 2;
  address: number;
  quantity: number;
}
export interface ReadRegistersRequest {
  fc: 3 | 4;
  address: number;
  quantity: number;
}
export interface WriteSingleCoilRequest {
  fc: 5;
  address: number;
  value: boolean;
}
export interface WriteSingleRegisterRequest {
  fc: 6;
  address: number;
  value: number;
}
export interface WriteMultipleCoilsRequest {
  fc: 15;
  address: number;
  values: readonly boolean[];
}
export interface WriteMultipleRegistersRequest {
  fc: 16;
  address: number;
  values: ArrayLike<number>;
}
export interface ReadWriteRegistersRequest {
  fc: 23;
  readAddress: number;
  readQuantity: number;
  writeAddress: number;
  values: ArrayLike<number>;
}
export type ModbusRequest =
  | ReadBitsRequest
  | ReadRegistersRequest
  | WriteSingleCoilRequest
  | WriteSingleRegisterRequest
  | WriteMultipleCoilsRequest
  | WriteMultipleRegistersRequest
  | ReadWriteRegistersRequest;

export interface ReadBitsResponse {
  fc: 1 | 2;
  bits: boolean[];
}
export interface ReadRegistersResponse {
  fc: 3 | 4 | 23;
  registers: Uint16Array;
}
export interface WriteSingleCoilResponse {
  fc: 5;
  address: number;
  value: boolean;
}
export interface WriteSingleRegisterResponse {
  fc: 6;
  address: number;
  value: number;
}
export interface WriteMultipleResponse {
  fc: 15 | 16;
  address: number;
  quantity: number;
}
export type ModbusResponse =
  | ReadBitsResponse
  | ReadRegistersResponse
  | WriteSingleCoilResponse
  | WriteSingleRegisterResponse
  | WriteMultipleResponse;

export function isSupportedFunction(fc: number): boolean {
  return fc === 1 || fc === 2 || fc === 3 || fc === 4 || fc === 5 || fc === 6 || fc === 15 || fc === 16 || fc === 23;
}

// ---------------------------------------------------------------- validation

// The checks build their messages only when they fail: validation runs on every request.

function checkAddress(name: string, address: number, quantity: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) {
    throw new ModbusRequestError(`${name} ${address} is not an address in 0..65535`);
  }
  if (address + quantity > 0x10000) {
    throw new ModbusRequestError(`${name} ${address} + quantity ${quantity} runs past address 65535`);
  }
}

function validQuantity(quantity: number, max: number): boolean {
  return Number.isInteger(quantity) && quantity >= 1 && quantity <= max;
}

function quantityError(what: string, quantity: number, max: number): ModbusRequestError {
  return new ModbusRequestError(`${what}: quantity ${quantity} is outside 1..${max}`);
}

function checkRegisterValue(v: number, i: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new ModbusRequestError(`register value ${v} at index ${i} is not a 16-bit unsigned integer`);
  }
}

function checkRegisterValues(values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) checkRegisterValue(values[i]!, i);
}

/** Throws ModbusRequestError if the request breaks the spec; the client calls this before sending. */
export function validateRequest(req: ModbusRequest): void {
  switch (req.fc) {
    case 1:
    case 2:
      if (!validQuantity(req.quantity, Limits.readBits)) {
        throw quantityError(`read ${req.fc === 1 ? 'coils' : 'discrete inputs'}`, req.quantity, Limits.readBits);
      }
      checkAddress('address', req.address, req.quantity);
      return;
    case 3:
    case 4:
      if (!validQuantity(req.quantity, Limits.readRegisters)) {
        throw quantityError(`read ${req.fc === 3 ? 'holding' : 'input'} registers`, req.quantity, Limits.readRegisters);
      }
      checkAddress('address', req.address, req.quantity);
      return;
    case 5:
      checkAddress('address', req.address, 1);
      if (typeof req.value !== 'boolean') throw new ModbusRequestError('a coil value must be true or false');
      return;
    case 6:
      checkAddress('address', req.address, 1);
      checkRegisterValue(req.value, 0);
      return;
    case 15:
      if (!validQuantity(req.values.length, Limits.writeCoils)) {
        throw quantityError('write multiple coils', req.values.length, Limits.writeCoils);
      }
      checkAddress('address', req.address, req.values.length);
      return;
    case 16:
      if (!validQuantity(req.values.length, Limits.writeRegisters)) {
        throw quantityError('write multiple registers', req.values.length, Limits.writeRegisters);
      }
      checkAddress('address', req.address, req.values.length);
      checkRegisterValues(req.values);
      return;
    case 23:
      if (!validQuantity(req.readQuantity, Limits.readWriteRead)) {
        throw quantityError('read/write registers (read part)', req.readQuantity, Limits.readWriteRead);
      }
      if (!validQuantity(req.values.length, Limits.readWriteWrite)) {
        throw quantityError('read/write registers (write part)', req.values.length, Limits.readWriteWrite);
      }
      checkAddress('read address', req.readAddress, req.readQuantity);
      checkAddress('write address', req.writeAddress, req.values.length);
      checkRegisterValues(req.values);
      return;
    default:
      throw new ModbusRequestError(`function code ${(req as { fc: unknown }).fc} is not supported`);
  }
}

// ---------------------------------------------------------------- requests (client side encodes)

export function requestPduLength(req: ModbusRequest): number {
  switch (req.fc) {
    case 15:
      return 6 + ((req.values.length + 7) >> 3);
    case 16:
      return 6 + 2 * req.values.length;
    case 23:
      return 10 + 2 * req.values.length;
    default:
      return 5;
  }
}

/**
 * Writes the request PDU at `offset`. Layouts:
 *   1-4:  | fc | address:u16 | quantity:u16 |
 *   5, 6: | fc | address:u16 | value:u16 (FC5: FF00 on / 0000 off) |
 *   15:   | fc | address:u16 | quantity:u16 | byteCount:u8 | bits LSB-first |
 *   16:   | fc | address:u16 | quantity:u16 | byteCount:u8 | registers:u16[] |
 *   23:   | fc | readAddr:u16 | readQty:u16 | writeAddr:u16 | writeQty:u16 | byteCount:u8 | registers:u16[] |
 * Fields are stored as 16 bits without range checks: pass a request that
 * validateRequest() accepts (the client always does).
 */
export function writeRequestPdu(req: ModbusRequest, buf: Buffer, offset: number): void {
  buf[offset] = req.fc;
  switch (req.fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      // The most frequent request: plain byte stores (validateRequest has checked the ranges).
      buf[offset + 1] = req.address >> 8;
      buf[offset + 2] = req.address;
      buf[offset + 3] = req.quantity >> 8;
      buf[offset + 4] = req.quantity;
      return;
    case 5:
      buf.writeUInt16BE(req.address, offset + 1);
      buf.writeUInt16BE(req.value ? 0xff00 : 0x0000, offset + 3);
      return;
    case 6:
      buf.writeUInt16BE(req.address, offset + 1);
      buf.writeUInt16BE(req.value, offset + 3);
      return;
    case 15:
      buf.writeUInt16BE(req.address, offset + 1);
      buf.writeUInt16BE(req.values.length, offset + 3);
      buf[offset + 5] = (req.values.length + 7) >> 3;
      writeBits(buf, offset + 6, req.values);
      return;
    case 16:
      buf.writeUInt16BE(req.address, offset + 1);
      buf.writeUInt16BE(req.values.length, offset + 3);
      buf[offset + 5] = 2 * req.values.length;
      writeRegisters(buf, offset + 6, req.values);
      return;
    case 23:
      buf.writeUInt16BE(req.readAddress, offset + 1);
      buf.writeUInt16BE(req.readQuantity, offset + 3);
      buf.writeUInt16BE(req.writeAddress, offset + 5);
      buf.writeUInt16BE(req.values.length, offset + 7);
      buf[offset + 9] = 2 * req.values.length;
      writeRegisters(buf, offset + 10, req.values);
      return;
  }
}

export function encodeRequest(req: ModbusRequest): Buffer {
  const buf = Buffer.allocUnsafe(requestPduLength(req));
  writeRequestPdu(req, buf, 0);
  return buf;
}

// ---------------------------------------------------------------- requests (server side decodes)

/** Either a request, or the exception code the server must answer with (01 or 03). */
export type DecodedRequest = { ok: true; request: ModbusRequest } | { ok: false; fc: number; exception: number };

const refuse = (fc: number, exception: number): DecodedRequest => ({ ok: false, fc, exception });

/**
 * Decodes a request PDU on the server side, checking what the spec checks
 * before the address: the function code (else 01), then the quantity, byte
 * count and PDU length (else 03). Address ranges are the data handler's job (02).
 */
export function decodeRequest(pdu: Buffer): DecodedRequest {
  const fc = pdu[0]!;
  if (!isSupportedFunction(fc)) return refuse(fc, ExceptionCode.IllegalFunction);
  const len = pdu.length;
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4: {
      if (len !== 5) return refuse(fc, ExceptionCode.IllegalDataValue);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      const max = fc <= 2 ? Limits.readBits : Limits.readRegisters;
      if (quantity < 1 || quantity > max) return refuse(fc, ExceptionCode.IllegalDataValue);
      return { ok: true, request: { fc, address, quantity } };
    }
    case 5: {
      if (len !== 5) return refuse(fc, ExceptionCode.IllegalDataValue);
      const raw = pdu.readUInt16BE(3);
      if (raw !== 0xff00 && raw !== 0x0000) return refuse(fc, ExceptionCode.IllegalDataValue);
      return { ok: true, request: { fc, address: pdu.readUInt16BE(1), value: raw === 0xff00 } };
    }
    case 6:
      if (len !== 5) return refuse(fc, ExceptionCode.IllegalDataValue);
      return { ok: true, request: { fc, address: pdu.readUInt16BE(1), value: pdu.readUInt16BE(3) } };
    case 15: {
      if (len < 6) return refuse(fc, ExceptionCode.IllegalDataValue);
      const quantity = pdu.readUInt16BE(3);
      const byteCount = pdu[5]!;
      if (quantity < 1 || quantity > Limits.writeCoils) return refuse(fc, ExceptionCode.IllegalDataValue);
      if (byteCount !== (quantity + 7) >> 3 || len !== 6 + byteCount) return refuse(fc, ExceptionCode.IllegalDataValue);
      return { ok: true, request: { fc, address: pdu.readUInt16BE(1), values: readBits(pdu, 6, quantity) } };
    }
    case 16: {
      if (len < 6) return refuse(fc, ExceptionCode.IllegalDataValue);
      const quantity = pdu.readUInt16BE(3);
      const byteCount = pdu[5]!;
      if (quantity < 1 || quantity > Limits.writeRegisters) return refuse(fc, ExceptionCode.IllegalDataValue);
      if (byteCount !== 2 * quantity || len !== 6 + byteCount) return refuse(fc, ExceptionCode.IllegalDataValue);
      return { ok: true, request: { fc, address: pdu.readUInt16BE(1), values: readRegisters(pdu, 6, quantity) } };
    }
    default: {
      // 23
      if (len < 10) return refuse(fc, ExceptionCode.IllegalDataValue);
      const readQuantity = pdu.readUInt16BE(3);
      const writeQuantity = pdu.readUInt16BE(7);
      const byteCount = pdu[9]!;
      if (readQuantity < 1 || readQuantity > Limits.readWriteRead) return refuse(fc, ExceptionCode.IllegalDataValue);
      if (writeQuantity < 1 || writeQuantity > Limits.readWriteWrite) return refuse(fc, ExceptionCode.IllegalDataValue);
      if (byteCount !== 2 * writeQuantity || len !== 10 + byteCount) return refuse(fc, ExceptionCode.IllegalDataValue);
      return {
        ok: true,
        request: {
          fc: 23,
          readAddress: pdu.readUInt16BE(1),
          readQuantity,
          writeAddress: pdu.readUInt16BE(5),
          values: readRegisters(pdu, 10, writeQuantity),
        },
      };
    }
  }
}
