/**
 * MBAP framing: header layout, and the incremental decoder under every way a
 * TCP stream can be split, with bad protocol ids, impossible lengths and
 * random bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MBAP_HEADER_LENGTH,
  MbapDecoder,
  allocFrame,
  encodeFrame,
  type FrameErrorKind,
} from '../../src/modbus/index.js';
import { split } from './helpers.js';

const T = { timeout: 30_000 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Frame {
  tid: number;
  unit: number;
  pdu: Buffer;
}

/** A decoder that records frames and errors, checking its buffer bound after every push. */
function recorder(): { decoder: MbapDecoder; frames: Frame[]; errors: FrameErrorKind[]; push(c: Buffer): void; maxBuffered: number } {
  const frames: Frame[] = [];
  const errors: FrameErrorKind[] = [];
  const decoder = new MbapDecoder(
    (tid, unit, pdu) => frames.push({ tid, unit, pdu }),
    (kind) => errors.push(kind),
  );
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

const frameArb: fc.Arbitrary<Frame> = fc.record({
  tid: fc.integer({ min: 0, max: 0xffff }),
  unit: fc.integer({ min: 0, max: 0xff }),
  pdu: fc.uint8Array({ minLength: 1, maxLength: 253 }).map((a) => Buffer.from(a)),
});

const plain = (f: Frame): Frame => ({ tid: f.tid, unit: f.unit, pdu: Buffer.from(f.pdu) });

describe('MBAP framing', () => {
  it('encodes the header as the spec shows it', T, () => {
    // Read holding registers 108-110 of unit 0x11, transaction 1.
    assert.deepEqual(encodeFrame(1, 0x11, hex('03 006B 0003')), hex('0001 0000 0006 11 03 006B 0003'));
    assert.deepEqual(encodeFrame(0xffff, 0xff, hex('81 02')), hex('FFFF 0000 0003 FF 81 02'));
    const f = allocFrame(0x1234, 7, 5);
    assert.equal(f.length, MBAP_HEADER_LENGTH + 5);
    assert.deepEqual(f.subarray(0, 7), hex('1234 0000 0006 07'));
  });

  it('decodes a frame and hands PDUs that stay valid after further pushes', T, () => {
    const r = recorder();
    const a = encodeFrame(1, 2, hex('03 02 1234'));
    const b = encodeFrame(2, 2, hex('03 02 5678'));
    r.push(Buffer.concat([a, b.subarray(0, 4)]));
    r.push(b.subarray(4));
    r.push(encodeFrame(3, 2, hex('03 02 9ABC')));
    assert.deepEqual(r.frames.map(plain), [
      { tid: 1, unit: 2, pdu: hex('03 02 1234') },
      { tid: 2, unit: 2, pdu: hex('03 02 5678') },
      { tid: 3, unit: 2, pdu: hex('03 02 9ABC') },
    ]);
    assert.equal(r.decoder.buffered, 0);
  });

  it('says "need more bytes" (buffers, no error) for every strict prefix of a frame', T, () => {
    const frame = encodeFrame(9, 1, hex('10 0001 0002 04 000A 0102'));
    for (let n = 0; n < frame.length; n++) {
      const r = recorder();
      r.push(frame.subarray(0, n));
      assert.equal(r.frames.length, 0);
      assert.deepEqual(r.errors, []);
      assert.equal(r.decoder.buffered, n);
      r.push(frame.subarray(n));
      assert.equal(r.frames.length, 1);
      assert.equal(r.decoder.buffered, 0);
    }
  });

  it('property: any split of a stream of valid frames yields the same frames', T, () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 0, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.tid, f.unit, f.pdu)));
        const r = recorder();
        for (const chunk of split(stream, cuts)) r.push(chunk);
        assert.deepEqual(r.frames.map(plain), frames.map(plain));
        assert.deepEqual(r.errors, []);
        assert.equal(r.decoder.buffered, 0);
        assert.ok(r.maxBuffered < 260);
      }),
      { numRuns: 500 },
    );
  });

  it('property: one byte at a time, and all frames in one chunk, yield the same frames', T, () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), (frames) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.tid, f.unit, f.pdu)));
        const bytewise = recorder();
        for (let i = 0; i < stream.length; i++) bytewise.push(stream.subarray(i, i + 1));
        const whole = recorder();
        whole.push(stream);
        assert.deepEqual(bytewise.frames.map(plain), frames.map(plain));
        assert.deepEqual(whole.frames.map(plain), frames.map(plain));
        assert.equal(bytewise.maxBuffered, Math.max(...frames.map((f) => 6 + f.pdu.length)));
      }),
      { numRuns: 200 },
    );
  });

  it('the largest legal frame (260 bytes) decodes; buffered bytes stay below 260', T, () => {
    const pdu = Buffer.alloc(253, 0x5a);
    pdu[0] = 3;
    const frame = encodeFrame(0xabcd, 0x01, pdu);
    assert.equal(frame.length, 260);
    const r = recorder();
    for (let i = 0; i < frame.length; i++) r.push(frame.subarray(i, i + 1));
    assert.equal(r.frames.length, 1);
    assert.equal(r.maxBuffered, 259);
  });

  it('a frame with protocol id ≠ 0 is skipped with a protocol error; following frames still decode', T, () => {
    const bad = hex('0005 0001 0006 01 03 0000 0001');
    const good = encodeFrame(6, 1, hex('03 0000 0001'));
    const splits: Buffer[][] = [[Buffer.concat([bad, good])], [bad, good], [...[...bad].map((x) => Buffer.from([x])), good]];
    for (const chunks of splits) {
      const r = recorder();
      for (const c of chunks) r.push(c);
      assert.deepEqual(r.errors, ['protocol']);
      assert.deepEqual(r.frames.map(plain), [{ tid: 6, unit: 1, pdu: hex('03 0000 0001') }]);
    }
  });

  it('an impossible length (0, 1, 255, 300, 65535) is a length error; buffered bytes are dropped', T, () => {
    for (const len of [0, 1, 255, 300, 0xffff]) {
      const r = recorder();
      const header = Buffer.from([0, 1, 0, 0, len >> 8, len & 0xff]);
      r.push(Buffer.concat([header, Buffer.alloc(10, 3)]));
      assert.deepEqual(r.errors, ['length'], `length ${len}`);
      assert.equal(r.frames.length, 0);
      assert.equal(r.decoder.buffered, 0);
      // After the error the decoder starts afresh on the next chunk.
      r.push(encodeFrame(2, 1, hex('03 0000 0001')));
      assert.equal(r.frames.length, 1);
    }
  });

  it('the length error is reported as soon as the length field is complete (6 bytes)', T, () => {
    const r = recorder();
    r.push(hex('0001 0000 01'));
    assert.deepEqual(r.errors, []);
    r.push(hex('2C'));
    assert.deepEqual(r.errors, ['length']);
  });

  it('lengths 2 and 254 are the legal extremes', T, () => {
    const r = recorder();
    r.push(hex('0001 0000 0002 01 07'));
    r.push(Buffer.concat([hex('0002 0000 00FE 01'), Buffer.alloc(253, 1)]));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.frames.map((f) => f.pdu.length),
      [1, 253],
    );
  });

  it('frames decoded before an error in the same chunk are kept', T, () => {
    const r = recorder();
    r.push(Buffer.concat([encodeFrame(1, 1, hex('03 0000 0001')), hex('0002 0000 0000')]));
    assert.equal(r.frames.length, 1);
    assert.deepEqual(r.errors, ['length']);
  });

  it('reset() drops a partial frame', T, () => {
    const r = recorder();
    const f = encodeFrame(1, 1, hex('03 0000 0001'));
    r.push(f.subarray(0, 5));
    assert.equal(r.decoder.buffered, 5);
    r.decoder.reset();
    assert.equal(r.decoder.buffered, 0);
    r.push(f);
    assert.equal(r.frames.length, 1);
  });

  it('property: good frames mixed with protocol ≠ 0 frames, any split: every good frame, one error per bad frame', T, () => {
    const item = fc.record({ frame: frameArb, protocol: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff })) });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 15 }), fc.array(fc.nat(), { maxLength: 30 }), (items, cuts) => {
        const stream = Buffer.concat(
          items.map(({ frame, protocol }) => {
            const b = encodeFrame(frame.tid, frame.unit, frame.pdu);
            b.writeUInt16BE(protocol, 2);
            return b;
          }),
        );
        const r = recorder();
        for (const chunk of split(stream, cuts)) r.push(chunk);
        assert.deepEqual(
          r.frames.map(plain),
          items.filter((i) => i.protocol === 0).map((i) => plain(i.frame)),
        );
        assert.equal(r.errors.length, items.filter((i) => i.protocol !== 0).length);
        assert.ok(r.errors.every((e) => e === 'protocol'));
      }),
      { numRuns: 300 },
    );
  });

  it('property: random bytes in random chunks never throw and never buffer 260 bytes or more', T, () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 30 }), (chunks) => {
        const r = recorder();
        for (const c of chunks) r.push(Buffer.from(c));
        assert.ok(r.maxBuffered < 260, `buffered ${r.maxBuffered}`);
        for (const f of r.frames) assert.ok(f.pdu.length >= 1 && f.pdu.length <= 253);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: valid-looking headers with random lengths never buffer 260 bytes or more', T, () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 300 }), fc.nat({ max: 400 })), { maxLength: 20 }),
        (parts) => {
          const r = recorder();
          for (const [proto, len, bodyLen] of parts) {
            const head = Buffer.from([0, 1, proto >> 8, proto & 0xff, len >> 8, len & 0xff]);
            r.push(Buffer.concat([head, Buffer.alloc(bodyLen, 0)]));
          }
          assert.ok(r.maxBuffered < 260, `buffered ${r.maxBuffered}`);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
