/**
 * History over HTTP: trends, the CSV export, the cycle report and the
 * historian's status. Everything here is read-only (viewer and above).
 * Times are epoch milliseconds or ISO 8601.
 *
 *   GET /api/history?tags=a,b&from&to&points=N   {from, to, series: [{tag, unit, resolution, t, v, q}]}
 *        points: the chart's width in pixels (default 1000, max 10000); M4 keeps
 *        first/min/max/last per pixel, so a series has at most 4 × points values
 *        plus gap markers; v null = gap (bad quality or no data). At most 16 tags.
 *   GET /api/history/export?tags=a,b&from&to     text/csv, streamed; X-Planta-Range: <fromMs>-<toMs>
 *   GET /api/cycles?from&to                      {cycles: [...]} newest first
 *   GET /api/cycles.csv?from&to                  the same as CSV
 *   GET /api/historian/status                    {bytes, samples, oldest, retention}
 *
 * Errors ({error: {code, message}}): 503 PLANTA_HISTORIAN_UNAVAILABLE (no
 * historian in this process), 404 PLANTA_TAG_UNKNOWN, 400
 * PLANTA_HISTORY_BAD_RANGE (unreadable time, from not before to),
 * 400 PLANTA_HISTORY_BAD_QUERY (tags or points), 404
 * PLANTA_CYCLES_NOT_CONFIGURED (no historian.cycles in the configuration),
 * 401 PLANTA_AUTH_REQUIRED.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Identity, printable } from '../commands/prepare.js';
import type { PlantConfig } from '../config/resolve.js';
import type { Cycle, CycleReport } from '../historian/cycles.js';
import { cyclesCsv } from '../historian/cycles.js';
import { exportCsv } from '../historian/export.js';
import type { Historian, HistorianStatus, HistorySeries } from '../historian/historian.js';
import type { QualityClass, Resolution } from '../historian/types.js';
import { PlantaError, isAnswerable } from '../errors.js';
import { queryParam } from './fields.js';

export type HistoryService = Pick<Historian, 'query' | 'status' | 'readRaw'>;

/** One tag's trend, as GET /api/history returns it. */
export interface HistorySeriesPayload {
  tag: string;
  unit: string;
  resolution: Resolution;
  t: number[];
  v: (number | null)[];
  q: (QualityClass | null)[];
}

export interface HistoryPayload {
  from: number;
  to: number;
  series: HistorySeriesPayload[];
}

export type { Cycle, HistorianStatus };

/**
 * A store that fails (its database went away after the web connected) is
 * unavailable, 503 — not an internal error; the body names no detail of the
 * failure. Planta's own refusals (a bad range…) pass as they are.
 */
async function fromStore<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isAnswerable(err)) throw err;
    throw new PlantaError('PLANTA_HISTORIAN_UNAVAILABLE', "the historian's store did not answer: try again shortly", { cause: err });
  }
}

const MAX_TAGS = 16;
const MAX_POINTS = 10_000;

type Query = Record<string, unknown>;

/** A query parameter, given at most once. */
const param = (q: Query, field: string): string | undefined => queryParam(q, field, 'PLANTA_HISTORY_BAD_QUERY');

function time(q: Query, field: string, fallback: number): number {
  const v = param(q, field);
  if (v === undefined || v === '') return fallback;
  const n = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  // Within the dates JavaScript can write (±8.64e15 ms): a file name and the answer show them.
  if (!Number.isFinite(n) || Math.abs(n) > 8.64e15) throw new PlantaError('PLANTA_HISTORY_BAD_RANGE', `${field}: expected epoch milliseconds or an ISO 8601 date`);
  return n;
}

function range(q: Query, defaultSpanMs: number): { from: number; to: number } {
  const to = time(q, 'to', Date.now());
  const from = time(q, 'from', to - defaultSpanMs);
  if (!(from < to)) throw new PlantaError('PLANTA_HISTORY_BAD_RANGE', 'from must be before to');
  return { from, to };
}

