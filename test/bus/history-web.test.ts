/**
 * Trends on a separate web node: `planta historian` records from Redis and
 * `planta web`, another process, answers /api/history from the historian's
 * store opened read-only — PostgreSQL (a schema of this run, dropped at the
 * end), or the SQLite file on the same machine (`planta web --history`).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { PG_URL, dropSchemaAfter, needPostgres, schemaName } from '../historian/pg-helpers.js';
import { run } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';
import { type PlantProcesses, planta, plantProcesses } from './plant-processes.js';
import { needRedis } from './redis-helpers.js';

interface Series {
  tag: string;
  resolution: string;
  t: number[];
  v: (number | null)[];
}

/** Simulator, poller and historian as processes; resolves when the poller's values are live. */
async function recordingPlant(plant: PlantProcesses, historianArgs: string[]): Promise<void> {
  await plant.start(['sim', '--port', String(plant.modbus), '--control-port', String(plant.control)], /Modbus\/TCP/);
  await plant.start(['poll', '--config', plant.config], /planta poll: polling/);
  await plant.start(['historian', '--config', plant.config, ...historianArgs], /planta historian: recording/);
}

/** The level's trend through the web node, once it holds at least `min` samples. */
async function levelTrend(url: string, from: number, min: number): Promise<Series> {
  return waitFor(`${min} samples of reactor.level from ${url}/api/history`, async () => {
    const res = await fetch(`${url}/api/history?tags=reactor.level&from=${from}&to=${Date.now() + 1000}&points=2000`);
    if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
    const s = ((await res.json()) as { series: Series[] }).series[0]!;
    return s.v.filter((v) => typeof v === 'number').length >= min ? s : undefined;
  }, 30_000, 250);
}

async function webNode(plant: PlantProcesses, extra: string[]): Promise<{ url: string; line: string }> {
  const web = await plant.start(['web', '--config', plant.config, '--port', '0', '--db', plant.db, ...extra], /planta web: http:\/\/localhost:(\d+).*/);
  return { url: `http://127.0.0.1:${web.match[1]}`, line: web.match[0] };
}

/** Samples in the web's trend, compared with the values the poller published (the live /api/tags). */
async function checkTrend(t: TestContext, url: string, from: number): Promise<void> {
  const s = await levelTrend(url, from, 5);
  assert.equal(s.tag, 'reactor.level');
  assert.equal(s.resolution, 'raw');
  for (let i = 1; i < s.t.length; i++) assert.ok(s.t[i]! >= s.t[i - 1]!, 'times in order');
  const live = (await (await fetch(`${url}/api/tags`)).json()) as { name: string; value: unknown; sourceTs: number }[];
  const level = live.find((x) => x.name === 'reactor.level')!;
  assert.equal(typeof level.value, 'number');
  // Newer samples keep arriving (the reader follows the writer's commits).
  const later = await levelTrend(url, from, s.v.filter((v) => v !== null).length + 2);
  assert.ok(later.t.at(-1)! > s.t.at(-1)!, 'a later query sees later samples');
  const status = await fetch(`${url}/api/historian/status`);
  assert.equal(status.status, 200, await status.clone().text());
  const st = (await status.json()) as { samples: number };
  assert.ok(st.samples > 0);
  t.diagnostic(`${later.v.filter((v) => v !== null).length} level samples through the web node; historian status: ${st.samples} samples`);
}

/** Replay through the web node (issue 27): the recorded plant at a moment, from the historian's store and the alarm process's journal. */
async function checkReplay(url: string, at: number, estop: string): Promise<void> {
  const res = await fetch(`${url}/api/replay/state?at=${at}`);
  assert.equal(res.status, 200, await res.clone().text());
  const s = (await res.json()) as { tags: string[]; values: unknown[][]; alarms: { id: string; state: string }[] };
  const level = s.values[s.tags.indexOf('reactor.level')]!;
  assert.equal(typeof level[1], 'number', `the level recorded at ${at}: ${JSON.stringify(level)}`);
  assert.equal(s.alarms.find((a) => a.id === 'estop')?.state, estop, 'the e-stop as the journal has it then');
}

