/** `planta start`: the whole demo in one process, as a user runs it. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { run, startProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

const root = new URL('../..', import.meta.url).pathname;
const planta = join(root, 'bin', 'planta.js');

/** The default configuration with the PLC on a free port, in a temporary folder. */
async function configOnFreePort(): Promise<{ file: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'planta-start-'));
  const port = await freePort();
  const text = readFileSync(join(root, 'config', 'sbr-plant.yaml'), 'utf8').replace('port: 5020', `port: ${port}`);
  writeFileSync(join(dir, 'plant.yaml'), text);
  copyFileSync(join(root, 'config', 'sbr-mimic.svg'), join(dir, 'sbr-mimic.svg'));
  return { file: join(dir, 'plant.yaml'), dir };
}

describe('planta start', { timeout: 90_000 }, () => {
  it('runs the simulator, the poller and the web server, serves live values, stops cleanly on SIGTERM', async () => {
    const { file, dir } = await configOnFreePort();
    const p = await startProcess(process.execPath, [planta, 'start', '--config', file, '--port', '0'], /Planta is running: http:\/\/localhost:(\d+)/, {
      timeoutMs: 60_000,
      env: { ...process.env, PLANTA_LOG_LEVEL: 'warn' },
    });
    try {
      const url = `http://127.0.0.1:${p.match[1]}`;
      const level = await waitFor('a good reactor level', async () => {
        const tag = (await (await fetch(`${url}/api/tags/reactor.level`)).json()) as { quality: string; value: number };
        return tag.quality === 'Good' ? tag : undefined;
      }, 10_000, 100);
      assert.ok(level.value > 0 && level.value <= 100);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      p.child.kill('SIGTERM');
      const [code] = await once(p.child, 'exit');
      assert.equal(code, 0, p.output());
    } finally {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a broken configuration with located errors and exit code 2', async () => {
    const r = await run(process.execPath, [planta, 'start', '--config', join(root, 'test', 'fixtures', 'five-mistakes.yaml'), '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /five-mistakes\.yaml:12:12 tags\.level\.scale: expected a number/);
  });
});
