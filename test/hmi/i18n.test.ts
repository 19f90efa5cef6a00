/**
 * The HMI's message catalogue and formats, without a browser: es-AR has
 * exactly the keys of en (the compiler checks it too; this also checks the
 * functions take the same arguments and give text), the language chosen by
 * the user or the browser, numbers and dates through Intl per language, and
 * configured texts picked in the user's language with their fallbacks.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { en } from '../../hmi/src/i18n/en.js';
import { esAR } from '../../hmi/src/i18n/es-AR.js';
import { chooseLocale, loadCatalogue, locale, localeOf, msg } from '../../hmi/src/i18n/locale.js';
import { configText, pickText } from '../../hmi/src/i18n/config-text.js';
import { entryText, phaseLabeller } from '../../hmi/src/i18n/plant-texts.js';
import { anomalyText } from '../../hmi/src/trends/cycles-model.js';
import { formatBare, formatDateTime, formatNumber, formatTime } from '../../hmi/src/shared/format.js';

type Tree = Record<string, unknown>;

/** Every leaf: its path and its value. */
function leaves(node: unknown, path = ''): [string, unknown][] {
  if (typeof node !== 'object' || node === null) return [[path, node]];
  return Object.entries(node as Tree).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
}

before(() => loadCatalogue('es-AR'));

function withSpanish<T>(f: () => T): T {
  const before = locale.value;
  locale.value = 'es-AR';
  try {
    return f();
  } finally {
    locale.value = before;
  }
}

describe('the message catalogue', () => {
  it('es-AR has every key of en and no other; the same kind of entry under each', () => {
    const a = new Map(leaves(en));
    const b = new Map(leaves(esAR));
    assert.deepEqual([...b.keys()].filter((k) => !a.has(k)), [], 'keys only in es-AR');
    assert.deepEqual([...a.keys()].filter((k) => !b.has(k)), [], 'keys missing from es-AR');
    for (const [k, v] of a) {
      const w = b.get(k);
      assert.equal(typeof w, typeof v, k);
      if (typeof v === 'function') assert.equal((w as () => unknown).length, (v as () => unknown).length, `${k}: the same arguments`);
      if (typeof v === 'string') assert.ok((w as string).trim() !== '' || v.trim() === '', `${k}: not empty`);
    }
  });

  it('functions make text in both languages (plural and interpolation)', () => {
    assert.equal(en.alarms.unackedAlarms(1, 'high'), '1 unacknowledged alarm, highest priority high');
    assert.equal(en.alarms.unackedAlarms(3, 'critical'), '3 unacknowledged alarms, highest priority critical');
    assert.equal(esAR.alarms.unackedAlarms(1, 'alta'), '1 alarma sin reconocer, prioridad más alta alta');
    assert.equal(esAR.alarms.unackedAlarms(3, 'crítica'), '3 alarmas sin reconocer, prioridad más alta crítica');
    assert.equal(esAR.cycles.summary(2, 1), '2 ciclos, 1 con anomalías');
    assert.equal(esAR.journal.entries(1, false), '1 entrada');
  });

  it('a dead link names its device and since when, a time or (after 12 h) a date in Spanish', () => {
    assert.equal(en.banner.noReply('plc', '10:42:05 GMT-3', '2 min 05 s'), 'No valid reply from plc since 10:42:05 GMT-3 (2 min 05 s)');
    assert.equal(esAR.banner.noReply('plc', '10:42:05 ART', '2 min 05 s'), 'Sin respuesta válida de plc desde las 10:42:05 ART (2 min 05 s)');
    assert.equal(en.devices.downSince(false, 'plc', '10:42:05 GMT-3', '12 s'), ' — no live data from plc since 10:42:05 GMT-3 (12 s)');
    assert.equal(esAR.devices.downSince(true, 'plc', '10:42:05 ART', '12 s'), ' — sin respuesta válida de plc desde las 10:42:05 ART (12 s)');
    assert.equal(esAR.devices.downSince(true, 'plc', '06/12/2026 10:42:05 ART', '1 d 2 h'), ' — sin respuesta válida de plc desde el 06/12/2026 10:42:05 ART (1 d 2 h)');
  });

  it('most texts are translated: an English text left in es-AR is a short mark or a name', () => {
    const same = leaves(en).filter(([k, v]) => typeof v === 'string' && new Map(leaves(esAR)).get(k) === v && /[a-z]{4,}/i.test(v)).map(([k, v]) => `${k}: ${String(v)}`);
    assert.deepEqual(same.filter((s) => !/^(lang\.name|alarmState\.normal|common)/.test(s) && !/: (Normal|Modbus|English|Español|Token|Webhook)$/.test(s)), []);
  });
});

