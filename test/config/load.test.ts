import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { run } from '../helpers/process.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'x.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'PLANTA_CONFIG_INVALID');
    return err.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
  }
  return [];
}

const device = `devices:\n  plc:\n    host: 127.0.0.1\n    scanGroups: { fast: 500ms, slow: 5s }\n`;

describe('configuration', () => {
  it('notifications: the alarms a rule names exist (comm.<device> included)', () => {
    const yaml = `${device}tags:\n  t: { area: coil, address: 0 }\nalarms:\n  pump: { tag: t, priority: high, message: Pump }
notifications:
  channels: { ops: { webhook: "https://hooks.example.org/planta" } }
  rules:
    - { channels: [ops], alarms: [comm.plc, pump, "pu*", nothere, "no*"] }
`;
    assert.deepEqual(problems(yaml), ['12:58 notifications.rules.0.alarms.3: no alarm is "nothere"', '12:67 notifications.rules.0.alarms.4: no alarm starts with "no"']);
  });

  it('notifications: channel references, secrets never in clear, hours and kinds of channel, each at its line', () => {
    const yaml = `${device}tags: {}
notifications:
  channels:
    oncall: { smtp: "smtp://me:pw@mail.example.org:587", from: "planta@example.org", to: ["oncall@example.org"] }
    ops: { webhook: "https://hooks.example.org/planta", secret: "hunter2" }
    both: { smtp: "smtp://mail.example.org", webhook: "https://x.example.org", from: "a@b.c", to: ["d@e.f"] }
    half: { smtp: "smtp://mail.example.org", format: slack }
  rules:
    - { priorities: [critical], channels: [oncall, opz], escalate: { after: 10m, channels: [chief] } }
    - { channels: [ops], hours: "Mon-Fry 07:00-19:00" }
`;
    assert.deepEqual(problems(yaml), [
      '8:21 notifications.channels.oncall.smtp: expected smtp://HOST:PORT or smtps://HOST:PORT, without user or password (see credentials)',
      '9:65 notifications.channels.ops.secret: expected env:VARIABLE or file:PATH (secrets are never written in the configuration)',
      '10:55 notifications.channels.both.webhook: a channel is mail (smtp:) or a webhook, not both',
      '11:11 notifications.channels.half.from: is required for a mail channel',
      '11:11 notifications.channels.half.to: is required for a mail channel',
      '11:54 notifications.channels.half.format: is a webhook field; this is a mail channel',
      '13:52 notifications.rules.0.channels.1: unknown channel "opz" (channels: oncall, ops, both, half)',
      '13:93 notifications.rules.0.escalate.channels.0: unknown channel "chief" (channels: oncall, ops, both, half)',
      '14:33 notifications.rules.1.hours: expected hours such as "Mon-Fri 07:00-19:00" or "22:00-06:00; Sat,Sun 00:00-24:00"',
    ]);
  });

  it('notifications: the language of the messages, es or en, for all and per channel; another is refused at its line', () => {
    const ok = `${device}tags: {}
notifications:
  language: es
  channels: { ops: { webhook: "https://hooks.example.org/planta", language: en }, sala: { webhook: "https://hooks.example.org/sala" } }
`;
    const c = parseConfig(ok, 'x.yaml').notifications;
    assert.equal(c.language, 'es');
    assert.equal(c.channels.ops!.language, 'en');
    assert.equal(c.channels.sala!.language, undefined);
    assert.equal(parseConfig(`${device}tags: {}\n`, 'x.yaml').notifications.language, 'en', 'English by default: the configuration has no plant language');
    const yaml = `${device}tags: {}
notifications:
  language: fr
  channels:
    ops: { webhook: "https://hooks.example.org/planta", language: pt-BR }
    mail: { smtp: "smtp://mail.example.org:587", from: "p@example.org", to: ["o@example.org"], language: fr }
`;
    assert.deepEqual(problems(yaml), [
      '7:13 notifications.language: expected one of es, es-AR, en',
      '9:67 notifications.channels.ops.language: expected one of es, es-AR, en',
      '10:106 notifications.channels.mail.language: expected one of es, es-AR, en',
    ]);
    // As the configuration's texts spell Spanish: the same messages as es.
    assert.equal(parseConfig(`${device}tags: {}\nnotifications:\n  language: es-AR\n`, 'x.yaml').notifications.language, 'es');
  });

  it('notifications: a password, a user in a URL or a Slack/Teams URL written in clear is refused at its line', () => {
    const yaml = `${device}tags: {}
notifications:
  channels:
    a: { smtp: "smtp://mail.example.org:587", from: "p@example.org", to: ["o@example.org"], password: "pw" }
    b: { smtp: "smtp://mail.example.org:587", from: "p@example.org", to: ["o@example.org"], credentials: { user: me, password: pw } }
    c: { webhook: "https://me:pw@hooks.example.org/planta" }
    d: { webhook: "https://hooks.slack.com/services/T000/B000/XXXX", format: slack }
    e: { webhook: "https://example.webhook.office.com/webhookb2/abc", format: teams }
    f: { webhook: "env:PLANTA_SLACK_WEBHOOK", format: slack }
  rules:
    - { channels: [a, b, c, d, e, f] }
`;
    assert.deepEqual(problems(yaml), [
      '8:93 notifications.channels.a.password: unknown field: secrets are never written in the configuration (mail: credentials: env:PREFIX or file:PATH; webhook: secret: env:VARIABLE or file:PATH)',
      '9:106 notifications.channels.b.credentials: expected env:VARIABLE or file:PATH (secrets are never written in the configuration)',
      '10:19 notifications.channels.c.webhook: a user or password in the URL is a secret written in clear: give the whole URL as env:VARIABLE or file:PATH',
      '11:19 notifications.channels.d.webhook: a Slack or Teams webhook URL is itself a secret: give it as env:VARIABLE or file:PATH, not in the configuration',
      '12:19 notifications.channels.e.webhook: a Slack or Teams webhook URL is itself a secret: give it as env:VARIABLE or file:PATH, not in the configuration',
    ]);
  });

  it('loads the default SBR configuration: the whole register map of sbr.md', () => {
    const c = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    assert.equal(c.devices.length, 1);
    assert.equal(c.devices[0]!.port, 5020);
    const tag = (n: string) => c.tags.find((t) => t.name === n)!;
    // 23 status/alarm bits, 5 phase events, 4 command bits, 5 measurements, 3 limits, program + 12 durations, 4 timers.
    assert.equal(c.tags.length, 57);
    assert.deepEqual(
      c.tags.filter((t) => t.area === 'coil').map((t) => t.address).sort((a, b) => a - b),
      [...Array.from({ length: 33 }, (_, i) => i).filter((i) => i !== 24)],
    );
    assert.deepEqual(
      [...new Set(c.tags.filter((t) => t.area !== 'coil').map((t) => t.address))].sort((a, b) => a - b),
      Array.from({ length: 25 }, (_, i) => i),
    );
    assert.deepEqual([tag('reactor.level').scale, tag('reactor.level').unit, tag('reactor.level').range], [0.01, '%', [0, 100]]);
    assert.deepEqual([tag('reactor.oxygen').unit, tag('reactor.oxygen').range], ['mg/L', [0, 20]]);
    assert.deepEqual([tag('reactor.turbidity').unit, tag('reactor.turbidity').range], ['NTU', [0, 30]]);
    assert.deepEqual(tag('limits.oxygen_min').writable, { min: 0.01, max: 99.99, roles: ['engineer'] });
    assert.deepEqual(tag('program3.discharge').address, 20);
    assert.deepEqual(tag('cmd.start').writable?.roles, ['operator']);
    assert.ok(c.tags.every((t) => t.description.length > 0), 'every tag has a description');
  });

  it('flow and block style give the same configuration (one YAML parser, positions kept)', () => {
    const flow = `${device}tags:\n  a: { area: holding, address: 0, scale: 0.1, range: [0, 10], writable: {} }\n  b: { area: coil, address: 1 }\n`;
    const block = `${device}tags:\n  a:\n    area: holding\n    address: 0\n    scale: 0.1\n    range:\n      - 0\n      - 10\n    writable: {}\n  b:\n    area: coil\n    address: 1\n`;
    assert.deepEqual(parseConfig(flow, 'b.yaml'), parseConfig(block, 'b.yaml'));
    assert.deepEqual(parseConfig(flow, 'b.yaml').tags.map((t) => [t.name, t.type, t.scale, t.range, t.writable]), [
      ['a', 'uint16', 0.1, [0, 10], { roles: ['operator'] }],
      ['b', 'bool', 1, undefined, undefined],
    ]);
  });

  it('fills defaults: the only device, bool for bits, uint16 for registers, the first scan group, decimals from the scale', () => {
    const c = parseConfig(`${device}tags:\n  a: { area: coil, address: 3 }\n  b: { area: input, address: 0, scale: 0.01, scan: slow }\n`, 'x.yaml');
    assert.deepEqual(
      c.tags.map((t) => [t.device, t.type, t.scanGroup, t.decimals]),
      [
        ['plc', 'bool', 'fast', 0],
        ['plc', 'uint16', 'slow', 2],
      ],
    );
    assert.equal(c.devices[0]!.timeoutMs, 1000);
    assert.deepEqual(c.devices[0]!.scanGroups, { fast: 500, slow: 5000 });
  });

  it('reports every problem together, each with file, line, column and field', () => {
    const p = problems(
      `${device}tags:\n` +
        `  a: { area: input, address: 0, scale: big }\n` + // 6
        `  b: { area: attic, address: 1 }\n` + // 7
        `  c: { area: input, address: 70000 }\n` + // 8
        `  d: { area: coil, address: 1, type: float32 }\n` + // 9
        `  e: { area: holding, address: 1, type: bit }\n` + // 10
        `  f: { area: input, address: 1, scan: medium }\n` + // 11
        `  g: { area: input, address: 2, writable: { roles: [operator] } }\n` + // 12
        `  h: { area: holding, address: 5, type: string }\n` + // 13
        `  i: { area: holding, address: 1, range: [10, 0] }\n` + // 14
        `  j: { area: holding, address: 1, scael: 2 }\n` + // 15
        `  k: { area: holding, address: 1, timeout: "soon" }\n`, // 16
    );
    assert.deepEqual(p, [
      '6:40 tags.a.scale: expected a number',
      '7:14 tags.b.area: expected one of coil, discrete, holding, input',
      '8:30 tags.c.address: expected a number ≤ 65535',
      '9:38 tags.d.type: a coil holds one bit: expected type bool',
      '10:6 tags.e.bit: is required for type bit (0..15, 0 = least significant)',
      '11:39 tags.f.scan: unknown scan group "medium" of device plc (groups: fast, slow)',
      '12:43 tags.g.writable: a input is read-only in Modbus; writable tags are coils or holding registers',
      '13:6 tags.h.length: is required for type string (number of registers)',
      '14:42 tags.i.range: expected [min, max] with min < max, got [10, 0]',
      '15:35 tags.j.scael: unknown field',
      '16:35 tags.k.timeout: unknown field',
    ]);
  });

  it('reports duplicate names, unknown devices, overlapping writable tags, addresses past 65535', () => {
    const p = problems(
      `${device}  plc:\n    host: other\n` +
        `tags:\n` +
        `  a: { area: holding, address: 9, type: float32, writable: {} }\n` +
        `  b: { area: holding, address: 10, writable: {} }\n` +
        `  c: { area: holding, address: 65535, type: uint32 }\n` +
        `  d: { device: plc9, area: coil, address: 0 }\n` +
        `  a: { area: coil, address: 1 }\n`,
    );
    assert.deepEqual(p, [
      '5:3 devices.plc: duplicate device name "plc"',
      '9:32 tags.b.address: overlaps writable tag "a" (holding 9..10); writable tags must not share addresses',
      '10:32 tags.c.address: 65535 + 2 registers runs past address 65535',
      '11:16 tags.d.device: unknown device "plc9" (devices: plc)',
      '12:3 tags.a: duplicate tag name "a"',
    ]);
  });

  it('reports YAML syntax errors with their place, and missing sections', () => {
    assert.match(problems('devices:\n  plc: { host: "x }\n')[0]!, /^3:1 : YAML: Missing closing "quote/);
    assert.deepEqual(problems('plant: { name: x }\n'), ['1:1 devices: is required: the devices Planta polls', '1:1 tags: is required: the tags Planta reads']);
    assert.deepEqual(problems(`${device}tags: {}\nextra: 1\n`), ['6:1 extra: unknown section (sections: plant, security, historian, bus, links, devices, tags, alarms, shelving, events, commands, relations, pages, notifications, northbound)']);
  });

  it('the bus section: memory by default with a 5 s lease; a lease out of bounds is located', () => {
    const tags = 'tags:\n  t: { device: plc, area: holding, address: 0 }\n';
    const c = parseConfig(`${device}${tags}`, 'x.yaml');
    assert.deepEqual([c.bus.kind, c.bus.lease], ['memory', 5000]);
    assert.equal(parseConfig(`bus: { kind: redis, lease: 2s }\n${device}${tags}`, 'x.yaml').bus.lease, 2000);
    assert.deepEqual(problems(`bus: { kind: redis, lease: 100ms }\n${device}${tags}`), ['1:28 bus.lease: expected a duration between 300ms and 10m, e.g. 5s']);
  });

  it('planta check prints the five located errors of a file with five mistakes and exits 1', async () => {
    const fixture = new URL('../fixtures/five-mistakes.yaml', import.meta.url).pathname;
    const r = await run(process.execPath, [planta, 'check', fixture]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 6, r.stderr);
    assert.match(lines[0]!, /five-mistakes\.yaml:12:12 tags\.level\.scale: expected a number$/);
    assert.match(lines[1]!, /:14:13 tags\.oxygen\.device: unknown device "plc2"/);
    assert.match(lines[2]!, /:19:14 tags\.program\.address: 65535 \+ 2 registers runs past address 65535/);
    assert.match(lines[3]!, /:28:14 tags\.limit_b\.address: overlaps writable tag "limit_a"/);
    assert.match(lines[4]!, /:30:3 tags\.level: duplicate tag name "level"/);
    assert.equal(lines[5], '5 problems [PLANTA_CONFIG_INVALID]');
    const ok = await run(process.execPath, [planta, 'check', new URL('../../config/sbr-plant.yaml', import.meta.url).pathname]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /fast every 500 ms: 2 request\(s\) — coil 0\.\.32, input 0\.\.24/);
  });
});
