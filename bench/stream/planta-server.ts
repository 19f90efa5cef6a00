/**
 * Planta's side of bench:stream: the web server (createWebServer, its SSE
 * hub) on a MemoryBus, and the publisher in the same process. No poller:
 * nothing talks Modbus.
 *
 * usage: planta-server.ts [TAGS] [PERIOD_MS] [PREFILL] — prints "listening PORT"
 * when ready; on SIGUSR2 prints "stats {...}" (the hub's and the publisher's figures, and
 * the RSS once the server was built (`readyRssMb`) and once prefilled (`prefilledRssMb`)).
 */
import type { AddressInfo } from 'node:net';
import { MemoryBus } from '../../src/bus/memory.js';
import { parseConfig } from '../../src/config/load.js';
import { createWebServer } from '../../src/web/server.js';
import { configYaml, exitWithParent, heapFigures, prefill, rssMb, serverArgs, startPublisher } from './publisher.js';

exitWithParent();
const args = serverArgs();
const config = parseConfig(configYaml(args.tags, args.periodMs), 'bench-stream.yaml');
const names = config.tags.map((t) => t.name);
const bus = new MemoryBus();
const { app, hub } = await createWebServer({ bus, config });
const publish = (batch: Parameters<MemoryBus['publishValues']>[0]): void => void bus.publishValues(batch);
const readyRssMb = rssMb();
await prefill(names, args.prefill, publish);
const prefilledRssMb = rssMb();
const publisher = startPublisher(names, args.periodMs, publish);
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`listening ${(app.server.address() as AddressInfo).port}`);
process.on('SIGUSR2', () => {
  console.log(
    `stats ${JSON.stringify({ ...hub.stats, bufferedBytes: hub.bufferedBytes(), publisher: publisher.stats, readyRssMb, prefilledRssMb, ...heapFigures() })}`,
  );
});