describe('trends on a separate web node', { timeout: 120_000 }, () => {
  it('planta historian on PostgreSQL, planta web reads the schema: /api/history returns the level\'s samples', async (t) => {
    if (!(await needRedis(t))) return;
    if (!(await needPostgres(t))) return;
    const schema = schemaName();
    const plant = await plantProcesses(t, 'history-pg', { historian: { url: PG_URL, schema } });
    // After the processes stopped (hooks run in order).
    dropSchemaAfter(t, schema);
    const from = Date.now();
    const web = await webNode(plant, []);
    assert.match(web.line, /trends from PostgreSQL schema planta_test_/);
    // Before the historian made the schema: unavailable, not an error.
    const early = await fetch(`${web.url}/api/history?tags=reactor.level`);
    assert.equal(early.status, 503);
    assert.equal(((await early.json()) as { error: { code: string } }).error.code, 'PLANTA_HISTORIAN_UNAVAILABLE');
    await plant.start(['alarms', '--config', plant.config, '--db', join(plant.dir, 'alarms.db')], /planta alarms:/);
    await recordingPlant(plant, ['--db', join(plant.dir, 'history.db')]);
    await checkTrend(t, web.url, from);
    await checkReplay(web.url, Date.now() - 1000, 'normal');
    // The command line reads the same schema (historian.store in the configuration).
    const status = await run(process.execPath, [planta, 'historian', 'status', '--config', plant.config]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^PostgreSQL schema ${schema}: [\\d.]+ MB, [1-9]\\d* raw samples, oldest \\d{4}-`));
    const csv = await run(process.execPath, [planta, 'historian', 'export', '--config', plant.config, '--tags', 'reactor.level', '--from', String(from)]);
    assert.equal(csv.code, 0, csv.stderr);
    const lines = csv.stdout.trim().split('\r\n');
    assert.equal(lines[0], 'time,reactor.level [%],reactor.level quality');
    assert.ok(lines.length >= 6, csv.stdout);
  });

  it('planta historian on SQLite, planta web --history reads the same file', async (t) => {
    if (!(await needRedis(t))) return;
    const plant = await plantProcesses(t, 'history-sqlite');
    const file = join(plant.dir, 'history.db');
    const from = Date.now();
    const web = await webNode(plant, ['--history', file]);
    assert.match(web.line, /trends from .*history\.db \(read-only\)/);
    const early = await fetch(`${web.url}/api/history?tags=reactor.level`);
    assert.equal(early.status, 503);
    await plant.start(['alarms', '--config', plant.config, '--db', join(plant.dir, 'alarms.db')], /planta alarms:/);
    await recordingPlant(plant, ['--db', file]);
    await checkTrend(t, web.url, from);
    // The cycle report of this node: the alarm counted, by the alarm process, in the cycle it happened in (a short
    // program may have ended that cycle and started the next one meanwhile).
    const pressed = Date.now();
    assert.equal((await fetch(`http://127.0.0.1:${plant.control}/faults/estop`, { method: 'PUT' })).status, 200);
    const cycle = await waitFor('the emergency stop counted in its cycle', async () => {
      const res = await fetch(`${web.url}/api/cycles?from=${from}&to=${Date.now() + 1000}`);
      assert.equal(res.status, 200);
      const { cycles } = (await res.json()) as { cycles: { start: number; end: number | null; alarms: number }[] };
      const counted = cycles.find((c) => c.alarms > 0);
      if (!counted) throw new Error(`no alarm counted yet in ${JSON.stringify(cycles.map((c) => [c.start, c.end, c.alarms]))}`);
      return counted;
    }, 20_000, 250);
    assert.equal(cycle.alarms, 1, 'one alarm: the emergency stop');
    await checkReplay(web.url, pressed - 500, 'normal');
    await waitFor('the e-stop replayed', async () => (await checkReplay(web.url, Date.now() - 300, 'unack'), true), 10_000, 250);
    assert.ok(cycle.start <= pressed + 1000 && (cycle.end === null || cycle.end >= pressed - 1000), 'in the cycle under way when it was pressed');
  });
});
