/** The fine timer of serial lines: never before its time, close after it, cancellable, and it lets the process exit. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { preciseTimeout } from '../../src/modbus/precise-timer.js';
import { run } from '../helpers/process.js';

describe('precise timer', () => {
  it('fires each wait not before its time, in the order of their times; a cancelled one never', async () => {
    const fired: string[] = [];
    const early: string[] = [];
    const wait = (name: string, ms: number): Promise<void> =>
      new Promise((resolve) => {
        const t0 = performance.now();
        preciseTimeout(ms, () => {
          if (performance.now() - t0 < ms) early.push(`${name} after ${(performance.now() - t0).toFixed(3)} ms`);
          fired.push(name);
          resolve();
        });
      });
    const cancel = preciseTimeout(1, () => fired.push('cancelled'));
    cancel();
    await Promise.all([wait('c', 5), wait('a', 1.75), wait('b', 2.5), wait('zero', 0)]);
    assert.deepEqual(fired, ['zero', 'a', 'b', 'c']);
    assert.deepEqual(early, []);
  });

  it('a process with no wait pending exits (the thread does not hold it)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-timer-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'exits.mts');
    writeFileSync(script, `import { preciseTimeout } from '${new URL('../../src/modbus/precise-timer.ts', import.meta.url).pathname}';\npreciseTimeout(2, () => console.log('fired'));\n`);
    const r = await run(process.execPath, ['--import', 'tsx', script], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'fired');
  });
});
