/**
 * The RTU client and server: through RTU over TCP (client ↔ server, and
 * against a scripted device that answers with bad CRCs, other units' frames
 * and late replies), and on a serial port (serialport's mock binding): the
 * bytes on the wire, the 3.5-character silence before each request,
 * broadcasts.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SerialPortMock } from 'serialport';
import {
  BitArea,
  IllegalDataAddressError,
  ModbusRequestError,
  ModbusRtuClient,
  ModbusRtuServer,
  ModbusTimeoutError,
  RegisterArea,
  RtuDecoder,
  type RequestHandler,
  type SerialOpenOptions,
  type SerialPortLike,
  createAreaHandler,
  encodeRtuFrame,
  lineTiming,
  serialOpenOptions,
} from '../../src/modbus/index.js';
import { HOST, until } from './helpers.js';

const T = { timeout: 20_000 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Three units, each with registers holding unit × 1000 + address, and 16 coils. */
function units(): { handler: RequestHandler; holding: Map<number, RegisterArea>; coils: Map<number, BitArea> } {
  const holding = new Map<number, RegisterArea>();
  const coils = new Map<number, BitArea>();
  const handlers = new Map<number, RequestHandler>();
  for (const u of [1, 2, 3]) {
    const regs = new RegisterArea(100);
    for (let i = 0; i < 100; i++) regs.set(i, u * 1000 + i);
    const bits = new BitArea(16);
    holding.set(u, regs);
    coils.set(u, bits);
    handlers.set(u, createAreaHandler({ holdingRegisters: regs, inputRegisters: regs, coils: bits, discreteInputs: bits }));
  }
  const handler: RequestHandler = (req, ctx) => {
    if (ctx.unitId === 0) {
      // A broadcast: every unit executes it.
      for (const h of handlers.values()) h(req, ctx);
      return { fc: 6, address: 0, value: 0 };
    }
    return handlers.get(ctx.unitId)!(req, ctx);
  };
  return { handler, holding, coils };
}

describe('RTU over TCP: client ↔ server with three units', T, () => {
  const plant = units();
  const server = new ModbusRtuServer({ handler: plant.handler, units: [1, 2, 3] });
  let client: ModbusRtuClient;

  before(async () => {
    const { port } = await server.listenTcp(HOST, 0);
    client = new ModbusRtuClient({ host: HOST, port, timeout: 300, broadcastDelay: 10 });
    await client.connect();
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('reads each unit on one connection', async () => {
    for (const u of [1, 2, 3]) assert.deepEqual(Array.from(await client.readHoldingRegisters(10, 3, { unitId: u })), [u * 1000 + 10, u * 1000 + 11, u * 1000 + 12]);
    assert.equal(server.stats.requests, 3);
  });

  it('writes and reads back; exceptions come back as their errors', async () => {
    await client.writeMultipleRegisters(5, [7, 8], { unitId: 2 });
    assert.deepEqual(Array.from(await client.readInputRegisters(5, 2, { unitId: 2 })), [7, 8]);
    await assert.rejects(client.readHoldingRegisters(99, 2, { unitId: 1 }), IllegalDataAddressError);
  });

  it('a unit nobody serves stays silent: a timeout, and the server counts it as another device’s', async () => {
    const before = server.stats.otherUnits;
    await assert.rejects(client.readHoldingRegisters(0, 1, { unitId: 9 }), ModbusTimeoutError);
    assert.equal(server.stats.otherUnits, before + 1);
    // The line is usable again at once.
    assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 1, { unitId: 3 })), [3000]);
  });

  it('a broadcast write reaches every unit and gets no answer; a broadcast read is refused unsent', async () => {
    const sent = client.stats.requests;
    await client.writeSingleCoil(4, true, { unitId: 0 });
    assert.equal(client.stats.broadcasts, 1);
    await until(() => [1, 2, 3].every((u) => plant.coils.get(u)!.get(4)), 2000, 'the coil set on every unit');
    assert.equal(server.stats.broadcasts, 1);
    await assert.rejects(client.readCoils(0, 1, { unitId: 0 }), ModbusRequestError);
    assert.equal(client.stats.requests, sent + 1);
    assert.deepEqual(await client.readCoils(4, 1, { unitId: 1 }), [true]);
  });
});

