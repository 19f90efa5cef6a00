/** The HMI's SSE parser: the event-stream format, whatever way the bytes are split. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type SseMessage, SseParser } from '../../hmi/src/live/sse-parser.js';

function parse(chunks: string[]): { events: SseMessage[]; comments: string[]; retries: number[] } {
  const events: SseMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const p = new SseParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c), onRetry: (r) => retries.push(r) });
  for (const c of chunks) p.push(c);
  return { events, comments, retries };
}

const STREAM =
  'retry: 2000\n\n' +
  'id: k1.0\nevent: snapshot\ndata: {"a":1}\n\n' +
  ': heartbeat\n\n' +
  'id: k1.1\r\nevent: delta\r\ndata: line one\r\ndata: line two\r\n\r\n' +
  'data:no space\rdata:  two spaces\r\r' +
  'event: ignored-without-data\n\n' +
  'id: k1.2\nevent: devices\ndata\nunknown: field\n\n';

const EXPECTED: SseMessage[] = [
  { id: 'k1.0', event: 'snapshot', data: '{"a":1}' },
  { id: 'k1.1', event: 'delta', data: 'line one\nline two' },
  { id: undefined, event: 'message', data: 'no space\n two spaces' },
  { id: 'k1.2', event: 'devices', data: '' },
];

describe('SSE parser', () => {
  it('reads events, comments and retry in one piece', () => {
    const r = parse([STREAM]);
    assert.deepEqual(r.events, EXPECTED);
    assert.deepEqual(r.comments, ['heartbeat']);
    assert.deepEqual(r.retries, [2000]);
  });

  it('gives the same result for any split of the stream (CRLF split included)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 30 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: string[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(STREAM.slice(last, p));
          last = p;
        }
        chunks.push(STREAM.slice(last));
        const r = parse(chunks);
        assert.deepEqual(r.events, EXPECTED);
        assert.deepEqual(r.comments, ['heartbeat']);
      }),
      { numRuns: 500 },
    );
  });

  it('splits at every single character', () => {
    assert.deepEqual(parse([...STREAM]).events, EXPECTED);
  });

  it('forgets a partial event on reset', () => {
    const events: SseMessage[] = [];
    const p = new SseParser({ onEvent: (e) => events.push(e) });
    p.push('id: 1\nevent: delta\ndata: half');
    p.reset();
    p.push('data: whole\n\n');
    assert.deepEqual(events, [{ id: undefined, event: 'message', data: 'whole' }]);
  });
});
