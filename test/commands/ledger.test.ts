/**
 * The command ledger on disk, reopened as a restarted process would: an id
 * is bound to its first user and taken for execution once ever; a command
 * whose writing had begun is settled "unknown" at the next start, one taken
 * but not written "not sent", one still queued on a bus that kept its queue
 * in memory "not sent"; retention prunes. The web's records on PostgreSQL
 * behave as on SQLite.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandOutcome } from '../../src/bus/types.js';
import { type CommandRecords, SqliteCommandLedger, queuedOutcome, settleInterrupted } from '../../src/commands/ledger.js';
import { PostgresCommandRecords } from '../../src/commands/records-postgres.js';
import { command } from '../bus/contract.js';
import { PG_URL, needPostgres, testSchema } from '../historian/pg-helpers.js';
import { waitFor } from '../helpers/wait.js';

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'planta-ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What every implementation of the web's records does. */
async function recordsContract(open: () => CommandRecords): Promise<void> {
  let records = open();
  const c = command('plc', 5000);
  const queued = queuedOutcome(c);
  assert.equal(await records.bind(queued, c.expiresAt), undefined, 'a fresh id is bound');
  const again = await records.bind({ ...queued, user: 'bob' }, c.expiresAt);
  assert.equal(again?.user, 'ana', 'first use wins');
  await records.record({ ...queued, status: 'confirmed', at: Date.now() });
  await records.record({ ...queued, status: 'failed', at: Date.now() });
  await records.record({ ...queued, status: 'queued', at: Date.now() });
  await records.record({ ...queued, status: 'rejected', code: 'PLANTA_COMMAND_ID_TAKEN', user: 'bob', attempt: 'x', at: Date.now() });
  await records.close();
  records = open();
  const r = await records.get(c.id);
  assert.equal(r?.user, 'ana');
  assert.equal(r?.outcome.status, 'confirmed', 'the first final outcome stays; a refusal or a later one never replaces it');
  const other: CommandOutcome = { ...queuedOutcome(command('plc')), user: 'eve', status: 'expired' };
  await records.record(other);
  assert.equal((await records.get(other.id))?.user, 'eve', "another node's command, known from its outcome");
  assert.equal(await records.prune(Date.now() + 30 * 86_400_000), 2);
  assert.equal(await records.get(c.id), undefined);
  await records.close();
}

describe('command ledger', () => {
  it('SQLite: the web records survive a restart', async (t) => {
    const path = join(tempDir(t), 'planta.db');
    await recordsContract(() => new SqliteCommandLedger(path));
  });

  it('PostgreSQL: the web records survive a restart and are shared', async (t) => {
    if (!(await needPostgres(t))) return;
    const schema = testSchema(t);
    await recordsContract(() => new PostgresCommandRecords({ url: PG_URL, schema }));
  });

  it('a poller takes an id once ever, settles what a crash interrupted at the next start, and a second process cannot open its ledger', async (t) => {
    const path = join(tempDir(t), 'outbox-plc.commands.db');
    let ledger = new SqliteCommandLedger(path, undefined, true);
    assert.throws(() => new SqliteCommandLedger(path, undefined, true), /locked|busy/i, 'one process per ledger');
    const done = command('plc');
    const writing = command('plc');
    const taken = command('plc');
    const queued = command('plc');
    assert.equal(ledger.take(done), true);
    assert.equal(ledger.take(done), false, 'a second delivery is refused');
    ledger.writing(done.id);
    ledger.finish({ ...queuedOutcome(done), status: 'confirmed' });
    assert.equal(ledger.take(writing), true);
    ledger.writing(writing.id);
    assert.equal(ledger.take(taken), true);
    await ledger.bind(queuedOutcome(queued), queued.expiresAt);
    const released = command('plc');
    assert.equal(ledger.take(released), true);
    ledger.release(released.id);
    // kill -9: nothing more is written.
    await ledger.close();

    ledger = new SqliteCommandLedger(path, undefined, true);
    t.after(() => ledger.close());
    for (const c of [done, writing, taken]) assert.equal(ledger.take(c), false, `${c.id} is never executed again`);
    const bus = new MemoryBus();
    const published: CommandOutcome[] = [];
    await bus.subscribeCommandOutcomes((o) => published.push(o));
    assert.equal(await settleInterrupted(ledger, bus, { queueLost: false }), 2, 'on Redis a queued command waits in its stream');
    assert.equal(await settleInterrupted(ledger, bus, { queueLost: true }), 2, 'in memory it was lost with the process; settled once');
    await waitFor('four outcomes', () => published.length === 4);
    const by = new Map(published.map((o) => [o.id, o]));
    assert.equal(by.get(writing.id)?.status, 'unknown');
    assert.equal(by.get(writing.id)?.code, 'PLANTA_COMMAND_INTERRUPTED');
    assert.match(by.get(writing.id)!.reason!, /check the plant/);
    assert.equal(by.get(taken.id)?.status, 'failed');
    assert.match(by.get(taken.id)!.reason!, /^not sent/);
    assert.equal(by.get(queued.id)?.status, 'failed');
    assert.equal(by.get(released.id)?.status, 'failed');
    assert.equal(by.has(done.id), false, 'a settled command is not reported again');
    assert.equal(await settleInterrupted(ledger, bus, { queueLost: true }), 0);
    assert.equal((await ledger.get(writing.id))?.outcome.status, 'unknown');
  });
});
