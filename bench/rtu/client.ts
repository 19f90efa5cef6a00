/**
 * Planta's client side of bench:rtu: FC03 × QUANTITY registers of unit 1, one
 * request at a time, for SECONDS seconds after a warm-up.
 * usage: client.ts (--serial PATH --baud N | --rtu-over-tcp HOST:PORT | --tcp HOST:PORT) [--seconds S] [--quantity N]
 * Prints one JSON line: requests, seconds, rps, p50_us, p99_us, and the line's errors.
 */
import { type ModbusClient, ModbusRtuClient, ModbusTcpClient } from '../../src/modbus/index.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(opt('seconds') ?? '5');
const quantity = Number(opt('quantity') ?? '10');
const hostPort = (t: string): { host: string; port: number } => ({ host: t.slice(0, t.lastIndexOf(':')), port: Number(t.slice(t.lastIndexOf(':') + 1)) });
const common = { unitId: 1, timeout: 1000, reconnect: false };
let client: ModbusClient;
const serial = opt('serial');
if (serial) client = new ModbusRtuClient({ serial: { path: serial, baud: Number(opt('baud') ?? '19200'), parity: 'none', dataBits: 8, stopBits: 1 }, ...common });
else if (opt('rtu-over-tcp')) client = new ModbusRtuClient({ ...hostPort(opt('rtu-over-tcp')!), ...common });
else client = new ModbusTcpClient({ ...hostPort(opt('tcp') ?? '127.0.0.1:502'), ...common });
await client.connect();

async function runFor(ms: number, latencies?: number[]): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    const t = performance.now();
    await client.readHoldingRegisters(5, quantity);
    latencies?.push(performance.now() - t);
    n++;
  }
  return n;
}

await runFor(Math.min(1000, seconds * 200)); // warm-up: V8 optimises the hot path, the line settles
const latencies: number[] = [];
const start = performance.now();
const n = await runFor(seconds * 1000, latencies);
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const us = (q: number): number => Math.round(latencies[Math.floor(latencies.length * q)]! * 10000) / 10;
const s = client.stats;
console.log(JSON.stringify({ requests: n, seconds: elapsed, rps: Math.round((n / elapsed) * 10) / 10, p50_us: us(0.5), p99_us: us(0.99), timeouts: s.timeouts, badFrames: s.badFrames }));
await client.close();
