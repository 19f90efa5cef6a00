/**
 * The HTTP server: REST for tags and devices, the SSE stream, health, and
 * the HMI's static files. It reads everything from the bus and never talks
 * to a PLC. Every route declares who may use it (src/web/access.ts); the
 * server's limits and timeouts are security.limits (src/web/limits.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyContextConfig, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { AlarmBus, CommandBus, JournalBus, OutcomeBus, ValueBus } from '../bus/types.js';
import type { PlantConfig } from '../config/resolve.js';
import { deviceWhere } from '../config/links.js';
import { qualityReason } from '../tags/quality.js';
import type { TagDefinition, TagValue } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import type { CommandRecords } from '../commands/ledger.js';
import { type Identity, printable } from '../commands/prepare.js';
import type { CycleReport } from '../historian/cycles.js';
import type { HistorianFigures } from '../historian/metrics.js';
import type { NotificationsService } from '../notify/remote.js';
import { installAccessGate, type RouteAccess } from './access.js';
import { type AlarmService, registerAlarmRoutes } from './alarms.js';
import { registerApiCompression } from './compress.js';
import { type Auth, type RequestIdentity, SECURITY_HEADERS } from './auth.js';
import { registerCommandRoutes } from './commands.js';
import { type HistoryService, registerHistoryRoutes } from './history.js';
import { type HttpErrorCode, PlantaError, httpStatus, isAnswerable } from '../errors.js';
import { registerNotificationRoutes } from './notifications.js';
import { Limits, proxyMatcher } from './limits.js';
import { registerWebMetrics } from './metrics.js';
import { registerReplayRoutes } from './replay.js';
import type { ApiError, DeviceInfo, PlantInfo, ServiceNode, TagInfo, TagWithState } from './protocol.js';
import { StreamHub, type StreamHubOptions } from './stream.js';

export interface WebServerOptions {
  /** What a web node does on the bus: read the plant, submit commands, follow outcomes, alarms and the journal. */
  bus: ValueBus & CommandBus & OutcomeBus & AlarmBus & JournalBus;
  config: PlantConfig;
  /** Folder of the built HMI (hmi/dist); the API works without it. */
  hmiDir?: string;
  log?: Logger;
  stream?: Omit<StreamHubOptions, 'bus' | 'tags' | 'log'>;
  /** The Redis and PostgreSQL servers this process uses, and when each last moved (a failover): in /readyz and GET /api/system/nodes. */
  nodes?: () => ServiceNode[];
  /** How long /readyz waits for the bus. Default 1000 ms. */
  readyTimeoutMs?: number;
  /** Users, sessions, tokens, CSRF, security headers; when given, it decides who makes a request. */
  auth?: Auth;
  /** Who makes a request, for tests without `auth`; without either, every action is refused. */
  identify?: (req: FastifyRequest) => Identity | undefined;
  /** How often a live stream checks that its session or token still holds (Auth.stillValid). Default 15000 ms. */
  streamRecheckMs?: number;
  /** Serve over HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** How long a select holds its device. Default 10000 ms. */
  selectValidityMs?: number;
  /** Command ids, their owners and outcomes, kept across restarts (src/commands/ledger.ts); and the durable name they follow the bus under. */
  commandRecords?: { records: CommandRecords; durable?: string };
  /** The alarm engine, when it runs in this process. */
  alarms?: AlarmService;
  /** Prometheus registry for /metrics (the process's other figures may share it). */
  registry?: Registry;
  /** The historian, when it runs in this process (trends, export, status). */
  historian?: HistoryService & HistorianFigures;
  /** The cycle report (historian.cycles of the configuration). */
  cycles?: CycleReport;
  /** The notifier (in this process, or the alarm process's through the bus), for the Notifications page. */
  notifications?: NotificationsService;
}

/** Browsers are to use HTTPS only, for a year, once they have seen it here. */
const HSTS = 'max-age=31536000';

/** Vite's folder of files whose names carry a hash of their content: a new build means new names. */
const HASHED_DIR = 'assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The page names the current hashed files, so a browser asks each time (a 304 with its ETag when unchanged). */
const REVALIDATE = 'no-cache';

/** How often Node looks for connections past their header or request timeout. */
const TIMEOUT_CHECK_MS = 1000;
/** How often a live stream checks that the session or token it was opened with still holds. */
const STREAM_RECHECK_MS = 15_000;

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

