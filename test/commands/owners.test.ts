/**
 * Operator commands that can be trusted, over HTTP: an id is its first
 * user's (nobody else's request, refused or not, changes its outcome), a
 * replay is answered with the recorded outcome and never executed again —
 * also after the web and the poller restart with their records on disk —,
 * every refused attempt is audited with who sent it, what a client sends is
 * bounded and escaped everywhere it goes, and a reservation cannot be
 * renewed forever.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { MemoryBus } from '../../src/bus/memory.js';
import type { CommandOutcome, CommandRequest } from '../../src/bus/types.js';
import { MemoryAuditLog, auditCommands } from '../../src/commands/audit.js';
import { SqliteCommandLedger } from '../../src/commands/ledger.js';
import { SelectRegistry } from '../../src/commands/select.js';
import { loadConfig } from '../../src/config/load.js';
import type { PlantConfig } from '../../src/config/resolve.js';
import type { Role } from '../../src/config/schema.js';
import { Poller } from '../../src/poller/poller.js';
import { Simulator } from '../../src/sim/simulator.js';
import { createRegistry } from '../../src/util/metrics.js';
import { createWebServer } from '../../src/web/server.js';
import { openStream } from '../helpers/sse.js';
import { assertThroughout, sleep, waitFor } from '../helpers/wait.js';

let seq = 0;
const newId = (): string => `own-${Date.now().toString(36)}-${seq++}`;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('command ids, owners and bounded requests', { timeout: 120_000 }, () => {
  let sim: Simulator;
  let config: PlantConfig;
  let bus: MemoryBus;
  let dir: string;
  let ledger: SqliteCommandLedger;
  let poller: Poller;
  let app: FastifyInstance;
  const audit = new MemoryAuditLog();

  const identify = (req: { headers: Record<string, string | string[] | undefined> }) => {
    const h = req.headers['x-test-user'];
    if (typeof h !== 'string') return undefined;
    const [user, role] = h.split(':') as [string, Role];
    return { user, role };
  };

  /** The web and the poller of `planta start`: one ledger in a file they share. */
  async function startPlanta(): Promise<void> {
    ledger = new SqliteCommandLedger(join(dir, 'planta.db'));
    poller = new Poller(config, { bus, commands: { ledger } });
    await poller.start();
    ({ app } = await createWebServer({ bus, config, identify, selectValidityMs: 1500, registry: createRegistry(), commandRecords: { records: ledger } }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    await waitFor('the poller connected', () => poller.devices[0]!.status().state === 'connected', 5000);
  }
  async function stopPlanta(): Promise<void> {
    await app.close();
    await poller.stop();
    await ledger.close();
  }

  before(async () => {
    sim = new Simulator({ port: 0, speed: 60, scanMs: 20, autostart: false });
    const port = (await sim.start()).port;
    config = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    Object.assign(config.devices[0]!, { port, timeoutMs: 300, connectTimeoutMs: 300, scanGroups: { fast: 50, settings: 200 } });
    dir = mkdtempSync(join(tmpdir(), 'planta-owners-'));
    bus = new MemoryBus();
    await auditCommands(bus, audit);
    await startPlanta();
  });
  after(async () => {
    await stopPlanta();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A request as `user` (name:role), or anonymous with null. */
  const call = async (method: string, url: string, payload?: unknown, user: string | null = 'ana:operator') => {
    const res = await app.inject({ method: method as 'POST', url, headers: user ? { 'x-test-user': user } : {}, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.body, json: res.json() as Record<string, unknown> & { error?: { code: string; field?: string; message: string }; outcome?: CommandOutcome } };
  };
  const final = (id: string): Promise<CommandOutcome> =>
    waitFor(`the outcome of ${id}`, async () => {
      const r = await call('GET', `/api/commands/${id}`);
      const o = r.json as unknown as CommandOutcome;
      return r.status === 200 && o.status !== 'queued' ? o : undefined;
    }, 10_000, 20);
  const lastSeq = (): number => sim.writes.list().at(-1)?.seq ?? 0;

  it("another user's or an anonymous request naming an id never changes its owner's outcome, over HTTP or on the stream; each is audited with who sent it", async () => {
    const stream = await openStream((app.server.address() as { port: number }).port);
    try {
      await stream.waitEvents(1);
      const mark = lastSeq();
      const id = newId();
      assert.equal((await call('POST', '/api/commands', { id, command: 'silence_horn' })).status, 202);
      const confirmed = await final(id);
      assert.equal(confirmed.status, 'confirmed', confirmed.reason);

      const taken = await call('POST', '/api/commands', { id, command: 'silence_horn' }, 'bob:operator');
      assert.equal(taken.status, 409);
      assert.equal(taken.json.error?.code, 'PLANTA_COMMAND_ID_TAKEN');
      assert.equal(taken.json.outcome, undefined, "another user's outcome is not handed out with the refusal");
      const forged: [string, unknown, string | null, number][] = [
        ['/api/commands', { id, command: 'launch_rocket' }, 'bob:operator', 404],
        ['/api/commands', { id, command: 'silence_horn', params: { loud: 1 } }, 'bob:operator', 400],
        ['/api/commands', { id, command: 'edit_limits', params: {} }, 'vic:viewer', 403],
        ['/api/commands/operate', { id, token: 'nope', command: 'start_program', params: { program: 2 } }, 'bob:operator', 409],
        ['/api/commands', { id, command: 'silence_horn' }, null, 401],
        ['/api/commands/operate', { id, token: 'nope', command: 'start_program', params: { program: 2 } }, null, 401],
      ];
      for (const [url, payload, user, status] of forged) {
        const r = await call('POST', url, payload, user);
        assert.equal(r.status, status, `${user ?? 'anonymous'} ${url}: ${r.body}`);
      }
      // The refusals reach the audit through the bus: five of them, the anonymous ones being nobody's attempt.
      await waitFor('the refused attempts audited', () => audit.entries.filter((e) => e.id === id && e.attempt !== undefined).length >= 5);
      // Something that must NOT happen: a refused request reaching the PLC, the outcome or the screens. The window is
      // as long as a command that slipped through would take to be written here (scans every 50 ms, writes between).
      await assertThroughout(300, async () => {
        assert.deepEqual((await call('GET', `/api/commands/${id}`, undefined, 'bob:operator')).json, confirmed, "the owner's outcome, unchanged, whoever asks");
        assert.deepEqual((await call('GET', `/api/commands/${id}`)).json, confirmed);
        const onStream = stream.events.filter((e) => e.event === 'command' && e.data.includes(id)).map((e) => JSON.parse(e.data) as CommandOutcome);
        assert.deepEqual(onStream.map((o) => o.status), ['queued', 'confirmed'], 'only the owner\'s outcomes reach the screens');
        assert.deepEqual(onStream.at(-1), confirmed);
        assert.equal(sim.writes.list(mark).length, 1, 'one write, the owner\'s');
      });

      const attempts = audit.entries.filter((e) => e.id === id && e.attempt !== undefined);
      assert.deepEqual(
        attempts.map((e) => [e.user, e.code]),
        [
          ['bob', 'PLANTA_COMMAND_ID_TAKEN'],
          ['bob', 'PLANTA_COMMAND_UNKNOWN'],
          ['bob', 'PLANTA_COMMAND_UNKNOWN_PARAM'],
          ['vic', 'PLANTA_COMMAND_FORBIDDEN'],
          ['bob', 'PLANTA_COMMAND_ID_TAKEN'],
        ],
        'every refused attempt audited, with who sent it (anonymous requests are nobody\'s attempt)',
      );
      assert.deepEqual(audit.entries.filter((e) => e.id === id && e.attempt === undefined).map((e) => e.status), ['queued', 'confirmed']);
    } finally {
      stream.close();
    }
  });

  it('a replay of one\'s own id is answered 409 with what became of it, and audited; nothing reaches the PLC again', async () => {
    const id = newId();
    assert.equal((await call('POST', '/api/commands', { id, command: 'reset_partial_volume' })).status, 202);
    const first = await final(id);
    const mark = lastSeq();
    const again = await call('POST', '/api/commands', { id, command: 'reset_partial_volume' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error?.code, 'PLANTA_COMMAND_DUPLICATE');
    assert.deepEqual(again.json.outcome, first);
    await waitFor('the replay audited', () => audit.entries.some((e) => e.id === id && e.attempt !== undefined && e.code === 'PLANTA_COMMAND_DUPLICATE' && e.user === 'ana'));
    // Something that must NOT happen: a write after the replay, within the time a command takes to be written here.
    await assertThroughout(200, () => assert.deepEqual(sim.writes.list(mark), []));
  });

  it('after the web and the poller restart: a replayed id gets its recorded outcome, a redelivered command is not executed, and the owner is still its owner', async () => {
    const id = newId();
    assert.equal((await call('POST', '/api/commands', { id, command: 'silence_horn' })).status, 202);
    const first = await final(id);
    assert.equal(first.status, 'confirmed');
    const request = { ...(await waitFor('the request on the bus', () => delivered.get(id))) };
    await stopPlanta();
    await startPlanta();
    const mark = lastSeq();
    assert.deepEqual((await call('GET', `/api/commands/${id}`)).json, first, 'known after the restart');
    const again = await call('POST', '/api/commands', { id, command: 'silence_horn' });
    assert.equal(again.status, 409);
    assert.deepEqual(again.json.outcome, first);
    assert.equal((await call('POST', '/api/commands', { id, command: 'silence_horn' }, 'bob:operator')).json.error?.code, 'PLANTA_COMMAND_ID_TAKEN');
    // The same request delivered again (as a bus may after a restart), within its validity: the ledger on disk refuses it.
    await bus.submitCommand({ ...request, expiresAt: Date.now() + 5000 });
    // The executor drops it without a word on the bus, so there is no event to wait for: a window in which no write
    // may come, longer than a command takes to be written here.
    await assertThroughout(500, () => assert.deepEqual(sim.writes.list(mark), [], 'no second write'));
    assert.deepEqual((await call('GET', `/api/commands/${id}`)).json, first);
  });

  const delivered = new Map<string, CommandRequest>();
  before(async () => {
    await bus.subscribeCommands((c) => delivered.set(c.id, c));
  });

  it('bounds what a client sends: body size, names only from the configuration, no control characters in answers, audit or metrics', async () => {
    const huge = await call('POST', '/api/commands', { id: newId(), command: 'x'.repeat(200_000) });
    assert.equal(huge.status, 413);
    const nasty = `\u001b[2J\u001b[H\r\nrm -rf /${'y'.repeat(5000)}`;
    const cases: [string, unknown, number, string, string][] = [
      ['/api/commands', { id: newId(), command: nasty }, 404, 'PLANTA_COMMAND_UNKNOWN', 'command'],
      ['/api/commands/select', { command: nasty, params: {} }, 404, 'PLANTA_COMMAND_UNKNOWN', 'command'],
      ['/api/commands', { id: `${'a'.repeat(60)}\u001b[2J`, command: 'silence_horn' }, 400, 'PLANTA_COMMAND_BAD_ID', 'id'],
      ['/api/commands', { id: 'a'.repeat(65), command: 'silence_horn' }, 400, 'PLANTA_COMMAND_BAD_ID', 'id'],
      ['/api/commands', { id: newId(), command: 'silence_horn', params: { [nasty]: 1 } }, 400, 'PLANTA_COMMAND_UNKNOWN_PARAM', 'params'],
      ['/api/commands/operate', { id: newId(), token: nasty, command: 'start_program', params: { program: 2 } }, 400, 'PLANTA_COMMAND_BAD_TOKEN', 'token'],
      ['/api/commands', { id: newId(), command: ['silence_horn'] }, 404, 'PLANTA_COMMAND_UNKNOWN', 'command'],
    ];
    for (const [url, payload, status, code, field] of cases) {
      const r = await call('POST', url, payload);
      assert.equal(r.status, status, r.body.slice(0, 300));
      assert.equal(r.json.error?.code, code);
      assert.equal(r.json.error?.field, field);
      assert.ok(r.body.length < 400, `a bounded answer: ${r.body.length} bytes`);
      assert.ok(!CONTROL.test(r.json.error!.message), `no control character in ${JSON.stringify(r.json.error!.message)}`);
    }
    // A control character in a path is refused before any route (src/web/access.ts), and never echoed.
    const cancel = await call('DELETE', `/api/commands/select/${encodeURIComponent('\u001b'.repeat(20))}`);
    assert.equal(cancel.json.error?.code, 'PLANTA_HTTP_BAD_PATH');
    assert.ok(!CONTROL.test(cancel.body));
    const unknown = await call('GET', `/api/commands/${encodeURIComponent('\u001b[2J'.repeat(10))}`);
    assert.equal(unknown.json.error?.code, 'PLANTA_HTTP_BAD_PATH');
    assert.ok(!unknown.body.includes('\\u001b') && !CONTROL.test(unknown.body));
    // Refusals reach the audit through the bus.
    const refusals = await waitFor('the refusals audited', () => {
      const found = audit.entries.filter((e) => e.attempt !== undefined && e.user === 'ana');
      return found.length >= cases.length ? found : undefined;
    });
    for (const e of refusals) {
      const text = JSON.stringify(e);
      assert.ok(text.length < 1000, `a bounded audit entry: ${text.length}`);
      assert.ok(!CONTROL.test(`${e.command}${e.reason}${e.field ?? ''}${e.id}`), `no control character in the audit: ${text}`);
      assert.ok(e.command === '' || Object.hasOwn(config.commands, e.command), `only configured names: ${e.command.slice(0, 50)}`);
    }
    // /metrics needs a signed-in user or an API token (src/web/access.ts).
    const metrics = await app.inject({ url: '/metrics', headers: { 'x-test-user': 'ana:viewer' } });
    assert.ok(metrics.body.length < 100_000, `/metrics stays small: ${metrics.body.length} bytes`);
    const labels = [...metrics.body.matchAll(/^planta_commands_total\{command="([^"]*)"/gm)].map((m) => m[1]);
    assert.ok(labels.includes('other'), 'refusals of unknown commands are counted as "other"');
    for (const l of labels) assert.ok(l === 'other' || Object.hasOwn(config.commands, l!), `label ${l!.slice(0, 40)}`);
  });

  it('select-before-operate: re-selecting renews a reservation only up to its limit; others are refused while it is held; cancelling does not reset it', async () => {
    const a = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} });
    assert.equal(a.status, 200);
    let refusedAt: number | undefined;
    let last = a;
    const start = Date.now();
    while (refusedAt === undefined && Date.now() - start < 10_000) {
      // Not a wait for anything: the rhythm of an operator who keeps re-selecting, every 200 ms until refused.
      await sleep(200);
      const renewed = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} });
      if (renewed.status === 200) {
        last = renewed;
        // Bob asks only while the reservation has time left for his request to reach the server: once a renewal is
        // capped at the limit it may expire within milliseconds, and Bob would then rightly get it (a loaded machine
        // delays his request past the expiry).
        if ((renewed.json.expiresAt as number) - Date.now() > 300) {
          const other = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} }, 'bob:operator');
          assert.equal(other.json.error?.code, 'PLANTA_COMMAND_DEVICE_SELECTED', 'nobody else while it is held');
        }
        continue;
      }
      assert.equal(renewed.status, 409);
      assert.equal(renewed.json.error?.code, 'PLANTA_COMMAND_SELECT_LIMIT');
      refusedAt = Date.now();
    }
    assert.ok(refusedAt !== undefined, 'the renewals stopped');
    await waitFor('the last reservation expired', () => Date.now() > (last.json.expiresAt as number), 5000);
    // validity 1500 ms: held at most 3 × 1500 ms from the first select.
    assert.ok((last.json.expiresAt as number) - start <= 4500 + 100, `held until ${(last.json.expiresAt as number) - start} ms after the first select`);
    const bob = await call('POST', '/api/commands/select', { command: 'stop_cycle', params: {} }, 'bob:operator');
    assert.equal(bob.status, 200, 'free for another user once the limit is reached');
    assert.equal((await call('DELETE', `/api/commands/select/${bob.json.token as string}`, undefined, 'bob:operator')).json.cancelled, true);
    assert.ok(audit.entries.some((e) => e.attempt !== undefined && e.user === 'bob' && e.code === 'PLANTA_COMMAND_DEVICE_SELECTED' && e.reason?.startsWith('select: ')), 'refusals at the select step are audited');
  });
});

