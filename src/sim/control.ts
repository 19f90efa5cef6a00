/**
 * The simulator's local control interface (HTTP + JSON on 127.0.0.1), for
 * people (`planta sim fault set estop`) and tests:
 *
 *   GET    /state                 plant state, mode, active faults, connections
 *   GET    /connections           connection limits, counters (evicted, idle-closed...) and the open connections
 *   GET    /faults                active and injectable faults
 *   PUT    /faults/:name          inject a fault (name or bit number, e.g. estop or 1)
 *   DELETE /faults/:name          clear it
 *   GET    /mode                  current misbehaviour
 *   PUT    /mode                  {"mode":"slow","delayMs":1500} | {"mode":"exception","code":6} | ...
 *   DELETE /mode                  back to normal
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

function modeFromBody(body: string): Misbehaviour {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PlantaError('PLANTA_SIM_BAD_REQUEST', 'body is not JSON');
  }
  const o = json as { mode?: unknown; delayMs?: unknown; code?: unknown };
  if (typeof o?.mode !== 'string') throw new PlantaError('PLANTA_SIM_BAD_REQUEST', 'body needs a "mode" string');
  const arg = o.mode === 'slow' ? o.delayMs : o.mode === 'exception' ? o.code : undefined;
  return parseMisbehaviour(arg === undefined ? o.mode : `${o.mode}:${String(arg)}`);
}

export function controlHandler(sim: Simulator): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const state = (): object => ({
    kind: sim.plant ? 'sbr' : 'load',
    mode: formatMisbehaviour(sim.misbehaviour),
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
      sim.plant.setFault(bit, method !== 'DELETE');
      return { bit, name: faultName(bit), active: method !== 'DELETE' };
    }
    if (path === '/mode' && method === 'GET') return { mode: formatMisbehaviour(sim.misbehaviour) };
    if (path === '/mode' && (method === 'PUT' || method === 'POST')) {
      sim.misbehaviour = modeFromBody(await readBody(req));
      return { mode: formatMisbehaviour(sim.misbehaviour) };
    }
    if (path === '/mode' && method === 'DELETE') {
      sim.misbehaviour = { mode: 'normal' };
      return { mode: 'normal' };
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
