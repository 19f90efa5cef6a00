/**
 * What Planta keeps of every command id, on disk, so that "a command runs at
 * most once" survives restarts:
 *
 * - the web's records (`CommandRecords`): whom an id belongs to (the user
 *   whose request used it first) and its latest outcome, for
 *   `GET /api/commands/:id` and to answer a replayed id with what became of it;
 * - a poller's ledger (`ExecutionLedger`): the ids it took, and whether it
 *   had begun writing one — marked before the first write, settled after the
 *   read-back — so that after a crash it reports "unknown — check the plant"
 *   rather than nothing, and never executes an id a second time.
 *
 * One SQLite table holds both (`planta start` keeps one, in its --db file;
 * `planta poll` keeps its ledger beside its outbox; `planta web` keeps its
 * records in its --db file, or in PostgreSQL when its users are there,
 * src/commands/records-postgres.ts). Rows are kept for the command's
 * lifetime plus the retention, then pruned.
 *
 *   command_ledger (id PK, user, state queued|taken|writing|done, outcome JSON, expires_at, keep_until)
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type CommandOutcome, type CommandRequest, FINAL_STATUSES, isRefusal, outcomeOf } from '../bus/command-messages.js';
import type { OutcomeBus } from '../bus/types.js';
import type { Logger } from '../util/log.js';

export interface CommandRecord {
  id: string;
  /** Whom the id belongs to: the user whose request used it first. */
  user: string;
  expiresAt: number;
  /** Its latest outcome: queued until a final one (the first final one is kept). */
  outcome: CommandOutcome;
}

/** The web's durable record of command ids (SQLite here, PostgreSQL for web nodes sharing their users). */
export interface CommandRecords {
  readonly where: string;
  /**
   * Binds a fresh id to the user of its 'queued' outcome. Returns undefined
   * when the id is now theirs, or the record of whoever used it first.
   */
  bind(queued: CommandOutcome, expiresAt: number): Promise<CommandRecord | undefined>;
  /** Records an outcome of an id (a refusal never; a final outcome is never replaced). */
  record(outcome: CommandOutcome): Promise<void>;
  get(id: string): Promise<CommandRecord | undefined>;
  /** Forgets the ids whose retention passed; returns how many. */
  prune(now?: number): Promise<number>;
  close(): Promise<void>;
}

export type LedgerState = 'queued' | 'taken' | 'writing' | 'done';

/** A poller's durable memory of the commands it executes (synchronous: it runs inside the write's critical section). */
export interface ExecutionLedger {
  /** True the first time an id is taken for execution, ever (within the retention); false for any later delivery. */
  take(cmd: CommandRequest): boolean;
  /** Gives a taken id back, unwritten: it is another poller's to execute (the device's lease moved). */
  release(id: string): void;
  /** Marked before the first write: a crash from here on leaves the outcome unknown. */
  writing(id: string): void;
  /** The final outcome, recorded before it is published. */
  finish(outcome: CommandOutcome): void;
  /** Ids an earlier run left unsettled: taken, writing, or (with the in-memory bus) queued and lost with the process. */
  unfinished(): { state: LedgerState; outcome: CommandOutcome }[];
}

/** How long ids and outcomes are kept after a command's expiry by default: long after any redelivery could come. */
export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

interface Row {
  id: string;
  user: string;
  state: LedgerState;
  outcome: string;
  expires_at: number;
}

const toRecord = (r: Row): CommandRecord => ({ id: r.id, user: r.user, expiresAt: r.expires_at, outcome: JSON.parse(r.outcome) as CommandOutcome });
const isFinal = (o: CommandOutcome): boolean => FINAL_STATUSES.includes(o.status);

/** The outcome that stands for a request until a final one: queued. */
export function queuedOutcome(cmd: CommandRequest, at = Date.now()): CommandOutcome {
  return outcomeOf(cmd, 'queued', { confirmation: cmd.confirmation, at });
}

export class SqliteCommandLedger implements CommandRecords, ExecutionLedger {
  readonly where: string;
  private readonly db: Database.Database;
  private readonly q: Record<'insert' | 'get' | 'setState' | 'setOutcome' | 'unfinished' | 'prune', Database.Statement>;

