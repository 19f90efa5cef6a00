/** The bus contract on Redis: two connections (as two processes) under a prefix of their own. */
import { busContract } from './contract.js';
import { needRedis, redisBus, testPrefix } from './redis-helpers.js';

busContract('redis', async (t, { devices }) => {
  if (!(await needRedis(t))) return undefined;
  const prefix = testPrefix(t, 'contract');
  const publisher = await redisBus(t, { prefix, consumer: 'web' });
  const subscriber = await redisBus(t, { prefix, devices, consumer: 'poller' });
  return { publisher, subscriber };
});
