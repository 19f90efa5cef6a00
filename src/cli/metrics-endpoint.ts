/**
 * /metrics for the processes without a web server (`planta poll`, `planta
 * alarms`, `planta historian`): Prometheus text from their registry on a
 * port of their own (`--metrics [HOST:]PORT`, loopback unless a host is given).
 */
import { type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { type HttpErrorCode, httpStatus } from '../errors.js';
import { CliUsageError } from './modbus.js';
import type { Stops } from './wiring.js';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new CliUsageError(`--metrics "${text}": expected PORT or HOST:PORT, e.g. 9464 or 0.0.0.0:9464`);
  return { host: m[1] ?? '127.0.0.1', port };
}

const refuse = (res: ServerResponse, code: HttpErrorCode, message: string): void =>
  void res.writeHead(httpStatus(code), { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));

/** Serves GET /metrics until the process stops; returns its address. */
export async function serveMetrics(registry: Registry, listen: string, stops: Stops): Promise<string> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      refuse(res, 'PLANTA_HTTP_NOT_FOUND', 'only GET /metrics here');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => refuse(res, 'PLANTA_METRICS_FAILED', 'the figures could not be collected'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const a = server.address() as AddressInfo;
  return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}/metrics`;
}
