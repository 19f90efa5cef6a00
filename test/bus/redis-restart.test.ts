/**
 * A private redis-server (append-only file, fsync always) restarted while
 * commands flow and values are published: no command lost, none run twice,
 * the live view back within 2 s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.js';
import type { CommandRequest } from '../../src/bus/types.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { command, outcome, value } from './contract.js';
import { privateRedis } from './redis-helpers.js';

describe('Redis restarted under load', { timeout: 90_000 }, () => {
  it('loses no command, runs none twice, and the live view is back within 2 s', async (t) => {
    const redis = await privateRedis(t, { persist: true });
    if (!redis) return;
    const url = redis.url;
    const prefix = 'planta:restart:';
    const web = await RedisBus.connect({ url, prefix, consumer: 'web', blockMs: 200 });
    const poller = await RedisBus.connect({ url, prefix, consumer: 'poller', devices: ['plc'], blockMs: 200 });
    t.after(async () => {
      await web.close();
      await poller.close();
    });

    const executed = new Map<string, number>();
    await poller.subscribeCommands((c) => {
      void (async () => {
        let claim;
        try {
          claim = await poller.claimCommand(c);
        } catch {
          // As the executor does: a claim that failed wrote nothing, and says so.
          await poller.publishCommandOutcome(outcome(c, 'failed'));
          return;
        }
        if (claim !== 'claimed') return;
        executed.set(c.id, (executed.get(c.id) ?? 0) + 1);
        await poller.publishCommandOutcome(outcome(c, 'confirmed'));
      })();
    });
    const finals = new Map<string, string>();
    await web.subscribeCommandOutcomes((o) => finals.set(o.id, o.status));
    const valuesAt: number[] = [];
    await web.subscribeValues(() => valuesAt.push(Date.now()));

    let publishing = true;
    let tick = 0;
    const publisher = (async () => {
      while (publishing) {
        await poller.publishValues([value('tick', tick++)]);
        // A pace, not a wait: a poller's scans, one batch every 50 ms.
        await sleep(50);
      }
    })();
    const submitted: CommandRequest[] = [];
    const refused: CommandRequest[] = [];
    let submitting = true;
    const submitter = (async () => {
      const pending: Promise<void>[] = [];
      while (submitting) {
        const c = command('plc', 15_000);
        pending.push(web.submitCommand(c).then(() => void submitted.push(c), () => void refused.push(c)));
        // A pace, not a wait: a command every 30 ms.
        await sleep(30);
      }
      await Promise.all(pending);
    })();

    const confirmedSince = (from: number): number => submitted.slice(from).filter((c) => finals.get(c.id) === 'confirmed').length;
    await waitFor('commands confirmed and values seen before the restart', () => confirmedSince(0) >= 30 && valuesAt.length >= 5, 20_000, 20);
    await redis.stop();
    // The outage itself, a fault of the test's making: 300 ms in which commands and values keep coming.
    await sleep(300);
    await redis.start();
    const backAt = Date.now();
    const acceptedBefore = submitted.length;
    const firstValue = await waitFor('a value after the restart', () => valuesAt.find((at) => at >= backAt), 5000, 10);
    await waitFor('commands accepted after the restart confirmed', () => confirmedSince(acceptedBefore) >= 30, 20_000, 20);
    submitting = false;
    publishing = false;
    await submitter;
    await publisher;
    await waitFor('an outcome for every command', () => submitted.every((c) => finals.has(c.id)), 20_000, 50);

    const twice = [...executed].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no command ran twice');
    assert.ok(submitted.length > 50, `${submitted.length} commands`);
    for (const c of submitted) {
      const status = finals.get(c.id);
      assert.ok(status === 'confirmed' || status === 'failed', `${c.id}: ${status}`);
      if (status === 'confirmed') assert.equal(executed.get(c.id), 1);
    }
    for (const c of refused) assert.ok((executed.get(c.id) ?? 0) <= 1);
    const liveAfter = firstValue - backAt;
    assert.ok(liveAfter < 2000, `live view back after ${liveAfter} ms`);
    const confirmed = submitted.filter((c) => finals.get(c.id) === 'confirmed').length;
    t.diagnostic(`${submitted.length} commands accepted (${confirmed} confirmed, ${submitted.length - confirmed} failed without a write), ${refused.length} refused at submit; live view back ${liveAfter} ms after Redis`);
  });
});
