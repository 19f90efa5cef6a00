/**
 * PDU layer: byte vectors from the Modbus Application Protocol v1.1b3
 * examples, encode/decode round trips over random valid requests and
 * responses, the spec's quantity limits on both sides, and fuzzing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ExceptionCode,
  GatewayPathUnavailableError,
  GatewayTargetFailedError,
  IllegalDataAddressError,
  IllegalDataValueError,
  IllegalFunctionError,
  Limits,
  MAX_PDU_LENGTH,
  ModbusError,
  ModbusExceptionError,
  ModbusProtocolError,
  ModbusRequestError,
  ServerDeviceBusyError,
  ServerDeviceFailureError,
  decodeRequest,
  decodeResponse,
  describeException,
  encodeException,
  encodeRequest,
  encodeResponse,
  exceptionError,
  isSupportedFunction,
  requestPduLength,
  responsePduLength,
  validateRequest,
  writeRequestPdu,
  writeResponsePdu,
  type ModbusRequest,
  type ModbusResponse,
} from '../../src/modbus/index.js';
import { anyRequest, normalize, requestAndResponse } from './arbitraries.js';

const T = { timeout: 30_000 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const b = (s: string): boolean[] => [...s.replace(/\s+/g, '')].map((c) => c === '1');

/** Vectors copied from the examples of the Modbus Application Protocol Specification v1.1b3, section 6. */
const specVectors: { name: string; req: ModbusRequest; reqHex: string; res: ModbusResponse; resHex: string }[] = [
  {
    // 6.1: read coils 20-38 (address 19, 19 coils); status CD 6B 05
    name: 'FC1 read coils',
    req: { fc: 1, address: 19, quantity: 19 },
    reqHex: '01 0013 0013',
    res: { fc: 1, bits: b('10110011 11010110 101') },
    resHex: '01 03 CD 6B 05',
  },
  {
    // 6.2: read discrete inputs 197-218 (address 196, 22 inputs); status AC DB 35
    name: 'FC2 read discrete inputs',
    req: { fc: 2, address: 196, quantity: 22 },
    reqHex: '02 00C4 0016',
    res: { fc: 2, bits: b('00110101 11011011 101011') },
    resHex: '02 03 AC DB 35',
  },
  {
    // 6.3: read holding registers 108-110: 555, 0, 100
    name: 'FC3 read holding registers',
    req: { fc: 3, address: 107, quantity: 3 },
    reqHex: '03 006B 0003',
    res: { fc: 3, registers: Uint16Array.from([0x022b, 0x0000, 0x0064]) },
    resHex: '03 06 022B 0000 0064',
  },
  {
    // 6.4: read input register 9: 10
    name: 'FC4 read input registers',
    req: { fc: 4, address: 8, quantity: 1 },
    reqHex: '04 0008 0001',
    res: { fc: 4, registers: Uint16Array.from([10]) },
    resHex: '04 02 000A',
  },
  {
    // 6.5: write coil 173 ON
    name: 'FC5 write single coil on',
    req: { fc: 5, address: 172, value: true },
    reqHex: '05 00AC FF00',
    res: { fc: 5, address: 172, value: true },
    resHex: '05 00AC FF00',
  },
  {
    name: 'FC5 write single coil off',
    req: { fc: 5, address: 172, value: false },
    reqHex: '05 00AC 0000',
    res: { fc: 5, address: 172, value: false },
    resHex: '05 00AC 0000',
  },
  {
    // 6.6: write register 2 = 3
    name: 'FC6 write single register',
    req: { fc: 6, address: 1, value: 3 },
    reqHex: '06 0001 0003',
    res: { fc: 6, address: 1, value: 3 },
    resHex: '06 0001 0003',
  },
  {
    // 6.11: write 10 coils from coil 20: CD 01
    name: 'FC15 write multiple coils',
    req: { fc: 15, address: 19, values: b('10110011 10') },
    reqHex: '0F 0013 000A 02 CD 01',
    res: { fc: 15, address: 19, quantity: 10 },
    resHex: '0F 0013 000A',
  },
  {
    // 6.12: write registers 2-3 = 000A 0102
    name: 'FC16 write multiple registers',
    req: { fc: 16, address: 1, values: [0x000a, 0x0102] },
    reqHex: '10 0001 0002 04 000A 0102',
    res: { fc: 16, address: 1, quantity: 2 },
    resHex: '10 0001 0002',
  },
  {
    // 6.17: read 6 registers from 4, write 3 registers from 15 with 00FF
    name: 'FC23 read/write multiple registers',
    req: { fc: 23, readAddress: 3, readQuantity: 6, writeAddress: 14, values: [0x00ff, 0x00ff, 0x00ff] },
    reqHex: '17 0003 0006 000E 0003 06 00FF 00FF 00FF',
    res: { fc: 23, registers: Uint16Array.from([0x00fe, 0x0acd, 0x0001, 0x0003, 0x000d, 0x00ff]) },
    resHex: '17 0C 00FE 0ACD 0001 0003 000D 00FF',
  },
];