/** A device on an RTU-over-TCP line whose answers a test writes by hand. */
async function scripted(answer: (unit: number, pdu: Buffer, socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const decoder = new RtuDecoder('request', (unit, pdu) => answer(unit, Buffer.from(pdu), socket), () => undefined);
    socket.on('data', (d: Buffer) => decoder.push(d));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('RTU client against a misbehaving line', T, () => {
  it('drops a reply with a wrong CRC (counted) and times out; the next reply is taken', async () => {
    let calls = 0;
    const device = await scripted((unit, _pdu, socket) => {
      const frame = encodeRtuFrame(unit, hex('03 02 0102'));
      if (calls++ === 0) frame[frame.length - 1]! ^= 0x40;
      socket.write(frame);
    });
    const client = new ModbusRtuClient({ host: HOST, port: device.port, timeout: 200 });
    try {
      await assert.rejects(client.readHoldingRegisters(0, 1), ModbusTimeoutError);
      assert.equal(client.stats.crcErrors, 1);
      assert.equal(client.stats.badFrames, 1);
      assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 1)), [0x0102]);
    } finally {
      await client.close();
      await device.close();
    }
  });

  it('drops a frame of another unit (counted) and takes the right one after it', async () => {
    const device = await scripted((unit, _pdu, socket) => {
      socket.write(Buffer.concat([encodeRtuFrame(unit + 1, hex('03 02 FFFF')), encodeRtuFrame(unit, hex('03 02 0042'))]));
    });
    const client = new ModbusRtuClient({ host: HOST, port: device.port, unitId: 5, timeout: 500 });
    try {
      assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 1)), [0x42]);
      assert.equal(client.stats.otherUnits, 1);
    } finally {
      await client.close();
      await device.close();
    }
  });

  it('a reply just too late is dropped while the line is held, never taken for the next request', async () => {
    let calls = 0;
    const device = await scripted((unit, _pdu, socket) => {
      const n = calls++;
      const frame = encodeRtuFrame(unit, hex(`03 02 00${n === 0 ? 'AA' : 'BB'}`));
      if (n === 0) setTimeout(() => socket.write(frame), 110);
      else socket.write(frame);
    });
    const client = new ModbusRtuClient({ host: HOST, port: device.port, timeout: 100, lateReplyGuard: 80 });
    try {
      const first = client.readHoldingRegisters(0, 1);
      const second = client.readHoldingRegisters(0, 1);
      await assert.rejects(first, ModbusTimeoutError);
      assert.deepEqual(Array.from(await second), [0xbb]);
      assert.equal(client.stats.unexpectedReplies, 1);
    } finally {
      await client.close();
      await device.close();
    }
  });
});

describe('RTU client: late replies after a timeout', T, () => {
  it('a late reply still coming holds the line: the next request leaves only after a full silence, never over it', async () => {
    let calls = 0;
    let lateEnd = 0;
    let secondAt = 0;
    const device = await scripted((unit, _pdu, socket) => {
      if (calls++ === 0) {
        // 125 registers, 255 bytes, starting 5 ms after the client's timeout, 16 bytes every 5 ms (a slow line's pace).
        const frame = encodeRtuFrame(unit, Buffer.concat([hex('03 FA'), Buffer.alloc(250, 0xaa)]));
        let at = 0;
        const dribble = (): void => {
          socket.write(frame.subarray(at, at + 16));
          at += 16;
          if (at < frame.length) setTimeout(dribble, 5);
          else lateEnd = performance.now();
        };
        setTimeout(dribble, 105);
        return;
      }
      secondAt = performance.now();
      socket.write(encodeRtuFrame(unit, Buffer.concat([hex('03 FA'), Buffer.alloc(250, 0xbb)])));
    });
    // The guard (60 ms) is shorter than the late reply (about 80 ms) and far longer than its 5 ms pauses.
    const client = new ModbusRtuClient({ host: HOST, port: device.port, timeout: 100, lateReplyGuard: 60 });
    try {
      const first = client.readHoldingRegisters(0, 125);
      const second = client.readHoldingRegisters(0, 125);
      await assert.rejects(first, ModbusTimeoutError);
      assert.deepEqual(Array.from(await second), new Array(125).fill(0xbbbb));
      assert.ok(lateEnd > 0 && secondAt >= lateEnd, `the second request came ${(lateEnd - secondAt).toFixed(1)} ms before the late reply's end`);
      assert.equal(client.stats.unexpectedReplies, 1, 'the late reply, whole, dropped');
    } finally {
      await client.close();
      await device.close();
    }
  });

  it('a late reply arriving after the next request is sent is told apart by its function and length: dropped, the request gets its own', async () => {
    const seen: number[] = [];
    const device = await scripted((unit, pdu, socket) => {
      const quantity = pdu.readUInt16BE(3);
      seen.push(quantity);
      // The first request (1 register) is answered only after the second (2 registers) arrived: late, and glued to the right reply.
      if (quantity === 2) socket.write(Buffer.concat([encodeRtuFrame(unit, hex('03 02 00AA')), encodeRtuFrame(unit, hex('03 04 00BB 00CC'))]));
    });
    const client = new ModbusRtuClient({ host: HOST, port: device.port, timeout: 100 });
    try {
      await assert.rejects(client.readHoldingRegisters(0, 1), ModbusTimeoutError);
      assert.deepEqual(Array.from(await client.readHoldingRegisters(0, 2)), [0xbb, 0xcc]);
      assert.deepEqual(seen, [1, 2]);
      assert.equal(client.stats.unexpectedReplies, 1);
      assert.equal(client.stats.protocolErrors, 0);
    } finally {
      await client.close();
      await device.close();
    }
  });
});

