/**
 * The northbound as a user meets it on the command line: `planta check`
 * validating the northbound: section (located errors), `planta start`
 * starting the Sparkplug B edge node beside the plant, and `planta
 * northbound` running it alone (and refusing to run without a section).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { run, startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { AttributeIds, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy, UserTokenType } from 'node-opcua';
import { hashPassword } from '../../src/auth/passwords.js';
import { AuthStore } from '../../src/auth/store.js';
import { privateBroker } from '../northbound/mosquitto.js';
import { TestHost } from '../northbound/host.js';

const root = new URL('../..', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');
const dir = mkdtempSync(join(tmpdir(), 'planta-northbound-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const small = (northbound: string): string => `plant: { name: Test plant }
devices:
  plc: { host: 127.0.0.1, port: 5020 }
tags:
  level: { area: holding, address: 0, unit: m }
  setpoint: { area: holding, address: 1, writable: { min: 0, max: 10, roles: [operator] } }
commands:
  set: { label: Set, confirmation: Set?, params: { v: { tag: setpoint } }, steps: [{ set: setpoint, value: $v }] }
  critical_set: { label: Set, confirmation: Set?, critical: true, params: { v: { tag: setpoint } }, steps: [{ set: setpoint, value: $v }] }
  engineer_set: { label: Set, confirmation: Set?, role: engineer, params: { v: { tag: setpoint } }, steps: [{ set: setpoint, value: $v }] }
${northbound}`;

describe('planta check, start and northbound with a northbound: section', { timeout: 120_000 }, () => {
  it('planta check accepts a valid section and names every mistake of a broken one at its line', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, small('northbound:\n  sparkplug:\n    broker: mqtt://broker.example:1883\n    group: Water\n    node: sbr\n    commands:\n      setpoint: { command: set, param: v }\n'));
    const ok = await run(process.execPath, [planta, 'check', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /northbound: Sparkplug B edge node Water\/sbr on mqtt:\/\/broker\.example:1883, 1 writable metric\(s\)/);

    // Shapes first (zod), each at its line…
    const shapes = join(dir, 'shapes.yaml');
    writeFileSync(shapes, small('northbound:\n  sparkplug:\n    broker: http://broker.example\n    group: "a/b"\n    commands:\n      five: { command: set, param: v, extra: 1 }\n'));
    const r1 = await run(process.execPath, [planta, 'check', shapes]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /shapes\.yaml:13:13 northbound\.sparkplug\.broker: expected mqtt:\/\/HOST:PORT/);
    assert.match(r1.stderr, /shapes\.yaml:14:12 northbound\.sparkplug\.group: expected 1 to 64 characters without "\/"/);
    assert.match(r1.stderr, /shapes\.yaml:16:\d+ northbound\.sparkplug\.commands\.five/);
    // …then what a mapping must be to the commands it names.
    const rules = join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      small(`northbound:
  sparkplug:
    broker: mqtt://broker.example
    commands:
      one: { command: nothing }
      two: { command: critical_set, param: v }
      three: { command: set }
      four: { command: engineer_set, param: v }
  opcua:
    commands:
      nosuch: { command: set, param: v }
`),
    );
    const r2 = await run(process.execPath, [planta, 'check', rules]);
    assert.equal(r2.code, 1);
    for (const expected of [
      /rules\.yaml:15:\d+ northbound\.sparkplug\.commands\.one\.command: unknown command "nothing"/,
      /rules\.yaml:16:\d+ northbound\.sparkplug\.commands\.two\.command: "critical_set" is critical/,
      /rules\.yaml:17:\d+ northbound\.sparkplug\.commands\.three\.param: "set" has parameters \(v\)/,
      /rules\.yaml:18:\d+ northbound\.sparkplug\.commands\.four\.role: operator may not run "engineer_set": it needs engineer/,
      /rules\.yaml:21:\d+ northbound\.opcua\.commands\.nosuch: no tag "nosuch"/,
    ]) assert.match(r2.stderr, expected);
  });

  it('planta northbound refuses a configuration without the section, with its code', async () => {
    const none = join(dir, 'none.yaml');
    writeFileSync(none, small(''));
    const r = await run(process.execPath, [planta, 'northbound', '--config', none, '--bus', 'memory', '--db', join(dir, 'nb.db')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no northbound\.sparkplug or northbound\.opcua section/);
  });

  it('planta start runs the edge node beside the plant; planta northbound runs it alone', async (t) => {
    const broker = await privateBroker(t);
    if (!broker) return;
    t.after(() => broker.close());
    const host = await TestHost.connect(broker.url);
    t.after(() => host.close());
    const port = await freePort();
    const text = readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8').replace('port: 5020', `port: ${port}`) +
      `\nnorthbound:\n  sparkplug:\n    broker: ${broker.url}\n    group: Water\n    node: sbr\n    store: ${join(dir, 'sp.db')}\n`;
    const file = join(dir, 'plant.yaml');
    writeFileSync(file, text);
    copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
    const p = await startProcess(process.execPath, [planta, 'start', '--config', file, '--port', '0', '--db', join(dir, 'planta.db'), '--history', join(dir, 'h.db')], /Planta is running/, {
      timeoutMs: 60_000,
      env: { ...process.env, PLANTA_LOG_LEVEL: 'warn' },
    });
    try {
      await waitFor('the banner line', () => /Sparkplug B: edge node Water\/sbr on mqtt:/.test(p.output()), 5000);
      const birth = await waitFor('the DBIRTH of the PLC', () => host.of('DBIRTH', 'plc')[0], 20_000);
      const level = birth.metrics.find((m) => m.name === 'reactor/level');
      assert.ok(level);
      // The level Good (192): in its birth when the plant was read before the birth, or in the data that made it Good
      // (a quality change carries the property); then its changes by exception, by alias only.
      const goodInData = (): boolean => host.of('DDATA', 'plc').some((d) => d.metrics.some((m) => m.alias === level.alias && m.properties?.Quality?.value === 192));
      await waitFor('the level good', () => level.properties?.Quality?.value === 192 || goodInData(), 20_000);
      const before = host.of('DDATA', 'plc').length;
      await waitFor('the level changing by exception', () => host.of('DDATA', 'plc').slice(before).some((d) => d.metrics.some((m) => m.alias === level.alias && m.name === undefined && typeof m.value === 'number')), 20_000);
      p.child.kill('SIGTERM');
      const [code] = await once(p.child, 'exit');
      assert.equal(code, 0, p.output());
      await waitFor('the NDEATH of a clean stop', () => host.of('NDEATH').length === 1, 5000);
    } finally {
      await p.stop();
    }

    const alone = await startProcess(process.execPath, [planta, 'northbound', '--config', file, '--bus', 'memory', '--db', join(dir, 'nb.db')], /planta northbound: Sparkplug B/, {
      timeoutMs: 60_000,
      env: { ...process.env, PLANTA_LOG_LEVEL: 'warn' },
    });
    try {
      await waitFor('a second NBIRTH', () => host.of('NBIRTH').length === 2, 20_000);
    } finally {
      await alone.stop();
    }
  });

  it('planta northbound serves OPC UA to Planta\'s users; planta opcua trust lists the refused client and trusts it', async (t) => {
    const port = await freePort();
    const pki = join(dir, 'ua-pki');
    const file = join(dir, 'ua.yaml');
    writeFileSync(file, small(`northbound:\n  opcua: { host: 127.0.0.1, port: ${port}, pki: ${pki} }\n`));
    const check = await run(process.execPath, [planta, 'check', file]);
    assert.match(check.stdout, new RegExp(`northbound: OPC UA server on 127\\.0\\.0\\.1:${port} \\(SignAndEncrypt\\), 0 writable node`));
    const usersFile = join(dir, 'users.db');
    const store = new AuthStore(usersFile);
    store.addUser('ana', 'operator', await hashPassword('ana-operator-password-1'));
    store.close();
    const p = await startProcess(process.execPath, [planta, 'northbound', '--config', file, '--bus', 'memory', '--db', join(dir, 'ua-nb.db'), '--users', usersFile], /planta northbound: OPC UA: (opc\.tcp:\S+)/, {
      timeoutMs: 60_000,
      env: { ...process.env, PLANTA_LOG_LEVEL: 'warn' },
    });
    t.after(() => p.stop());
    const client = OPCUAClient.create({
      applicationName: 'PlantaCliTest', securityMode: MessageSecurityMode.SignAndEncrypt, securityPolicy: SecurityPolicy.Basic256Sha256, endpointMustExist: false,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      clientCertificateManager: new OPCUACertificateManager({ rootFolder: join(dir, 'ua-client-pki'), automaticallyAcceptUnknownCertificate: true }),
    });
    t.after(() => client.disconnect());
    const endpoint = `opc.tcp://127.0.0.1:${port}`;
    await assert.rejects(client.connect(endpoint));
    const listed = await waitFor('the refused client listed', async () => {
      const r = await run(process.execPath, [planta, 'opcua', 'trust', '--config', file]);
      return /^refused {2}([0-9a-f]{40}) /m.exec(r.stdout)?.[1];
    }, 20_000, 300);
    const trusted = await run(process.execPath, [planta, 'opcua', 'trust', listed.slice(0, 10), '--config', file]);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.match(trusted.stdout, new RegExp(`trusted ${listed}`));
    await waitFor('a connection once trusted', () => client.connect(endpoint).then(() => true, () => false), 20_000, 300);
    const session = await client.createSession({ type: UserTokenType.UserName, userName: 'ana', password: 'ana-operator-password-1' });
    const level = await session.read({ nodeId: 'ns=1;s=level', attributeId: AttributeIds.Value });
    assert.equal(level.statusCode.name, 'BadWaitingForInitialData', 'no poller on this bus: not read yet');
    await session.close();
  });
});
