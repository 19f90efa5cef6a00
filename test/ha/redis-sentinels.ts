/**
 * A Redis primary, its replica and three sentinels of one test alone, on
 * free ports of 127.0.0.1, in a temporary folder removed at the end; the
 * sentinels declare the primary down after 1 s without an answer (quorum 2)
 * and fail over to the replica. Undefined (skipped, or failed with
 * PLANTA_REQUIRE_PEERS=1) without redis-server.
 */
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createClient } from 'redis';
import { needPeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const REDIS_SERVER = '/usr/bin/redis-server';
export const MASTER_NAME = 'planta-ha';

export interface SentinelSet {
  /** redis-sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/planta-ha */
  url: string;
  primaryPort: number;
  replicaPort: number;
  /** Kills the primary with SIGKILL (a crash: no shutdown, no goodbye to its clients); resolves with the time of the kill. */
  killPrimary(): Promise<number>;
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number | undefined>;
  /** Runs one command on one node. */
  command(port: number, args: string[]): Promise<unknown>;
}

export async function command(port: number, args: string[]): Promise<unknown> {
  const c = createClient({ socket: { host: '127.0.0.1', port, connectTimeout: 1000, reconnectStrategy: false } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.sendCommand(args);
  } finally {
    c.destroy();
  }
}

export async function redisSentinels(t: TestContext, o: { downAfterMs?: number } = {}): Promise<SentinelSet | undefined> {
  if (!needPeer(t, existsSync(REDIS_SERVER), 'redis-server')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'planta-sentinel-'));
  const children: ChildProcess[] = [];
  t.after(async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, 'exit');
        c.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  });
  const node = async (port: number, extra: string[]): Promise<ChildProcess> => {
    const { child } = await startProcess(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `${port}.rdb`, '--save', '', '--appendonly', 'no', ...extra], /Ready to accept connections/);
    children.push(child);
    return child;
  };
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const primary = await node(primaryPort, []);
  await node(replicaPort, ['--replicaof', '127.0.0.1', String(primaryPort)]);
  await waitFor('the replica in sync', async () => /master_link_status:up/.test(String(await command(replicaPort, ['INFO', 'replication']))), 10_000, 50);

  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const port of sentinelPorts) {
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${o.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    const { child } = await startProcess(REDIS_SERVER, [conf, '--sentinel'], /Sentinel ID is|\+monitor master/);
    children.push(child);
  }
  // A failover needs a quorum of sentinels that know each other and the replica (they meet on the primary's hello channel).
  await waitFor(
    'the sentinels know each other and the replica',
    async () => {
      for (const port of sentinelPorts) {
        const others = (await command(port, ['SENTINEL', 'SENTINELS', MASTER_NAME])) as unknown[];
        const replicas = (await command(port, ['SENTINEL', 'REPLICAS', MASTER_NAME])) as unknown[];
        if (others.length < 2 || replicas.length < 1) return false;
      }
      return true;
    },
    20_000,
    100,
  );
  const masterPort = async (): Promise<number | undefined> => {
    for (const port of sentinelPorts) {
      try {
        const r = (await command(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME])) as string[] | null;
        if (r) return Number(r[1]);
      } catch {
        // The next one.
      }
    }
    return undefined;
  };
  return {
    url: `redis-sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${MASTER_NAME}`,
    primaryPort,
    replicaPort,
    masterPort,
    command,
    killPrimary: async () => {
      const exited = once(primary, 'exit');
      const at = Date.now();
      primary.kill('SIGKILL');
      await exited;
      return at;
    },
  };
}
