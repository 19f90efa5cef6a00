/**
 * The simulator's local control interface (HTTP + JSON on 127.0.0.1), for
 * people (`planta sim fault set estop`) and tests:
 *
 *   GET    /state                 plant state, mode, active faults, connections (and each unit's, with several)
 *   GET    /connections           connection limits, counters (evicted, idle-closed...) and the open connections
 *   GET    /faults                active and injectable faults
 *   PUT    /faults/:name?unit=N   inject a fault (name or bit number, e.g. estop or 1) — in unit N's plant, or in every plant
 *   DELETE /faults/:name?unit=N   clear it
 *   GET    /mode                  current misbehaviour, and the units' own
 *   PUT    /mode                  {"mode":"slow","delayMs":1500} | {"mode":"exception","code":6} | ... — with "unit": N, of that unit only
 *   DELETE /mode?unit=N           back to normal (every unit, or unit N)
 *   GET    /writes?since=N        writes received after sequence N
 *   DELETE /writes                clear the write log
 *   POST   /restart               PLC restart: memory to power-on values, connections dropped
 */
import http from 'node:http';
import { PlantaError, httpStatus } from '../errors.js';
import { FAULTS } from './sbr/map.js';
import { type Misbehaviour, formatMisbehaviour, parseMisbehaviour } from './misbehaviour.js';
import type { Simulator } from './simulator.js';

const MAX_BODY = 64 * 1024;

export function faultBit(name: string): number {
  const bit = /^\d+$/.test(name) ? Number(name) : FAULTS[name];
  if (bit === undefined || !Object.values(FAULTS).includes(bit)) {
    throw new PlantaError('PLANTA_SIM_UNKNOWN_FAULT', `"${name}" is not a fault; use one of ${Object.keys(FAULTS).join(', ')} or its bit number`);
  }
  return bit;
}

function faultName(bit: number): string {
  return Object.entries(FAULTS).find(([, b]) => b === bit)?.[0] ?? String(bit);
}

/** What happened to the Modbus connections since the simulator started. */
function connectionCounts(sim: Simulator): Record<'open' | 'accepted' | 'refused' | 'evicted' | 'idleClosed' | 'frameTimeouts', number> {
  const s = sim.server.stats;
  return { open: s.connections, accepted: s.accepted, refused: s.refused, evicted: s.evicted, idleClosed: s.idleClosed, frameTimeouts: s.frameTimeouts };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) reject(new PlantaError('PLANTA_SIM_BODY_TOO_LARGE', 'body over 64 KiB'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function unitParam(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 247) throw new PlantaError('PLANTA_SIM_BAD_REQUEST', `unit "${text}" is not a unit id in 1..247`);
  return n;
}

function modeFromBody(body: string): { mode: Misbehaviour; unit: number | undefined } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PlantaError('PLANTA_SIM_BAD_REQUEST', 'body is not JSON');
  }
  const o = json as { mode?: unknown; delayMs?: unknown; code?: unknown; unit?: unknown };
  if (typeof o?.mode !== 'string') throw new PlantaError('PLANTA_SIM_BAD_REQUEST', 'body needs a "mode" string');
  const arg = o.mode === 'slow' ? o.delayMs : o.mode === 'exception' ? o.code : undefined;
  const unit = o.unit === undefined ? undefined : unitParam(String(o.unit));
  return { mode: parseMisbehaviour(arg === undefined ? o.mode : `${o.mode}:${String(arg)}`), unit };
}

