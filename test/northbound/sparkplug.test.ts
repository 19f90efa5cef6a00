/**
 * The Sparkplug B edge node on a real broker (a private Mosquitto), watched
 * by a host application that decodes every message with Eclipse Tahu's
 * decoder: birth and death order, aliases and properties, report by
 * exception, qualities, seq wrapping at 256, rebirth, the will and bdSeq
 * across reconnects, DDEATH/DBIRTH with a device's link, the primary host's
 * STATE with store and forward, a broker restart that loses nothing, and
 * writes refused or run as audited operator commands. Values come from the
 * in-memory bus, as a poller publishes them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandRequest, DeviceStatus } from '../../src/bus/types.js';
import { MemoryAuditLog, auditCommands } from '../../src/commands/audit.js';
import { SqliteCommandLedger } from '../../src/commands/ledger.js';
import { parseConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import { NorthboundCommands } from '../../src/northbound/commands.js';
import { SparkplugEdgeNode } from '../../src/northbound/sparkplug/edge-node.js';
import type { Quality } from '../../src/tags/quality.js';
import type { TagValue } from '../../src/tags/types.js';
import { freePort } from '../helpers/ports.js';
import { TcpProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';
import { type Broker, privateBroker } from './mosquitto.js';
import { type HostMetric, type Received, TestHost } from './host.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function plantConfig(broker: string, primaryHost?: string): PlantConfig {
  const dir = mkdtempSync(join(tmpdir(), 'planta-sparkplug-'));
  dirs.push(dir);
  const text = `
plant: { name: North test }
devices:
  plc: { host: 127.0.0.1, port: 5020 }
  pumps: { host: 127.0.0.1, port: 5021 }
tags:
  tank.level: { device: plc, area: holding, address: 0, type: int16, scale: 0.1, unit: m, range: [0, 5], description: Tank level }
  tank.temp: { device: plc, area: holding, address: 1, type: int16, unit: degC }
  pump.running: { device: pumps, area: coil, address: 0, description: Pump running }
  pump.starts: { device: pumps, area: holding, address: 1, type: uint32 }
  setpoint.level: { device: plc, area: holding, address: 4, type: uint16, unit: cm, writable: { min: 0, max: 400, roles: [operator] } }
commands:
  set_level:
    label: Set the level setpoint
    confirmation: Set the level setpoint to {level} cm?
    params: { level: { tag: setpoint.level } }
    steps: [{ set: setpoint.level, value: $level }]
northbound:
  sparkplug:
    broker: ${broker}
    group: Plant
    node: north
    keepalive: 2s
    store: ${join(dir, 'sparkplug.db')}
    ${primaryHost ? `primaryHost: ${primaryHost}` : ''}
    commands:
      setpoint/level: { command: set_level, param: level }
`;
  return parseConfig(text, 'north.yaml');
}

interface Rig {
  broker: Broker;
  bus: MemoryBus;
  edge: SparkplugEdgeNode;
  host: TestHost;
  audit: MemoryAuditLog;
  config: PlantConfig;
  registry: Registry;
  stop(): Promise<void>;
}

const v = (tag: string, value: number | boolean | null, quality: Quality = 'Good', ts = Date.now()): TagValue => ({ tag, value, quality, sourceTs: ts, serverTs: ts });

async function rig(t: TestContext, o: { primaryHost?: string; viaProxy?: boolean } = {}): Promise<Rig | undefined> {
  const broker = await privateBroker(t);
  if (!broker) return undefined;
  const proxy = o.viaProxy ? new TcpProxy(await freePort(), { host: '127.0.0.1', port: broker.port }) : undefined;
  await proxy?.start();
  const config = plantConfig(proxy ? `mqtt://127.0.0.1:${proxy.port}` : broker.url, o.primaryHost);
  const bus = new MemoryBus();
  const audit = new MemoryAuditLog();
  await auditCommands(bus, audit);
  await bus.publishValues([v('tank.level', 2.5), v('tank.temp', 18), v('pump.running', true), v('pump.starts', 7), v('setpoint.level', 250)]);
  const records = new SqliteCommandLedger(':memory:');
  const commands = new NorthboundCommands({ bus, config, records });
  const host = await TestHost.connect(broker.url, o.primaryHost ? { hostId: o.primaryHost } : {});
  const registry = new Registry();
  const edge = new SparkplugEdgeNode({ config: config.northbound.sparkplug!, plant: config, bus, commands, reconnectMs: 100, registry });
  await edge.start();
  const stop = async (): Promise<void> => {
    await edge.stop();
    await host.close();
    await proxy?.stop();
    await broker.close();
    await records.close();
  };
  t.after(stop);
  return { broker, bus, edge, host, audit, config, stop, registry, ...(proxy ? { proxy } : {}) } as Rig & { proxy?: TcpProxy };
}

const metric = (r: Received, name: string): HostMetric => {
  const m = r.metrics.find((x) => x.name === name);
  assert.ok(m, `${r.type} has metric ${name}: ${r.metrics.map((x) => x.name).join(', ')}`);
  return m;
};
const status = (device: string, state: DeviceStatus['state']): DeviceStatus => ({
  device, state, connectedSince: null, lastError: null, requests: 0, responses: 0, errors: { timeout: 0, connection: 0, protocol: 0, exception: {} },
  latencyMs: { p50: null, p99: null }, reconnects: 0, scans: 0, overruns: 0, jitterMs: { p50: null, p99: null }, qualities: {}, updatedAt: Date.now(),
});

describe('Sparkplug B edge node', { timeout: 120_000 }, () => {
  it('births in order with every metric, its alias, datatype and properties, then data by exception with aliases; Bad is never sent as good', async (t) => {
    const r = await rig(t);
    if (!r) return;
    const { host, bus } = r;
    await waitFor('NBIRTH and both DBIRTHs', () => host.of('DBIRTH').length === 2, 10_000);
    const [nbirth, ...rest] = host.messages;
    assert.equal(nbirth!.type, 'NBIRTH');
    assert.equal(nbirth!.topic, 'spBv1.0/Plant/NBIRTH/north');
    assert.equal(nbirth!.seq, 0);
    assert.equal(metric(nbirth!, 'bdSeq').type, 'Int64');
    assert.equal(metric(nbirth!, 'bdSeq').value, r.edge.currentBdSeq);
    assert.deepEqual([metric(nbirth!, 'Node Control/Rebirth').type, metric(nbirth!, 'Node Control/Rebirth').value], ['Boolean', false]);
    assert.deepEqual(rest.slice(0, 2).map((m) => [m.type, m.device, m.seq]), [['DBIRTH', 'plc', 1], ['DBIRTH', 'pumps', 2]]);
    const plc = rest[0]!;
    const level = metric(plc, 'tank/level');
    assert.equal(level.type, 'Double', 'a scaled register is a Double');
    assert.equal(level.value, 2.5);
    assert.equal(typeof level.alias, 'number');
    assert.deepEqual(level.properties, {
      Quality: { type: 'Int32', value: 192 }, engUnit: { type: 'String', value: 'm' }, engLow: { type: 'Double', value: 0 }, engHigh: { type: 'Double', value: 5 },
      description: { type: 'String', value: 'Tank level' }, readOnly: { type: 'Boolean', value: true },
    });
    assert.deepEqual([metric(plc, 'tank/temp').type, metric(plc, 'tank/temp').value], ['Int16', 18]);
    assert.equal(metric(plc, 'setpoint/level').properties!.readOnly!.value, false, 'a metric mapped to a command is writable');
    const pumps = rest[1]!;
    assert.deepEqual([metric(pumps, 'pump/running').type, metric(pumps, 'pump/running').value], ['Boolean', true]);
    assert.deepEqual([metric(pumps, 'pump/starts').type, metric(pumps, 'pump/starts').value], ['UInt32', 7]);
    const aliases = [...plc.metrics, ...pumps.metrics].map((m) => m.alias);
    assert.equal(new Set(aliases).size, aliases.length, 'aliases are unique across the edge node');

    // By exception: only what changed, by alias, without names; a negative Int16 as itself.
    await bus.publishValues([v('tank.temp', -4)]);
    const d1 = await waitFor('a DDATA', () => host.of('DDATA')[0], 5000);
    assert.equal(d1.device, 'plc');
    assert.equal(d1.seq, 3);
    assert.deepEqual(d1.metrics.map((m) => [m.name, m.alias, m.value]), [[undefined, metric(plc, 'tank/temp').alias, -4]]);
    assert.equal(d1.metrics[0]!.properties, undefined, 'a good value that stays good carries no quality');

    // A Bad value: null, with quality 0; uncertain: the value with 64; back to good: 192 again.
    await bus.publishValues([v('tank.level', 2.5, 'Bad_NoCommunication'), v('tank.temp', -4, 'Uncertain_LastUsableValue')]);
    const d2 = await waitFor('the second DDATA', () => host.of('DDATA')[1], 5000);
    const bad = d2.metrics.find((m) => m.alias === level.alias)!;
    assert.equal(bad.value, null);
    assert.equal(bad.properties!.Quality!.value, 0);
    const uncertain = d2.metrics.find((m) => m.alias === metric(plc, 'tank/temp').alias)!;
    assert.deepEqual([uncertain.value, uncertain.properties!.Quality!.value], [-4, 64]);
    await bus.publishValues([v('tank.level', 2.6)]);
    const d3 = await waitFor('the third DDATA', () => host.of('DDATA')[2], 5000);
    assert.deepEqual([d3.metrics[0]!.value, d3.metrics[0]!.properties!.Quality!.value], [2.6, 192]);
    const metrics = await r.registry.metrics();
    assert.match(metrics, /^planta_sparkplug_connected 1$/m);
    assert.match(metrics, /^planta_sparkplug_births_total 3$/m);
    assert.match(metrics, /^planta_sparkplug_messages_total 6$/m);
  });

  it('counts seq 0..255 and round again, and rebirths on NCMD Node Control/Rebirth', async (t) => {
    const r = await rig(t);
    if (!r) return;
    const { host, bus, edge } = r;
    await waitFor('the births', () => host.of('DBIRTH').length === 2, 10_000);
    for (let i = 0; i < 300; i++) await bus.publishValues([v('pump.starts', 100 + i)]);
    await waitFor('300 DDATA', () => host.of('DDATA').length === 300, 20_000);
    const seqs = host.messages.map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: 303 }, (_, i) => i % 256), 'every message after NBIRTH counts, 255 is followed by 0');
    assert.deepEqual(host.of('DDATA').map((m) => m.metrics[0]!.value), Array.from({ length: 300 }, (_, i) => 100 + i));

    host.messages.length = 0;
    await host.command('Plant', 'north', undefined, [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }]);
    await waitFor('the births again', () => host.of('DBIRTH').length === 2, 10_000);
    assert.deepEqual(host.messages.slice(0, 3).map((m) => [m.type, m.seq]), [['NBIRTH', 0], ['DBIRTH', 1], ['DBIRTH', 2]]);
    assert.equal(metric(host.messages[0]!, 'bdSeq').value, edge.currentBdSeq, 'a rebirth keeps the session\'s bdSeq');
    assert.equal(metric(host.of('DBIRTH', 'pumps')[0]!, 'pump/starts').value, 399, 'the births carry the current values');
  });

  it('has its NDEATH (with the birth\'s bdSeq) published by the broker when its connection is cut, and comes back with the next bdSeq', async (t) => {
    const r = (await rig(t, { viaProxy: true })) as (Rig & { proxy: TcpProxy }) | undefined;
    if (!r) return;
    const { host, proxy, edge } = r;
    await waitFor('the births', () => host.of('DBIRTH').length === 2, 10_000);
    const first = metric(host.of('NBIRTH')[0]!, 'bdSeq').value as number;
    await proxy.stop();
    const death = await waitFor('the NDEATH (the will)', () => host.of('NDEATH')[0], 10_000);
    assert.equal(metric(death, 'bdSeq').value, first);
    assert.equal(death.seq, undefined, 'an NDEATH has no seq');
    await proxy.start();
    await waitFor('a second NBIRTH', () => host.of('NBIRTH').length === 2, 10_000);
    const second = host.of('NBIRTH')[1]!;
    assert.equal(metric(second, 'bdSeq').value, (first + 1) % 256);
    assert.equal(second.seq, 0);
    assert.equal(edge.currentBdSeq, (first + 1) % 256);
    await waitFor('its DBIRTHs', () => host.of('DBIRTH').length === 4, 10_000);
  });

  it("sends DDEATH when a device's link is down and its DBIRTH when it is back", async (t) => {
    const r = await rig(t);
    if (!r) return;
    const { host, bus } = r;
    await waitFor('the births', () => host.of('DBIRTH').length === 2, 10_000);
    await bus.publishDeviceStatus(status('pumps', 'down'));
    await bus.publishValues([v('pump.running', false, 'Bad_NoCommunication'), v('tank.temp', 19)]);
    const death = await waitFor('the DDEATH', () => host.of('DDEATH')[0], 5000);
    assert.equal(death.topic, 'spBv1.0/Plant/DDEATH/north/pumps');
    await waitFor('the plc data', () => host.of('DDATA', 'plc').length === 1, 5000);
    assert.equal(host.of('DDATA', 'pumps').length, 0, 'a dead device has no data');
    await bus.publishDeviceStatus(status('pumps', 'connected'));
    const birth = await waitFor('its DBIRTH again', () => host.of('DBIRTH', 'pumps')[1], 5000);
    assert.equal(metric(birth, 'pump/running').properties!.Quality!.value, 0);
    assert.equal(metric(birth, 'pump/running').value, null, 'a Bad value is born null');
    const seqs = host.messages.map((m) => m.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'DDEATH and DBIRTH count in seq');
  });

  it("publishes the alarms' states as metrics of the edge node: in the NBIRTH, then NDATA at each change", async (t) => {
    const r = await rig(t);
    if (!r) return;
    const { host, bus } = r;
    await waitFor('the births', () => host.of('DBIRTH').length === 2, 10_000);
    const nbirth = host.of('NBIRTH')[0]!;
    assert.deepEqual([metric(nbirth, 'Alarms/comm.pumps/State').type, metric(nbirth, 'Alarms/comm.pumps/State').value], ['String', 'unknown']);
    assert.equal(metric(nbirth, 'Alarms/comm.pumps/Active').value, null, 'not known yet');
    const now = Date.now();
    await bus.publishAlarmStates([{ id: 'comm.pumps', message: 'No communication with pumps', priority: 'high', source: 'pumps', state: 'unack', active: true, acked: false, activeSince: now, changedAt: now, value: null }]);
    const ndata = await waitFor('the NDATA', () => host.of('NDATA')[0], 5000);
    const byAlias = new Map(ndata.metrics.map((m) => [m.alias, m]));
    assert.equal(byAlias.get(metric(nbirth, 'Alarms/comm.pumps/State').alias)!.value, 'unack');
    assert.equal(byAlias.get(metric(nbirth, 'Alarms/comm.pumps/Active').alias)!.value, true);
    assert.equal(byAlias.get(metric(nbirth, 'Alarms/comm.pumps/State').alias)!.timestamp, now);
  });

  it('waits for the primary host, holds data while it is offline and forwards it in order when it is back', async (t) => {
    const r = await rig(t, { primaryHost: 'scada' });
    if (!r) return;
    const { host, bus, edge } = r;
    await waitFor('the births once the host is online', () => host.of('DBIRTH').length === 2, 10_000);
    await host.state(false);
    await waitFor('the edge node sees the host offline', () => !edge.isLive, 5000);
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 20; i++) await bus.publishValues([v('tank.temp', i, 'Good', t0 + i * 100)]);
    await waitFor('20 batches stored', () => edge.pending === 20, 5000);
    assert.equal(host.of('DDATA').length, 0, 'nothing is sent while the primary host is offline');
    host.messages.length = 0;
    await host.state(true);
    await waitFor('the stored data forwarded', () => host.of('DDATA').length === 20, 10_000);
    assert.deepEqual(host.messages.slice(0, 3).map((m) => m.type), ['NBIRTH', 'DBIRTH', 'DBIRTH'], 'births first');
    const data = host.of('DDATA');
    assert.deepEqual(data.map((m) => m.metrics[0]!.value), Array.from({ length: 20 }, (_, i) => i), 'in order');
    assert.deepEqual(data.map((m) => m.metrics[0]!.timestamp), Array.from({ length: 20 }, (_, i) => t0 + i * 100), 'with their own times');
    assert.ok(data.every((m) => m.metrics[0]!.isHistorical), 'marked historical');
    assert.equal(edge.pending, 0);
    await bus.publishValues([v('tank.temp', 99)]);
    const live = await waitFor('live data again', () => host.of('DDATA')[20], 5000);
    assert.equal(live.metrics[0]!.isHistorical, undefined);
  });

  it('loses nothing across a broker restart: data stored while it is away goes out in order after the births', async (t) => {
    const r = await rig(t, { primaryHost: 'scada' });
    if (!r) return;
    const { host, bus, edge, broker } = r;
    // The host announces itself again each time it reconnects, as a Sparkplug host does.
    host.client.on('connect', () => void host.state(true).catch(() => undefined));
    await waitFor('the births', () => host.of('DBIRTH').length === 2, 10_000);
    await bus.publishValues([v('pump.starts', 1)]);
    await waitFor('live data', () => host.of('DDATA').length === 1, 5000);
    await broker.stop();
    await waitFor('the edge node sees the broker gone', () => !edge.connected, 10_000);
    for (let i = 2; i <= 31; i++) await bus.publishValues([v('pump.starts', i)]);
    await waitFor('30 batches stored', () => edge.pending === 30, 5000);
    const before = host.messages.length;
    await broker.start();
    await waitFor('the stored data after the restart', () => host.of('DDATA').length === 31, 20_000);
    const after = host.messages.slice(before);
    assert.equal(after[0]!.type, 'NBIRTH');
    assert.deepEqual(host.of('DDATA').map((m) => m.metrics[0]!.value), Array.from({ length: 31 }, (_, i) => i + 1), 'every value, in order');
    assert.equal(edge.pending, 0);
  });

  it('refuses and audits a write to an unmapped metric; runs a mapped one as an operator command with the MQTT identity', async (t) => {
    const r = await rig(t);
    if (!r) return;
    const { host, bus, audit, edge } = r;
    const submitted: CommandRequest[] = [];
    await bus.subscribeCommands((c) => void submitted.push(c));
    await waitFor('the births', () => host.of('DBIRTH').length === 2, 10_000);
    await host.command('Plant', 'north', 'plc', [{ name: 'tank/temp', type: 'Int16', value: 50 }]);
    const refused = await waitFor('the refusal audited', () => audit.entries.find((e) => e.status === 'rejected'), 5000);
    assert.equal(refused.code, 'PLANTA_NORTHBOUND_WRITE_REFUSED');
    assert.equal(refused.user, edge.writer);
    assert.match(refused.reason!, /plc\/tank\/temp/);
    assert.equal(submitted.length, 0, 'nothing reaches the bus');

    // Out of range: refused by the command's own validation, audited.
    await host.command('Plant', 'north', 'plc', [{ name: 'setpoint/level', type: 'UInt16', value: 999 }]);
    const range = await waitFor('the range refusal', () => audit.entries.find((e) => e.code === 'PLANTA_COMMAND_OUT_OF_RANGE'), 5000);
    assert.equal(range.command, 'set_level');

    const ts = Date.now();
    await host.command('Plant', 'north', 'plc', [{ name: 'setpoint/level', type: 'UInt16', value: 300 }], ts);
    const cmd = await waitFor('the command on the bus', () => submitted[0], 5000);
    assert.equal(cmd.command, 'set_level');
    assert.deepEqual(cmd.params, { level: 300 });
    assert.equal(cmd.user, 'mqtt:127.0.0.1:' + String(r.broker.port));
    assert.equal(cmd.role, 'operator');
    const queued = await waitFor('the queued outcome audited', () => audit.entries.find((e) => e.status === 'queued'), 5000);
    assert.equal(queued.id, cmd.id);
    assert.equal(queued.user, edge.writer);

    // The same message again (a redelivery) never runs twice.
    await host.command('Plant', 'north', 'plc', [{ name: 'setpoint/level', type: 'UInt16', value: 300 }], ts);
    const dup = await waitFor('the duplicate refused', () => audit.entries.find((e) => e.code === 'PLANTA_COMMAND_DUPLICATE'), 5000);
    assert.equal(dup.id, cmd.id);
    assert.equal(submitted.length, 1);
  });
});
