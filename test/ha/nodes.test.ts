/**
 * Where a process is (src/cli/nodes.ts): the parts that can move (a bus on
 * Redis Sentinel, a PostgreSQL store of several hosts) listed for /readyz,
 * and planta_failovers_total{role} read from them when scraped; an SQLite
 * file or the in-memory bus has no place and is left out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { historianStore, placed, registerFailoverMetric, serviceNodes } from '../../src/cli/nodes.js';

test('the servers in use, when each moved, and the failovers counted by role', async () => {
  const bus = { place: { node: '10.0.0.2:6379', switches: 1, switchedAt: Date.UTC(2026, 11, 7, 10), sentinel: true } };
  let users = { node: '10.0.0.1:5432', switches: 0, hosts: 2 };
  const parts = placed([
    { role: 'bus', engine: 'redis', of: bus },
    { role: 'users', engine: 'postgresql', of: { place: () => users } },
    { role: 'commands', engine: 'postgresql', of: { where: 'an SQLite file' } },
    { role: 'historian', engine: 'postgresql', of: historianStore({ store: { inner: { place: () => ({ node: 'h:5432', switches: 0, hosts: 1 }) } } }) },
  ]);
  assert.deepEqual(serviceNodes(parts), [
    { role: 'bus', engine: 'redis', node: '10.0.0.2:6379', failover: true, switches: 1, switchedAt: '2026-12-07T10:00:00.000Z' },
    { role: 'users', engine: 'postgresql', node: '10.0.0.1:5432', failover: true, switches: 0 },
    { role: 'historian', engine: 'postgresql', node: 'h:5432', failover: false, switches: 0 },
  ]);
  const registry = new Registry();
  registerFailoverMetric(registry, parts);
  users = { ...users, node: '10.0.0.2:5432', switches: 1 };
  const text = await registry.metrics();
  assert.match(text, /planta_failovers_total\{role="bus"\} 1/);
  assert.match(text, /planta_failovers_total\{role="users"\} 1/, 'read when scraped');
  assert.doesNotMatch(text, /10\.0\.0/, 'no server address in a label');
});
