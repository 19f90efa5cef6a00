/**
 * The values' path through Redis, by its structure (issue 25): a device scan
 * is one MULTI — one HSET of its device's hash with every value, one SADD,
 * one PUBLISH — each value serialised once for both; and a process that
 * follows only device statuses (a poller) is not subscribed to the value
 * notifications, so it never receives nor decodes the plant's changes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'redis';
import { decodeBatch, decodeValue, encodeBatch, encodeForHash, encodeValue } from '../../src/bus/redis/codec.js';
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
    assert.deepEqual(counts, { HSET: scans, SADD: scans, PUBLISH: scans });
    assert.deepEqual(seen.filter((c) => !['HSET', 'SADD', 'PUBLISH', 'XINFO'].includes(c)), [], 'nothing else per scan');
    const snap = await poller.snapshot();
    assert.equal(snap.length, 200);
    assert.ok(snap.every((v) => v.sourceTs === 5000));
  });

  it('the hash fields and the notification are the same serialisation (encodeForHash = encodeValue per field + encodeBatch)', () => {
    const values: TagValue[] = [
      { tag: 'a.b', value: 1.5, quality: 'Good', sourceTs: 1, serverTs: 2 },
      { tag: 'we"ird\\name', value: 'x"y\n', quality: 'Bad_Timeout', sourceTs: 3, serverTs: 4, exceptionCode: 2 },
      { tag: 'n', value: null, quality: 'Bad_WaitingForInitialData', sourceTs: 5, serverTs: 5 },
      { tag: 'b', value: true, quality: 'Good', sourceTs: 5, serverTs: 5 },
      { tag: 'nan', value: Number.NaN, quality: 'Good', sourceTs: 5, serverTs: 5 },
      { tag: 'big', value: 1e21, quality: 'Good', sourceTs: 5, serverTs: 5 },
      { tag: 'neg', value: -0, quality: 'Good', sourceTs: 5, serverTs: 5 },
    ];
    const { fields, batch } = encodeForHash(values);
    assert.equal(batch, encodeBatch(values));
    assert.deepEqual(fields, values.flatMap((v) => [v.tag, encodeValue(v)]));
    assert.deepEqual(decodeBatch(batch), decodeBatch(encodeBatch(values)));
    assert.deepEqual(decodeValue('a.b', fields[1]!), values[0]);
  });
});
