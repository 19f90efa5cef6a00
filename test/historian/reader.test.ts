/**
 * A read-only SQLite store following another writer of the same file (a web
 * node beside `planta historian`): it sees every committed sample, sealed or
 * still in the journal, new tags, and no sample twice once the writer seals.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../src/historian/sqlite.js';

const ts = (s: { ts: Float64Array; n: number }): number[] => Array.from(s.ts.subarray(0, s.n));

describe('SQLite store read-only beside its writer', () => {
  it('sees committed samples (journal and blocks), new tags, nothing twice, nothing uncommitted', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-reader-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'history.db');
    const writer = new SqliteStore(path, { blockSize: 8 });
    const a = writer.tagId('a');
    writer.append(a, 1000, 1, 0);
    await writer.flush();
    const reader = new SqliteStore(path, { readOnly: true });
    t.after(async () => {
      await reader.close();
      await writer.close();
    });
    assert.deepEqual(ts(await reader.readRaw('a', 0, 1e6)), [1000]);

    // Committed after the reader opened: in the journal, unsealed.
    for (let i = 1; i < 5; i++) writer.append(a, 1000 + i * 100, i, 0);
    await writer.flush();
    assert.deepEqual(ts(await reader.readRaw('a', 0, 1e6)), [1000, 1100, 1200, 1300, 1400]);

    // Appended, not committed: not visible.
    writer.append(a, 1500, 5, 0);
    assert.equal((await reader.readRaw('a', 0, 1e6)).n, 5);

    // A new tag, and enough samples that the writer seals blocks and trims its journal.
    const b = writer.tagId('b');
    for (let i = 6; i < 40; i++) {
      writer.append(a, 1000 + i * 100, i, 0);
      writer.append(b, 1000 + i * 100, -i, 0);
      if (i % 3 === 0) await writer.flush();
    }
    await writer.flush();
    const seen = ts(await reader.readRaw('a', 0, 1e6));
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => 1000 + i * 100));
    assert.equal(await reader.countRaw('a', 0, 1e6), 40);
    assert.equal((await reader.readRaw('b', 0, 1e6)).n, 34);
    assert.deepEqual(await reader.lastBefore('a', 2050), { ts: 2000, v: 10, q: 0 });
    assert.deepEqual(reader.tagNames().sort(), ['a', 'b']);
    const s = await reader.status();
    assert.equal(s.oldest, 1000);

    // A read-only store refuses to write.
    assert.throws(() => reader.flushSync(), /read-only/);
  });
});
