/**
 * The web's command records in PostgreSQL, shared by the web nodes whose
 * users are there: an id bound on one node is refused on every other, and
 * any node answers `GET /api/commands/:id`.
 *
 *   "<schema>".command_records (id PK, "user", final, outcome JSON, expires_at, keep_until)
 *
 * While PostgreSQL does not answer, signed-in operators keep working (as
 * with the users' directory): ids and outcomes are kept in this node's
 * memory and written to PostgreSQL once it answers again. Meanwhile another
 * node does not know them; a command still runs at most once (the poller's
 * claim and ledger see to that), and its outcome is only ever its poller's.
 */
import type pg from 'pg';
import { type CommandOutcome, FINAL_STATUSES, isRefusal } from '../bus/command-messages.js';
import type { Logger } from '../util/log.js';
import { openPgPool, type PgPlace, type PgPool } from '../util/pg.js';
import { redactUrl } from '../util/url.js';
import { type CommandRecord, type CommandRecords, DEFAULT_RETENTION_MS } from './ledger.js';
import { CommandRejection } from './prepare.js';

interface Row {
  id: string;
  user: string;
  outcome: string;
  expires_at: number;
}

/** After PostgreSQL failed to answer, how long it is taken as away before it is asked again. */
const RETRY_MS = 2000;

const toRecord = (r: Row): CommandRecord => ({ id: r.id, user: r.user, expiresAt: r.expires_at, outcome: JSON.parse(r.outcome) as CommandOutcome });

interface Held {
  record: CommandRecord;
  final: boolean;
}

export class PostgresCommandRecords implements CommandRecords {
  readonly where: string;
  private readonly pool: PgPool;
  private readonly schema: string;
  private readonly table: string;
  private ready: Promise<void> | undefined;
  /** What could not be written while PostgreSQL was away: written when it answers again. */
  private readonly held = new Map<string, Held>();
  private flushing: Promise<void> | undefined;
  private away: CommandRejection | undefined;
  private awayUntil = 0;
  private readonly log: Logger | undefined;

  constructor(
    o: { url: string; schema: string; log?: Logger },
    private readonly retentionMs = DEFAULT_RETENTION_MS,
  ) {
    this.where = `PostgreSQL ${redactUrl(o.url)} schema ${o.schema}`;
    this.schema = o.schema;
    this.table = `"${o.schema}".command_records`;
    this.pool = openPgPool({ url: o.url, applicationName: 'planta-commands', max: 4, connectTimeoutMs: 3000, queryTimeoutMs: 5000, what: 'command records', ...(o.log ? { log: o.log } : {}) });
    this.log = o.log;
  }

  /** The PostgreSQL server its connections go to, and when that last changed (a failover). */
  place(): PgPlace {
    return this.pool.place();
  }

  private setup(): Promise<void> {
    this.ready ??= (async () => {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        // Two nodes starting at once: one creates, the other waits.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`planta-commands:${this.schema}`]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
          id text PRIMARY KEY, "user" text NOT NULL, final boolean NOT NULL, outcome text NOT NULL, expires_at bigint NOT NULL, keep_until bigint NOT NULL
        )`);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      await this.setup();
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw new CommandRejection('PLANTA_COMMAND_RECORDS_UNAVAILABLE', `the command records (${this.where}) do not answer: ${(err as Error).message}`);
    }
  }

  private insert(o: CommandOutcome, expiresAt: number): Promise<pg.QueryResult<Row>> {
    return this.query<Row>(
      `INSERT INTO ${this.table} (id, "user", final, outcome, expires_at, keep_until) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [o.id, o.user, FINAL_STATUSES.includes(o.status), JSON.stringify(o), expiresAt, Math.max(expiresAt, o.at) + this.retentionMs],
    );
  }

  private async write(o: CommandOutcome, expiresAt: number): Promise<boolean> {
    if ((await this.insert(o, expiresAt)).rowCount === 1) return true;
    if (FINAL_STATUSES.includes(o.status)) await this.query(`UPDATE ${this.table} SET outcome = $2, final = true WHERE id = $1 AND NOT final`, [o.id, JSON.stringify(o)]);
    return false;
  }

  /** Runs `f` against PostgreSQL, first writing what was held; `offline` answers while it is away. */
  private async online<T>(f: () => Promise<T>, offline: (err: CommandRejection) => T): Promise<T> {
    // Found away a moment ago: an operator does not wait for its timeout on every command.
    if (Date.now() < this.awayUntil) return offline(this.away!);
    try {
      if (this.held.size > 0) await (this.flushing ??= this.flush().finally(() => (this.flushing = undefined)));
      return await f();
    } catch (err) {
      if (!(err instanceof CommandRejection)) throw err;
      if (this.away === undefined) this.log?.warn({ err: err.message }, 'command records: PostgreSQL away; kept in memory until it answers');
      this.away = err;
      this.awayUntil = Date.now() + RETRY_MS;
      return offline(err);
    }
  }

  private async flush(): Promise<void> {
    for (const [id, h] of this.held) {
      await this.write(h.record.outcome, h.record.expiresAt);
      this.held.delete(id);
    }
    this.away = undefined;
    this.log?.info({ where: this.where }, 'command records: PostgreSQL answers again; what was kept meanwhile is written');
  }

  private hold(o: CommandOutcome, expiresAt: number, user = o.user): void {
    const h = this.held.get(o.id);
    const final = FINAL_STATUSES.includes(o.status);
    if (!h) this.held.set(o.id, { record: { id: o.id, user, expiresAt, outcome: o }, final });
    else if (final && !h.final) this.held.set(o.id, { record: { ...h.record, outcome: o }, final });
  }

  async bind(queued: CommandOutcome, expiresAt: number): Promise<CommandRecord | undefined> {
    const mine = this.held.get(queued.id);
    if (mine) return mine.record;
    return this.online(
      async () => ((await this.insert(queued, expiresAt)).rowCount === 1 ? undefined : this.get(queued.id)),
      () => void this.hold(queued, expiresAt),
    );
  }

  async record(o: CommandOutcome): Promise<void> {
    if (isRefusal(o)) return;
    await this.online(
      async () => void (await this.write(o, o.at)),
      () => this.hold(o, o.at),
    );
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    return this.online(
      async () => {
        const r = (await this.query<Row>(`SELECT id, "user", outcome, expires_at FROM ${this.table} WHERE id = $1`, [id])).rows[0];
        return r && toRecord(r);
      },
      (err) => {
        const h = this.held.get(id);
        if (h) return h.record;
        throw err;
      },
    );
  }

  async prune(now = Date.now()): Promise<number> {
    return (await this.query(`DELETE FROM ${this.table} WHERE keep_until < $1`, [now])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