describe('RTU on a serial port (mock binding)', T, () => {
  // serialport's own instance of @serialport/binding-mock (an import of the package would be another one).
  const MockBinding = SerialPortMock.binding;
  const open = (o: { path: string; baudRate: number }): SerialPortLike => new SerialPortMock(o) as unknown as SerialPortLike;
  /** The binding's port under a SerialPortMock, to see what was written and to answer. */
  const binding = (p: SerialPortLike): { recording: Buffer; emitData(b: Buffer): void } =>
    (p as unknown as { port: { recording: Buffer; emitData(b: Buffer): void } }).port;

  it('writes the frame of the spec, takes the reply, keeps 3.5 characters of silence before the next request', async () => {
    MockBinding.createPort('/dev/rtu-test', { echo: false, record: true });
    let port: SerialPortLike | undefined;
    const client = new ModbusRtuClient({
      serial: { path: '/dev/rtu-test', baud: 1200, parity: 'none', dataBits: 8, stopBits: 1, openPort: (o) => (port = open(o)) },
      timeout: 1000,
    });
    try {
      await client.connect();
      const reading = client.readHoldingRegisters(0, 10);
      await until(() => binding(port!).recording.length === 8, 2000, 'the request on the wire');
      assert.deepEqual(binding(port!).recording, hex('01 03 0000 000A C5CD'));
      binding(port!).emitData(encodeRtuFrame(1, Buffer.concat([hex('03 14'), Buffer.alloc(20, 0x11)])));
      assert.deepEqual(Array.from(await reading), new Array(10).fill(0x1111));

      // The next request waits for t3.5 of silence after the reply's last byte (29 ms at 1200 baud, 8N1).
      const gap = lineTiming({ baud: 1200, parity: 'none', dataBits: 8, stopBits: 1 }).interFrameMs;
      const replied = performance.now();
      const next = client.writeSingleRegister(1, 5);
      await until(() => binding(port!).recording.length === 16, 2000, 'the second request on the wire');
      assert.ok(performance.now() - replied >= gap - 1, `sent ${(performance.now() - replied).toFixed(1)} ms after the reply; t3.5 is ${gap.toFixed(1)} ms`);
      binding(port!).emitData(encodeRtuFrame(1, hex('06 0001 0005')));
      await next;
    } finally {
      await client.close();
      MockBinding.reset();
    }
  });

  it('takes a reply that a USB adapter hands over in bursts 16 ms apart (its latency timer), longer than t3.5 at 9600 baud', async () => {
    MockBinding.createPort('/dev/rtu-usb', { echo: false, record: true });
    let port: SerialPortLike | undefined;
    const client = new ModbusRtuClient({ serial: { path: '/dev/rtu-usb', baud: 9600, parity: 'even', dataBits: 8, stopBits: 1, openPort: (o) => (port = open(o)) }, timeout: 1000 });
    try {
      await client.connect();
      const reading = client.readInputRegisters(0, 10);
      await until(() => binding(port!).recording.length === 8, 2000, 'the request on the wire');
      const reply = encodeRtuFrame(1, Buffer.concat([hex('04 14'), Buffer.alloc(20, 0x22)]));
      binding(port!).emitData(reply.subarray(0, 14));
      // The adapter's next burst, as its latency timer releases it: a stimulus, not a wait for a condition.
      setTimeout(() => binding(port!).emitData(reply.subarray(14)), 16);
      assert.deepEqual(Array.from(await reading), new Array(10).fill(0x2222));
      assert.equal(client.stats.badFrames, 0);
    } finally {
      await client.close();
      MockBinding.reset();
    }
  });

  it('opens the port with the line\'s parity, data and stop bits (a pty ignores them: real parity needs a UART)', async () => {
    assert.deepEqual(serialOpenOptions({ path: '/dev/ttyUSB0', baud: 19200, parity: 'even', dataBits: 8, stopBits: 1 }), {
      path: '/dev/ttyUSB0',
      baudRate: 19200,
      parity: 'even',
      dataBits: 8,
      stopBits: 1,
    });
    for (const [parity, stopBits] of [['none', 2], ['even', 1], ['odd', 1], ['odd', 2]] as const) {
      MockBinding.createPort('/dev/rtu-parity', { echo: false, record: true });
      const opened: SerialOpenOptions[] = [];
      const client = new ModbusRtuClient({
        serial: { path: '/dev/rtu-parity', baud: 9600, parity, dataBits: 8, stopBits, openPort: (o) => (opened.push(o), open(o)) },
        timeout: 1000,
      });
      try {
        await client.connect();
        assert.deepEqual(opened, [{ path: '/dev/rtu-parity', baudRate: 9600, parity, dataBits: 8, stopBits }]);
        assert.equal(client.transport.description, `/dev/rtu-parity 9600 8${parity[0]!.toUpperCase()}${stopBits}`);
      } finally {
        await client.close();
        MockBinding.reset();
      }
    }
  });

  it('a port that cannot be opened is a connection error that names it', async () => {
    MockBinding.reset();
    const client = new ModbusRtuClient({ serial: { path: '/dev/nothing', baud: 9600, parity: 'even', dataBits: 8, stopBits: 1, openPort: open }, reconnect: false });
    await assert.rejects(client.connect(), /cannot open \/dev\/nothing 9600 8E1/);
    await client.close();
  });
});