const compactIso = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export function registerHistoryRoutes(
  app: FastifyInstance,
  o: {
    config: PlantConfig;
    historian: HistoryService | undefined;
    cycles: CycleReport | undefined;
    /** Who makes a request; when given, anonymous requests are refused. */
    identify: ((req: FastifyRequest) => Identity | undefined) | undefined;
  },
): void {
  const units = new Map(o.config.tags.map((t) => [t.name, t.unit]));
  const service = (req: FastifyRequest): HistoryService => {
    if (o.identify && !o.identify(req)) throw new PlantaError('PLANTA_AUTH_REQUIRED', 'sign in first');
    if (!o.historian) throw new PlantaError('PLANTA_HISTORIAN_UNAVAILABLE', 'the historian does not run in this process');
    return o.historian;
  };
  const tagList = (q: Query): string[] => {
    const tags = (param(q, 'tags') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    if (tags.length === 0) throw new PlantaError('PLANTA_HISTORY_BAD_QUERY', 'tags: expected one or more tag names, comma separated');
    if (tags.length > MAX_TAGS) throw new PlantaError('PLANTA_HISTORY_BAD_QUERY', `tags: at most ${MAX_TAGS} at once`);
    for (const t of tags) if (!units.has(t)) throw new PlantaError('PLANTA_TAG_UNKNOWN', `no tag ${printable(t)}`);
    return [...new Set(tags)];
  };

  app.get('/api/history', { config: { access: 'viewer' } }, async (req): Promise<HistoryPayload> => {
    const h = service(req);
    const q = req.query as Query;
    const tags = tagList(q);
    const { from, to } = range(q, 3_600_000);
    let points = 1000;
    const p = param(q, 'points');
    if (p !== undefined) {
      points = /^\d+$/.test(p) ? Number(p) : NaN;
      if (!(points >= 1 && points <= MAX_POINTS)) throw new PlantaError('PLANTA_HISTORY_BAD_QUERY', `points: expected a whole number 1..${MAX_POINTS}`);
    }
    const series: HistorySeries[] = await fromStore(h.query(tags, from, to, points));
    return { from, to, series: series.map((s) => ({ tag: s.tag, unit: units.get(s.tag) ?? '', resolution: s.resolution, t: s.t, v: s.v, q: s.q })) };
  });

  app.get('/api/history/export', { config: { access: 'viewer' } }, async (req, reply) => {
    const h = service(req);
    const q = req.query as Query;
    const tags = tagList(q);
    const { from, to } = range(q, 86_400_000);
    const columns = tags.map((tag) => ({ tag, unit: units.get(tag) ?? '' }));
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="planta-${compactIso(from)}-${compactIso(to)}.csv"`)
      .header('x-planta-range', `${from}-${to}`);
    return reply.send(Readable.from(exportCsv(h, columns, from, to)));
  });

  const report = (req: FastifyRequest): CycleReport => {
    service(req);
    if (!o.cycles) throw new PlantaError('PLANTA_CYCLES_NOT_CONFIGURED', 'no cycle report: the configuration has no historian.cycles section');
    return o.cycles;
  };

  app.get('/api/cycles', { config: { access: 'viewer' } }, async (req): Promise<{ cycles: Cycle[] }> => {
    const r = report(req);
    const { from, to } = range(req.query as Query, 7 * 86_400_000);
    return { cycles: await fromStore(r.cycles(from, to)) };
  });

  app.get('/api/cycles.csv', { config: { access: 'viewer' } }, async (req, reply) => {
    const r = report(req);
    const { from, to } = range(req.query as Query, 7 * 86_400_000);
    const phases = o.config.historian.cycles?.phases.map((p) => p.name) ?? [];
    reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="planta-cycles-${compactIso(from)}-${compactIso(to)}.csv"`);
    return cyclesCsv(await fromStore(r.cycles(from, to)), phases);
  });

  app.get('/api/historian/status', { config: { access: 'viewer' } }, async (req): Promise<HistorianStatus> => fromStore(service(req).status()));
}
