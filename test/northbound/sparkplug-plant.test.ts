/**
 * The Sparkplug B edge node in front of a running plant: the simulated SBR
 * PLC polled by the poller on the in-memory bus, a private Mosquitto and a
 * host decoding with Eclipse Tahu's decoder. A PLC that falls silent is
 * DDEATH (and DBIRTH when it answers again); a DCMD that no mapping names
 * writes nothing; a mapped one runs as an operator command, is written,
 * read back, confirmed, and audited under the MQTT identity.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { MemoryAuditLog, auditCommands } from '../../src/commands/audit.js';
import { SqliteCommandLedger } from '../../src/commands/ledger.js';
import { loadConfig } from '../../src/config/load.js';
import { sparkplugSchema } from '../../src/config/northbound-schema.js';
import { NorthboundCommands } from '../../src/northbound/commands.js';
import { SparkplugEdgeNode } from '../../src/northbound/sparkplug/edge-node.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { waitFor } from '../helpers/wait.js';
import { privateBroker } from './mosquitto.js';
import { TestHost } from './host.js';

const dir = mkdtempSync(join(tmpdir(), 'planta-sparkplug-plant-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Sparkplug B edge node on a running plant', { timeout: 120_000 }, () => {
  it('DDEATHs a silent PLC, refuses an unmapped DCMD and runs a mapped one through the command lifecycle, audited', async (t) => {
    const broker = await privateBroker(t);
    if (!broker) return;
    t.after(() => broker.close());
    const sim = new Simulator({ port: 0, speed: 60, scanMs: 20, autostart: false });
    const port = (await sim.start()).port;
    t.after(() => sim.stop());
    const config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 200, connectTimeoutMs: 300, linkLossMs: 800, scanGroups: { fast: 100, settings: 300 } });
    config.northbound = {
      sparkplug: sparkplugSchema.parse({
        broker: broker.url, group: 'Utilities', node: 'sbr', store: join(dir, 'sp.db'),
        commands: { 'Commands/reset_partial_volume': { command: 'reset_partial_volume' } },
      }),
    };
    const bus = new MemoryBus();
    const audit = new MemoryAuditLog();
    await auditCommands(bus, audit);
    const poller = new Poller(config, { bus });
    await poller.start();
    t.after(() => poller.stop());
    await waitFor('the poller connected', () => poller.devices[0]!.status().state === 'connected', 5000);
    const records = new SqliteCommandLedger(':memory:');
    t.after(() => records.close());
    const host = await TestHost.connect(broker.url);
    t.after(() => host.close());
    const edge = new SparkplugEdgeNode({ config: config.northbound.sparkplug!, plant: config, bus, commands: new NorthboundCommands({ bus, config, records }) });
    await edge.start();
    t.after(() => edge.stop());

    const birth = await waitFor('the DBIRTH of the PLC', () => host.of('DBIRTH', 'plc')[0], 10_000);
    const names = birth.metrics.map((m) => m.name);
    assert.equal(names.length, config.tags.length + 1, 'every tag, and the mapped command');
    assert.ok(names.includes('reactor/oxygen') && names.includes('Commands/reset_partial_volume'));
    assert.equal(birth.metrics.find((m) => m.name === 'Commands/reset_partial_volume')!.type, 'Boolean');
    await waitFor('data by exception from the poller', () => host.of('DDATA', 'plc').length > 0, 10_000);

    // Unmapped: a tag the PLC has, written from MQTT: refused, audited, nothing written to the PLC.
    const mark = sim.writes.list().at(-1)?.seq ?? 0;
    await host.command('Utilities', 'sbr', 'plc', [{ name: 'cmd/start', type: 'Boolean', value: true }]);
    const refused = await waitFor('the refusal audited', () => audit.entries.find((e) => e.code === 'PLANTA_NORTHBOUND_WRITE_REFUSED'), 5000);
    assert.equal(refused.user, edge.writer);

    // Mapped: queued, written by the poller, read back, confirmed; every step under the MQTT identity.
    await host.command('Utilities', 'sbr', 'plc', [{ name: 'Commands/reset_partial_volume', type: 'Boolean', value: true }]);
    const confirmed = await waitFor('the command confirmed', () => audit.entries.find((e) => e.command === 'reset_partial_volume' && e.status === 'confirmed'), 15_000);
    assert.equal(confirmed.user, edge.writer);
    assert.ok(audit.entries.some((e) => e.id === confirmed.id && e.status === 'queued' && e.user === edge.writer));
    const written = sim.writes.list(mark);
    assert.ok(written.some((w) => w.fc === 5 && w.address === 32), 'the mapped command pulsed cmd.reset_partial_volume (coil 32)');
    assert.ok(written.every((w) => w.address !== 31), 'cmd.start (coil 31) was never written');

    // The PLC falls silent: its link goes down, DDEATH; it answers again: DBIRTH.
    sim.setMode({ mode: 'silent' });
    const death = await waitFor('the DDEATH of the silent PLC', () => host.of('DDEATH', 'plc')[0], 10_000);
    assert.equal(death.topic, 'spBv1.0/Utilities/DDEATH/sbr/plc');
    const deathAt = host.messages.indexOf(death);
    sim.setMode({ mode: 'normal' });
    await waitFor('the DBIRTH after it answers again', () => host.of('DBIRTH', 'plc').length === 2, 10_000);
    assert.equal(host.messages.slice(deathAt + 1).filter((m) => m.type === 'DDATA' && m.device === 'plc' && host.messages.indexOf(m) < host.messages.indexOf(host.of('DBIRTH', 'plc')[1]!)).length, 0, 'no data between DDEATH and DBIRTH');
  });
});
