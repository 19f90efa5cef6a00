/**
 * The values' path through Redis, by its structure (issue 25): a device scan
 * is one MULTI — one HSET of its device's hash with every value, one SADD,
 * one PUBLISH — each value serialised once for both; a scan whose values are
 * plain goes as a frame (the web's stream delta, in the plant's tag space),
 * which a web node in the same space passes on without decoding it, and one
 * in another space decodes with the names the poller left in Redis; and a
 * process that follows only device statuses (a poller) is not subscribed to
 * the value notifications, so it never receives nor decodes the plant's changes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { decodeBatch, decodeValue, encodeBatch, encodeScan, encodeValue, frameValues, isFrame, parseFrame } from '../../src/bus/redis/codec.js';
import type { ValueFrame } from '../../src/bus/types.js';
import { tagSpace } from '../../src/tags/space.js';
import type { TagValue } from '../../src/tags/types.js';
import { waitFor } from '../helpers/wait.js';
import { REDIS_URL, needRedis, redisBus, testPrefix } from './redis-helpers.js';

const scan = (device: string, n: number, ts: number): TagValue[] =>
  Array.from({ length: n }, (_, i) => ({ tag: `${device}.r${i}`, value: i * ts, quality: 'Good', sourceTs: ts, serverTs: ts }));

describe('the values through Redis', { timeout: 30_000 }, () => {
  it('a process following only device statuses is not subscribed to value notifications; one following values is', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'channels');
    const poller = await redisBus(t, { prefix, tagDevices: new Map(scan('d1', 3, 0).map((v) => [v.tag, 'd1'])) });
    await poller.subscribeDeviceStatus(() => undefined);
    await poller.subscribeLink(() => undefined);
    const admin = createClient({ url: REDIS_URL });
    await admin.connect();
    t.after(() => admin.close());
    const numsub = async (channel: string): Promise<number> => Number(((await admin.sendCommand(['PUBSUB', 'NUMSUB', prefix + channel])) as unknown[])[1]);
    assert.equal(await numsub('devices'), 1);
    assert.equal(await numsub('values'), 0, 'the poller does not receive every value change of the plant');
    assert.equal(await numsub('alarms'), 0);

    const web = await redisBus(t, { prefix });
    const got: TagValue[][] = [];
    await web.subscribeValues((batch) => got.push(batch));
    assert.equal(await numsub('values'), 1);
    await poller.publishValues(scan('d1', 3, 5000), { device: 'd1', upTo: 5000 });
    await waitFor('the web bus gets the scan', () => got.length === 1);
    assert.deepEqual(got[0], scan('d1', 3, 5000));
  });

  it('a device scan is one MULTI: one HSET of the device hash, one SADD, one PUBLISH', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'scan');
    const tags = scan('d1', 200, 0);
    const poller = await redisBus(t, { prefix, tagDevices: new Map(tags.map((v) => [v.tag, 'd1'])) });
    const monitor = createClient({ url: REDIS_URL });
    await monitor.connect();
    t.after(() => monitor.close());
    const seen: string[] = [];
    // Commands that touch this test's keys (the prefix is unique), and the transactions of the poller's connection.
    await monitor.monitor((line: string) => {
      if (line.includes(prefix)) seen.push(/"(\w+)"/.exec(line)?.[1]?.toUpperCase() ?? '?');
    });
    const scans = 5;
    for (let n = 1; n <= scans; n++) await poller.publishValues(scan('d1', 200, 1000 * n), { device: 'd1', upTo: 1000 * n });
    await waitFor('every scan seen', () => seen.filter((c) => c === 'PUBLISH').length === scans);
    const counts = Object.fromEntries(['HSET', 'SADD', 'PUBLISH'].map((c) => [c, seen.filter((x) => x === c).length]));
    // One more HSET, before the first frame only: the tag space's names (P tag-spaces).
    assert.deepEqual(counts, { HSET: scans + 1, SADD: scans, PUBLISH: scans });
    assert.deepEqual(seen.filter((c) => !['HSET', 'SADD', 'PUBLISH', 'XINFO'].includes(c)), [], 'nothing else per scan');
    const snap = await poller.snapshot();
    assert.equal(snap.length, 200);
    assert.ok(snap.every((v) => v.sourceTs === 5000));
  });

  it('the hash fields and the notification are the same serialisation; plain values in the space go as a frame', () => {
    const values: TagValue[] = [
      { tag: 'a.b', value: 1.5, quality: 'Good', sourceTs: 1, serverTs: 2 },
      { tag: 'we"ird\\name', value: 'x"y\n', quality: 'Bad_Timeout', sourceTs: 3, serverTs: 4, exceptionCode: 2 },
      { tag: 'n', value: null, quality: 'Bad_WaitingForInitialData', sourceTs: 5, serverTs: 5 },
      { tag: 'b', value: true, quality: 'Good', sourceTs: 5, serverTs: 5 },
      { tag: 'nan', value: Number.NaN, quality: 'Good', sourceTs: 5, serverTs: 5 },
      { tag: 'big', value: 1e21, quality: 'Good', sourceTs: 5, serverTs: 5 },
      { tag: 'neg', value: -0, quality: 'Good', sourceTs: 5, serverTs: 5 },
    ];
    const fieldsOf = (vs: TagValue[]): string[] => vs.flatMap((v) => [v.tag, encodeValue(v)]);
    const space = tagSpace(['zero', ...values.map((v) => v.tag)]);
    // Not plain (a value missing, a tag waiting, several server times): rows, whether there is a space or not.
    for (const s of [undefined, space]) {
      const { hset, message, rows } = encodeScan(values, 'P values:plc', 'plc', s);
      assert.equal(rows(), message);
      assert.deepEqual(hset.slice(0, 2), ['HSET', 'P values:plc']);
      const fields = hset.slice(2);
      assert.equal(message, encodeBatch(values));
      assert.deepEqual(fields, fieldsOf(values));
      assert.deepEqual(decodeBatch(message), decodeBatch(encodeBatch(values)));
      assert.deepEqual(decodeValue('a.b', fields[1]!), values[0]);
    }

    const plain: TagValue[] = [
      { tag: 'a.b', value: 1.5, quality: 'Good', sourceTs: 5, serverTs: 6 },
      { tag: 'we"ird\\name', value: 'x"y\n', quality: 'Bad_Timeout', sourceTs: 3, serverTs: 6, exceptionCode: 2 },
      { tag: 'b', value: true, quality: 'Uncertain_EngineeringUnitsExceeded', sourceTs: 5, serverTs: 6 },
      { tag: 'neg', value: -7, quality: 'Good', sourceTs: 4, serverTs: 6 },
    ];
    const { hset, message, rows } = encodeScan(plain, 'P values:plc', 'plc', space);
    assert.deepEqual(hset.slice(2), fieldsOf(plain));
    assert.equal(rows(), encodeBatch(plain), 'the samples stream gets the rows, made of the hash texts');
    assert.ok(isFrame(message));
    const frame = parseFrame(message);
    assert.deepEqual({ ...frame, delta: undefined }, { space: space.id, device: 'plc', t: 5, serverTs: 6, delta: undefined });
    // The delta is what the web's hub makes of these values: [index, value] when Good at the event's time, else with quality and time.
    assert.deepEqual(JSON.parse(frame.delta), {
      t: 5,
      values: [
        [1, 1.5],
        [2, 'x"y\n', 'Bad_Timeout', 3, 2],
        [4, true, 'Uncertain_EngineeringUnitsExceeded', 5],
        [7, -7, 'Good', 4],
      ],
    });
    assert.deepEqual(frameValues(frame, space.names), plain);
    // A tag outside the space: rows.
    assert.equal(encodeScan([...plain, { tag: 'other', value: 1, quality: 'Good', sourceTs: 5, serverTs: 6 }], 'k', 'plc', space).message[0], '[');
  });

  it('a web node in the poller\'s tag space takes the frame as it is; one in another space decodes it with the names left in Redis', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'frames');
    const tags = scan('d1', 5, 0);
    const poller = await redisBus(t, { prefix, tagDevices: new Map(tags.map((v) => [v.tag, 'd1'])) });
    const same = await redisBus(t, { prefix, tagDevices: new Map(tags.map((v) => [v.tag, 'd1'])) });
    // Another configuration: a tag more, in another order.
    const other = await redisBus(t, { prefix, tagDevices: new Map(['extra', ...tags.map((v) => v.tag).reverse()].map((n) => [n, 'd1'])) });
    const frames: ValueFrame[] = [];
    const sameValues: TagValue[][] = [];
    const plainValues: TagValue[][] = [];
    const otherValues: TagValue[][] = [];
    await same.subscribeValues((b) => sameValues.push(b), (f) => frames.push(f));
    await same.subscribeValues((b) => plainValues.push(b));
    await other.subscribeValues((b) => otherValues.push(b), () => assert.fail('a frame in another space is never passed on as one'));
    for (let n = 1; n <= 3; n++) await poller.publishValues(scan('d1', 5, 1000 * n), { device: 'd1', upTo: 1000 * n });
    await waitFor('every scan at every subscriber', () => frames.length === 3 && plainValues.length === 3 && otherValues.length === 3);
    assert.equal(sameValues.length, 0, 'a subscriber that takes frames gets each scan once, as a frame');
    assert.deepEqual(frames.map((f) => f.values()), [1, 2, 3].map((n) => scan('d1', 5, 1000 * n)));
    assert.deepEqual(frames[0]!.device, 'd1');
    assert.equal(frames[0]!.space, tagSpace(tags.map((v) => v.tag)).id);
    assert.deepEqual(plainValues, [1, 2, 3].map((n) => scan('d1', 5, 1000 * n)));
    assert.deepEqual(otherValues, [1, 2, 3].map((n) => scan('d1', 5, 1000 * n)), 'decoded in order with the poller\'s names');

    // A value that is not plain goes as rows, to everyone.
    await poller.publishValues([{ tag: 'd1.r0', value: null, quality: 'Bad_Timeout', sourceTs: 9000, serverTs: 9000 }], { device: 'd1', upTo: 9000 });
    await waitFor('the rows at every subscriber', () => sameValues.length === 1 && otherValues.length === 4);
    assert.equal(frames.length, 3);
  });

  it('a frame in a space Redis lost: the values are read again from the hashes', async (t) => {
    if (!(await needRedis(t))) return;
    const prefix = testPrefix(t, 'lost-space');
    const tags = scan('d1', 4, 0);
    const poller = await redisBus(t, { prefix, tagDevices: new Map(tags.map((v) => [v.tag, 'd1'])) });
    await poller.publishValues(scan('d1', 4, 1000), { device: 'd1', upTo: 1000 });
    const admin = createClient({ url: REDIS_URL });
    await admin.connect();
    t.after(() => admin.close());
    assert.equal(await admin.del(`${prefix}tag-spaces`), 1);
    const other = await redisBus(t, { prefix, tagDevices: new Map(tags.map((v) => [v.tag, 'd1']).reverse() as [string, string][]) });
    const got: [TagValue[], boolean][] = [];
    await other.subscribeValues((b, info) => got.push([b, info.resync]));
    await poller.publishValues(scan('d1', 4, 2000), { device: 'd1', upTo: 2000 });
    await waitFor('the state read again', () => got.length === 1);
    assert.equal(got[0]![1], true, 'handed over as the whole state');
    assert.deepEqual(
      got[0]![0].sort((a, b) => a.tag.localeCompare(b.tag)),
      scan('d1', 4, 2000).sort((a, b) => a.tag.localeCompare(b.tag)),
    );
  });
});
