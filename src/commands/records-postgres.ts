/**
 * The web's command records in PostgreSQL, shared by the web nodes whose
 * users are there: an id bound on one node is refused on every other, and
 * any node answers `GET /api/commands/:id`.
 *
 *   "<schema>".command_records (id PK, "user", final, outcome JSON, expires_at, keep_until)
 *
 * While PostgreSQL does not answer, a command is refused (its id cannot be
 * bound) with PLANTA_COMMAND_RECORDS_UNAVAILABLE.
 */
import type pg from 'pg';
import { type CommandOutcome, FINAL_STATUSES, isRefusal } from '../bus/command-messages.js';
import type { Logger } from '../util/log.js';
import { openPgPool } from '../util/pg.js';
import { redactUrl } from '../util/url.js';
import { type CommandRecord, type CommandRecords, DEFAULT_RETENTION_MS } from './ledger.js';
import { CommandRejection } from './prepare.js';

interface Row {
  id: string;
  user: string;
  outcome: string;
  expires_at: number;
}

const toRecord = (r: Row): CommandRecord => ({ id: r.id, user: r.user, expiresAt: r.expires_at, outcome: JSON.parse(r.outcome) as CommandOutcome });

export class PostgresCommandRecords implements CommandRecords {
  readonly where: string;
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly table: string;
  private ready: Promise<void> | undefined;

  constructor(
    o: { url: string; schema: string; log?: Logger },
    private readonly retentionMs = DEFAULT_RETENTION_MS,
  ) {
    this.where = `PostgreSQL ${redactUrl(o.url)} schema ${o.schema}`;
    this.schema = o.schema;
    this.table = `"${o.schema}".command_records`;
    this.pool = openPgPool({ url: o.url, applicationName: 'planta-commands', max: 4, connectTimeoutMs: 3000, queryTimeoutMs: 5000, what: 'command records', ...(o.log ? { log: o.log } : {}) });
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
      throw new CommandRejection('PLANTA_COMMAND_RECORDS_UNAVAILABLE', `the command records (${this.where}) do not answer: ${(err as Error).message}`, undefined, 503);
    }
  }

  private insert(o: CommandOutcome, expiresAt: number): Promise<pg.QueryResult<Row>> {
    return this.query<Row>(
      `INSERT INTO ${this.table} (id, "user", final, outcome, expires_at, keep_until) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [o.id, o.user, FINAL_STATUSES.includes(o.status), JSON.stringify(o), expiresAt, Math.max(expiresAt, o.at) + this.retentionMs],
    );
  }

  async bind(queued: CommandOutcome, expiresAt: number): Promise<CommandRecord | undefined> {
    if ((await this.insert(queued, expiresAt)).rowCount === 1) return undefined;
    return this.get(queued.id);
  }

  async record(o: CommandOutcome): Promise<void> {
    if (isRefusal(o)) return;
    if ((await this.insert(o, o.at)).rowCount === 1 || !FINAL_STATUSES.includes(o.status)) return;
    await this.query(`UPDATE ${this.table} SET outcome = $2, final = true WHERE id = $1 AND NOT final`, [o.id, JSON.stringify(o)]);
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const r = (await this.query<Row>(`SELECT id, "user", outcome, expires_at FROM ${this.table} WHERE id = $1`, [id])).rows[0];
    return r && toRecord(r);
  }

  async prune(now = Date.now()): Promise<number> {
    return (await this.query(`DELETE FROM ${this.table} WHERE keep_until < $1`, [now])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
