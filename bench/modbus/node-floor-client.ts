/**
 * Node's floor for a Modbus/TCP client in bench:modbus: one FC03 x 125
 * request at a time as canned bytes, the next written from the read callback
 * of the reply (`onread` buffer), nothing decoded, no promise. What any client
 * in Node pays before doing Modbus; a reference, not a client.
 * usage: node-floor-client.ts HOST PORT COUNT — prints one JSON line like the C clients.
 */
import net from 'node:net';

const [host = '127.0.0.1', portText = '502', countText = '100000'] = process.argv.slice(2);
const count = Number(countText);
const request = Buffer.from([0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 125]);
let done = 0;
let target = 0;
let sentAt = 0;
const latencies = new Float64Array(count);
let measuring = false;
let finished: () => void = () => undefined;

const socket = net.connect({
  host,
  port: Number(portText),
  onread: {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback: (): boolean => {
      if (measuring) latencies[done] = performance.now() - sentAt;
      if (++done === target) finished();
      else send();
      return true;
    },
  },
});
socket.setNoDelay(true);
await new Promise((resolve) => socket.once('connect', resolve));

function send(): void {
  request[1] = done;
  sentAt = performance.now();
  socket.write(request);
}

function runBatch(n: number): Promise<void> {
  done = 0;
  target = n;
  return new Promise((resolve) => {
    finished = resolve;
    send();
  });
}

await runBatch(Math.min(5000, count));
measuring = true;
const start = performance.now();
await runBatch(count);
const seconds = (performance.now() - start) / 1000;
latencies.sort();
const us = (q: number): number => Math.round(latencies[Math.floor(count * q)]! * 10000) / 10;
console.log(JSON.stringify({ requests: count, seconds, rps: Math.round(count / seconds), p50_us: us(0.5), p99_us: us(0.99) }));
socket.destroy();
