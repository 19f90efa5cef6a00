/** The bus contract on the in-memory bus (one process: publisher and subscriber are the same object). */
import { MemoryBus } from '../../src/bus/memory.js';
import { busContract } from './contract.js';

busContract('memory', async (t) => {
  const bus = new MemoryBus();
  t.after(() => bus.close());
  return { publisher: bus, subscriber: bus };
});
