/**
 * Notifications over real protocols: an alarm raised by the engine on the
 * bus reaches an SMTP sink and a webhook (signed), with subject, body, link
 * and the plant's time zone; the faults: the mail server down then back
 * (each delivered once, in order), a restart with a full outbox (delivered
 * once, marked late), a receiver that refuses a message.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { AlarmEngine } from '../../src/alarms/engine.js';
import { AlarmStore } from '../../src/alarms/store.js';
import { MemoryBus } from '../../src/bus/memory.js';
import type { JournalEntry } from '../../src/bus/alarm-messages.js';
import { loadConfig } from '../../src/config/load.js';
import { type NotificationsConfig, notificationsSchema } from '../../src/config/schema.js';
import type { ChannelOptions } from '../../src/notify/channels.js';
import { Notifier, type NotifierOptions } from '../../src/notify/notifier.js';
import { NotifyOutbox } from '../../src/notify/outbox.js';
import { noticeTexts } from '../../src/notify/texts.js';
import { createRegistry } from '../../src/util/metrics.js';
import { waitFor } from '../helpers/wait.js';
import { smtpSink, webhookSink } from './sinks.js';

const dir = mkdtempSync(join(tmpdir(), 'planta-notify-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TZ = 'America/Argentina/Buenos_Aires';

function notifications(channels: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return notificationsSchema.parse({
    channels,
    rules: [{ priorities: ['critical', 'high'], channels: Object.keys(channels) }],
    hmiUrl: 'https://scada.example.org',
    retry: { first: '50ms', max: '200ms' },
    ...extra,
  });
}

const mail = (port: number, more: Record<string, unknown> = {}) => ({ smtp: `smtp://127.0.0.1:${port}`, from: 'planta@example.org', to: ['oncall@example.org'], tls: 'none', ...more });

/** A notifier sending to `config`'s channels from an outbox (`path`, or in memory), stopped when the test ends. */
function running(t: TestContext, config: NotificationsConfig, o: { path?: string; channelOptions?: ChannelOptions } = {}): { n: Notifier; outbox: NotifyOutbox } {
  const outbox = new NotifyOutbox(o.path ?? ':memory:', 1 << 20);
  const n = new Notifier({ config, plant: 'P', timeZone: TZ, outbox, ...(o.channelOptions ? { channelOptions: o.channelOptions } : {}) });
  n.start();
  n.states([]);
  t.after(async () => {
    await n.stop();
    outbox.close();
  });
  return { n, outbox };
}

const SBR = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);

/**
 * The SBR plant's alarm engine on a memory bus, a notifier of `config` attached to it (with `more` of its options),
 * both stopped when the test ends; then the emergency stop pressed (its alarm raised by the engine).
 */
async function estopNotified(t: TestContext, config: NotificationsConfig, more: Partial<NotifierOptions>): Promise<{ n: Notifier; engine: AlarmEngine }> {
  const bus = new MemoryBus();
  const store = new AlarmStore(':memory:');
  const engine = new AlarmEngine({ bus, config: SBR, store, tickMs: 3_600_000 });
  await engine.start();
  const outbox = new NotifyOutbox(':memory:', 1 << 20);
  const n = new Notifier({ config, plant: 'SBR demo', timeZone: TZ, outbox, ...more });
  await n.attach(bus);
  t.after(async () => {
    await n.stop();
    outbox.close();
    await engine.stop();
    store.close();
  });
  const now = Date.now();
  await bus.publishValues([{ tag: 'alarm.estop', value: false, quality: 'Good', sourceTs: now, serverTs: now }]);
  await bus.publishValues([{ tag: 'alarm.estop', value: true, quality: 'Good', sourceTs: now, serverTs: now }]);
  return { n, engine };
}

let seq = 0;
const alarm = (id: string, ts = Date.now()): JournalEntry => ({ seq: ++seq, ts, kind: 'alarm', source: id, text: `${id} is active`, priority: 'critical' });