describe('PDU: spec byte vectors', () => {
  for (const v of specVectors) {
    it(`${v.name}: request encodes to the spec's bytes and decodes back`, T, () => {
      assert.deepEqual(encodeRequest(v.req), hex(v.reqHex));
      assert.equal(requestPduLength(v.req), hex(v.reqHex).length);
      const d = decodeRequest(hex(v.reqHex));
      assert.deepEqual(d, { ok: true, request: normalize(v.req) });
    });
    it(`${v.name}: response encodes to the spec's bytes and decodes back`, T, () => {
      assert.deepEqual(encodeResponse(v.res), hex(v.resHex));
      assert.equal(responsePduLength(v.res), hex(v.resHex).length);
      assert.deepEqual(decodeResponse(v.req, hex(v.resHex)), v.res);
    });
  }

  it('exception response 81 02 (spec 7: read coils at a missing address)', T, () => {
    assert.deepEqual(encodeException(1, 2), hex('81 02'));
    const req: ModbusRequest = { fc: 1, address: 0x04a1, quantity: 1 };
    assert.deepEqual(encodeRequest(req), hex('01 04A1 0001'));
    assert.throws(
      () => decodeResponse(req, hex('81 02')),
      (e: unknown) =>
        e instanceof IllegalDataAddressError &&
        e.exceptionCode === 2 &&
        e.functionCode === 1 &&
        e.code === 'PLANTA_MODBUS_ILLEGAL_DATA_ADDRESS',
    );
  });

  it('writeRequestPdu / writeResponsePdu write at an offset without touching the bytes around', T, () => {
    for (const v of specVectors) {
      const reqBytes = hex(v.reqHex);
      const buf = Buffer.alloc(reqBytes.length + 10, 0xaa);
      writeRequestPdu(v.req, buf, 7);
      assert.deepEqual(buf.subarray(7, 7 + reqBytes.length), reqBytes);
      assert.ok(buf.subarray(0, 7).every((x) => x === 0xaa));
      assert.ok(buf.subarray(7 + reqBytes.length).every((x) => x === 0xaa));
      const resBytes = hex(v.resHex);
      const rbuf = Buffer.alloc(resBytes.length + 10, 0xaa);
      writeResponsePdu(v.res, rbuf, 7);
      assert.deepEqual(rbuf.subarray(7, 7 + resBytes.length), resBytes);
      assert.ok(rbuf.subarray(7 + resBytes.length).every((x) => x === 0xaa));
    }
  });

  it('bit packing is LSB first and pads the last byte with zeros (even over dirty buffers)', T, () => {
    const req: ModbusRequest = { fc: 15, address: 0, values: [true, false, false, false, false, false, false, false, true] };
    const buf = Buffer.alloc(requestPduLength(req), 0xff);
    writeRequestPdu(req, buf, 0);
    assert.deepEqual(buf, hex('0F 0000 0009 02 01 01'));
    const res: ModbusResponse = { fc: 1, bits: [false, true, false] };
    const rbuf = Buffer.alloc(responsePduLength(res), 0xff);
    writeResponsePdu(res, rbuf, 0);
    assert.deepEqual(rbuf, hex('01 01 02'));
  });

  it('2000 coils and 125 registers fill exactly the spec PDU sizes', T, () => {
    assert.equal(responsePduLength({ fc: 1, bits: new Array<boolean>(2000).fill(true) }), 252);
    assert.equal(responsePduLength({ fc: 3, registers: new Uint16Array(125) }), 252);
    assert.equal(requestPduLength({ fc: 15, address: 0, values: new Array<boolean>(1968).fill(true) }), 252);
    assert.equal(requestPduLength({ fc: 16, address: 0, values: new Array<number>(123).fill(0) }), 252);
    assert.equal(
      requestPduLength({ fc: 23, readAddress: 0, readQuantity: 125, writeAddress: 0, values: new Array<number>(121).fill(0) }),
      252,
    );
    assert.equal(MAX_PDU_LENGTH, 253);
  });
});

