/**
 * The OPC UA server with node-opcua's own client, over SignAndEncrypt
 * Basic256Sha256: an untrusted client certificate refused until trusted,
 * an anonymous session refused, users from Planta's user store; browse
 * (folders from tag names), read (StatusCode from quality, source
 * timestamp, engineering units and range), a subscription following the
 * bus, alarms as events; a write to a read-only node refused, a write by a
 * role too low refused and audited, a permitted write queued as an operator
 * command under the user's name, audited.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  AttributeIds,
  ClientMonitoredItem,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  type ClientSession,
  SecurityPolicy,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  type Variant,
  constructEventFilter,
} from 'node-opcua';
import { Registry } from 'prom-client';
import { sqliteDirectory } from '../../src/auth/directory.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandRequest } from '../../src/bus/types.js';
import { MemoryAuditLog, auditCommands } from '../../src/commands/audit.js';
import { SqliteCommandLedger } from '../../src/commands/ledger.js';
import { parseConfig } from '../../src/config/load.js';
import { NorthboundCommands } from '../../src/northbound/commands.js';
import { PlantaOpcuaServer } from '../../src/northbound/opcua/server.js';
import { rejectedCertificates, trustCertificate } from '../../src/northbound/opcua/trust.js';
import { directoryUsers } from '../../src/northbound/opcua/users.js';
import type { TagValue } from '../../src/tags/types.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'planta-opcua-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const v = (tag: string, value: number | boolean, quality: TagValue['quality'] = 'Good', ts = Date.now()): TagValue => ({ tag, value, quality, sourceTs: ts, serverTs: ts });

describe('OPC UA server', { timeout: 180_000 }, () => {
  it('serves the tag tree to trusted, signed-in clients; writes only through mapped commands, audited', async (t) => {
    const port = await freePort();
    const pki = join(dir, 'server-pki');
    const config = parseConfig(
      `plant: { name: OPC test }
devices:
  plc: { host: 127.0.0.1, port: 5020 }
tags:
  tank.level: { area: holding, address: 0, type: int16, scale: 0.1, unit: m, range: [0, 5], description: Tank level }
  tank.temp: { area: holding, address: 1, type: int16, unit: degC }
  pump.running: { area: coil, address: 0 }
  setpoint.level: { area: holding, address: 4, unit: cm, writable: { min: 0, max: 400, roles: [operator] } }
commands:
  set_level: { label: Set, confirmation: "Set {level}?", params: { level: { tag: setpoint.level } }, steps: [{ set: setpoint.level, value: $level }] }
northbound:
  opcua:
    host: 127.0.0.1
    port: ${port}
    pki: ${pki}
    commands:
      setpoint.level: { command: set_level, param: level }
`,
      'opc.yaml',
    );
    const bus = new MemoryBus();
    const audit = new MemoryAuditLog();
    await auditCommands(bus, audit);
    const submitted: CommandRequest[] = [];
    await bus.subscribeCommands((c) => void submitted.push(c));
    const t0 = Date.now() - 5000;
    await bus.publishValues([v('tank.level', 2.5, 'Good', t0), v('tank.temp', 18), v('pump.running', true), v('setpoint.level', 250)]);
    const store = new AuthStore(join(dir, 'users.db'));
    t.after(() => store.close());
    const users = sqliteDirectory(store);
    await users.addUser('ana', 'operator', await hashPassword('ana-operator-password-1'));
    await users.addUser('vic', 'viewer', await hashPassword('vic-viewer-password-1'));
    const records = new SqliteCommandLedger(':memory:');
    t.after(() => records.close());
    const registry = new Registry();
    const server = new PlantaOpcuaServer({ config: config.northbound.opcua!, plant: config, bus, commands: new NorthboundCommands({ bus, config, records }), users: directoryUsers(users), registry });
    await server.start();
    t.after(() => server.stop());
    const endpoint = `opc.tcp://127.0.0.1:${port}`;

    const clientManager = new OPCUACertificateManager({ rootFolder: join(dir, 'client-pki'), automaticallyAcceptUnknownCertificate: true });
    const client = OPCUAClient.create({
      applicationName: 'PlantaTestClient',
      applicationUri: 'urn:planta:test-client',
      securityMode: MessageSecurityMode.SignAndEncrypt,
      securityPolicy: SecurityPolicy.Basic256Sha256,
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      clientCertificateManager: clientManager,
    });
    t.after(() => client.disconnect());

    // An unknown client certificate is refused, and waits in rejected/ until trusted.
    await assert.rejects(client.connect(endpoint));
    const rejected = await waitFor('the client certificate in rejected/', () => rejectedCertificates(pki)[0], 5000);
    assert.ok(await trustCertificate(pki, rejected.thumbprint.slice(0, 12)));
    // The running server sees its trust list change on disk (as after \`planta opcua trust\` in another process).
    await waitFor('a connection once trusted', () => client.connect(endpoint).then(() => true, () => false), 15_000, 200);

    // Anonymous: refused.
    await assert.rejects(client.createSession());
    await assert.rejects(client.createSession({ type: UserTokenType.UserName, userName: 'ana', password: 'wrong-password' }));
    const session: ClientSession = await client.createSession({ type: UserTokenType.UserName, userName: 'ana', password: 'ana-operator-password-1' });
    t.after(() => session.close());

    // Browse: Objects/Planta/{tank,pump,setpoint}, tank/{level,temp}.
    const top = await session.browse('ns=1;s=Planta');
    assert.deepEqual(top.references!.map((r) => r.browseName.name).sort(), ['pump', 'setpoint', 'tank']);
    const tank = await session.browse('ns=1;s=folder:tank');
    assert.deepEqual(tank.references!.map((r) => r.browseName.name).sort(), ['level', 'temp']);

    // Read: the value, Good, its source timestamp; the engineering unit and range.
    const level = await session.read({ nodeId: 'ns=1;s=tank.level', attributeId: AttributeIds.Value });
    assert.equal(level.value.value, 2.5);
    assert.equal(level.value.dataType, DataType.Double);
    assert.equal(level.statusCode.value, StatusCodes.Good.value);
    assert.equal(level.sourceTimestamp!.getTime(), t0);
    assert.ok(level.serverTimestamp);
    const props = await session.browse('ns=1;s=tank.level');
    const eu = props.references!.find((r) => r.browseName.name === 'EURange')!;
    const range = await session.read({ nodeId: eu.nodeId, attributeId: AttributeIds.Value });
    assert.deepEqual([range.value.value.low, range.value.value.high], [0, 5]);
    const unitsRef = props.references!.find((r) => r.browseName.name === 'EngineeringUnits')!;
    const units = await session.read({ nodeId: unitsRef.nodeId, attributeId: AttributeIds.Value });
    assert.equal(units.value.value.displayName.text, 'm');

    // A subscription follows the bus; a Bad quality arrives as its StatusCode.
    const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedMaxKeepAliveCount: 20, publishingEnabled: true });
    const seen: { value: unknown; status: number }[] = [];
    const item = ClientMonitoredItem.create(sub, { nodeId: 'ns=1;s=tank.temp', attributeId: AttributeIds.Value }, { samplingInterval: 0, queueSize: 10, discardOldest: true }, TimestampsToReturn.Both);
    item.on('changed', (dv) => void seen.push({ value: (dv.value as Variant).value, status: dv.statusCode.value }));
    await waitFor('the initial value', () => seen.some((s) => s.value === 18), 5000);
    await bus.publishValues([v('tank.temp', 21)]);
    await waitFor('the change', () => seen.some((s) => s.value === 21), 5000);
    await bus.publishValues([v('tank.temp', 21, 'Bad_NoCommunication')]);
    await waitFor('Bad_NoCommunication', () => seen.some((s) => s.status === StatusCodes.BadNoCommunication.value), 5000);

    // Alarms: their state changes as events on the Server object.
    const events: unknown[][] = [];
    const eventItem = ClientMonitoredItem.create(sub, { nodeId: 'i=2253', attributeId: AttributeIds.EventNotifier }, { queueSize: 100, filter: constructEventFilter(['SourceName', 'Message', 'Severity']) }, TimestampsToReturn.Both);
    eventItem.on('changed', (fields: unknown) => void events.push((fields as Variant[]).map((f) => f.value)));
    // The server has the monitored item once it is initialized: an alarm published after that is its event.
    await new Promise<void>((resolve) => eventItem.once('initialized', () => resolve()));
    await bus.publishAlarmStates([{ id: 'tank.high', message: 'Tank level high', priority: 'high', source: 'tank.level', state: 'unack', active: true, acked: false, activeSince: Date.now(), changedAt: Date.now(), value: 4.9 }]);
    const ev = await waitFor('the alarm event', () => events.find((e) => e[0] === 'tank.level'), 5000);
    assert.match((ev[1] as { text: string }).text, /tank\.high: Tank level high — unack \(active\)/);
    assert.equal(ev[2], 700);
    await sub.terminate();

    // Writes: a read-only node refused by the server; a mapped one queued as a command under the user, audited.
    const notWritable = await session.write({ nodeId: 'ns=1;s=tank.temp', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Int16, value: 5 } } });
    assert.notEqual(notWritable.value, StatusCodes.Good.value);
    const outOfRange = await session.write({ nodeId: 'ns=1;s=setpoint.level', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.UInt16, value: 999 } } });
    assert.equal(outOfRange.value, StatusCodes.BadOutOfRange.value);
    assert.ok(audit.entries.some((e) => e.code === 'PLANTA_COMMAND_OUT_OF_RANGE' && e.user === 'opcua:ana'));
    const ok = await session.write({ nodeId: 'ns=1;s=setpoint.level', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.UInt16, value: 300 } } });
    assert.equal(ok.value, StatusCodes.Good.value);
    const cmd = await waitFor('the command on the bus', () => submitted[0], 5000);
    assert.deepEqual([cmd.command, cmd.params, cmd.user, cmd.role], ['set_level', { level: 300 }, 'opcua:ana', 'operator']);
    await waitFor('the queued outcome audited', () => audit.entries.find((e) => e.id === cmd.id && e.status === 'queued' && e.user === 'opcua:ana'), 5000);

    // A viewer may sign in and read, not write: refused and audited under their name.
    const viewer = await client.createSession({ type: UserTokenType.UserName, userName: 'vic', password: 'vic-viewer-password-1' });
    const denied = await viewer.write({ nodeId: 'ns=1;s=setpoint.level', attributeId: AttributeIds.Value, value: { value: { dataType: DataType.UInt16, value: 100 } } });
    assert.equal(denied.value, StatusCodes.BadUserAccessDenied.value);
    assert.ok(audit.entries.some((e) => e.code === 'PLANTA_COMMAND_FORBIDDEN' && e.user === 'opcua:vic'));
    assert.equal(submitted.length, 1);
    const metrics = await registry.metrics();
    assert.match(metrics, /^planta_opcua_sessions 2$/m, 'two sessions open: ana and vic');
    assert.match(metrics, /^planta_opcua_rejected_sessions_total [1-9]/m, 'the anonymous and wrong-password sessions');
    await viewer.close();
  });
});