describe('select limit (a clock of its own)', () => {
  it('renews up to 3 × the validity from the first select, refuses after, continues across a cancel, and starts afresh after operating', () => {
    let now = 1_000_000;
    const r = new SelectRegistry(1000, () => now);
    const ana = { user: 'ana', role: 'operator' as const };
    const bob = { user: 'bob', role: 'operator' as const };
    let s = r.select(ana, 'stop', {}, 'plc');
    for (let i = 0; i < 3; i++) {
      now += 800;
      s = r.select(ana, 'stop', {}, 'plc');
    }
    assert.equal(s.expiresAt, 1_003_000, 'never past 3 s after the first select');
    assert.throws(() => r.select(bob, 'stop', {}, 'plc'), { code: 'PLANTA_COMMAND_DEVICE_SELECTED' });
    now = 1_003_000;
    assert.throws(() => r.select(ana, 'stop', {}, 'plc'), { code: 'PLANTA_COMMAND_SELECT_LIMIT' });
    now = 1_003_500;
    assert.throws(() => r.select(ana, 'stop', {}, 'plc'), { code: 'PLANTA_COMMAND_SELECT_LIMIT' }, 'left to others for one validity');
    now = 1_004_001;
    s = r.select(ana, 'stop', {}, 'plc');
    assert.equal(s.expiresAt, 1_005_001, 'a new reservation after that');
    assert.ok(r.cancel(s.token, ana));
    for (const step of [500, 900, 900]) {
      now += step;
      s = r.select(ana, 'stop', {}, 'plc');
    }
    assert.equal(s.expiresAt, 1_007_001, 'cancelling and selecting again continues the chain');
    now = 1_007_001;
    assert.throws(() => r.select(ana, 'stop', {}, 'plc'), { code: 'PLANTA_COMMAND_SELECT_LIMIT' });
    now += 1001;
    s = r.select(ana, 'stop', {}, 'plc');
    now += 900;
    r.operate(s.token, ana, 'stop', {});
    now += 10;
    s = r.select(ana, 'stop', {}, 'plc');
    assert.equal(s.expiresAt, now + 1000, 'operating ends the chain');
  });
});
