/**
 * The HTTP server: REST for tags and devices, the SSE stream, health, and
 * the HMI's static files. It reads everything from the bus and never talks
 * to a PLC.
 */
import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import { qualityReason } from '../tags/quality.js';
import type { TagDefinition, TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import type { Identity } from '../commands/prepare.js';
import type { CycleReport } from '../historian/cycles.js';
import type { HistorianFigures } from '../historian/metrics.js';
import { type AlarmService, registerAlarmRoutes } from './alarms.js';
import { type Auth, SECURITY_HEADERS } from './auth.js';
import { registerCommandRoutes } from './commands.js';
import { type HistoryService, registerHistoryRoutes } from './history.js';
import { registerWebMetrics } from './metrics.js';
import type { ApiError, PlantInfo, TagInfo, TagWithState } from './protocol.js';
import { StreamHub, type StreamHubOptions } from './stream.js';

export interface WebServerOptions {
  bus: Bus;
  config: PlantConfig;
  /** Folder of the built HMI (hmi/dist); the API works without it. */
  hmiDir?: string;
  log?: Logger;
  stream?: Omit<StreamHubOptions, 'bus' | 'tags' | 'log'>;
  /** How long /readyz waits for the bus. Default 1000 ms. */
  readyTimeoutMs?: number;
  /** Users, sessions, tokens, CSRF, security headers; when given, it decides who makes a request. */
  auth?: Auth;
  /** Who makes a request, for tests without `auth`; without either, every action is refused. */
  identify?: (req: FastifyRequest) => Identity | undefined;
  /** Serve over HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** How long a select holds its device. Default 10000 ms. */
  selectValidityMs?: number;
  /** The alarm engine, when it runs in this process. */
  alarms?: AlarmService;
  /** Prometheus registry for /metrics (the process's other figures may share it). */
  registry?: Registry;
  /** The historian, when it runs in this process (trends, export, status). */
  historian?: HistoryService & HistorianFigures;
  /** The cycle report (historian.cycles of the configuration). */
  cycles?: CycleReport;
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function tagInfo(t: TagDefinition): TagInfo {
  const info: TagInfo = {
    name: t.name,
    description: t.description,
    device: t.device,
    area: t.area,
    address: t.address,
    type: t.type,
    unit: t.unit,
    decimals: t.decimals,
    scanGroup: t.scanGroup,
  };
  if (t.range) info.range = t.range;
  if (t.writable) info.writable = t.writable;
  return info;
}

function withState(t: TagDefinition, v: TagValue | undefined): TagWithState {
  const state = v ?? { value: null, quality: 'Bad_WaitingForInitialData' as const, sourceTs: 0, serverTs: 0 };
  const out: TagWithState = {
    ...tagInfo(t),
    value: state.value,
    quality: state.quality,
    qualityReason: qualityReason(state.quality, v?.exceptionCode),
    sourceTs: state.sourceTs,
    serverTs: state.serverTs,
  };
  if (v?.exceptionCode !== undefined) out.exceptionCode = v.exceptionCode;
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

export async function createWebServer(options: WebServerOptions): Promise<{ app: FastifyInstance; hub: StreamHub }> {
  const { bus, config } = options;
  const hmiDir = options.hmiDir && existsSync(options.hmiDir) ? options.hmiDir : undefined;
  const app = Fastify({ logger: false, forceCloseConnections: true, ...(options.tls ? { https: options.tls } : {}) }) as unknown as FastifyInstance;
  const identify = options.auth?.identify ?? options.identify ?? (() => undefined);
  options.auth?.register(app);
  if (!options.auth) {
    // Without real sign-in (tests naming their user), the HMI still asks who it is; viewing is open, as every other GET here.
    app.get('/api/session', async (req) => {
      const id = identify(req);
      if (!id) return { user: 'anonymous', role: 'viewer', via: 'anonymous', usersExist: true, reauth: false };
      return { user: id.user, role: id.role, via: 'session', usersExist: true, reauth: false };
    });
  }
  const tagsByName = new Map(config.tags.map((t) => [t.name, t]));
  const hub = new StreamHub({ bus, tags: config.tags, ...(options.log ? { log: options.log } : {}), ...options.stream });
  await hub.start();
  app.addHook('onClose', async () => hub.stop());

  app.setErrorHandler((err: FastifyError | HttpError, _req, reply) => {
    // Planta's own errors carry their status and stable code (and, for rejections, the field at fault).
    const own = err as { code?: unknown; statusCode?: unknown; field?: unknown };
    if (typeof own.code === 'string' && own.code.startsWith('PLANTA_') && typeof own.statusCode === 'number') {
      const error: ApiError['error'] = { code: own.code, message: err.message };
      if (typeof own.field === 'string') error.field = own.field;
      return reply.status(own.statusCode).send({ error } satisfies ApiError);
    }
    if ((err as FastifyError).validation || (err.statusCode !== undefined && err.statusCode < 500)) {
      return reply.status(err.statusCode ?? 400).send({ error: { code: 'PLANTA_HTTP_BAD_REQUEST', message: err.message } } satisfies ApiError);
    }
    options.log?.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: 'PLANTA_HTTP_INTERNAL', message: 'internal error' } } satisfies ApiError);
  });
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/') || !hmiDir) {
      return reply.status(404).send({ error: { code: 'PLANTA_HTTP_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } } satisfies ApiError);
    }
    // Client-side routes of the HMI load its page.
    return reply.sendFile('index.html');
  });

  app.get('/healthz', async () => ({ status: 'ok', uptimeS: Math.round(process.uptime()) }));

  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = { config: { ok: true, detail: `${config.tags.length} tags` } };
    let devices: { name: string; state: string }[] = [];
    try {
      const statuses = await withTimeout(bus.deviceStatuses(), options.readyTimeoutMs ?? 1000);
      checks.bus = { ok: true };
      devices = config.devices.map((d) => ({ name: d.name, state: statuses.find((s) => s.device === d.name)?.state ?? 'unknown' }));
    } catch (err) {
      checks.bus = { ok: false, detail: (err as Error).message };
    }
    const ready = Object.values(checks).every((c) => c.ok);
    const summary = {
      total: devices.length,
      connected: devices.filter((d) => d.state === 'connected').length,
    };
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks, devices: { ...summary, list: devices } });
  });

  app.get('/api/plant', async (): Promise<PlantInfo> => ({
    name: config.plant.name,
    timezone: config.plant.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    pages: config.pages,
    devices: config.devices.map((d) => ({ name: d.name, description: d.description, host: d.host, port: d.port, unitId: d.unitId })),
    shelving: Object.fromEntries(
      Object.entries(config.shelving).map(([p, r]) => [p, { maxMinutes: Math.floor(r.maxMs / 60_000), role: r.role as 'operator' | 'engineer' | 'admin' }]),
    ) as PlantInfo['shelving'],
  }));

  app.get('/api/tags', async (): Promise<TagWithState[]> => {
    const values = new Map((await bus.snapshot()).map((v) => [v.tag, v]));
    return config.tags.map((t) => withState(t, values.get(t.name)));
  });

  app.get<{ Params: { name: string } }>('/api/tags/:name', async (req): Promise<TagWithState> => {
    const t = tagsByName.get(req.params.name);
    if (!t) throw new HttpError(404, 'PLANTA_TAG_NOT_FOUND', `no tag "${req.params.name}"`);
    const v = (await bus.snapshot()).find((x) => x.tag === t.name);
    return withState(t, v);
  });

  app.get('/api/devices', async () => {
    const statuses = new Map((await bus.deviceStatuses()).map((s) => [s.device, s]));
    return config.devices.map((d) => ({ name: d.name, description: d.description, host: d.host, port: d.port, unitId: d.unitId, status: statuses.get(d.name) ?? null }));
  });

  app.get<{ Params: { page: string } }>('/api/drawings/:page', async (req, reply) => {
    const svg = Object.hasOwn(config.drawings, req.params.page) ? config.drawings[req.params.page] : undefined;
    if (svg === undefined) throw new HttpError(404, 'PLANTA_DRAWING_NOT_FOUND', `no drawing for page "${req.params.page}"`);
    return reply.type('image/svg+xml; charset=utf-8').send(svg);
  });

  await registerCommandRoutes(app, {
    bus,
    config,
    identify,
    ...(options.auth ? { reauthenticate: options.auth.reauthenticate } : {}),
    ...(options.selectValidityMs ? { selectValidityMs: options.selectValidityMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });

  registerAlarmRoutes(app, { bus, alarms: options.alarms, identify });
  registerHistoryRoutes(app, { config, historian: options.historian, cycles: options.cycles, identify: options.auth?.identify ?? options.identify });
  if (options.registry) await registerWebMetrics(app, { registry: options.registry, bus, hub, alarms: options.alarms, historian: options.historian });

  app.get('/api/stream', (req, reply) => {
    reply.hijack();
    const last = req.headers['last-event-id'];
    const headers = options.auth ? Object.entries(SECURITY_HEADERS).map(([k, v]) => `${k}: ${v}\r\n`).join('') : '';
    hub.attach(req.raw.socket, Array.isArray(last) ? last[0] : last, headers);
  });

  if (hmiDir) await app.register(fastifyStatic, { root: hmiDir, prefix: '/', index: 'index.html', wildcard: true });
  return { app, hub };
}
