/** `planta start` records history and flushes it on SIGTERM; `planta historian` explains itself, reads the file. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HistoryPayload } from '../../src/web/history.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const root = new URL('../../', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');

describe('planta historian', { timeout: 90_000 }, () => {
  it('planta historian without a shared bus exits 2 and says why', async () => {
    const r = await run(process.execPath, [planta, 'historian']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no shared bus yet.*planta start.*\[PLANTA_HISTORIAN_NO_SHARED_BUS\]/s);
  });

  it('planta start records trends, flushes on SIGTERM; status and export read the file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'planta-history-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    writeFileSync(join(dir, 'plant.yaml'), readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8').replace('port: 5020', `port: ${port}`));
    copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
    const history = join(dir, 'history.db');
    const started = Date.now();
    const p = await startProcess(
      process.execPath,
      [planta, 'start', '--config', join(dir, 'plant.yaml'), '--port', '0', '--db', join(dir, 'planta.db'), '--history', history],
      /Planta is running: http:\/\/localhost:(\d+)/,
      { timeoutMs: 60_000, env: { ...process.env, PLANTA_LOG_LEVEL: 'warn' } },
    );
    try {
      await waitFor('the historian line', async () => /Historian: .*history\.db \(keeps raw 90d, minutes 2y, hours forever\)/.test(p.output()) || undefined, 5000, 50);
      const url = `http://127.0.0.1:${p.match[1]}`;
      const series = await waitFor('the level recorded', async () => {
        const r = (await (await fetch(`${url}/api/history?tags=reactor.level,phase.fill&from=${started}&to=${Date.now() + 1000}`)).json()) as HistoryPayload;
        return r.series[0]!.v.filter((v) => v !== null).length >= 3 ? r.series : undefined;
      }, 15_000, 200);
      assert.equal(series[0]!.resolution, 'raw');
      assert.equal(series[0]!.unit, '%');
      p.child.kill('SIGTERM');
      const [code] = await once(p.child, 'exit');
      assert.equal(code, 0, p.output());
    } finally {
      await p.stop();
    }
    const status = await run(process.execPath, [planta, 'historian', 'status', '--db', history]);
    assert.equal(status.code, 0, status.stderr);
    const samples = Number(/ (\d+) raw samples/.exec(status.stdout)?.[1]);
    assert.ok(samples > 10, status.stdout);
    const csv = await run(process.execPath, [planta, 'historian', 'export', '--db', history, '--config', join(dir, 'plant.yaml'), '--tags', 'reactor.level', '--from', String(started - 1000)]);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\r\n');
    assert.equal(lines[0], 'time,reactor.level [%],reactor.level quality');
    assert.ok(lines.length > 3);
    assert.match(lines[1]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z,[\d.]*,(Good|Bad_\w+|Uncertain_\w+)$/);
  });
});
