/**
 * The SBR plant as separate `planta` processes on the test Redis: a folder
 * with the configuration (free Modbus port, a key prefix of its own), a web
 * users file with an operator, and a way to start processes that are all
 * stopped — before the plant's keys are deleted — when the test ends.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { type Started, run, startProcess } from '../helpers/process.js';
import { REDIS_URL, testPrefix } from './redis-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
export const planta = join(root, 'bin', 'planta.js');

export interface PlantProcesses {
  dir: string;
  config: string;
  /** The web nodes' users (a file, or PlantOptions.usersUrl), with `user` (an operator) and `password`. */
  db: string;
  user: string;
  password: string;
  prefix: string;
  modbus: number;
  control: number;
  /** Adds a user to `db` with `planta user add` (the password on standard input). */
  addUser(user: string, role: string, password: string): Promise<void>;
  /** Starts `planta ARGS…` and waits for a line matching `ready`; stopped when the test ends. */
  start(args: string[], ready: RegExp, timeoutMs?: number): Promise<Started & { match: RegExpExecArray }>;
}

export interface PlantOptions {
  /** The historian on PostgreSQL: `historian.store` in the configuration. */
  historian?: { url: string; schema: string };
  /** Another Redis than the machine's (a private redis-server of the test). */
  redisUrl?: string;
  /** The web nodes' users on PostgreSQL: this postgres://…?schema=… URL is `db`. */
  usersUrl?: string;
}

export async function plantProcesses(t: TestContext, name: string, o: PlantOptions = {}): Promise<PlantProcesses> {
  const dir = mkdtempSync(join(tmpdir(), `planta-${name}-`));
  const children: Started[] = [];
  t.after(async () => {
    for (const c of children.reverse()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // After the processes stopped (hooks run in order): their keys are deleted last.
  const prefix = testPrefix(t, name);
  const modbus = await freePort();
  const control = await freePort();
  const config = join(dir, 'plant.yaml');
  let text = readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8').replace('port: 5020', `port: ${modbus}`);
  if (o.historian) {
    assert.match(text, /^historian:\n/m);
    text = text.replace(/^historian:\n/m, `historian:\n  store: { kind: postgres, url: '${o.historian.url}', schema: ${o.historian.schema} }\n`);
  }
  // The pollers' outboxes in the test's folder (the next poller on the same devices takes outbox-2.db).
  writeFileSync(config, `${text}\nbus: { kind: redis, url: '${o.redisUrl ?? REDIS_URL}', prefix: '${prefix}', outbox: '${join(dir, 'outbox.db')}' }\n`);
  copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
  const db = o.usersUrl ?? join(dir, 'web.db');
  const env: NodeJS.ProcessEnv = { ...process.env, PLANTA_LOG_LEVEL: 'warn', PLANTA_LOG_FORMAT: 'json' };
  delete env.PLANTA_BUS_URL;
  delete env.PLANTA_LEASE_TTL;
  delete env.PLANTA_HISTORIAN_URL;
  const user = 'olga';
  const password = `${name}-test-password-1`;
  const addUser = async (name: string, role: string, secret: string): Promise<void> => {
    const added = await run(process.execPath, [planta, 'user', 'add', name, '--role', role, '--db', db, '--password-stdin'], { input: `${secret}\n` });
    assert.equal(added.code, 0, added.stderr);
  };
  await addUser(user, 'operator', password);
  return {
    dir, config, db, user, password, prefix, modbus, control, addUser,
    start: async (args, ready, timeoutMs = 30_000) => {
      const c = await startProcess(process.execPath, [planta, ...args], ready, { env, timeoutMs });
      children.push(c);
      return c;
    },
  };
}
