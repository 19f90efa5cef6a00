/**
 * A private Mosquitto for a test: its own temporary configuration on a free
 * port of 127.0.0.1 (anonymous clients allowed), stopped and started again
 * at will on the same port, always killed at the end. Never the machine's
 * own broker on 1883.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { needPeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { type Started, startProcess } from '../helpers/process.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface Broker {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and removes its files. */
  close(): Promise<void>;
}

/** Starts a private broker, or skips the test without Mosquitto (fails with PLANTA_REQUIRE_PEERS=1). */
export async function privateBroker(t: TestContext): Promise<Broker | undefined> {
  if (!needPeer(t, existsSync(MOSQUITTO), 'mosquitto')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'planta-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', ''].join('\n'));
  let proc: Started | undefined;
  const broker: Broker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      proc = await startProcess(MOSQUITTO, ['-c', conf], /running/, { timeoutMs: 10_000 });
    },
    async stop() {
      await proc?.stop();
      proc = undefined;
    },
    async close() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