describe('notifications over SMTP and webhooks', { timeout: 30_000 }, () => {
  it('an alarm of the engine reaches the mail sink and the signed webhook, with link and time zone; metrics count it', async (t) => {
    const smtp = await smtpSink({ auth: { user: 'planta', pass: 's3cret' } });
    const hook = await webhookSink('hook-key');
    t.after(() => smtp.close());
    t.after(() => hook.close());
    const env = { PLANTA_SMTP_USER: 'planta', PLANTA_SMTP_PASSWORD: 's3cret', HOOK_KEY: 'hook-key' };
    const config = notifications(
      { oncall: mail(smtp.port, { credentials: 'env:PLANTA_SMTP', onCall: 'night shift: J. Perez' }), ops: { webhook: hook.url, secret: 'env:HOOK_KEY' } },
      { rules: [{ priorities: ['critical'], channels: ['oncall', 'ops'], escalate: { after: '10m', channels: ['ops'] } }] },
    );
    const registry = createRegistry();
    const { n, engine } = await estopNotified(t, config, { registry, channelOptions: { env } });

    const m = (await waitFor('the mail', () => smtp.mails[0]))!;
    assert.equal(m.subject, '[SBR demo] CRITICAL alarm: Emergency stop pressed');
    assert.deepEqual(smtp.users, ['planta'], 'authenticated with the credentials from the environment');
    assert.match(m.text!, /Time: {5}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d America\/Argentina\/Buenos_Aires \(UTC-03:00\)/);
    assert.match(m.text!, /Source: {3}alarm\.estop = true \(Good\)/);
    assert.match(m.text!, /On call: {2}night shift: J\. Perez/);
    assert.match(m.text!, /Escalates to ops at .* unless acknowledged/);
    assert.match(m.text!, /Open in the HMI: https:\/\/scada\.example\.org\/#\/alarms\/estop/);

    const h = (await waitFor('the webhook', () => hook.bodies[0]))!;
    assert.equal(h.signed, true, 'HMAC-SHA256 signature checks');
    const body = h.body as Record<string, unknown>;
    assert.equal(body.alarm, 'estop');
    assert.equal(body.priority, 'critical');
    assert.equal(body.state, 'active');
    assert.equal(body.plant, 'SBR demo');
    assert.equal(body.timeZone, TZ);
    assert.match(String(body.time), /-03:00$/);
    assert.deepEqual(body.source, { name: 'alarm.estop', value: true, quality: 'Good' });
    assert.equal(body.link, 'https://scada.example.org/#/alarms/estop');

    // Counted once the receivers answered (they hold what they received a moment before).
    await waitFor('both logged', () => n.status().log.length === 2);
    const metrics = await registry.metrics();
    assert.match(metrics, /planta_notify_sent_total\{channel="oncall"\} 1/);
    assert.match(metrics, /planta_notify_queued\{channel="ops"\} 0/);
    // Acknowledged: no escalation is pending any more (the escalation itself is tested with a fake clock).
    engine.acknowledge({ user: 'op', role: 'operator' }, ['estop']);
    const log = n.status().log;
    assert.deepEqual(log.map((r) => [r.channel, r.outcome]).sort(), [['oncall', 'sent'], ['ops', 'sent']]);
    // To whom each went, as the Notifications page lists it.
    assert.deepEqual(log.map((r) => [r.channel, r.to]).sort(), [['oncall', `smtp://127.0.0.1:${smtp.port} → oncall@example.org`], ['ops', `json webhook at ${new URL(hook.url).host}`]]);
  });

  it('in Spanish: the mail and the slack webhook say the alarm\'s Spanish message in Spanish words, dates and numbers; a channel of its own language stays English', async (t) => {
    const smtp = await smtpSink();
    const slack = await webhookSink();
    const json = await webhookSink();
    t.after(() => smtp.close());
    t.after(() => slack.close());
    t.after(() => json.close());
    const config = notifications(
      { guardia: mail(smtp.port, { onCall: 'guardia nocturna: J. Pérez' }), sala: { webhook: slack.url, format: 'slack', language: 'es' }, ops: { webhook: json.url, language: 'en' } },
      { language: 'es', rules: [{ priorities: ['critical'], channels: ['guardia', 'sala', 'ops'], escalate: { after: '10m', channels: ['ops'] } }] },
    );
    await estopNotified(t, config, { plant: SBR.plant.name, texts: noticeTexts(SBR) });

    const m = (await waitFor('the mail', () => smtp.mails[0]))!;
    assert.equal(m.subject, '[Planta de tratamiento de efluentes SBR] Alarma CRÍTICA: Parada de emergencia accionada');
    assert.match(m.text!, /^Mensaje: {6}Parada de emergencia accionada$/m);
    // Day/month/year, 24-hour, in the plant's zone.
    assert.match(m.text!, /^Hora: {9}\d\d\/\d\d\/\d{4} ([01]\d|2[0-3]):\d\d:\d\d America\/Argentina\/Buenos_Aires \(UTC-03:00\)$/m);
    assert.match(m.text!, /^Origen: {7}alarm\.estop = verdadero \(buena\)$/m);
    assert.match(m.text!, /^De guardia: {3}guardia nocturna: J\. Pérez$/m);
    assert.match(m.text!, /^Escala a ops el \d\d\/\d\d\/\d{4} .* si no se reconoce\.$/m);
    assert.match(m.text!, /^Ver en el HMI: https:\/\/scada\.example\.org\/#\/alarms\/estop$/m);
    assert.doesNotMatch(m.text!, /Emergency|Time:|On call|Open in the HMI/);

    const s = (await waitFor('slack', () => slack.bodies[0]))!.body as { text: string };
    assert.match(s.text, /^\*\[Planta de tratamiento de efluentes SBR\] Alarma CRÍTICA: Parada de emergencia accionada\*\n```Alarma CRÍTICA: Parada de emergencia accionada/);
    assert.match(s.text, /Alarma: {7}estop \(crítica\)/);

    const e = (await waitFor('the English json', () => json.bodies[0]))!.body as Record<string, unknown>;
    assert.equal(e.message, 'Emergency stop pressed');
    assert.equal(e.title, 'CRITICAL alarm: Emergency stop pressed');
    assert.equal(e.language, 'en');
    assert.equal(e.priority, 'critical', 'machine fields keep their codes');
  });

  it('STARTTLS is required by default: a server that offers it gets the mail encrypted, one that does not gets nothing', async (t) => {
    // A self-signed certificate for 127.0.0.1 (openssl), trusted by the channel as its CA.
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tls = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    const withTls = await smtpSink({ tls });
    const plain = await smtpSink();
    t.after(() => withTls.close());
    t.after(() => plain.close());
    const required = (port: number) => ({ smtp: `smtp://127.0.0.1:${port}`, from: 'planta@example.org', to: ['oncall@example.org'] });
    const { n } = running(t, notifications({ a: required(withTls.port), b: required(plain.port) }), { channelOptions: { ca: tls.cert } });
    await n.entries([alarm('tls')]);
    await waitFor('the mail over TLS', () => withTls.mails.length === 1);
    assert.deepEqual(withTls.secure, [true]);
    const failed = await waitFor('b refused for want of STARTTLS', () => n.status().log.find((r) => r.channel === 'b' && r.outcome === 'failed'));
    assert.match(failed.error!, /STARTTLS|TLS/);
    assert.equal(plain.mails.length, 0);
  });

  it('an unacknowledged alarm escalates on the real clock, not marked late; an acknowledged one does not', async (t) => {
    const hook = await webhookSink();
    const chief = await webhookSink();
    t.after(() => hook.close());
    t.after(() => chief.close());
    const { n } = running(t, notifications({ ops: { webhook: hook.url }, chief: { webhook: chief.url } }, { late: '1m', rules: [{ channels: ['ops'], escalate: { after: '300ms', channels: ['chief'] } }] }));
    await n.entries([alarm('acked'), alarm('forgotten')]);
    await n.entries([{ seq: ++seq, ts: Date.now(), kind: 'ack', source: 'acked', text: 'acked: acknowledged', user: 'ana' }]);
    const e = (await waitFor('the escalation', () => chief.bodies[0]))!.body as Record<string, unknown>;
    assert.equal(e.kind, 'escalation');
    assert.equal(e.alarm, 'forgotten');
    assert.equal(e.late, false);
    assert.match(String(e.raised), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(hook.bodies.map((b) => (b.body as { alarm: string }).alarm), ['acked', 'forgotten']);
    // The acknowledged one was due at the same time: by now it would have come.
    await waitFor('both escalations settled', () => n.status().log.filter((r) => r.channel === 'chief').length === 1);
    assert.equal(chief.bodies.length, 1);
  });

  it('slack and teams formats', async (t) => {
    const slack = await webhookSink();
    const teams = await webhookSink();
    t.after(() => slack.close());
    t.after(() => teams.close());
    const { n } = running(t, notifications({ s: { webhook: slack.url, format: 'slack' }, m: { webhook: teams.url, format: 'teams' } }));
    await n.entries([alarm('a<b>')]);
    const s = (await waitFor('slack', () => slack.bodies[0]))!.body as { text: string };
    assert.match(s.text, /^\*\[P\] CRITICAL alarm: a&lt;b&gt; is active\*/);
    const m = (await waitFor('teams', () => teams.bodies[0]))!.body as Record<string, unknown>;
    assert.equal(m['@type'], 'MessageCard');
    assert.equal(m.themeColor, 'C00000');
  });

  it('the mail server down, then back: every notification delivered once, in order', async (t) => {
    const probe = await smtpSink();
    const port = probe.port;
    await probe.close();
    const { n } = running(t, notifications({ oncall: mail(port) }), { path: join(dir, 'down.db') });
    for (let i = 0; i < 5; i++) await n.entries([alarm(`a${i}`)]);
    await waitFor('failed sendings', () => n.status().log.filter((r) => r.outcome === 'failed').length >= 3);
    assert.equal(n.status().channels[0]!.queued, 5);
    assert.ok(n.status().channels[0]!.failing, 'the page shows the channel failing');
    const smtp = await smtpSink({ port });
    t.after(() => smtp.close());
    await waitFor('five mails', () => smtp.mails.length >= 5 && n.status().channels[0]!.queued === 0, 10_000);
    assert.deepEqual(smtp.mails.map((m) => m.subject), [0, 1, 2, 3, 4].map((i) => `[P] CRITICAL alarm: a${i} is active`));
    // A channel without onCall: the mail says who is on call, its recipients.
    assert.match(smtp.mails[0]!.text!, /On call: {2}oncall@example\.org/);
    assert.equal(n.status().channels[0]!.failing, undefined);
  });

  it('a restart with a full outbox: each delivered once, marked late', async (t) => {
    const path = join(dir, 'restart.db');
    const config = notifications({ oncall: mail(1) }, { late: '100ms' });
    {
      const outbox = new NotifyOutbox(path, 1 << 20);
      // Not started: Planta stopped before it could send anything.
      const n = new Notifier({ config, plant: 'P', timeZone: TZ, outbox });
      n.states([]);
      const old = Date.now() - 3_600_000;
      for (let i = 0; i < 4; i++) await n.entries([alarm(`r${i}`, old + i)]);
      await n.stop();
      outbox.close();
    }
    const smtp = await smtpSink();
    t.after(() => smtp.close());
    const { n, outbox } = running(t, notifications({ oncall: mail(smtp.port) }, { late: '100ms' }), { path });
    await waitFor('four mails', () => smtp.mails.length >= 4 && outbox.pending() === 0);
    assert.deepEqual(smtp.mails.map((m) => m.subject), [0, 1, 2, 3].map((i) => `[LATE] [P] CRITICAL alarm: r${i} is active`));
    assert.match(smtp.mails[0]!.text!, /LATE: sent 60 min after it happened/);
    const log = await waitFor('four logged', () => (n.status().log.length === 4 ? n.status().log : undefined));
    assert.ok(log.every((r) => r.late && r.outcome === 'sent'));
  });

  it('a webhook that refuses a message (HTTP 400) is retried a little, logged as rejected, and holds up nothing after it', async (t) => {
    const hook = await webhookSink();
    t.after(() => hook.close());
    hook.status = 400;
    const { n } = running(t, notifications({ ops: { webhook: hook.url } }));
    await n.entries([alarm('bad')]);
    await waitFor('rejected', () => n.status().log.some((r) => r.outcome === 'rejected'));
    hook.status = undefined;
    await n.entries([alarm('good')]);
    await waitFor('the next one', () => hook.bodies.length === 1);
    assert.equal((hook.bodies[0]!.body as { alarm: string }).alarm, 'good');
  });

  it('a credentials file; a missing secret fails the sendings with its reason and keeps them', async (t) => {
    const smtp = await smtpSink({ auth: { user: 'u', pass: 'p w' } });
    t.after(() => smtp.close());
    const file = join(dir, 'smtp.cred');
    writeFileSync(file, 'u\np w\n', { mode: 0o600 });
    const { n, outbox } = running(t, notifications({ a: mail(smtp.port, { credentials: `file:${file}` }), b: mail(smtp.port, { credentials: 'env:NOWHERE' }) }), { channelOptions: { env: {} } });
    await n.entries([alarm('x')]);
    await waitFor('mail a', () => smtp.mails.length === 1);
    const failed = await waitFor('b failing', () => n.status().log.find((r) => r.channel === 'b' && r.outcome === 'failed'));
    assert.match(failed.error!, /environment variable NOWHERE_USER is not set \[PLANTA_NOTIFY_SECRET_MISSING\]/);
    assert.equal(outbox.pending('b'), 1);
  });
});
