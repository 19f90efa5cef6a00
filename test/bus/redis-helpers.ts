/** The Redis of the tests: the machine's (127.0.0.1:6379), a key prefix per test, its keys deleted afterwards. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createClient } from 'redis';
import { RedisBus, type RedisBusOptions } from '../../src/bus/redis.js';
import { needPeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { type Started, startProcess } from '../helpers/process.js';
import { TcpProxy } from '../helpers/proxy.js';

export const REDIS_URL = process.env.PLANTA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let reachable: Promise<boolean> | undefined;

/** Whether a Redis answers at `url` (one try, half a second). */
export async function redisAnswers(url = REDIS_URL): Promise<boolean> {
  const c = createClient({ url, socket: { connectTimeout: 500, reconnectStrategy: false } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.ping();
    await c.close();
    return true;
  } catch {
    c.destroy();
    return false;
  }
}

/** Skips the test (or fails it, with PLANTA_REQUIRE_PEERS=1) when the machine's Redis does not answer. */
export async function needRedis(t: TestContext): Promise<boolean> {
  reachable ??= redisAnswers();
  return needPeer(t, await reachable, `Redis at ${REDIS_URL}`);
}

/** A key prefix no other run uses; its keys are deleted when the test ends. */
export function testPrefix(t: TestContext, what = 'bus'): string {
  const prefix = `planta-test:${what}-${process.pid}-${randomBytes(4).toString('hex')}:`;
  t.after(() => deleteKeys(prefix));
  return prefix;
}

export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<number> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  let n = 0;
  for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) n += await c.del(keys);
  }
  await c.close();
  return n;
}

/** A bus on the test Redis, closed when the test ends. */
export async function redisBus(t: TestContext, o: Omit<RedisBusOptions, 'url'> & { url?: string }): Promise<RedisBus> {
  const bus = await RedisBus.connect({ url: REDIS_URL, blockMs: 200, ...o });
  t.after(() => bus.close());
  return bus;
}

/** Kills this bus's connections of one kind on the server (as a network fault would), by their client name. */
export async function killConnections(prefix: string, connection: 'pubsub' | 'commands' | 'streams', url = REDIS_URL): Promise<number> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  const list = String(await c.sendCommand(['CLIENT', 'LIST']));
  let n = 0;
  for (const line of list.split('\n')) {
    const name = /\bname=(\S*)/.exec(line)?.[1] ?? '';
    const id = /\bid=(\d+)/.exec(line)?.[1];
    if (id && name.startsWith(prefix) && name.endsWith(`:${connection}`)) {
      await c.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      n++;
    }
  }
  await c.close();
  return n;
}

const REDIS_SERVER = '/usr/bin/redis-server';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (its clients see the connection refused) and starts it again on the same port. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL (no shutdown of any kind), as a crash would: what it had not written to disk is gone. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/**
 * A redis-server of this test alone, on a free port of 127.0.0.1 (never the
 * machine's Redis): to stop and restart it. `persist` keeps its data across a
 * restart (append-only file, fsync always); without it Redis comes back empty.
 * Undefined (skipped, or failed with PLANTA_REQUIRE_PEERS=1) without redis-server.
 */
export async function privateRedis(t: TestContext, o: { persist: boolean }): Promise<PrivateRedis | undefined> {
  if (!needPeer(t, existsSync(REDIS_SERVER), 'redis-server')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'planta-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push(...(o.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  let server: Started | undefined;
  const r: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    start: async () => {
      server = await startProcess(REDIS_SERVER, args, /Ready to accept connections/);
    },
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    kill: async () => {
      const child = server?.child;
      server = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
  t.after(async () => {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await r.start();
  return r;
}

/** A TCP proxy in front of the test Redis, stopped when the test ends: a network between one process and Redis. */
export async function redisProxy(t: TestContext): Promise<TcpProxy> {
  const target = new URL(REDIS_URL);
  const proxy = new TcpProxy(await freePort(), { host: target.hostname, port: Number(target.port || 6379) });
  await proxy.start();
  t.after(() => proxy.stop());
  return proxy;
}