describe('the language', () => {
  it('the user’s choice first, else the first Spanish or English browser language (es* → es-AR), else English', () => {
    assert.equal(chooseLocale('es-AR', ['en-US']), 'es-AR');
    assert.equal(chooseLocale('en', ['es-AR']), 'en');
    assert.equal(chooseLocale(null, ['es-AR', 'en']), 'es-AR');
    assert.equal(chooseLocale(null, ['es']), 'es-AR');
    assert.equal(chooseLocale(null, ['es-419']), 'es-AR');
    assert.equal(chooseLocale(null, ['fr-FR', 'es-ES', 'en']), 'es-AR');
    assert.equal(chooseLocale(null, ['de-DE', 'en-GB', 'es']), 'en');
    assert.equal(chooseLocale(null, ['pt-BR']), 'en');
    assert.equal(chooseLocale('klingon', []), 'en');
    assert.equal(localeOf('ES_ar'), 'es-AR');
    assert.equal(localeOf('en'), 'en');
    assert.equal(localeOf('it'), undefined);
  });

  it('msg() gives the catalogue of the language chosen', () => {
    assert.equal(msg().nav.alarms, 'Alarms');
    assert.equal(withSpanish(() => msg().nav.alarms), 'Alarmas');
  });
});

describe('numbers, dates and durations per language (Intl)', () => {
  it('a decimal comma and a thousands dot in es-AR; a decimal point in English', () => {
    assert.equal(formatNumber(1234.5, 2, 'en'), '1,234.50');
    assert.equal(formatNumber(1234.5, 2, 'es-AR'), '1.234,50');
    assert.equal(formatNumber(-0.001, 2, 'es-AR'), '0,00');
    assert.equal(withSpanish(() => formatNumber(6.2, 2)), '6,20');
    assert.equal(withSpanish(() => formatBare({ decimals: 0 }, true)), 'SÍ');
    assert.equal(formatBare({ decimals: 0 }, true), 'ON');
  });

  it('24-hour times in the plant’s zone; dates day/month/year in es-AR, year first in English', () => {
    const ts = Date.UTC(2026, 11, 7, 17, 5, 9); // 14:05:09 in Buenos Aires
    const tz = 'America/Argentina/Buenos_Aires';
    assert.equal(formatTime(ts, tz), '14:05:09');
    assert.equal(formatDateTime(ts, tz), '2026-12-07 14:05:09');
    assert.equal(withSpanish(() => formatDateTime(ts, tz)), '07/12/2026 14:05:09');
    assert.equal(withSpanish(() => formatTime(Date.UTC(2026, 11, 7, 23, 0, 0), tz)), '20:00:00');
  });
});

describe('configured texts in the user’s language', () => {
  const texts = {
    alarms: { estop: { message: { es: 'Parada de emergencia accionada', en: 'Emergency stop pressed' } } },
    events: { fill: { message: { 'es-AR': 'Reactor en carga aireada' } } },
    historian: { cycles: { phases: { 1: { name: { es: 'Aireación' } } } } },
  };

  it('picks the language, else the other one, else the plain string', () => {
    assert.equal(pickText({ es: 'Parada', en: 'Stop' }, 'x', 'es-AR'), 'Parada');
    assert.equal(pickText({ es: 'Parada', en: 'Stop' }, 'x', 'en'), 'Stop');
    // The server sends only the other language: the plain string is the English, or the only one.
    assert.equal(pickText({ es: 'Parada' }, 'Stop', 'en'), 'Stop');
    assert.equal(pickText({ en: 'Stop' }, 'Parada', 'es-AR'), 'Parada');
    assert.equal(pickText({ 'es-AR': 'Parada' }, 'x', 'es-AR'), 'Parada');
    assert.equal(pickText(undefined, 'plain', 'es-AR'), 'plain');
    assert.equal(withSpanish(() => configText(texts, ['alarms', 'estop', 'message'], 'Emergency stop pressed')), 'Parada de emergencia accionada');
    assert.equal(configText(texts, ['alarms', 'nothere', 'message'], 'Plain'), 'Plain');
  });

  it('journal entries and cycle anomalies are said again in Spanish', () => {
    const message = (id: string): string | undefined => (id === 'estop' ? 'Parada de emergencia accionada' : undefined);
    withSpanish(() => {
      assert.equal(entryText({ kind: 'ack', source: 'estop', text: 'Emergency stop pressed: acknowledged — bomba revisada' }, message, texts), 'Parada de emergencia accionada: reconocida — bomba revisada');
      assert.equal(entryText({ kind: 'return', source: 'estop', text: 'Emergency stop pressed: returned to normal (not yet acknowledged)' }, message, texts), 'Parada de emergencia accionada: normalizada (todavía sin reconocer)');
      assert.equal(entryText({ kind: 'event', source: 'fill', text: 'Reactor in aerated fill' }, message, texts), 'Reactor en carga aireada');
      const phase = phaseLabeller(['Aerated fill', 'Aeration', 'Settling', 'Discharge'], texts);
      assert.equal(phase('Aeration'), 'Aireación');
      assert.equal(phase('Settling'), 'Settling');
      assert.equal(
        anomalyText({ code: 'OXYGEN_LOW', text: 'oxygen fell to 1.5 during Aeration (minimum 2)' }, phase),
        'el oxígeno bajó a 1,5 durante Aireación (mínimo 2)',
      );
    });
    assert.equal(entryText({ kind: 'device', source: 'plc', text: 'plc: connected' }, message, texts), 'plc: connected');
    assert.equal(withSpanish(() => entryText({ kind: 'device', source: 'plc', text: 'plc: connection lost — timeout' }, message, texts)), 'plc: se perdió la conexión — timeout');
  });
});