describe('PDU: round trips (property)', () => {
  it('every valid request encodes, validates and decodes back to itself', T, () => {
    fc.assert(
      fc.property(anyRequest, (req) => {
        validateRequest(req);
        const pdu = encodeRequest(req);
        assert.equal(pdu.length, requestPduLength(req));
        assert.ok(pdu.length <= MAX_PDU_LENGTH);
        assert.equal(pdu[0], req.fc);
        assert.deepEqual(decodeRequest(pdu), { ok: true, request: normalize(req) });
      }),
      { numRuns: 2000 },
    );
  });

  it('every valid response encodes and decodes back against its request', T, () => {
    fc.assert(
      fc.property(requestAndResponse, ([req, res]) => {
        const pdu = encodeResponse(res);
        assert.equal(pdu.length, responsePduLength(res));
        assert.ok(pdu.length <= MAX_PDU_LENGTH);
        assert.deepEqual(decodeResponse(req, pdu), res);
      }),
      { numRuns: 2000 },
    );
  });

  it('every exception code to every function decodes to its class with the code and function', T, () => {
    const classes: Record<number, new (fc: number) => ModbusExceptionError> = {
      1: IllegalFunctionError,
      2: IllegalDataAddressError,
      3: IllegalDataValueError,
      4: ServerDeviceFailureError,
      6: ServerDeviceBusyError,
      0x0a: GatewayPathUnavailableError,
      0x0b: GatewayTargetFailedError,
    };
    fc.assert(
      fc.property(anyRequest, fc.integer({ min: 0, max: 255 }), (req, code) => {
        const pdu = encodeException(req.fc, code);
        assert.deepEqual(pdu, Buffer.from([req.fc | 0x80, code]));
        assert.throws(
          () => decodeResponse(req, pdu),
          (e: unknown) => {
            assert.ok(e instanceof ModbusExceptionError);
            assert.equal(e.exceptionCode, code);
            assert.equal(e.functionCode, req.fc);
            const Class = classes[code];
            if (Class) assert.ok(e instanceof Class, `exception ${code} is a ${Class.name}`);
            else assert.equal(e.code, 'PLANTA_MODBUS_EXCEPTION');
            return true;
          },
        );
      }),
      { numRuns: 1000 },
    );
  });
});

