/** What the store acknowledged survives a close without flush and a kill -9; nothing comes back twice. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Historian } from '../../src/historian/historian.js';
import { SqliteStore } from '../../src/historian/sqlite.js';

const T0 = Date.UTC(2026, 0, 1);

function tempDb(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'planta-historian-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'history.db');
}

async function checkAll(path: string, samplesPerTag: number): Promise<void> {
  const store = new SqliteStore(path);
  try {
    for (let k = 0; k < 10; k++) {
      const s = await store.readRaw(`t${k}`, T0, T0 + 1e12);
      assert.ok(s.n >= samplesPerTag, `t${k}: ${s.n} < ${samplesPerTag}`);
      for (let n = 0; n < s.n; n++) {
        assert.equal(s.ts[n], T0 + n * 1000, `t${k} #${n}: no duplicate, no hole`);
        assert.equal(s.v[n], n * 10 + k);
      }
    }
  } finally {
    await store.close();
  }
}

describe('historian restart', { timeout: 60_000 }, () => {
  it('a close without flush keeps every acknowledged sample (sealed blocks and journal), replays without duplicates', async (t) => {
    const path = tempDb(t);
    const store = new SqliteStore(path, { blockSize: 64 });
    const h = new Historian({ store, maxIntervalMs: 3_600_000 });
    const put = (from: number, to: number): void => {
      for (let n = from; n < to; n++) h.ingest(Array.from({ length: 10 }, (_, k) => ({ tag: `t${k}`, value: n * 10 + k, quality: 'Good' as const, sourceTs: T0 + n * 1000, serverTs: 0 })));
    };
    put(0, 1000); // 15 sealed blocks of 64 and 40 in the journal, per tag
    await h.flush();
    put(1000, 1010); // never acknowledged
    store.abandon();
    await checkAll(path, 1000);
    // Reopened: the journal's samples are in memory again; more data seals them, once.
    const again = new SqliteStore(path, { blockSize: 64 });
    const h2 = new Historian({ store: again, maxIntervalMs: 3_600_000 });
    for (let n = 1000; n < 1100; n++) h2.ingest(Array.from({ length: 10 }, (_, k) => ({ tag: `t${k}`, value: n * 10 + k, quality: 'Good' as const, sourceTs: T0 + n * 1000, serverTs: 0 })));
    await h2.close();
    await checkAll(path, 1100);
    const s = new SqliteStore(path);
    assert.equal((await s.readRaw('t0', T0, T0 + 1e12)).n, 1100);
    assert.equal((await s.status()).samples, 11_000);
    await s.close();
  });

  it('kill -9 of a writing process loses nothing it acknowledged', async (t) => {
    const path = tempDb(t);
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/writer.ts', import.meta.url).pathname, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /acked (\d+)\n(?![\s\S]*acked)/.exec(out);
        if (m) acked = Number(m[1]);
        if (acked >= 40) resolve();
      });
      child.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Lines read after the kill was decided may report more: count the last one seen.
    const last = Math.max(...[...out.matchAll(/acked (\d+)\n/g)].map((m) => Number(m[1])));
    assert.ok(last >= 40);
    await checkAll(path, last * 100);
  });
});
