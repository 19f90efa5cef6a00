/**
 * A PostgreSQL primary and its streaming standby, of one test alone: `initdb`,
 * `pg_basebackup -R`, both servers on free ports of 127.0.0.1, in a
 * temporary folder removed at the end. PostgreSQL refuses to run as root
 * (CI runs as root): then every binary runs as the `postgres` user.
 * Undefined (skipped, or failed with PLANTA_REQUIRE_PEERS=1) without the
 * server binaries.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { needPeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

export const PG_BIN = process.env.PLANTA_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgPair {
  primaryPort: number;
  standbyPort: number;
  /** Both hosts, the primary first, as a user gives them: postgres://postgres@127.0.0.1:P,127.0.0.1:S/postgres. */
  url(database?: string): string;
  /** Stops the primary (a fast shutdown: what it committed reached the standby) or kills it (SIGKILL). */
  stopPrimary(how: 'fast' | 'kill'): Promise<void>;
  /** `pg_ctl promote` on the standby, resolved once it takes writes. */
  promote(): Promise<void>;
  /** Runs one statement on one of them. */
  sql<R extends pg.QueryResultRow>(port: number, text: string, values?: unknown[]): Promise<R[]>;
}

/** The uid and gid to run PostgreSQL as: the `postgres` user when this process is root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

function run(bin: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  const child = spawn(join(PG_BIN, bin), args, { stdio: ['ignore', 'pipe', 'pipe'], ...user });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

function server(dataDir: string, port: number, socketDir: string, user: { uid: number; gid: number } | undefined): { child: ChildProcess; ready: Promise<void> } {
  const args = ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off'];
  const child = spawn(join(PG_BIN, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...user });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/database system is ready to accept (read-only )?connections/.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`postgres on ${port} exited with ${code}:\n${out}`)));
  });
  ready.catch(() => undefined);
  return { child, ready };
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

export async function pgPair(t: TestContext): Promise<PgPair | undefined> {
  const present = ['initdb', 'postgres', 'pg_basebackup', 'pg_ctl'].every((b) => existsSync(join(PG_BIN, b)));
  if (!needPeer(t, present, `PostgreSQL server binaries in ${PG_BIN}`)) return undefined;
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'planta-pg-ha-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const primaryDir = join(dir, 'primary');
  const standbyDir = join(dir, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const servers: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(servers.map((c) => stop(c, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  await run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], user);
  const p = server(primaryDir, primaryPort, dir, user);
  const primary = p.child;
  servers.push(primary);
  await p.ready;
  await run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'], user);
  const s = server(standbyDir, standbyPort, dir, user);
  servers.push(s.child);
  await s.ready;

  const sql = async <R extends pg.QueryResultRow>(port: number, text: string, values: unknown[] = []): Promise<R[]> => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<R>(text, values)).rows;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  await waitFor('the standby streams from the primary', async () => (await sql<{ n: string }>(primaryPort, 'SELECT count(*)::text AS n FROM pg_stat_replication'))[0]?.n === '1', 10_000, 50);

  return {
    primaryPort,
    standbyPort,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${primaryPort},127.0.0.1:${standbyPort}/${database}`,
    stopPrimary: (how) => stop(primary, how === 'fast' ? 'SIGINT' : 'SIGKILL'),
    promote: async () => {
      await run('pg_ctl', ['promote', '-D', standbyDir, '-w'], user);
      await waitFor('the standby takes writes', async () => (await sql<{ r: boolean }>(standbyPort, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false, 10_000, 50);
    },
    sql,
  };
}
