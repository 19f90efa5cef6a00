/**
 * Response PDUs: the server encodes them (and exceptions), the client decodes
 * them against the request they answer. Pure functions over Buffers.
 */
import { ModbusProtocolError, ModbusRequestError, exceptionError } from './errors.js';
import type { ModbusRequest, ModbusResponse, ReadBitsResponse, ReadRegistersResponse } from './pdu.js';
import { readBits, readRegisters, writeBits, writeRegisters } from './words.js';

// ---------------------------------------------------------------- responses (server side encodes)

export function responsePduLength(res: ModbusResponse): number {
  switch (res.fc) {
    case 1:
    case 2:
      return 2 + ((res.bits.length + 7) >> 3);
    case 3:
    case 4:
    case 23:
      return 2 + 2 * res.registers.length;
    default:
      return 5;
  }
}

/**
 * Writes the response PDU at `offset`. Layouts:
 *   1, 2:      | fc | byteCount:u8 | bits LSB-first |
 *   3, 4, 23:  | fc | byteCount:u8 | registers:u16[] |
 *   5, 6:      | fc | address:u16 | value:u16 |        (echo of the request)
 *   15, 16:    | fc | address:u16 | quantity:u16 |
 */
export function writeResponsePdu(res: ModbusResponse, buf: Buffer, offset: number): void {
  buf[offset] = res.fc;
  switch (res.fc) {
    case 1:
    case 2:
      buf[offset + 1] = (res.bits.length + 7) >> 3;
      writeBits(buf, offset + 2, res.bits);
      return;
    case 3:
    case 4:
    case 23:
      buf[offset + 1] = 2 * res.registers.length;
      writeRegisters(buf, offset + 2, res.registers);
      return;
    case 5:
      buf.writeUInt16BE(res.address, offset + 1);
      buf.writeUInt16BE(res.value ? 0xff00 : 0x0000, offset + 3);
      return;
    case 6:
      buf.writeUInt16BE(res.address, offset + 1);
      buf.writeUInt16BE(res.value, offset + 3);
      return;
    case 15:
    case 16:
      buf.writeUInt16BE(res.address, offset + 1);
      buf.writeUInt16BE(res.quantity, offset + 3);
      return;
  }
}

/** Whether a handler's response is a well-formed answer to `req` (right function, right quantity). */
export function responseFits(req: ModbusRequest, res: ModbusResponse): boolean {
  if (res.fc !== req.fc) return false;
  switch (req.fc) {
    case 1:
    case 2:
      return (res as ReadBitsResponse).bits?.length === req.quantity;
    case 3:
    case 4:
      return (res as ReadRegistersResponse).registers?.length === req.quantity;
    case 23:
      return (res as ReadRegistersResponse).registers?.length === req.readQuantity;
    default:
      return true;
  }
}

export function encodeResponse(res: ModbusResponse): Buffer {
  const buf = Buffer.allocUnsafe(responsePduLength(res));
  writeResponsePdu(res, buf, 0);
  return buf;
}

/** Exception response PDU: | fc | 0x80 | exceptionCode:u8 | */
export function encodeException(fc: number, exceptionCode: number): Buffer {
  return Buffer.from([(fc | 0x80) & 0xff, exceptionCode & 0xff]);
}

// ---------------------------------------------------------------- responses (client side decodes)

function mismatch(req: ModbusRequest, what: string): ModbusProtocolError {
  return new ModbusProtocolError(`reply to function ${req.fc} does not match the request: ${what}`);
}

/**
 * Whether a reply PDU can answer `req` at all: its function code (or the
 * exception of it), its length and, for a write, the address echoed. On a
 * line without transaction ids (RTU) a PDU that cannot is a stale reply to an
 * earlier request or another master's traffic, not this request's answer.
 */
export function replyShapeFits(req: ModbusRequest, pdu: Buffer): boolean {
  const fc = pdu[0];
  if (fc === (req.fc | 0x80)) return pdu.length === 2;
  if (fc !== req.fc) return false;
  switch (req.fc) {
    case 1:
    case 2:
      return pdu.length === 2 + ((req.quantity + 7) >> 3);
    case 3:
    case 4:
      return pdu.length === 2 + 2 * req.quantity;
    case 23:
      return pdu.length === 2 + 2 * req.readQuantity;
    default:
      return pdu.length === 5 && pdu.readUInt16BE(1) === req.address;
  }
}

/**
 * Decodes a response PDU against the request it answers. Throws the
 * exception's error class for an exception response, ModbusProtocolError for
 * a reply whose function code, length, byte count or echo does not fit.
 */
export function decodeResponse(req: ModbusRequest, pdu: Buffer): ModbusResponse {
  const fc = pdu[0]!;
  if (fc === (req.fc | 0x80)) {
    if (pdu.length !== 2) throw mismatch(req, `exception response of ${pdu.length} bytes`);
    throw exceptionError(pdu[1]!, req.fc);
  }
  if (fc !== req.fc) throw mismatch(req, `function code ${fc}`);
  switch (req.fc) {
    case 1:
    case 2: {
      const byteCount = (req.quantity + 7) >> 3;
      if (pdu.length !== 2 + byteCount || pdu[1] !== byteCount) {
        throw mismatch(req, `byte count ${pdu[1]} in ${pdu.length} bytes, expected ${byteCount}`);
      }
      return { fc: req.fc, bits: readBits(pdu, 2, req.quantity) };
    }
    case 3:
    case 4:
    case 23: {
      const quantity = req.fc === 23 ? req.readQuantity : req.quantity;
      if (pdu.length !== 2 + 2 * quantity || pdu[1] !== 2 * quantity) {
        throw mismatch(req, `byte count ${pdu[1]} in ${pdu.length} bytes, expected ${2 * quantity}`);
      }
      return { fc: req.fc, registers: readRegisters(pdu, 2, quantity) };
    }
    case 5:
    case 6: {
      if (pdu.length !== 5) throw mismatch(req, `length ${pdu.length}`);
      const address = pdu.readUInt16BE(1);
      const raw = pdu.readUInt16BE(3);
      const expected = req.fc === 5 ? (req.value ? 0xff00 : 0) : req.value;
      if (address !== req.address || raw !== expected) throw mismatch(req, 'echo differs from the request');
      return req.fc === 5 ? { fc: 5, address, value: req.value } : { fc: 6, address, value: raw };
    }
    case 15:
    case 16: {
      if (pdu.length !== 5) throw mismatch(req, `length ${pdu.length}`);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      if (address !== req.address || quantity !== req.values.length) {
        throw mismatch(req, `address ${address} quantity ${quantity}`);
      }
      return { fc: req.fc, address, quantity };
    }
  }
}

/** What a device echoes to a write: the answer an RTU broadcast, which gets none, resolves with. */
export function writeEcho(req: ModbusRequest): ModbusResponse {
  switch (req.fc) {
    case 5:
      return { fc: 5, address: req.address, value: req.value };
    case 6:
      return { fc: 6, address: req.address, value: req.value };
    case 15:
    case 16:
      return { fc: req.fc, address: req.address, quantity: req.values.length };
    default:
      throw new ModbusRequestError(`function ${req.fc} is not a write`);
  }
}
