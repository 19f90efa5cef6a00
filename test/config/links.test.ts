/**
 * The `links:` section: serial lines, RTU-over-TCP converters and Modbus/TCP
 * gateways carrying several devices, and every rule between links and
 * devices reported at its line, as `planta check` prints it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { run } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
  }
  return [];
}

const tags = `tags:\n  flow1: { device: meter1, area: input, address: 0 }\n`;

const valid = `links:
  rs485:
    serial: /dev/ttyUSB0
    baud: 9600
    parity: none
    stopBits: 2
  converter:
    rtuOverTcp: 10.0.0.7:4001
  gateway:
    tcp: "[fd00::7]:502"
devices:
  meter1: { link: rs485, unitId: 1 }
  meter2: { link: rs485, unitId: 2 }
  vfd: { link: converter, unitId: 1 }
  behind: { link: gateway, unitId: 5 }
  plc: { host: 10.0.0.9 }
${tags}`;

describe('configuration: links', () => {
  it('resolves each kind of link, with defaults, and places its devices on it', () => {
    const c = parseConfig(valid, 'x.yaml');
    assert.deepEqual(c.links, [
      { name: 'rs485', description: '', kind: 'serial', path: '/dev/ttyUSB0', baud: 9600, parity: 'none', dataBits: 8, stopBits: 2 },
      { name: 'converter', description: '', kind: 'rtuOverTcp', host: '10.0.0.7', port: 4001 },
      { name: 'gateway', description: '', kind: 'tcp', host: 'fd00::7', port: 502 },
    ]);
    const d = (n: string) => c.devices.find((x) => x.name === n)!;
    assert.deepEqual([d('meter1').link, d('meter1').unitId, d('meter1').host, d('meter1').port], ['rs485', 1, '/dev/ttyUSB0', 0]);
    assert.deepEqual([d('vfd').link, d('vfd').host, d('vfd').port], ['converter', '10.0.0.7', 4001]);
    assert.deepEqual([d('behind').host, d('behind').port], ['fd00::7', 502]);
    assert.deepEqual([d('plc').link, d('plc').host, d('plc').port], [undefined, '10.0.0.9', 502]);
    const defaults = parseConfig(`links:\n  l: { serial: /dev/ttyS0 }\ndevices:\n  meter1: { link: l }\n${tags}`, 'x.yaml');
    assert.deepEqual(defaults.links[0], { name: 'l', description: '', kind: 'serial', path: '/dev/ttyS0', baud: 19200, parity: 'even', dataBits: 8, stopBits: 1 });
  });

  it('reports every problem at its line: duplicate unit, unknown link, impossible baud, a link that is two, a host beside a link', () => {
    const yaml = `links:
  rs485: { serial: /dev/ttyUSB0, baud: 12345 }
  both: { serial: /dev/ttyS1, tcp: 10.0.0.1:502 }
  gw: { tcp: 10.0.0.1:502, parity: even }
  slow: { serial: /dev/ttyS2, baud: 1200, dataBits: 7 }
  ok: { serial: /dev/ttyS3 }
devices:
  meter1: { link: ok, unitId: 3 }
  meter2: { link: ok, unitId: 3 }
  lost: { link: nowhere }
  mixed: { link: ok, unitId: 4, host: 10.0.0.2 }
  bcast: { link: ok, unitId: 0 }
  none: { unitId: 1 }
  lazy: { link: ok, unitId: 9, timeout: 50ms }
${tags}`;
    assert.deepEqual(problems(yaml), [
      '2:40 links.rs485.baud: expected a standard baud rate: 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 28800, 38400, 57600, 76800, 115200, 230400, 460800, 921600',
      '3:9 links.both: expected one of serial, tcp, not 2',
      '4:36 links.gw.parity: only applies to a serial link',
      '5:53 links.slow.dataBits: expected 8: Modbus RTU characters carry 8 data bits (7 is Modbus ASCII, which Planta does not speak)',
      '9:31 devices.meter2.unitId: unit 3 is already device "meter1" on link "ok": every device on a link needs its own unit id',
      '10:17 devices.lost.link: unknown link "nowhere" (links: rs485, both, gw, slow, ok)',
      '11:39 devices.mixed.host: a device on a link takes its address from link "ok": remove host and port',
      '12:30 devices.bcast.unitId: expected 1..247 on an RTU link: unit 0 is a broadcast, which no device answers',
      '13:9 devices.none.host: is required: the device\'s address, or the link it is on (links: ok)',
      '14:41 devices.lazy.timeout: 50 ms is shorter than the longest reply takes on /dev/ttyS3 19200 8E1: 255 bytes (maxRegisters 125, maxBits 2000) need 149 ms; raise the timeout or lower maxRegisters/maxBits',
    ]);
  });

  it('planta check prints the problems with their lines, and a valid file with each device on its link', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-links-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, `links-bad-${process.pid}.yaml`);
    writeFileSync(bad, `links:\n  l: { serial: /dev/ttyS0 }\ndevices:\n  meter1: { link: l, unitId: 2 }\n  meter2: { link: l, unitId: 2 }\n${tags}`);
    const r = await run(process.execPath, [planta, 'check', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /links-bad-\d+\.yaml:5:30 devices\.meter2\.unitId: unit 2 is already device "meter1" on link "l"/);
    const good = join(dir, `links-good-${process.pid}.yaml`);
    writeFileSync(good, valid);
    const ok = await run(process.execPath, [planta, 'check', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /meter1 \(unit 1 on link rs485: \/dev\/ttyUSB0 9600 8N2\)/);
    assert.match(ok.stdout, /behind \(unit 5 on link gateway: Modbus\/TCP \[fd00::7\]:502\)/);
    assert.match(ok.stdout, /plc \(10\.0\.0\.9:502 unit 1\)/);
  });

  it('window: refused on a serial line and an RTU-over-TCP link (no transaction id), the device\'s own behind a Modbus/TCP gateway', () => {
    const yaml = `links:
  rs485: { serial: /dev/ttyUSB0 }
  converter: { rtuOverTcp: 10.0.0.7:4001 }
  gateway: { tcp: 10.0.0.8:502 }
devices:
  meter1: { link: rs485, unitId: 1, window: 4 }
  vfd: { link: converter, unitId: 1, window: 2 }
  behind: { link: gateway, unitId: 5, window: 8 }
  plain: { link: rs485, unitId: 2, window: 1 }
${tags}`;
    assert.deepEqual(problems(yaml), [
      '6:45 devices.meter1.window: expected 1 on a serial line ("rs485"): RTU frames carry no transaction id, so one request at a time goes on the line; remove window',
      '7:46 devices.vfd.window: expected 1 on an RTU-over-TCP link ("converter"): RTU frames carry no transaction id, so one request at a time goes on the line; remove window',
    ]);
    const c = parseConfig(yaml.replace(', window: 4', '').replace(', window: 2', ''), 'x.yaml');
    assert.equal(c.devices.find((d) => d.name === 'behind')!.window, 8);
  });

  it('parity and stop bits: 8N1, 8E1, 8O1, 8N2 as configured; 7E1 refused (7 data bits is Modbus ASCII)', () => {
    for (const [parity, stopBits] of [['none', 1], ['even', 1], ['odd', 1], ['none', 2], ['odd', 2]] as const) {
      const c = parseConfig(`links:\n  l: { serial: /dev/ttyS0, baud: 9600, parity: ${parity}, stopBits: ${stopBits} }\ndevices:\n  meter1: { link: l }\n${tags}`, 'x.yaml');
      assert.deepEqual(c.links[0], { name: 'l', description: '', kind: 'serial', path: '/dev/ttyS0', baud: 9600, parity, dataBits: 8, stopBits });
    }
    assert.deepEqual(problems(`links:\n  l: { serial: /dev/ttyS0, parity: even, dataBits: 7 }\ndevices:\n  meter1: { link: l }\n${tags}`), [
      '2:52 links.l.dataBits: expected 8: Modbus RTU characters carry 8 data bits (7 is Modbus ASCII, which Planta does not speak)',
    ]);
    assert.equal(problems(`links:\n  l: { serial: /dev/ttyS0, parity: mark }\ndevices:\n  meter1: { link: l }\n${tags}`).length, 1);
    assert.equal(problems(`links:\n  l: { serial: /dev/ttyS0, stopBits: 1.5 }\ndevices:\n  meter1: { link: l }\n${tags}`).length, 1);
  });
});
