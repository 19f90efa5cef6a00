/** The words of each kind of notification: digest, flood, escalation, clear, late; times in the plant's zone with its offset. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { type Notice, type RenderContext, render, words, zonedTime } from '../../src/notify/notice.js';
import { noticeTexts } from '../../src/notify/texts.js';

const T = Date.UTC(2026, 6, 1, 12, 0, 0); // July: Madrid is UTC+2
const ctx: RenderContext = { plant: 'SBR', timeZone: 'Europe/Madrid', hmiUrl: 'https://scada.example.org/', now: T, lateMs: 15 * 60_000 };
const alarm = { id: 'estop', message: 'Emergency stop pressed', priority: 'critical' as const, source: 'alarm.estop', value: true, quality: 'Good' };
const notice = (n: Partial<Notice>): Notice => ({ kind: 'alarm', channel: 'ops', at: T, queuedAt: T, alarm, ...n });

describe('notification words', () => {
  it('times in the plant zone, with the offset of that day', () => {
    assert.deepEqual(zonedTime(T, 'Europe/Madrid'), { text: '2026-07-01 14:00:00 Europe/Madrid (UTC+02:00)', iso: '2026-07-01T14:00:00+02:00' });
    assert.deepEqual(zonedTime(T, 'UTC'), { text: '2026-07-01 12:00:00 UTC (UTC+00:00)', iso: '2026-07-01T12:00:00+00:00' });
  });

  it('a digest of a chattering alarm, a flood with its first alarms, an escalation with when it was raised', () => {
    const d = render(notice({ kind: 'digest', count: 4, since: T - 50_000, chattering: true }), ctx);
    assert.equal(d.subject, '[SBR] Chattering: Emergency stop pressed (4 more times)');
    assert.match(d.text, /Repeats: {2}4 since 2026-07-01 13:59:10 .* chattering: its repeats are summarised/);
    const f = render({ kind: 'flood', channel: 'ops', at: T, queuedAt: T, count: 15, since: T - 60_000, first: [{ id: 'a1', message: 'Pump 1', priority: 'high', at: T - 60_000 }] }, ctx);
    assert.equal(f.subject, '[SBR] Alarm flood: 15 alarms');
    assert.match(f.text, /- 2026-07-01 13:59:00 Europe\/Madrid \(UTC\+02:00\) {2}high {2}a1: Pump 1/);
    assert.equal(f.json.count, 15);
    const e = render(notice({ kind: 'escalation', since: T - 600_000 }), ctx);
    assert.equal(e.subject, '[SBR] ESCALATED, still unacknowledged: Emergency stop pressed');
    assert.match(e.text, /Raised: {3}2026-07-01 13:50:00 .*, not acknowledged since/);
    assert.equal(e.json.raised, '2026-07-01T13:50:00+02:00');
    assert.equal(e.json.link, 'https://scada.example.org/#/alarms/estop');
    assert.equal(render(notice({ kind: 'clear' }), ctx).json.state, 'normal');
  });

  it('late past the configured age: marked in the subject, the text and the JSON, never dropped', () => {
    const r = render(notice({ at: T - 20 * 60_000 }), ctx);
    assert.equal(r.late, true);
    assert.match(r.subject, /^\[LATE\] \[SBR\] CRITICAL alarm/);
    assert.match(r.text, /LATE: sent 20 min after it happened/);
    assert.equal(r.json.delaySeconds, 1200);
    assert.equal(render(notice({ at: T - 14 * 60_000 }), ctx).late, false);
  });

  it('in Spanish: its words, the configured Spanish message, dates day/month/year at 24 hours, decimal comma', () => {
    const plant = loadConfig(new URL('../../config/sbr-plant.yaml', import.meta.url).pathname);
    const texts = noticeTexts(plant);
    const es: RenderContext = { ...ctx, plant: texts.plant('es')!, language: 'es', message: (id) => texts.alarm(id, 'es', words('es')) };
    const a = render(notice({ at: T + 6 * 3_600_000, alarm: { ...alarm, source: 'reactor.level', value: 4.25, quality: 'Uncertain_EngineeringUnitsExceeded' }, escalates: { at: T + 6 * 3_600_000 + 600_000, channels: ['chief'] } }), { ...es, now: T + 6 * 3_600_000 });
    assert.equal(a.subject, '[Planta de tratamiento de efluentes SBR] Alarma CRÍTICA: Parada de emergencia accionada');
    assert.match(a.text, /^Hora: {9}01\/07\/2026 20:00:00 Europe\/Madrid \(UTC\+02:00\)$/m);
    assert.match(a.text, /^Origen: {7}reactor\.level = 4,25 \(fuera de rango\)$/m);
    assert.match(a.text, /^Escala a chief el 01\/07\/2026 20:10:00 Europe\/Madrid \(UTC\+02:00\) si no se reconoce\.$/m);
    assert.equal(a.json.message, 'Parada de emergencia accionada');
    assert.equal(a.json.time, '2026-07-01T20:00:00+02:00', 'the JSON keeps ISO times');

    const d = render(notice({ kind: 'digest', count: 4, since: T - 50_000, chattering: true }), es);
    assert.equal(d.subject, '[Planta de tratamiento de efluentes SBR] Intermitente: Parada de emergencia accionada (4 veces más)');
    assert.match(d.text, /^Repeticiones: 4 desde 01\/07\/2026 13:59:10 .* intermitente: sus repeticiones se resumen/m);
    const f = render({ kind: 'flood', channel: 'ops', at: T, queuedAt: T, count: 15, since: T - 60_000, first: [{ id: 'high_level_reactor', message: 'High level, SBR reactor', priority: 'high', at: T - 60_000 }, { id: 'comm.plc', message: 'No communication with plc', priority: 'high', at: T - 30_000 }] }, es);
    assert.equal(f.subject, '[Planta de tratamiento de efluentes SBR] Avalancha de alarmas: 15 alarmas');
    assert.match(f.text, /^ {2}- 01\/07\/2026 13:59:00 Europe\/Madrid \(UTC\+02:00\) {2}alta {2}high_level_reactor: Nivel alto, reactor SBR$/m);
    assert.match(f.text, /comm\.plc: Sin comunicación con plc \(PLC Schneider Twido del reactor SBR \(simulado por planta sim\)\)$/m);
    assert.deepEqual((f.json.first as { message: string }[]).map((x) => x.message), ['Nivel alto, reactor SBR', 'Sin comunicación con plc (PLC Schneider Twido del reactor SBR (simulado por planta sim))']);
    const e = render(notice({ kind: 'escalation', since: T - 600_000 }), es);
    assert.equal(e.subject, '[Planta de tratamiento de efluentes SBR] ESCALADA, sigue sin reconocer: Parada de emergencia accionada');
    assert.match(e.text, /^Activada: {5}01\/07\/2026 13:50:00 .*, sin reconocer desde entonces$/m);
    assert.match(render(notice({ kind: 'clear' }), es).subject, /Normalizada: Parada de emergencia accionada$/);
    const late = render(notice({ at: T - 20 * 60_000 }), es);
    assert.match(late.subject, /^\[ATRASADA\] \[Planta/);
    assert.match(late.text, /ATRASADA: enviada 20 min después de ocurrir/);
    assert.match(render({ kind: 'test', channel: 'guardia', at: T, queuedAt: T }, es).text, /Esta es una prueba del canal guardia/);
    // English for the same plant: its English message, the English words.
    const en = render(notice({}), { ...ctx, message: (id) => texts.alarm(id, 'en', words('en')) });
    assert.equal(en.subject, '[SBR] CRITICAL alarm: Emergency stop pressed');
  });
});
