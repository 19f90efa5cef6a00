/**
 * The link forms of the commands a person types: `planta sim --units 1,2,3
 * --rtu-over-tcp`, `planta modbus read --rtu-over-tcp ... --unit N` and
 * `planta modbus scan`, and a misbehaving unit (`planta sim mode silent
 * --unit 2`). The serial forms run on virtual serial lines in
 * test/peers/rtu-serial.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Started, run, startProcess } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const cli = (...args: string[]) => run(process.execPath, [planta, ...args]);

describe('planta sim --units --rtu-over-tcp, planta modbus read and scan on the link', { timeout: 90_000 }, () => {
  let sim: Started & { match: RegExpExecArray };
  let line: string;
  let control: string;

  before(async () => {
    sim = await startProcess(process.execPath, [planta, 'sim', '--port', '0', '--units', '1,2,3', '--rtu-over-tcp', '0', '--no-autostart'], /control\s+(http:\/\/127\.0\.0\.1:\d+)/);
    control = sim.match[1]!;
    line = `127.0.0.1:${/RTU over TCP 127\.0\.0\.1:(\d+), units 1, 2, 3/.exec(sim.output())![1]!}`;
  });
  after(() => sim.stop());

  it('prints one plant per unit id', () => {
    assert.match(sim.output(), /SBR plant PLCs, one per unit id \(units 1, 2, 3\)/);
  });

  it('modbus read takes the link and the unit instead of a host', async () => {
    const r = await cli('modbus', 'read', '--rtu-over-tcp', line, '--unit', '2', 'holding', '5', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /holding 5\.\.6 of RTU over TCP 127\.0\.0\.1:\d+ unit 2/);
    assert.match(r.stdout, /^\s+5\s+00C8\s+200$/m);
    const usage = await cli('modbus', 'read', '--rtu-over-tcp', line, '127.0.0.1:502', 'holding', '5');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /area "127\.0\.0\.1:502"/);
  });

  it('modbus scan lists the units that answer; a unit made silent drops out of the list', async () => {
    const all = await cli('modbus', 'scan', '--rtu-over-tcp', line, '--units', '1-5', '--timeout', '150ms');
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /3 unit\(s\) answer: 1, 2, 3 \(5 tried/);
    const mode = await cli('sim', 'mode', 'silent', '--unit', '2', '--control', control);
    assert.equal(mode.code, 0, mode.stderr);
    assert.match(mode.stdout, /"2": "silent"/);
    const two = await cli('modbus', 'scan', '--rtu-over-tcp', line, '--units', '1-3', '--timeout', '150ms');
    assert.match(two.stdout, /2 unit\(s\) answer: 1, 3 /);
    assert.equal((await cli('sim', 'mode', 'normal', '--unit', '2', '--control', control)).code, 0);
    const none = await cli('modbus', 'scan', '--rtu-over-tcp', line, '--units', '7,8', '--timeout', '100ms');
    assert.equal(none.code, 1);
    assert.match(none.stdout, /no unit answers/);
  });

  it('a fault goes to one unit with --unit', async () => {
    const set = await cli('sim', 'fault', 'set', 'estop', '--unit', '3', '--control', control);
    assert.equal(set.code, 0, set.stderr);
    const three = await cli('modbus', 'read', '--rtu-over-tcp', line, '--unit', '3', 'coils', '1');
    const one = await cli('modbus', 'read', '--rtu-over-tcp', line, '--unit', '1', 'coils', '1');
    assert.match(three.stdout, /^\s*1\s+1\s+ON$/m);
    assert.match(one.stdout, /^\s*1\s+0\s+OFF$/m);
    assert.equal((await cli('sim', 'fault', 'clear', 'estop', '--unit', '3', '--control', control)).code, 0);
  });
});
