/**
 * RTU framing: the CRC against the spec's examples, the line timing from the
 * baud rate, and the incremental decoder under every way a line or a TCP
 * stream can split and glue frames, with bad CRCs, impossible lengths,
 * unknown functions ended by a silence, and noise before good frames.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  RTU_MAX_FRAME,
  RtuDecoder,
  type RtuErrorKind,
  type RtuRole,
  crc16,
  crcMatches,
  encodeException,
  encodeRequest,
  encodeResponse,
  encodeRtuFrame,
  lineTiming,
} from '../../src/modbus/index.js';
import { requestAndResponse } from './arbitraries.js';
import { split, until } from './helpers.js';

const T = { timeout: 60_000 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Frame {
  unit: number;
  pdu: Buffer;
}

function recorder(role: RtuRole): { decoder: RtuDecoder; frames: Frame[]; errors: RtuErrorKind[]; maxBuffered: number; push(c: Buffer): void } {
  const frames: Frame[] = [];
  const errors: RtuErrorKind[] = [];
  const decoder = new RtuDecoder(role, (unit, pdu) => frames.push({ unit, pdu: Buffer.from(pdu) }), (kind) => errors.push(kind));
  const r = {
    decoder,
    frames,
    errors,
    maxBuffered: 0,
    push(c: Buffer) {
      decoder.push(c);
      r.maxBuffered = Math.max(r.maxBuffered, decoder.buffered);
    },
  };
  return r;
}

const unit = fc.integer({ min: 1, max: 247 });

/** A request frame and its response frame (or an exception), as a server and a client see them. */
const exchange = fc.tuple(unit, requestAndResponse, fc.option(fc.integer({ min: 1, max: 11 }), { nil: undefined })).map(([u, [req, res], exception]) => ({
  unit: u,
  request: encodeRequest(req),
  response: exception === undefined ? encodeResponse(res) : encodeException(req.fc, exception),
}));

