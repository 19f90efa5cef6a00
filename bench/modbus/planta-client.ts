/**
 * Planta's side of bench:modbus: FC03 x 125 registers at address 0 with W requests in flight.
 * usage: planta-client.ts HOST PORT COUNT WINDOW — prints one JSON line like the C clients.
 */
import { ModbusTcpClient } from '../../src/modbus/index.js';

const [host = '127.0.0.1', portText = '502', countText = '100000', windowText = '1'] = process.argv.slice(2);
const count = Number(countText);
const window = Number(windowText);
const client = new ModbusTcpClient({ host, port: Number(portText), window, reconnect: false });
await client.connect();

async function runBatch(n: number, latencies?: Float64Array): Promise<void> {
  let sent = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const issue = (): void => {
      const i = sent++;
      const t = performance.now();
      client.readHoldingRegisters(0, 125).then((regs) => {
        if (regs[124] !== 124) return reject(new Error(`bad value ${regs[124]}`));
        if (latencies) latencies[i] = performance.now() - t;
        if (++done === n) resolve();
        else if (sent < n) issue();
      }, reject);
    };
    for (let i = 0; i < Math.min(window, n); i++) issue();
  });
}

await runBatch(Math.min(5000, count)); // warm-up: lets V8 optimise the hot path
const latencies = new Float64Array(count);
const start = performance.now();
await runBatch(count, latencies);
const seconds = (performance.now() - start) / 1000;
latencies.sort();
const us = (q: number): number => Math.round(latencies[Math.floor(count * q)]! * 10000) / 10;
console.log(JSON.stringify({ requests: count, seconds, rps: Math.round(count / seconds), p50_us: us(0.5), p99_us: us(0.99) }));
await client.close();
