/**
 * A web server wired as `planta start` wires it — real sign-in, the alarm
 * engine, the historian, /metrics and the HMI's files — so that every route
 * there is exists, for tests of who may reach what.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import type { Role, SecurityConfig } from '../../src/config/schema.js';
import { openHistorian } from '../../src/historian/index.js';
import { createRegistry } from '../../src/util/metrics.js';
import { type Anonymous, createAuth } from '../../src/web/auth.js';
import { createWebServer } from '../../src/web/server.js';

export const PASSWORD = 'a-long-and-unusual-pass';
export const INDEX_HTML = '<!doctype html><title>Planta HMI</title>';
export const ASSET = 'console.log("the HMI")';

export function plantConfig(security: Partial<Omit<SecurityConfig, 'limits'>> & { limits?: Partial<SecurityConfig['limits']> } = {}): PlantConfig {
  const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
  const { limits, ...rest } = security;
  Object.assign(config.security, rest);
  Object.assign(config.security.limits, limits);
  return config;
}

export interface Wired {
  app: Awaited<ReturnType<typeof createWebServer>>['app'];
  routes: Awaited<ReturnType<typeof createWebServer>>['routes'];
  bus: MemoryBus;
  users: AuthStore;
  config: PlantConfig;
  /** Signs `user` in; its cookie and CSRF token as headers. */
  as(user: Role): Promise<Record<string, string>>;
  /** Listens on 127.0.0.1 port 0 and returns the port. */
  listen(): Promise<number>;
}

export async function wiredServer(
  t: TestContext,
  o: { anonymous?: Anonymous; config?: PlantConfig; tls?: { cert: string; key: string }; streamRecheckMs?: number } = {},
): Promise<Wired> {
  const config = o.config ?? plantConfig();
  const users = new AuthStore(':memory:');
  const hash = await hashPassword(PASSWORD);
  for (const r of ['viewer', 'operator', 'engineer', 'admin'] as Role[]) users.addUser(r, r, hash);
  const bus = new MemoryBus();
  const alarmStore = new AlarmStore(':memory:');
  const alarms = new AlarmEngine({ bus, config, store: alarmStore });
  await alarms.start();
  const { historian, cycles } = openHistorian(config, { path: ':memory:' });
  const hmiDir = mkdtempSync(join(tmpdir(), 'planta-hmi-'));
  mkdirSync(join(hmiDir, 'assets'));
  writeFileSync(join(hmiDir, 'index.html'), INDEX_HTML);
  writeFileSync(join(hmiDir, 'assets', 'app.js'), ASSET);
  const auth = createAuth({ store: users, anonymous: o.anonymous ?? 'none', idleMs: config.security.sessionIdle, absoluteMs: config.security.sessionMax, lockout: { max: 1000, windowMs: 60_000, lockMs: 1000 } });
  const { app, routes } = await createWebServer({
    bus,
    config,
    auth,
    alarms,
    historian,
    ...(cycles ? { cycles } : {}),
    registry: createRegistry(),
    hmiDir,
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.streamRecheckMs ? { streamRecheckMs: o.streamRecheckMs } : {}),
  });
  t.after(async () => {
    await app.close();
    await alarms.stop();
    await historian.close();
    alarmStore.close();
    users.close();
    rmSync(hmiDir, { recursive: true, force: true });
  });
  const as = async (user: Role): Promise<Record<string, string>> => {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { user, password: PASSWORD } });
    if (res.statusCode !== 200) throw new Error(`sign-in of ${user}: ${res.statusCode} ${res.body}`);
    return { cookie: (res.headers['set-cookie'] as string).split(';')[0]!, 'x-csrf-token': (res.json() as { csrf: string }).csrf };
  };
  const listen = async (): Promise<number> => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  };
  return { app, routes, bus, users, config, as, listen };
}
