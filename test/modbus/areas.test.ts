/**
 * The in-memory area handler: address checks (02), missing areas (01),
 * beforeWrite refusals that leave memory untouched, afterWrite, aliasing of
 * one area as two tables, FC23's write-before-read — called directly and
 * through a real server and client.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BitArea,
  IllegalDataAddressError,
  IllegalDataValueError,
  IllegalFunctionError,
  ModbusTcpClient,
  ModbusTcpServer,
  RegisterArea,
  createAreaHandler,
  type DataAreas,
  type ModbusRequest,
  type ModbusResponse,
  type RequestContext,
  type WriteRequest,
} from '../../src/modbus/index.js';
import { HOST } from './helpers.js';

const T = { timeout: 5000 };

const ctx: RequestContext = {
  unitId: 1,
  transactionId: 1,
  connectionId: 1,
  remoteAddress: '127.0.0.1',
  remotePort: 1,
  destroy: () => undefined,
  writeRaw: () => undefined,
  writePdu: () => undefined,
};

function call(areas: DataAreas, req: ModbusRequest): ModbusResponse {
  const res = createAreaHandler(areas)(req, ctx);
  assert.ok(typeof res === 'object' && !(res instanceof Promise), 'the area handler answers synchronously');
  return res as ModbusResponse;
}

const throwsClass = (fn: () => unknown, Class: new (fc: number) => Error, fc: number): void => {
  assert.throws(fn, (e: unknown) => e instanceof Class && (e as IllegalFunctionError).functionCode === fc, `${Class.name} to FC${fc}`);
};

function fresh(): Required<Pick<DataAreas, 'coils' | 'discreteInputs' | 'holdingRegisters' | 'inputRegisters'>> {
  return { coils: new BitArea(16), discreteInputs: new BitArea(16), holdingRegisters: new RegisterArea(10), inputRegisters: new RegisterArea(10) };
}

describe('areas: address checks (02)', () => {
  it('reads and writes up to the last address; one past it is 02', T, () => {
    const a = fresh();
    a.holdingRegisters.registers.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(call(a, { fc: 3, address: 7, quantity: 3 }), { fc: 3, registers: Uint16Array.from([8, 9, 10]) });
    assert.deepEqual(call(a, { fc: 1, address: 15, quantity: 1 }), { fc: 1, bits: [false] });
    throwsClass(() => call(a, { fc: 1, address: 15, quantity: 2 }), IllegalDataAddressError, 1);
    throwsClass(() => call(a, { fc: 2, address: 16, quantity: 1 }), IllegalDataAddressError, 2);
    throwsClass(() => call(a, { fc: 3, address: 8, quantity: 3 }), IllegalDataAddressError, 3);
    throwsClass(() => call(a, { fc: 4, address: 10, quantity: 1 }), IllegalDataAddressError, 4);
    throwsClass(() => call(a, { fc: 5, address: 16, value: true }), IllegalDataAddressError, 5);
    throwsClass(() => call(a, { fc: 6, address: 10, value: 1 }), IllegalDataAddressError, 6);
    throwsClass(() => call(a, { fc: 15, address: 15, values: [true, true] }), IllegalDataAddressError, 15);
    throwsClass(() => call(a, { fc: 16, address: 9, values: [1, 2] }), IllegalDataAddressError, 16);
    throwsClass(
      () => call(a, { fc: 23, readAddress: 8, readQuantity: 3, writeAddress: 0, values: [1] }),
      IllegalDataAddressError,
      23,
    );
    throwsClass(
      () => call(a, { fc: 23, readAddress: 0, readQuantity: 1, writeAddress: 9, values: [1, 2] }),
      IllegalDataAddressError,
      23,
    );
    throwsClass(() => call(a, { fc: 3, address: 65535, quantity: 2 }), IllegalDataAddressError, 3);
    // Nothing was written by the refused requests.
    assert.deepEqual([...a.holdingRegisters.registers], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(a.coils.bits.every((x) => x === 0));
  });

  it('FC23 refused on its read range writes nothing', T, () => {
    const a = fresh();
    throwsClass(
      () => call(a, { fc: 23, readAddress: 9, readQuantity: 2, writeAddress: 0, values: [7, 7] }),
      IllegalDataAddressError,
      23,
    );
    assert.ok(a.holdingRegisters.registers.every((x) => x === 0));
  });
});

describe('areas: missing areas (01)', () => {
  it('every function on a missing table is 01', T, () => {
    const none: DataAreas = {};
    throwsClass(() => call(none, { fc: 1, address: 0, quantity: 1 }), IllegalFunctionError, 1);
    throwsClass(() => call(none, { fc: 2, address: 0, quantity: 1 }), IllegalFunctionError, 2);
    throwsClass(() => call(none, { fc: 3, address: 0, quantity: 1 }), IllegalFunctionError, 3);
    throwsClass(() => call(none, { fc: 4, address: 0, quantity: 1 }), IllegalFunctionError, 4);
    throwsClass(() => call(none, { fc: 5, address: 0, value: true }), IllegalFunctionError, 5);
    throwsClass(() => call(none, { fc: 6, address: 0, value: 1 }), IllegalFunctionError, 6);
    throwsClass(() => call(none, { fc: 15, address: 0, values: [true] }), IllegalFunctionError, 15);
    throwsClass(() => call(none, { fc: 16, address: 0, values: [1] }), IllegalFunctionError, 16);
    throwsClass(() => call(none, { fc: 23, readAddress: 0, readQuantity: 1, writeAddress: 0, values: [1] }), IllegalFunctionError, 23);
  });

  it('only the missing table is refused', T, () => {
    const a: DataAreas = { inputRegisters: new RegisterArea(4) };
    assert.deepEqual(call(a, { fc: 4, address: 0, quantity: 4 }), { fc: 4, registers: new Uint16Array(4) });
    throwsClass(() => call(a, { fc: 3, address: 0, quantity: 1 }), IllegalFunctionError, 3);
  });
});

describe('areas: writes', () => {
  it('every write function changes memory and answers the spec echo', T, () => {
    const a = fresh();
    assert.deepEqual(call(a, { fc: 5, address: 3, value: true }), { fc: 5, address: 3, value: true });
    assert.equal(a.coils.get(3), true);
    assert.deepEqual(call(a, { fc: 5, address: 3, value: false }), { fc: 5, address: 3, value: false });
    assert.equal(a.coils.get(3), false);
    assert.deepEqual(call(a, { fc: 15, address: 14, values: [true, false] }), { fc: 15, address: 14, quantity: 2 });
    assert.deepEqual([a.coils.get(14), a.coils.get(15)], [true, false]);
    assert.deepEqual(call(a, { fc: 6, address: 9, value: 0xffff }), { fc: 6, address: 9, value: 0xffff });
    assert.equal(a.holdingRegisters.get(9), 0xffff);
    assert.deepEqual(call(a, { fc: 16, address: 0, values: Uint16Array.from([1, 2, 3]) }), { fc: 16, address: 0, quantity: 3 });
    assert.deepEqual([...a.holdingRegisters.registers.slice(0, 3)], [1, 2, 3]);
  });

  it('FC23 writes before it reads (spec 6.17)', T, () => {
    const a = fresh();
    a.holdingRegisters.registers.set([10, 11, 12, 13]);
    const res = call(a, { fc: 23, readAddress: 0, readQuantity: 4, writeAddress: 1, values: [21, 22] });
    assert.deepEqual(res, { fc: 23, registers: Uint16Array.from([10, 21, 22, 13]) });
  });

  it('a read returns a copy, not a view of memory', T, () => {
    const a = fresh();
    const res = call(a, { fc: 3, address: 0, quantity: 2 }) as { registers: Uint16Array };
    a.holdingRegisters.set(0, 99);
    assert.equal(res.registers[0], 0);
  });

  it('beforeWrite refusing with IllegalDataValueError (03) leaves memory unchanged; afterWrite is not called', T, () => {
    const seen: WriteRequest[] = [];
    const after: WriteRequest[] = [];
    const base = fresh();
    base.holdingRegisters.registers.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    base.coils.set(0, true);
    const areas: DataAreas = {
      ...base,
      beforeWrite: (w) => {
        seen.push(w);
        throw new IllegalDataValueError(w.fc);
      },
      afterWrite: (w) => after.push(w),
    };
    const writes: ModbusRequest[] = [
      { fc: 5, address: 0, value: false },
      { fc: 6, address: 0, value: 100 },
      { fc: 15, address: 0, values: [false, true, true] },
      { fc: 16, address: 0, values: [100, 200] },
      { fc: 23, readAddress: 0, readQuantity: 2, writeAddress: 0, values: [100] },
    ];
    for (const w of writes) throwsClass(() => call(areas, w), IllegalDataValueError, w.fc);
    assert.deepEqual([...base.holdingRegisters.registers], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual([...base.coils.bits.slice(0, 3)], [1, 0, 0]);
    assert.equal(after.length, 0);
    assert.deepEqual(
      seen.map((w) => [w.fc, w.area, w.address, Array.from(w.values as ArrayLike<number | boolean>)]),
      [
        [5, 'coils', 0, [false]],
        [6, 'holdingRegisters', 0, [100]],
        [15, 'coils', 0, [false, true, true]],
        [16, 'holdingRegisters', 0, [100, 200]],
        [23, 'holdingRegisters', 0, [100]],
      ],
    );
    assert.equal(seen[0]!.ctx, ctx);
  });

  it('beforeWrite runs after the address check; afterWrite sees memory already written', T, () => {
    const base = fresh();
    const order: string[] = [];
    const areas: DataAreas = {
      ...base,
      beforeWrite: (w) => order.push(`before ${w.address}`),
      afterWrite: (w) => order.push(`after ${w.address} = ${base.holdingRegisters.get(w.address)}`),
    };
    throwsClass(() => call(areas, { fc: 6, address: 10, value: 1 }), IllegalDataAddressError, 6);
    call(areas, { fc: 6, address: 2, value: 42 });
    assert.deepEqual(order, ['before 2', 'after 2 = 42']);
  });
});

describe('areas: aliasing', () => {
  it('one BitArea as coils and discrete inputs is one memory', T, () => {
    const bits = new BitArea(8);
    const areas: DataAreas = { coils: bits, discreteInputs: bits };
    call(areas, { fc: 15, address: 2, values: [true, true] });
    assert.deepEqual(call(areas, { fc: 2, address: 0, quantity: 5 }), { fc: 2, bits: [false, false, true, true, false] });
    call(areas, { fc: 5, address: 3, value: false });
    assert.deepEqual(call(areas, { fc: 2, address: 2, quantity: 2 }), { fc: 2, bits: [true, false] });
    bits.set(7, true);
    assert.deepEqual(call(areas, { fc: 1, address: 7, quantity: 1 }), { fc: 1, bits: [true] });
  });

  it('one RegisterArea as holding and input registers is one memory', T, () => {
    const regs = new RegisterArea(4);
    const areas: DataAreas = { holdingRegisters: regs, inputRegisters: regs };
    call(areas, { fc: 16, address: 1, values: [5, 6] });
    assert.deepEqual(call(areas, { fc: 4, address: 0, quantity: 4 }), { fc: 4, registers: Uint16Array.from([0, 5, 6, 0]) });
  });

  it('separate areas stay separate', T, () => {
    const a = fresh();
    call(a, { fc: 5, address: 0, value: true });
    assert.deepEqual(call(a, { fc: 2, address: 0, quantity: 1 }), { fc: 2, bits: [false] });
  });
});

describe('areas: through a server', () => {
  it('exceptions reach the client as their classes; a refused write changes nothing', T, async () => {
    const base = fresh();
    const server = new ModbusTcpServer({
      host: HOST,
      port: 0,
      handler: createAreaHandler({
        ...base,
        beforeWrite: (w) => {
          if (w.area === 'holdingRegisters' && Array.from(w.values as ArrayLike<number>).some((v) => v > 1000)) {
            throw new IllegalDataValueError(w.fc);
          }
        },
      }),
    });
    const { port } = await server.listen();
    const client = new ModbusTcpClient({ host: HOST, port, timeout: 500 });
    try {
      await client.writeMultipleRegisters(0, [1, 2]);
      await assert.rejects(client.writeMultipleRegisters(0, [3, 2000]), IllegalDataValueError);
      assert.deepEqual([...(await client.readHoldingRegisters(0, 2))], [1, 2]);
      await assert.rejects(client.readHoldingRegisters(9, 2), IllegalDataAddressError);
      await assert.rejects(client.readHoldingRegisters(65535, 1), IllegalDataAddressError);
      const noCoils = createAreaHandler({ holdingRegisters: base.holdingRegisters });
      server.handler = noCoils;
      await assert.rejects(client.readCoils(0, 1), IllegalFunctionError);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