export function controlHandler(sim: Simulator): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const unitModes = (): Record<string, string> => Object.fromEntries([...sim.unitModes].map(([u, m]) => [u, formatMisbehaviour(m)]));
  /** The plant of `unit`, or all of them. */
  const plantsOf = (unit: number | undefined): { unit: number; plant: NonNullable<Simulator['plant']> }[] => {
    const all = [...sim.plants].map(([u, plant]) => ({ unit: u, plant }));
    if (unit === undefined) return all;
    const one = all.filter((p) => p.unit === unit);
    if (one.length === 0) throw new PlantaError('PLANTA_SIM_UNKNOWN_UNIT', `no unit ${unit} (units: ${[...sim.plants.keys()].join(', ')})`);
    return one;
  };
  const state = (): object => ({
    kind: sim.plant ? 'sbr' : 'load',
    mode: formatMisbehaviour(sim.misbehaviour),
    unitModes: unitModes(),
    ...(sim.plants.size > 1 ? { units: Object.fromEntries([...sim.plants].map(([u, p]) => [u, { ...p.state(), mode: formatMisbehaviour(sim.modeOf(u)) }])) } : {}),
    ...(sim.rtu ? { rtu: sim.rtu.stats } : {}),
    connections: sim.server.stats.connections,
    connectionCounts: connectionCounts(sim),
    requests: sim.server.stats.requests,
    plant: sim.plant?.state(),
    faults: sim.plant?.activeFaults().map((bit) => ({ bit, name: faultName(bit) })),
    load: sim.load && { ...sim.load.options, generation: sim.load.generation() },
  });

  const route = async (req: http.IncomingMessage, url: URL): Promise<unknown> => {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const fault = /^\/faults\/([^/]+)$/.exec(path);
    if (path === '/state' && method === 'GET') return state();
    if (path === '/connections' && method === 'GET') {
      return { limits: sim.server.limits, counts: connectionCounts(sim), open: sim.server.connectionList() };
    }
    if (path === '/faults' && method === 'GET') {
      return { active: sim.plant?.activeFaults().map((bit) => ({ bit, name: faultName(bit) })) ?? [], available: FAULTS };
    }
    if (fault && (method === 'PUT' || method === 'POST' || method === 'DELETE')) {
      if (!sim.plant) throw new PlantaError('PLANTA_SIM_NO_PLANT', 'the load device has no faults');
      const bit = faultBit(decodeURIComponent(fault[1]!));
      const plants = plantsOf(unitParam(url.searchParams.get('unit')));
      for (const p of plants) p.plant.setFault(bit, method !== 'DELETE');
      return { bit, name: faultName(bit), active: method !== 'DELETE', units: plants.map((p) => p.unit) };
    }
    if (path === '/mode' && method === 'GET') return { mode: formatMisbehaviour(sim.misbehaviour), unitModes: unitModes() };
    if (path === '/mode' && (method === 'PUT' || method === 'POST')) {
      const { mode, unit } = modeFromBody(await readBody(req));
      if (unit !== undefined) plantsOf(unit);
      sim.setMode(mode, unit);
      return { mode: formatMisbehaviour(sim.misbehaviour), unitModes: unitModes() };
    }
    if (path === '/mode' && method === 'DELETE') {
      const unit = unitParam(url.searchParams.get('unit'));
      if (unit !== undefined) plantsOf(unit);
      sim.setMode({ mode: 'normal' }, unit);
      return { mode: formatMisbehaviour(sim.misbehaviour), unitModes: unitModes() };
    }
    if (path === '/writes' && method === 'GET') {
      const since = Number(url.searchParams.get('since') ?? 0);
      return { writes: sim.writes.list(Number.isFinite(since) ? since : 0) };
    }
    if (path === '/writes' && method === 'DELETE') {
      sim.writes.clear();
      return { cleared: true };
    }
    if (path === '/restart' && method === 'POST') {
      sim.restart();
      return { restarted: true };
    }
    throw new PlantaError('PLANTA_SIM_NOT_FOUND', `no route ${method} ${path}`);
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    route(req, url).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        if (err instanceof PlantaError && err.statusCode !== undefined) send(res, err.statusCode, { error: { code: err.code, message: err.message } });
        else send(res, httpStatus('PLANTA_SIM_INTERNAL'), { error: { code: 'PLANTA_SIM_INTERNAL', message: String(err) } });
      },
    );
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startControlServer(sim: Simulator, host: string, port: number): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(controlHandler(sim));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}