describe('PDU: validateRequest enforces the spec limits', () => {
  const refused = (req: unknown, why: string): void => {
    assert.throws(
      () => validateRequest(req as ModbusRequest),
      (e: unknown) => e instanceof ModbusRequestError && e.code === 'PLANTA_MODBUS_INVALID_REQUEST',
      why,
    );
  };
  const regsOf = (n: number): number[] => new Array<number>(n).fill(0);
  const bitsOf = (n: number): boolean[] => new Array<boolean>(n).fill(true);

  it('exposes the limits of the spec', T, () => {
    assert.deepEqual(
      { ...Limits },
      { readBits: 2000, readRegisters: 125, writeCoils: 1968, writeRegisters: 123, readWriteRead: 125, readWriteWrite: 121 },
    );
  });

  it('read bits: quantity 1..2000', T, () => {
    for (const code of [1, 2] as const) {
      refused({ fc: code, address: 0, quantity: 0 }, `FC${code} quantity 0`);
      refused({ fc: code, address: 0, quantity: 2001 }, `FC${code} quantity 2001`);
      refused({ fc: code, address: 0, quantity: -1 }, `FC${code} quantity -1`);
      refused({ fc: code, address: 0, quantity: 1.5 }, `FC${code} quantity 1.5`);
      refused({ fc: code, address: 0, quantity: NaN }, `FC${code} quantity NaN`);
      validateRequest({ fc: code, address: 0, quantity: 1 });
      validateRequest({ fc: code, address: 0, quantity: 2000 });
    }
  });

  it('read registers: quantity 1..125', T, () => {
    for (const code of [3, 4] as const) {
      refused({ fc: code, address: 0, quantity: 0 }, `FC${code} quantity 0`);
      refused({ fc: code, address: 0, quantity: 126 }, `FC${code} quantity 126`);
      validateRequest({ fc: code, address: 0, quantity: 125 });
    }
  });

  it('write multiple coils: 1..1968 values', T, () => {
    refused({ fc: 15, address: 0, values: [] }, 'FC15 0 coils');
    refused({ fc: 15, address: 0, values: bitsOf(1969) }, 'FC15 1969 coils');
    validateRequest({ fc: 15, address: 0, values: bitsOf(1968) });
  });

  it('write multiple registers: 1..123 values', T, () => {
    refused({ fc: 16, address: 0, values: [] }, 'FC16 0 registers');
    refused({ fc: 16, address: 0, values: regsOf(124) }, 'FC16 124 registers');
    validateRequest({ fc: 16, address: 0, values: regsOf(123) });
  });

  it('FC23: read 1..125, write 1..121', T, () => {
    const rw = (readQuantity: number, writeCount: number): unknown => ({
      fc: 23,
      readAddress: 0,
      readQuantity,
      writeAddress: 0,
      values: regsOf(writeCount),
    });
    refused(rw(126, 1), 'FC23 read 126');
    refused(rw(0, 1), 'FC23 read 0');
    refused(rw(1, 122), 'FC23 write 122');
    refused(rw(1, 0), 'FC23 write 0');
    validateRequest(rw(125, 121) as ModbusRequest);
  });

  it('address + quantity may not run past 65535', T, () => {
    refused({ fc: 1, address: 65000, quantity: 1000 }, 'FC1 65000+1000');
    refused({ fc: 2, address: 65535, quantity: 2 }, 'FC2 65535+2');
    refused({ fc: 3, address: 65535, quantity: 2 }, 'FC3 65535+2');
    refused({ fc: 4, address: 65412, quantity: 125 }, 'FC4 65412+125');
    refused({ fc: 15, address: 65535, values: bitsOf(2) }, 'FC15 65535+2');
    refused({ fc: 16, address: 65534, values: regsOf(3) }, 'FC16 65534+3');
    refused({ fc: 23, readAddress: 65535, readQuantity: 2, writeAddress: 0, values: [1] }, 'FC23 read 65535+2');
    refused({ fc: 23, readAddress: 0, readQuantity: 1, writeAddress: 65535, values: [1, 2] }, 'FC23 write 65535+2');
    // The last addresses themselves are fine.
    validateRequest({ fc: 3, address: 65535, quantity: 1 });
    validateRequest({ fc: 4, address: 65411, quantity: 125 });
    validateRequest({ fc: 1, address: 63536, quantity: 2000 });
    validateRequest({ fc: 5, address: 65535, value: true });
    validateRequest({ fc: 6, address: 65535, value: 0 });
    validateRequest({ fc: 16, address: 65535, values: [1] });
  });

  it('addresses must be integers in 0..65535', T, () => {
    for (const address of [-1, 65536, 1.5, NaN, Infinity]) {
      refused({ fc: 3, address, quantity: 1 }, `FC3 address ${address}`);
      refused({ fc: 5, address, value: true }, `FC5 address ${address}`);
      refused({ fc: 6, address, value: 1 }, `FC6 address ${address}`);
      refused({ fc: 16, address, values: [1] }, `FC16 address ${address}`);
      refused({ fc: 23, readAddress: address, readQuantity: 1, writeAddress: 0, values: [1] }, `FC23 read address ${address}`);
      refused({ fc: 23, readAddress: 0, readQuantity: 1, writeAddress: address, values: [1] }, `FC23 write address ${address}`);
    }
  });

  it('register values must be integers in 0..65535', T, () => {
    for (const value of [-1, 65536, 1.5, NaN, Infinity, -0.5]) {
      refused({ fc: 6, address: 0, value }, `FC6 value ${value}`);
      refused({ fc: 16, address: 0, values: [0, value] }, `FC16 value ${value}`);
      refused({ fc: 16, address: 0, values: [value] }, `FC16 value ${value}`);
      refused({ fc: 23, readAddress: 0, readQuantity: 1, writeAddress: 0, values: [value] }, `FC23 value ${value}`);
    }
    validateRequest({ fc: 16, address: 0, values: Uint16Array.from([0, 0xffff]) });
  });

  it('a coil value must be a boolean; unknown function codes are refused', T, () => {
    refused({ fc: 5, address: 0, value: 1 }, 'FC5 value 1');
    refused({ fc: 5, address: 0, value: 0xff00 }, 'FC5 value 0xFF00');
    for (const code of [0, 7, 8, 17, 22, 24, 43, 129]) refused({ fc: code, address: 0, quantity: 1 }, `FC${code}`);
  });

  it('property: quantities outside the limits are always refused', T, () => {
    const outside = (max: number): fc.Arbitrary<number> =>
      fc.oneof(fc.integer({ min: -100_000, max: 0 }), fc.integer({ min: max + 1, max: 100_000 }));
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 4), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 100_000 }), (code, address, q) => {
        const max = code <= 2 ? 2000 : 125;
        const valid = q >= 1 && q <= max && address + q <= 0x10000;
        const req = { fc: code, address, quantity: q } as ModbusRequest;
        if (valid) validateRequest(req);
        else refused(req, `FC${code} ${address}+${q}`);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(outside(123), (n) => {
        if (n >= 0 && n <= 2000) refused({ fc: 16, address: 0, values: regsOf(n) }, `FC16 ${n} values`);
      }),
      { numRuns: 200 },
    );
  });
});