describe('RTU: CRC-16/Modbus', () => {
  it('matches the examples of the spec and of common devices', () => {
    // Modbus over Serial Line v1.02, and the classic "read 10 holding registers of unit 1".
    assert.deepEqual(encodeRtuFrame(0x11, hex('03 006B 0003')), hex('11 03 006B 0003 7687'));
    assert.deepEqual(encodeRtuFrame(1, hex('03 0000 000A')), hex('01 03 0000 000A C5CD'));
    assert.equal(crc16(Buffer.from('123456789')), 0x4b37);
    assert.ok(crcMatches(hex('01 03 0000 000A C5CD'), 0, 8));
    assert.ok(!crcMatches(hex('01 03 0000 000A CDC5'), 0, 8));
  });

  it('property: any single-bit flip of a frame fails its CRC, and the decoder never takes the flipped frame', T, () => {
    fc.assert(
      fc.property(exchange, fc.boolean(), fc.nat(), (x, asRequest, at) => {
        const frame = encodeRtuFrame(x.unit, asRequest ? x.request : x.response);
        const bit = at % (frame.length * 8);
        const flipped = Buffer.from(frame);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        assert.ok(!crcMatches(flipped, 0, flipped.length), `bit ${bit} of ${frame.toString('hex')}`);
        const r = recorder(asRequest ? 'request' : 'response');
        r.push(flipped);
        r.decoder.endOfFrame();
        // Bytes inside it may by chance look like a shorter frame; the flipped frame itself is never taken.
        assert.ok(!r.frames.some((f) => f.pdu.length === frame.length - 3), 'the corrupted frame was taken');
        assert.ok(r.errors.length >= 1, 'the bad frame is reported');
        assert.equal(r.decoder.buffered, 0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('RTU: line timing', () => {
  it('3.5 characters from the baud rate, fixed at 1.75 ms above 19200 baud', () => {
    const t9600 = lineTiming({ baud: 9600, parity: 'even', dataBits: 8, stopBits: 1 });
    assert.ok(Math.abs(t9600.charMs - 11 / 9.6) < 1e-9);
    assert.ok(Math.abs(t9600.interFrameMs - (3.5 * 11) / 9.6) < 1e-9);
    assert.ok(Math.abs(t9600.interCharMs - (1.5 * 11) / 9.6) < 1e-9);
    const t19200 = lineTiming({ baud: 19200, parity: 'none', dataBits: 8, stopBits: 1 });
    assert.ok(Math.abs(t19200.interFrameMs - (3.5 * 10) / 19.2) < 1e-9, '8N1: ten bits per character');
    // Eleven bits a character with a parity bit (8E1, 8O1) or two stop bits (8N2): t3.5 = 38.5 bit times.
    for (const f of [
      { parity: 'even', stopBits: 1 },
      { parity: 'odd', stopBits: 1 },
      { parity: 'none', stopBits: 2 },
    ] as const) {
      const t = lineTiming({ baud: 19200, dataBits: 8, ...f });
      assert.ok(Math.abs(t.charMs - 11 / 19.2) < 1e-9, `${f.parity}/${f.stopBits}: 11 bits`);
      assert.ok(Math.abs(t.interFrameMs - 38.5 / 19.2) < 1e-9);
    }
    assert.ok(Math.abs(lineTiming({ baud: 9600, parity: 'odd', dataBits: 8, stopBits: 2 }).charMs - 12 / 9.6) < 1e-9, '8O2: 12 bits');
    for (const baud of [38400, 115200, 921600]) {
      const t = lineTiming({ baud, parity: 'none', dataBits: 8, stopBits: 2 });
      assert.equal(t.interFrameMs, 1.75);
      assert.equal(t.interCharMs, 0.75);
      assert.ok(Math.abs(t.charMs - 11_000 / baud) < 1e-9);
    }
  });
});

describe('RTU: the incremental decoder', () => {
  it('property: any split of a run of frames decodes the same frames (requests and responses)', T, () => {
    fc.assert(
      fc.property(fc.array(exchange, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 40 }), (xs, asRequest, cuts) => {
        const role: RtuRole = asRequest ? 'request' : 'response';
        const frames = xs.map((x) => ({ unit: x.unit, pdu: asRequest ? x.request : x.response }));
        const stream = Buffer.concat(frames.map((f) => encodeRtuFrame(f.unit, f.pdu)));
        const r = recorder(role);
        for (const chunk of split(stream, cuts)) r.push(chunk);
        assert.deepEqual(r.frames, frames);
        assert.deepEqual(r.errors, []);
        assert.equal(r.decoder.buffered, 0);
        assert.ok(r.maxBuffered < RTU_MAX_FRAME);
      }),
      { numRuns: 1000 },
    );
  });

  it('takes frames byte by byte and all glued in one read', () => {
    const a = encodeRtuFrame(1, hex('03 0000 000A'));
    const b = encodeRtuFrame(2, hex('10 0005 0003 06 0001 0002 0003'));
    const c = encodeRtuFrame(3, hex('17 0000 0002 0010 0001 02 ABCD'));
    const byByte = recorder('request');
    for (const byte of Buffer.concat([a, b, c])) byByte.push(Buffer.from([byte]));
    const glued = recorder('request');
    glued.push(Buffer.concat([a, b, c]));
    const want = [
      { unit: 1, pdu: hex('03 0000 000A') },
      { unit: 2, pdu: hex('10 0005 0003 06 0001 0002 0003') },
      { unit: 3, pdu: hex('17 0000 0002 0010 0001 02 ABCD') },
    ];
    assert.deepEqual(byByte.frames, want);
    assert.deepEqual(glued.frames, want);
  });

  it('drops a frame with a bad CRC (reported once) and finds the good one after it, at the latest at the silence', () => {
    const bad = encodeRtuFrame(1, hex('03 02 1234'));
    bad[bad.length - 1]! ^= 0xff;
    const good = encodeRtuFrame(1, hex('03 04 0001 0002'));
    const r = recorder('response');
    r.push(Buffer.concat([bad, good]));
    // The bytes after the bad CRC seem to announce a longer frame: only the silence settles it.
    r.decoder.endOfFrame();
    assert.deepEqual(r.errors, ['crc']);
    assert.deepEqual(r.frames, [{ unit: 1, pdu: hex('03 04 0001 0002') }]);
  });

  it('property: noise before a frame, ended by a silence, never hides the frame that follows it', T, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), exchange, (noise, x) => {
        const r = recorder('response');
        r.push(Buffer.from(noise));
        r.decoder.endOfFrame();
        r.push(encodeRtuFrame(x.unit, x.response));
        assert.deepEqual(r.frames.at(-1), { unit: x.unit, pdu: x.response });
        assert.equal(r.decoder.buffered, 0);
        assert.ok(r.maxBuffered <= RTU_MAX_FRAME + 1);
      }),
      { numRuns: 1000 },
    );
  });

  it('a frame of an unknown function ends at the silence; a cut-short one is dropped there', () => {
    const r = recorder('request');
    const unknown = encodeRtuFrame(7, hex('2B 0E 01 00'));
    r.push(unknown);
    assert.deepEqual(r.frames, [], 'its length cannot be told from its bytes');
    r.decoder.endOfFrame();
    assert.deepEqual(r.frames, [{ unit: 7, pdu: hex('2B 0E 01 00') }]);
    r.push(encodeRtuFrame(1, hex('03 0000 000A')).subarray(0, 5));
    r.decoder.endOfFrame();
    assert.deepEqual(r.errors, ['incomplete']);
    assert.equal(r.decoder.buffered, 0);
  });

  it('refuses a byte count that makes a frame longer than 256 bytes', () => {
    const r = recorder('request');
    // FC16 with byte count 250: 9 + 250 = 259 bytes.
    r.push(hex('01 10 0000 007D FA'));
    assert.deepEqual(r.errors, ['length']);
  });

  it('watches the silence itself when given the gap', async () => {
    const frames: Frame[] = [];
    const decoder = new RtuDecoder('request', (unit, pdu) => frames.push({ unit, pdu: Buffer.from(pdu) }), () => undefined, { gapMs: 2 });
    decoder.push(encodeRtuFrame(9, hex('41 00')));
    await until(() => frames.length > 0, 2000, 'the frame after the silence');
    assert.deepEqual(frames, [{ unit: 9, pdu: hex('41 00') }]);
  });
});
