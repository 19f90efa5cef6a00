/**
 * The reference of bench:stream: a minimal SSE server on plain node:http.
 * Each batch is JSON-encoded once and the same buffer is written to every
 * client with res.write. Same publisher, same path as Planta.
 *
 * usage: reference-server.ts [TAGS] [PERIOD_MS] [PREFILL] [MODE]
 *   MODE tagvalues (default): data = JSON.stringify({t, values: batch}), batch
 *        being the very TagValue[] Planta's bus gets (the reference of the issue)
 *   MODE compact: data = {t, values: [[index, value], ...]}, the bytes Planta
 *        sends for Good values (a reference writing as many bytes as Planta)
 * Prints "listening PORT" when ready; on SIGUSR2 prints "stats {...}".
 */
import { type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TagValue } from '../../src/tags/types.js';
import { exitWithParent, heapFigures, prefill, rssMb, serverArgs, startPublisher, tagNames } from './publisher.js';

exitWithParent();
const args = serverArgs();
const compact = args.mode === 'compact';
const names = tagNames(args.tags);
const clients = new Set<ServerResponse>();
let last: TagValue[] = [];
let events = 0;

// Event ids (a counter) let the load client tell a skipped delta from a late one.
const encode = (event: string, data: unknown): Buffer => Buffer.from(`id: ${events}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
const payload = (t: number, batch: TagValue[]): unknown => ({ t, values: compact ? batch.map((v, i) => [i, v.value]) : batch });

const server = createServer((req, res) => {
  if (req.url !== '/api/stream') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  res.write(encode('snapshot', payload(Date.now(), last)));
  clients.add(res);
  res.on('close', () => clients.delete(res));
});

const publish = (batch: TagValue[]): void => {
  last = batch;
  events++;
  const bytes = encode('delta', payload(batch[0]!.sourceTs, batch));
  for (const res of clients) res.write(bytes);
};
const readyRssMb = rssMb();
await prefill(names, args.prefill, publish);
const prefilledRssMb = rssMb();
const publisher = startPublisher(names, args.periodMs, publish);

server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.on('SIGUSR2', () => {
  let bufferedBytes = 0;
  for (const res of clients) bufferedBytes += res.socket?.writableLength ?? 0;
  console.log(`stats ${JSON.stringify({ clients: clients.size, events, bufferedBytes, publisher: publisher.stats, readyRssMb, prefilledRssMb, ...heapFigures() })}`);
});