describe('PDU: decodeRequest (server side) answers 01 and 03 as the spec orders them', () => {
  const exc = (pduHex: string, exception: number, fcOut?: number): void => {
    const pdu = hex(pduHex);
    assert.deepEqual(decodeRequest(pdu), { ok: false, fc: fcOut ?? pdu[0], exception }, pduHex);
  };

  it('unsupported function codes → 01 (before any other check)', T, () => {
    for (const code of [0, 7, 8, 11, 17, 20, 21, 22, 24, 43, 0x41, 0x7f, 0x80, 0x81, 0x83, 0xff]) {
      exc(`${code.toString(16).padStart(2, '0')} 0000 0000`, ExceptionCode.IllegalFunction);
      exc(code.toString(16).padStart(2, '0'), ExceptionCode.IllegalFunction);
      assert.equal(isSupportedFunction(code), false);
    }
    for (const code of [1, 2, 3, 4, 5, 6, 15, 16, 23]) assert.equal(isSupportedFunction(code), true);
  });

  it('bad quantities → 03', T, () => {
    exc('01 0000 0000', 3);
    exc('01 0000 07D1', 3); // 2001
    exc('02 0000 0000', 3);
    exc('02 0000 07D1', 3);
    exc('03 0000 0000', 3);
    exc('03 0000 007E', 3); // 126
    exc('04 0000 0000', 3);
    exc('04 0000 007E', 3);
    exc('04 FFFF FFFF', 3); // quantity before address
    exc('0F 0000 0000 00', 3);
    exc(`0F 0000 07B1 F7 ${'00'.repeat(247)}`, 3); // 1969
    exc('10 0000 0000 00', 3);
    exc(`10 0000 007C F8 ${'00'.repeat(248)}`, 3); // 124
    exc('17 0000 0000 0000 0001 02 0000', 3); // read 0
    exc('17 0000 007E 0000 0001 02 0000', 3); // read 126
    exc('17 0000 0001 0000 0000 00', 3); // write 0
    exc(`17 0000 0001 0000 007A F4 ${'00'.repeat(244)}`, 3); // write 122
  });

  it('limits themselves are accepted', T, () => {
    assert.equal(decodeRequest(hex('01 0000 07D0')).ok, true);
    assert.equal(decodeRequest(hex('03 0000 007D')).ok, true);
    assert.equal(decodeRequest(hex(`0F 0000 07B0 F6 ${'00'.repeat(246)}`)).ok, true);
    assert.equal(decodeRequest(hex(`10 0000 007B F6 ${'00'.repeat(246)}`)).ok, true);
    assert.equal(decodeRequest(hex(`17 0000 007D 0000 0079 F2 ${'00'.repeat(242)}`)).ok, true);
  });

  it('bad byte counts and lengths → 03', T, () => {
    exc('03 0000 00', 3); // truncated: 3 data bytes
    exc('03 0000 0001 00', 3); // one byte too many
    exc('03', 3);
    exc('05 0000 FF', 3);
    exc('05 0000 1234', 3); // coil value neither FF00 nor 0000
    exc('05 0000 00FF', 3);
    exc('05 0000 FFFF', 3);
    exc('06 0000 00', 3);
    exc('06 0000 0000 00', 3);
    exc('0F 0000 000A', 3); // no byte count
    exc('0F 0000 000A 01 CD', 3); // 10 coils need 2 bytes
    exc('0F 0000 000A 02 CD', 3); // byte count 2, one byte present
    exc('0F 0000 000A 02 CD 01 00', 3); // one byte too many
    exc('10 0000 0002 04 0001', 3); // byte count 4, 2 bytes present
    exc('10 0000 0002 03 0001 00', 3); // byte count 3 for 2 registers
    exc('10 0000 0002 06 0001 0002 0003', 3); // byte count 6 for 2 registers
    exc('10 0000 0001 02 0001 00', 3); // trailing byte
    exc('17 0000 0001 0000 0001', 3); // no byte count
    exc('17 0000 0001 0000 0001 02 00', 3); // short
    exc('17 0000 0001 0000 0001 04 0000 0000', 3); // byte count 4 for 1 register
  });

  it('address ranges are not decodeRequest\'s business (02 is the handler\'s)', T, () => {
    assert.deepEqual(decodeRequest(hex('03 FFFF 0002')), { ok: true, request: { fc: 3, address: 0xffff, quantity: 2 } });
  });

  it('property: random PDUs never throw; the result is a request, or exception 01/03', T, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: MAX_PDU_LENGTH }), (bytes) => {
        const pdu = Buffer.from(bytes);
        const d = decodeRequest(pdu);
        if (d.ok) {
          validateRequestButAddress(d.request);
          // decoding is canonical: re-encoding decodes to the same request
          assert.deepEqual(decodeRequest(encodeRequest(d.request)), d);
        } else {
          assert.equal(d.fc, pdu[0]);
          assert.ok(d.exception === 1 || d.exception === 3);
          assert.equal(d.exception === 1, !isSupportedFunction(pdu[0]!));
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('property: random PDUs that start with a supported function code', T, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 5, 6, 15, 16, 23),
        fc.uint8Array({ minLength: 0, maxLength: 30 }),
        (code, rest) => {
          const d = decodeRequest(Buffer.from([code, ...rest]));
          if (!d.ok) assert.equal(d.exception, 3);
          else validateRequestButAddress(d.request);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

/** A decoded request obeys every rule of validateRequest except the address overflow (checked later, 02). */
function validateRequestButAddress(req: ModbusRequest): void {
  switch (req.fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      validateRequest({ ...req, address: 0 });
      return;
    case 5:
    case 6:
      validateRequest(req);
      return;
    case 15:
    case 16:
      validateRequest({ ...req, address: 0 });
      return;
    case 23:
      validateRequest({ ...req, readAddress: 0, writeAddress: 0 });
  }
}

describe('PDU: decodeResponse refuses replies that do not fit the request', () => {
  const bad = (req: ModbusRequest, pduHex: string): void => {
    assert.throws(
      () => decodeResponse(req, hex(pduHex)),
      (e: unknown) => e instanceof ModbusProtocolError && e.code === 'PLANTA_MODBUS_BAD_RESPONSE',
      pduHex,
    );
  };
  const r3: ModbusRequest = { fc: 3, address: 0, quantity: 2 };

  it('wrong function code', T, () => {
    bad(r3, '04 04 0000 0000');
    bad(r3, '84 02'); // exception to another function
    bad({ fc: 1, address: 0, quantity: 8 }, '02 01 FF');
  });

  it('wrong byte count or length', T, () => {
    bad(r3, '03 02 0000'); // one register short, consistent byte count
    bad(r3, '03 04 0000'); // byte count says 4, 2 present
    bad(r3, '03 04 0000 0000 00'); // trailing byte
    bad(r3, '03 06 0000 0000 0000');
    bad(r3, '03');
    bad({ fc: 1, address: 0, quantity: 9 }, '01 01 FF'); // 9 coils need 2 bytes
    bad({ fc: 1, address: 0, quantity: 8 }, '01 02 FF 00');
    bad({ fc: 1, address: 0, quantity: 8 }, '01 02 FF'); // length fits 8 coils, byte count field does not
    bad(r3, '03 05 0000 0000'); // length fits 2 registers, byte count field does not
    bad({ fc: 23, readAddress: 0, readQuantity: 1, writeAddress: 0, values: [1] }, '17 04 0000 0000');
    bad(r3, '83 02 00'); // exception response of 3 bytes
    bad(r3, '83');
  });

  it('write echoes that differ from the request', T, () => {
    bad({ fc: 5, address: 1, value: true }, '05 0001 0000');
    bad({ fc: 5, address: 1, value: true }, '05 0002 FF00');
    bad({ fc: 5, address: 1, value: true }, '05 0001 FF00 00');
    bad({ fc: 6, address: 1, value: 7 }, '06 0001 0008');
    bad({ fc: 6, address: 1, value: 7 }, '06 0000 0007');
    bad({ fc: 15, address: 1, values: [true, true] }, '0F 0001 0003');
    bad({ fc: 15, address: 1, values: [true, true] }, '0F 0002 0002');
    bad({ fc: 16, address: 1, values: [1, 2] }, '10 0001 0001');
    bad({ fc: 16, address: 1, values: [1, 2] }, '10 0001');
  });

  it('property: random reply bytes only ever give a response or a ModbusError', T, () => {
    fc.assert(
      fc.property(anyRequest, fc.uint8Array({ minLength: 1, maxLength: MAX_PDU_LENGTH }), fc.boolean(), (req, bytes, sameFc) => {
        const pdu = Buffer.from(bytes);
        if (sameFc) pdu[0] = req.fc;
        try {
          decodeResponse(req, pdu);
        } catch (e) {
          assert.ok(e instanceof ModbusProtocolError || e instanceof ModbusExceptionError, String(e));
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('errors catalogue', () => {
  it('exceptionError maps codes to classes with stable codes', T, () => {
    const expected: [number, string, string][] = [
      [1, 'IllegalFunctionError', 'PLANTA_MODBUS_ILLEGAL_FUNCTION'],
      [2, 'IllegalDataAddressError', 'PLANTA_MODBUS_ILLEGAL_DATA_ADDRESS'],
      [3, 'IllegalDataValueError', 'PLANTA_MODBUS_ILLEGAL_DATA_VALUE'],
      [4, 'ServerDeviceFailureError', 'PLANTA_MODBUS_DEVICE_FAILURE'],
      [6, 'ServerDeviceBusyError', 'PLANTA_MODBUS_DEVICE_BUSY'],
      [0x0a, 'GatewayPathUnavailableError', 'PLANTA_MODBUS_GATEWAY_PATH_UNAVAILABLE'],
      [0x0b, 'GatewayTargetFailedError', 'PLANTA_MODBUS_GATEWAY_TARGET_FAILED'],
      [5, 'ModbusExceptionError', 'PLANTA_MODBUS_EXCEPTION'],
      [8, 'ModbusExceptionError', 'PLANTA_MODBUS_EXCEPTION'],
      [0x42, 'ModbusExceptionError', 'PLANTA_MODBUS_EXCEPTION'],
    ];
    for (const [code, name, stable] of expected) {
      const e = exceptionError(code, 3);
      assert.equal(e.constructor.name, name);
      assert.equal(e.code, stable);
      assert.equal(e.exceptionCode, code);
      assert.equal(e.functionCode, 3);
      assert.ok(e instanceof ModbusExceptionError && e instanceof ModbusError && e instanceof Error);
      assert.match(e.message, new RegExp(`0x${code.toString(16).padStart(2, '0')}`, 'i'));
    }
    assert.equal(describeException(0x42), 'unknown exception 0x42');
    assert.equal(describeException(2), 'illegal data address');
  });
});