  /**
   * `path` ':memory:' keeps nothing (tests). `exclusive`: one process owns
   * the file (a poller's ledger): a second one gets SQLITE_BUSY rather than
   * settle commands the first is executing.
   */
  constructor(
    path: string,
    private readonly retentionMs = DEFAULT_RETENTION_MS,
    exclusive = false,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.where = path;
    this.db = new Database(path);
    if (exclusive) this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    // A mark written before a write to the PLC must be on disk before that write.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS command_ledger (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        keep_until INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS command_ledger_keep ON command_ledger (keep_until);
      BEGIN IMMEDIATE; COMMIT;
    `);
    this.q = {
      insert: this.db.prepare('INSERT OR IGNORE INTO command_ledger (id, user, state, outcome, expires_at, keep_until) VALUES (?, ?, ?, ?, ?, ?)'),
      get: this.db.prepare('SELECT * FROM command_ledger WHERE id = ?'),
      setState: this.db.prepare('UPDATE command_ledger SET state = ? WHERE id = ? AND state = ?'),
      setOutcome: this.db.prepare("UPDATE command_ledger SET outcome = ?, state = 'done' WHERE id = ? AND state <> 'done'"),
      unfinished: this.db.prepare("SELECT * FROM command_ledger WHERE state <> 'done' ORDER BY rowid"),
      prune: this.db.prepare("DELETE FROM command_ledger WHERE keep_until < ? AND state IN ('done', 'queued')"),
    };
    this.prune();
  }

  private row(id: string): Row | undefined {
    return this.q.get.get(id) as Row | undefined;
  }

  private insert(o: CommandOutcome, state: LedgerState, expiresAt: number): boolean {
    return this.q.insert.run(o.id, o.user, state, JSON.stringify(o), expiresAt, Math.max(expiresAt, o.at) + this.retentionMs).changes === 1;
  }

  // ------------------------------------------------------------ the web's records

  async bind(queued: CommandOutcome, expiresAt: number): Promise<CommandRecord | undefined> {
    if (this.insert(queued, 'queued', expiresAt)) return undefined;
    return toRecord(this.row(queued.id)!);
  }

  async record(o: CommandOutcome): Promise<void> {
    if (isRefusal(o)) return;
    const final = isFinal(o);
    // Another node's command (several web nodes, each with its file): known from its outcomes.
    if (this.insert(o, final ? 'done' : 'queued', o.at)) return;
    if (final) this.q.setOutcome.run(JSON.stringify(o), o.id);
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const r = this.row(id);
    return r && toRecord(r);
  }

  async prune(now = Date.now()): Promise<number> {
    return this.q.prune.run(now).changes;
  }

  // ------------------------------------------------------------ a poller's ledger

  take(cmd: CommandRequest): boolean {
    // Queued by the web of this process (planta start), or first seen here (a poller of its own).
    return this.q.setState.run('taken', cmd.id, 'queued').changes === 1 || this.insert(queuedOutcome(cmd), 'taken', cmd.expiresAt);
  }

  release(id: string): void {
    this.q.setState.run('queued', id, 'taken');
  }

  writing(id: string): void {
    this.q.setState.run('writing', id, 'taken');
  }

  finish(o: CommandOutcome): void {
    if (!isFinal(o) || isRefusal(o)) return;
    if (!this.insert(o, 'done', o.at)) this.q.setOutcome.run(JSON.stringify(o), o.id);
  }

  unfinished(): { state: LedgerState; outcome: CommandOutcome }[] {
    return (this.q.unfinished.all() as Row[]).map((r) => ({ state: r.state, outcome: JSON.parse(r.outcome) as CommandOutcome }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * After a restart: every command an earlier run left unsettled gets its
 * final outcome, recorded then published — "unknown" for one whose writing
 * had begun, "not sent" for one taken but not written, and, when the bus
 * kept its queue in memory (`queueLost`), for one still queued. Run before
 * the poller takes new commands.
 */
export async function settleInterrupted(ledger: ExecutionLedger, bus: OutcomeBus, o: { queueLost: boolean; log?: Logger }): Promise<number> {
  let n = 0;
  for (const { state, outcome } of ledger.unfinished()) {
    if (state === 'queued' && !o.queueLost) continue;
    const settled: CommandOutcome =
      state === 'writing'
        ? {
            ...outcome,
            status: 'unknown',
            code: 'PLANTA_COMMAND_INTERRUPTED',
            reason: 'Planta stopped after it began writing and before it read the values back: the PLC may or may not have taken it — check the plant',
            at: Date.now(),
          }
        : { ...outcome, status: 'failed', code: 'PLANTA_COMMAND_INTERRUPTED', reason: 'not sent: Planta stopped before writing it; nothing was written', at: Date.now() };
    delete settled.confirmation;
    ledger.finish(settled);
    o.log?.warn({ id: settled.id, command: settled.command, status: settled.status }, 'a command interrupted by the last stop is settled');
    await bus.publishCommandOutcome(settled);
    n++;
  }
  return n;
}
