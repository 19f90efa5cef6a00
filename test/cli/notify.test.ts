/** `planta notify test CHANNEL` against an SMTP sink (credentials from a file), in English or in a channel's Spanish, and `planta check` naming the channels or refusing a language. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { run } from '../helpers/process.js';
import { smtpSink } from '../notify/sinks.js';

const planta = new URL('../../bin/planta.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'planta-notify-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('planta notify test', { timeout: 60_000 }, () => {
  it('sends a test mail through the channel, says so; an unknown channel is an error with its code', async (t) => {
    const smtp = await smtpSink({ auth: { user: 'planta', pass: 'pw' } });
    t.after(() => smtp.close());
    const cred = join(dir, 'smtp.cred');
    writeFileSync(cred, 'planta\npw\n', { mode: 0o600 });
    const config = join(dir, 'plant.yaml');
    writeFileSync(
      config,
      `plant: { name: Test plant, timezone: Europe/Madrid }
devices:
  plc: { host: 127.0.0.1, port: 5020 }
tags:
  level: { area: holding, address: 0 }
notifications:
  channels:
    oncall: { smtp: "smtp://127.0.0.1:${smtp.port}", from: "planta@example.org", to: ["oncall@example.org"], credentials: "file:${cred}", tls: none }
  rules:
    - { channels: [oncall] }
`,
    );
    const check = await run(process.execPath, [planta, 'check', config]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /notifications: 1 channel\(s\) \(oncall\), 1 rule\(s\)/);
    const ok = await run(process.execPath, [planta, 'notify', 'test', 'oncall', '-c', config]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /sent "\[Test plant\] Test notification" through oncall \(smtp:\/\/127\.0\.0\.1:\d+ → oncall@example\.org\)/);
    assert.equal(smtp.mails[0]?.subject, '[Test plant] Test notification');
    assert.match(smtp.mails[0]!.text!, /Europe\/Madrid \(UTC\+01:00\)/);
    const bad = await run(process.execPath, [planta, 'notify', 'test', 'nope', '-c', config]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no channel "nope" \(channels: oncall\) \[PLANTA_NOTIFY_UNKNOWN_CHANNEL\]/);
  });

  it('a Spanish channel: the test mail in Spanish, with the plant\'s Spanish name; planta check refuses another language at its line', async (t) => {
    const smtp = await smtpSink();
    t.after(() => smtp.close());
    const config = join(dir, 'planta-es.yaml');
    const yaml = (language: string): string => `plant: { name: { es: Planta de prueba, en: Test plant }, timezone: America/Argentina/Buenos_Aires }
devices:
  plc: { host: 127.0.0.1, port: 5020 }
tags:
  level: { area: holding, address: 0 }
notifications:
  channels:
    guardia: { smtp: "smtp://127.0.0.1:${smtp.port}", from: "planta@example.org", to: ["guardia@example.org"], tls: none, language: ${language} }
  rules:
    - { channels: [guardia] }
`;
    writeFileSync(config, yaml('es'));
    const ok = await run(process.execPath, [planta, 'notify', 'test', 'guardia', '-c', config]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(smtp.mails[0]?.subject, '[Planta de prueba] Notificación de prueba');
    assert.match(smtp.mails[0]!.text!, /^Hora: {9}\d\d\/\d\d\/\d{4} ([01]\d|2[0-3]):\d\d:\d\d America\/Argentina\/Buenos_Aires \(UTC-03:00\)$/m);
    assert.match(smtp.mails[0]!.text!, /Esta es una prueba del canal guardia/);
    assert.match(smtp.mails[0]!.text!, /^De guardia: {3}guardia@example\.org$/m);
    writeFileSync(config, yaml('fr'));
    const check = await run(process.execPath, [planta, 'check', config]);
    assert.equal(check.code, 1);
    assert.match(check.stderr, /planta-es\.yaml:8:\d+ notifications\.channels\.guardia\.language: expected one of es, es-AR, en$/m);
  });
});