function withState(t: TagDefinition, v: TagValue | undefined, liveDataLostAt: number | undefined): TagWithState {
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
  if (liveDataLostAt !== undefined) out.liveDataLostAt = liveDataLostAt;
  return out;
}

/** Answers {error: {code, message}} with the catalogue's status of `code`, or `status`. */
const answer = (reply: FastifyReply, code: HttpErrorCode, message: string, status = httpStatus(code)): FastifyReply => reply.status(status).send({ error: { code, message } } satisfies ApiError);

/** When this node lost the bus, while it has not got it back: what it serves is its last known state. */
const lostAt = (hub: StreamHub): number | undefined => (hub.busLink.up ? undefined : hub.busLink.since);

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

export async function createWebServer(options: WebServerOptions): Promise<{ app: FastifyInstance; hub: StreamHub; routes: () => RouteAccess[] }> {
  const { bus, config } = options;
  const { limits: limit, trustProxy } = config.security;
  const hmiDir = options.hmiDir && existsSync(options.hmiDir) ? options.hmiDir : undefined;
  const timeouts = { headersTimeout: limit.headersTimeout, requestTimeout: limit.requestTimeout, connectionsCheckingInterval: TIMEOUT_CHECK_MS };
  // A TLS handshake gets no longer than a request's headers.
  const handshake = { handshakeTimeout: limit.headersTimeout };
  const limits = new Limits(limit, proxyMatcher(trustProxy));
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    // Forwarded headers are believed from these proxies only: req.ip is the client's address everywhere.
    trustProxy: trustProxy.length > 0 ? [...trustProxy] : false,
    bodyLimit: limit.bodyBytes,
    requestTimeout: limit.requestTimeout,
    keepAliveTimeout: limit.keepAliveTimeout,
    connectionTimeout: limit.idleTimeout,
    // A path the router cannot decode never reaches a route.
    frameworkErrors: (_err, _req, reply) => answer(reply as FastifyReply, 'PLANTA_HTTP_BAD_PATH', 'the path is not valid percent-encoded UTF-8'),
    // A request too slow to arrive, or not HTTP: answered with a stable code, and counted.
    clientErrorHandler: (err, socket) => limits.clientError(err, socket),
    ...(options.tls ? { https: { ...options.tls, ...timeouts, ...handshake } } : { http: timeouts }),
  }) as unknown as FastifyInstance;
  limits.watch(app.server, options.tls !== undefined);
  app.addHook('onRequest', async (req, reply) => limits.refuseOverLimit(req, reply));
  await registerApiCompression(app);
  const identify = options.auth?.identify ?? options.identify ?? (() => undefined);
  // Without real sign-in (tests naming their user), a named user acts as if signed in and anyone else views.
  const resolve = options.auth?.resolve ?? (async (req: FastifyRequest): Promise<RequestIdentity> => {
    const id = options.identify?.(req);
    return id ? { ...id, via: 'session' } : { user: 'anonymous', role: 'viewer', via: 'anonymous' };
  });
  const routes = installAccessGate(app, {
    resolve,
    csrf: options.auth !== undefined,
    ...(options.log ? { log: options.log } : {}),
  });
  if (options.tls) app.addHook('onSend', async (_req, reply) => void reply.header('strict-transport-security', HSTS));
  options.auth?.register(app, { proxied: trustProxy.length > 0 });
  if (!options.auth) {
    // Without real sign-in (tests naming their user), the HMI still asks who it is; viewing is open, as every other GET here.
    app.get('/api/session', { config: { access: 'public' } }, async (req) => {
      const id = identify(req);
      if (!id) return { user: 'anonymous', role: 'viewer', via: 'anonymous', usersExist: true, reauth: false };
      return { user: id.user, role: id.role, via: 'session', usersExist: true, reauth: false };
    });
  }
  /** Ends a stream's connection once the session or token it was opened with no longer holds (signed out, disabled, revoked…). */
  const watchAccess = (req: FastifyRequest): void => {
    const auth = options.auth;
    if (!auth) return;
    const socket = req.raw.socket;
    const timer = setInterval(() => void auth.stillValid(req).then((ok) => ok || socket.destroy()), options.streamRecheckMs ?? STREAM_RECHECK_MS);
    timer.unref();
    socket.once('close', () => clearInterval(timer));
  };
  const tagsByName = new Map(config.tags.map((t) => [t.name, t]));
  const hub = new StreamHub({ bus, tags: config.tags, ...(options.log ? { log: options.log } : {}), ...options.stream });
  await hub.start();
  app.addHook('onClose', async () => hub.stop());

  app.setErrorHandler((err: FastifyError | PlantaError, req, reply) => {
    // Planta's own errors carry their status and stable code (and, for rejections, the field at fault).
    if (isAnswerable(err)) {
      const error: ApiError['error'] = { code: err.code, message: err.message };
      if (typeof err.field === 'string') error.field = err.field;
      return reply.status(err.statusCode).send({ error } satisfies ApiError);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      limits.bodyRefused();
      return answer(reply, 'PLANTA_LIMIT_BODY', `the request body is larger than this route takes (${req.routeOptions.bodyLimit} bytes)`);
    }
    if ((err as FastifyError).validation || (err.statusCode !== undefined && err.statusCode < 500)) {
      return answer(reply, 'PLANTA_HTTP_BAD_REQUEST', err.message, err.statusCode);
    }
    options.log?.error({ err }, 'request failed');
    return answer(reply, 'PLANTA_HTTP_INTERNAL', 'internal error');
  });
  // (fastify keeps a not-found handler's config; its types leave it out.)
  const notFound: Parameters<FastifyInstance['setNotFoundHandler']>[0] & { config: FastifyContextConfig } = { config: { access: 'public' } };
  app.setNotFoundHandler(notFound, async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!hmiDir || path.startsWith('/api/') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return answer(reply, 'PLANTA_HTTP_NOT_FOUND', `no route ${req.method} ${path.slice(0, 100)}`);
    }
    // Client-side routes of the HMI load its page (the sign-in page, before anyone signs in).
    return reply.type('text/html; charset=utf-8').header('cache-control', REVALIDATE).send(await readFile(join(hmiDir, 'index.html')));
  });

  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok', uptimeS: Math.round(process.uptime()) }));

  app.get('/readyz', { config: { access: 'public' } }, async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = { config: { ok: true, detail: `${config.tags.length} tags` } };
    let devices: { name: string; state: string }[] = [];
    const link = hub.busLink;
    if (!link.up) {
      // Known down: said at once, not after a wait for Redis.
      checks.bus = { ok: false, detail: `live data stopped since ${new Date(link.since).toISOString()}: ${link.detail ?? 'no connection to the bus'}` };
    } else {
      try {
        const statuses = await withTimeout(bus.deviceStatuses(), options.readyTimeoutMs ?? 1000);
        checks.bus = { ok: true };
        devices = config.devices.map((d) => ({ name: d.name, state: statuses.find((s) => s.device === d.name)?.state ?? 'unknown' }));
      } catch (err) {
        checks.bus = { ok: false, detail: (err as Error).message };
      }
    }
    const ready = Object.values(checks).every((c) => c.ok);
    const summary = {
      total: devices.length,
      connected: devices.filter((d) => d.state === 'connected').length,
    };
    const nodes = options.nodes?.();
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks, devices: { ...summary, list: devices }, ...(nodes ? { nodes } : {}) });
  });

  app.get('/api/system/nodes', { config: { access: 'viewer' } }, async (): Promise<ServiceNode[]> => options.nodes?.() ?? []);

  app.get('/api/plant', { config: { access: 'viewer' } }, async (): Promise<PlantInfo> => ({
    name: config.plant.name,
    timezone: config.plant.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    pages: config.pages,
    devices: config.devices.map((d) => ({ name: d.name, description: d.description, host: d.host, port: d.port, unitId: d.unitId, where: deviceWhere(d, config.links) })),
    shelving: Object.fromEntries(
      Object.entries(config.shelving).map(([p, r]) => [p, { maxMinutes: Math.floor(r.maxMs / 60_000), role: r.role as 'operator' | 'engineer' | 'admin' }]),
    ) as PlantInfo['shelving'],
  }));

  // The configuration's texts in the other language (config/text.ts): a Spanish page reads them, an English one never.
  app.get('/api/plant/texts', { config: { access: 'viewer' } }, async (): Promise<Record<string, unknown>> => config.texts ?? {});

  // The reads answer from this node's last known state (the stream hub's), at once whatever the bus does.
  app.get('/api/tags', { config: { access: 'viewer' } }, async (): Promise<TagWithState[]> => {
    const lost = lostAt(hub);
    return config.tags.map((t) => withState(t, hub.lastValue(t.name), lost));
  });

  app.get<{ Params: { name: string } }>('/api/tags/:name', { config: { access: 'viewer' } }, async (req): Promise<TagWithState> => {
    const t = tagsByName.get(req.params.name);
    if (!t) throw new PlantaError('PLANTA_TAG_NOT_FOUND', `no tag ${printable(req.params.name)}`);
    return withState(t, hub.lastValue(t.name), lostAt(hub));
  });

  app.get('/api/devices', { config: { access: 'viewer' } }, async (): Promise<DeviceInfo[]> => {
    const lost = lostAt(hub);
    return config.devices.map((d) => ({
      name: d.name,
      description: d.description,
      host: d.host,
      port: d.port,
      unitId: d.unitId,
      status: hub.lastStatus(d.name) ?? null,
      ...(lost !== undefined ? { liveDataLostAt: lost } : {}),
    }));
  });

  app.get<{ Params: { page: string } }>('/api/drawings/:page', { config: { access: 'viewer' } }, async (req, reply) => {
    const svg = Object.hasOwn(config.drawings, req.params.page) ? config.drawings[req.params.page] : undefined;
    if (svg === undefined) throw new PlantaError('PLANTA_DRAWING_NOT_FOUND', `no drawing for page ${printable(req.params.page)}`);
    return reply.type('image/svg+xml; charset=utf-8').send(svg);
  });

  await registerCommandRoutes(app, {
    bus,
    config,
    identify,
    ...(options.auth ? { reauthenticate: options.auth.reauthenticate } : {}),
    ...(options.selectValidityMs ? { selectValidityMs: options.selectValidityMs } : {}),
    ...(options.commandRecords ? { records: options.commandRecords.records, ...(options.commandRecords.durable ? { recordsDurable: options.commandRecords.durable } : {}) } : {}),
    live: { values: () => config.tags.flatMap((t) => hub.lastValue(t.name) ?? []), busLink: () => hub.busLink },
    ...(options.log ? { log: options.log } : {}),
  });

  registerAlarmRoutes(app, { bus, alarms: options.alarms, identify, lastKnown: () => ({ alarms: hub.lastAlarms(), lostAt: lostAt(hub) }) });
  registerHistoryRoutes(app, { config, historian: options.historian, cycles: options.cycles, identify: options.auth?.identify ?? options.identify });
  registerNotificationRoutes(app, { notifications: options.notifications });
  if (options.registry) await registerWebMetrics(app, { registry: options.registry, bus, config, hub, limits, alarms: options.alarms, historian: options.historian });

  const streamHeaders = Object.entries({ ...(options.auth ? SECURITY_HEADERS : {}), ...(options.tls ? { 'strict-transport-security': HSTS } : {}) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  registerReplayRoutes(app, {
    watchAccess,
    config,
    historian: options.historian,
    alarms: options.alarms,
    bus,
    resolve,
    limits,
    streamHeaders,
    ...(options.auth?.auditTrail ? { auditTrail: options.auth.auditTrail } : {}),
    ...(options.log ? { log: options.log } : {}),
  });

  app.get('/api/stream', { config: { access: 'viewer' } }, (req, reply) => {
    limits.admitStream(req, reply);
    watchAccess(req);
    reply.hijack();
    const last = req.headers['last-event-id'];
    hub.attach(req.raw.socket, Array.isArray(last) ? last[0] : last, streamHeaders);
  });

  if (hmiDir) {
    await app.register(async (files) => {
      // The HMI's files are public: its sign-in page must load before anyone signs in.
      files.addHook('onRoute', (r) => void (r.config = { ...r.config, access: 'public' }));
      await files.register(fastifyStatic, {
        root: hmiDir,
        prefix: '/',
        // (a list: with preCompressed, a plain string makes `/` not find its index file)
        index: ['index.html'],
        wildcard: true,
        // The build writes .br and .gz beside each file (scripts/precompress.ts); the best one the browser accepts goes out.
        preCompressed: true,
        cacheControl: false,
        setHeaders: (res, path) => {
          res.setHeader('cache-control', path.startsWith(join(hmiDir, HASHED_DIR)) ? IMMUTABLE : REVALIDATE);
          res.setHeader('vary', 'accept-encoding');
        },
      });
    });
  }
  return { app, hub, routes };
}
