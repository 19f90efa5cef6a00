/** fast-check generators of valid Modbus requests and of matching responses. */
import fc from 'fast-check';
import type { ModbusRequest, ModbusResponse } from '../../src/modbus/index.js';

export const u16 = fc.integer({ min: 0, max: 0xffff });

/** A quantity in 1..max and an address such that address + quantity <= 65536. */
export function span(max: number): fc.Arbitrary<{ address: number; quantity: number }> {
  return fc
    .integer({ min: 1, max })
    .chain((quantity) => fc.record({ address: fc.integer({ min: 0, max: 0x10000 - quantity }), quantity: fc.constant(quantity) }));
}

/** Boundaries are where bugs live: bias towards them. */
function biasedSpan(max: number): fc.Arbitrary<{ address: number; quantity: number }> {
  return fc.oneof(
    span(max),
    fc.record({ address: fc.constant(0x10000 - max), quantity: fc.constant(max) }),
    fc.record({ address: fc.constant(0xffff), quantity: fc.constant(1) }),
    fc.record({ address: fc.constant(0), quantity: fc.constantFrom(1, max) }),
  );
}

export const regs = (min: number, max: number): fc.Arbitrary<number[]> => fc.array(u16, { minLength: min, maxLength: max });

export const readBitsRequest = fc
  .tuple(fc.constantFrom(1 as const, 2 as const), biasedSpan(2000))
  .map(([code, s]) => ({ fc: code, address: s.address, quantity: s.quantity }));

export const readRegistersRequest = fc
  .tuple(fc.constantFrom(3 as const, 4 as const), biasedSpan(125))
  .map(([code, s]) => ({ fc: code, address: s.address, quantity: s.quantity }));

export const writeCoilRequest = fc.record({ fc: fc.constant(5 as const), address: u16, value: fc.boolean() });
export const writeRegisterRequest = fc.record({ fc: fc.constant(6 as const), address: u16, value: u16 });

export const writeCoilsRequest = biasedSpan(1968).chain(({ address, quantity }) =>
  fc
    .array(fc.boolean(), { minLength: quantity, maxLength: quantity })
    .map((values) => ({ fc: 15 as const, address, values })),
);

export const writeRegistersRequest = biasedSpan(123).chain(({ address, quantity }) =>
  regs(quantity, quantity).map((values) => ({ fc: 16 as const, address, values })),
);

export const readWriteRequest = fc
  .tuple(biasedSpan(125), biasedSpan(121))
  .chain(([r, w]) =>
    regs(w.quantity, w.quantity).map((values) => ({
      fc: 23 as const,
      readAddress: r.address,
      readQuantity: r.quantity,
      writeAddress: w.address,
      values,
    })),
  );

export const anyRequest: fc.Arbitrary<ModbusRequest> = fc.oneof(
  readBitsRequest,
  readRegistersRequest,
  writeCoilRequest,
  writeRegisterRequest,
  writeCoilsRequest,
  writeRegistersRequest,
  readWriteRequest,
);

/** A valid request together with a valid response to it. */
export const requestAndResponse: fc.Arbitrary<[ModbusRequest, ModbusResponse]> = anyRequest.chain(
  (req): fc.Arbitrary<[ModbusRequest, ModbusResponse]> => {
    switch (req.fc) {
      case 1:
      case 2:
        return fc
          .array(fc.boolean(), { minLength: req.quantity, maxLength: req.quantity })
          .map((bits) => [req, { fc: req.fc, bits }]);
      case 3:
      case 4:
        return regs(req.quantity, req.quantity).map((r) => [req, { fc: req.fc, registers: Uint16Array.from(r) }]);
      case 23:
        return regs(req.readQuantity, req.readQuantity).map((r) => [req, { fc: 23, registers: Uint16Array.from(r) }]);
      case 5:
        return fc.constant([req, { fc: 5, address: req.address, value: req.value }]);
      case 6:
        return fc.constant([req, { fc: 6, address: req.address, value: req.value }]);
      case 15:
      case 16:
        return fc.constant([req, { fc: req.fc, address: req.address, quantity: req.values.length }]);
    }
  },
);

/** The request as decodeRequest returns it: register values as a Uint16Array, coils as booleans. */
export function normalize(req: ModbusRequest): ModbusRequest {
  switch (req.fc) {
    case 15:
      return { fc: 15, address: req.address, values: req.values.map(Boolean) };
    case 16:
      return { fc: 16, address: req.address, values: Uint16Array.from(req.values as ArrayLike<number>) };
    case 23:
      return {
        fc: 23,
        readAddress: req.readAddress,
        readQuantity: req.readQuantity,
        writeAddress: req.writeAddress,
        values: Uint16Array.from(req.values as ArrayLike<number>),
      };
    default:
      return { ...req };
  }
}
