/** The commands a person types: `planta sim`, its control subcommands, and `planta modbus read`. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { type Started, run, startProcess } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const cli = (...args: string[]) => run(process.execPath, [planta, ...args]);

describe('planta sim and planta modbus read', { timeout: 60_000 }, () => {
  let sim: Started;
  let port: string;
  let control: string;

  before(async () => {
    const s = await startProcess(process.execPath, [planta, 'sim', '--port', '0', '--no-autostart'], /control\s+(http:\/\/127\.0\.0\.1:\d+)/);
    sim = s;
    control = s.match[1]!;
    port = /Modbus\/TCP\s+127\.0\.0\.1:(\d+)/.exec(s.output())![1]!;
  });
  after(() => sim.stop());

  it('prints what it serves', () => {
    assert.match(sim.output(), /SBR plant PLC/);
  });

  it('modbus read prints address, raw hex and the decoded value', async () => {
    const r = await cli('modbus', 'read', `127.0.0.1:${port}`, 'holding', '5', '4');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s+5\s+00C8\s+200$/m);
    assert.match(r.stdout, /^\s+6\s+0320\s+800$/m);
    assert.match(r.stdout, /^\s+8\s+0001\s+1$/m);
    const bits = await cli('modbus', 'read', `127.0.0.1:${port}`, 'coils', '29');
    assert.match(bits.stdout, /^\s*29\s+1\s+ON$/m);
    const f = await cli('modbus', 'read', `127.0.0.1:${port}`, 'hr', '9', '2', '--type', 'uint32', '--order', 'CDAB');
    assert.match(f.stdout, /^\s+9\s+003C 005A\s+5898300$/m, f.stdout);
  });

  it('modbus read exits non-zero and says why: an exception, a refused connection, a bad argument', async () => {
    const ex = await cli('modbus', 'read', `127.0.0.1:${port}`, 'input', '60', '10');
    assert.equal(ex.code, 1);
    assert.match(ex.stderr, /exception 0x02 \(illegal data address\).*PLANTA_MODBUS_ILLEGAL_DATA_ADDRESS/);
    const refused = await cli('modbus', 'read', '127.0.0.1:1', 'input', '0');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /cannot connect to 127\.0\.0\.1:1.*PLANTA_MODBUS_CONNECTION/);
    const usage = await cli('modbus', 'read', `127.0.0.1:${port}`, 'attic', '0');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /area "attic"/);
  });

  it('has no way to write', async () => {
    const r = await cli('modbus', 'write', `127.0.0.1:${port}`, 'holding', '8', '2');
    assert.notEqual(r.code, 0);
  });

  it('sim fault set/clear/list go through the control interface', async () => {
    const set = await cli('sim', 'fault', 'set', 'estop', '--control', control);
    assert.equal(set.code, 0, set.stderr);
    const list = await cli('sim', 'fault', 'list', '--control', control);
    assert.match(list.stdout, /"name": "estop"/);
    const read = await cli('modbus', 'read', `127.0.0.1:${port}`, 'coils', '1');
    assert.match(read.stdout, /^\s*1\s+1\s+ON$/m);
    assert.equal((await cli('sim', 'fault', 'clear', 'estop', '--control', control)).code, 0);
    const unknown = await cli('sim', 'fault', 'set', 'gremlins', '--control', control);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /PLANTA_SIM_UNKNOWN_FAULT/);
    const mode = await cli('sim', 'mode', 'exception:6', '--control', control);
    assert.equal(mode.code, 0, mode.stderr);
    const busy = await cli('modbus', 'read', `127.0.0.1:${port}`, 'input', '0');
    assert.match(busy.stderr, /server device busy/);
    assert.equal((await cli('sim', 'mode', 'normal', '--control', control)).code, 0);
  });

  it('stops cleanly on SIGTERM', async () => {
    const s = await startProcess(process.execPath, [planta, 'sim', '--port', '0'], /control/);
    s.child.kill('SIGTERM');
    const [code] = await once(s.child, 'exit');
    assert.equal(code, 0);
  });

  it('the control interface moves to a free port when the Modbus port + 1 is taken (planta start goes on); a --control-port that is taken is an error', async (t) => {
    const modbus = await freePort();
    const squatter = net.createServer();
    await new Promise<void>((resolve, reject) => squatter.once('error', reject).listen(modbus + 1, '127.0.0.1', () => resolve()));
    t.after(() => squatter.close());
    const s = await startProcess(process.execPath, [planta, 'sim', '--port', String(modbus), '--no-autostart'], /control\s+http:\/\/127\.0\.0\.1:(\d+)/);
    t.after(() => s.stop());
    assert.notEqual(Number(s.match[1]), modbus + 1);
    // Said on standard error, which may arrive after the line on standard output that made the process ready.
    await waitFor('the warning', () => s.output().includes(`port ${modbus + 1} is taken; the control interface takes a free port`), 5000);
    assert.equal((await cli('sim', 'fault', 'list', '--control', `http://127.0.0.1:${s.match[1]}`)).code, 0, 'it answers there');
    const asked = await run(process.execPath, [planta, 'sim', '--port', '0', '--control-port', String(modbus + 1)]);
    assert.notEqual(asked.code, 0);
    assert.match(asked.stderr, /EADDRINUSE/);
  });
});
