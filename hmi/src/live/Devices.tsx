/**
 * The devices (level 4 diagnostics): each PLC's link (valid replies, not the
 * TCP connection) and since when, its TCP connection, its last error, and its
 * communication figures as the poller counts them.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { fetchSystemNodes } from '../shared/api.js';
import { heardOf } from './Banner.js';
import { useHmiState } from '../shared/context.js';
import { formatAge, formatDateTimeZoned, formatNumber, formatTimeZoned } from '../shared/format.js';
import { qualityWord } from './quality-view.js';
import type { DeviceView } from './state.js';
import type { Quality, ServiceNode } from '../../../src/web/protocol.js';
import { msg } from '../i18n/locale.js';

const ms = (v: number | null): string => (v === null ? '—' : `${formatNumber(v, 2)}\u00a0ms`);
const count = (n: number): string => formatNumber(n, 0);

function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="facts-row">
      <dt>{label}</dt>
      <dd class="num">{children}</dd>
    </div>
  );
}

function Device({ d }: { d: DeviceView }) {
  const state = useHmiState();
  const tz = state.timeZone;
  const now = state.clock.value;
  const live = state.link.value.state === 'live';
  const bus = state.bus.value;
  const s = d.status;
  const connected = s?.state === 'connected';
  const t = msg().devices;
  const stateWord = !s ? t.unknown : s.state === 'connected' ? t.connected : s.state === 'connecting' ? t.connecting : t.down;
  const exceptions = s ? Object.entries(s.errors.exception) : [];
  return (
    <section class={`panel device ${connected ? '' : 'device-down'}`} aria-labelledby={`h-dev-${d.name}`} data-device={d.name}>
      <h2 id={`h-dev-${d.name}`}>
        PLC {d.name}
        <span class="h-sub" data-where>
          {' '}
          — {d.where}
        </span>
      </h2>
      {d.description && <p class="caption">{d.description}</p>}
      <p class={`device-state ${connected ? 'is-connected' : 'is-down'}`} role="status">
        <span aria-hidden="true">{connected ? '● ' : '✕ '}</span>
        <strong>{stateWord}</strong>
        {connected && s?.lastValidReplyAt ? t.validReplies(formatDateTimeZoned(s.lastValidReplyAt, tz)) : ''}
        {s?.state === 'down' && d.downSince
          ? t.downSince(heardOf(s.lastError?.code), d.name, sinceWords(d.downSince, now, tz), formatAge(d.downSince, now))
          : ''}
        {!live && <span class="caption">{t.lastReceived}</span>}
        {live && !bus.up && <span class="caption">{t.lastKnown(formatDateTimeZoned(bus.since, tz))}</span>}
      </p>
      {s?.tcp && (
        <p class="device-tcp">
          {t.tcp}{' '}
          {s.tcp === 'connected' && s.connectedSince ? t.openSince(formatDateTimeZoned(s.connectedSince, tz), formatAge(s.connectedSince, now)) : s.tcp === 'connecting' ? t.opening : t.closed}
          {s.state === 'down' && s.tcp === 'connected' ? t.noValidReply : ''}.
          {s.linkLossMs !== undefined ? t.linkLoss(formatNumber(s.linkLossMs / 1000, 1)) : ''}
        </p>
      )}
      {s?.lastError && (
        <p class="device-error">
          {t.lastError(formatDateTimeZoned(s.lastError.at, tz))} <span class="mono">{s.lastError.code}</span> — {s.lastError.message}
        </p>
      )}
      {s ? (
        <dl class="facts facts-cols">
          <Fact label={t.requests}>
            {count(s.requests)} / {count(s.responses)}
          </Fact>
          <Fact label={t.timeouts}>{count(s.errors.timeout)}</Fact>
          <Fact label={t.connectionErrors}>{count(s.errors.connection)}</Fact>
          <Fact label={t.protocolErrors}>{count(s.errors.protocol)}</Fact>
          {s.errors.crc !== undefined ? <Fact label={t.crcErrors}>{count(s.errors.crc)}</Fact> : null}
          {s.errors.otherUnit !== undefined ? <Fact label={t.otherUnitFrames}>{count(s.errors.otherUnit)}</Fact> : null}
          <Fact label={t.exceptions}>{exceptions.length === 0 ? '0' : exceptions.map(([code, n]) => `${t.code} ${code}: ${count(n)}`).join(', ')}</Fact>
          <Fact label={t.latency}>
            {ms(s.latencyMs.p50)} / {ms(s.latencyMs.p99)}
          </Fact>
          <Fact label={t.reconnects}>{count(s.reconnects)}</Fact>
          <Fact label={t.scans}>
            {count(s.scans)} / {count(s.overruns)}
          </Fact>
          <Fact label={t.jitter}>
            {ms(s.jitterMs.p50)} / {ms(s.jitterMs.p99)}
          </Fact>
          {s.overrunCauses ? (
            <Fact label={t.overrunCauses}>{t.overrunCause(count(s.overrunCauses['planta-late']), count(s.overrunCauses['device-slow']), count(s.overrunCauses['cpu-starved']))}</Fact>
          ) : null}
          {s.scanGroups ? (
            <Fact label={t.scanGroups}>
              <span data-scan-groups>
                {s.scanGroups.map((g) => t.scanGroup(g.name, `${count(g.periodMs)}\u00a0ms`, count(g.scans), count(g.missed), count(g.shed))).join(', ')}
                {s.shedding ? ` — ${t.shedding(count(s.shedding))}` : ''}
              </span>
            </Fact>
          ) : null}
          {s.excusedTimeouts ? <Fact label={t.excusedTimeouts}>{count(s.excusedTimeouts)}</Fact> : null}
          <Fact label={t.byQuality}>
            {Object.entries(s.qualities)
              .map(([q, n]) => `${qualityWord(q as Quality)} ${count(n)}`)
              .join(', ') || '—'}
          </Fact>
          {s.poller ? (
            <Fact label={t.polledBy}>
              {t.pollerSince(s.poller.id, formatDateTimeZoned(s.poller.since, tz), count(s.poller.leaseMs))}
            </Fact>
          ) : null}
          {s.poller ? <Fact label={t.standby}>{s.poller.standby?.length ? s.poller.standby.join(', ') : t.noStandby}</Fact> : null}
          <Fact label={t.figuresAt}>{formatDateTimeZoned(s.updatedAt, tz)}</Fact>
        </dl>
      ) : (
        <p class="empty">{t.noFigures}</p>
      )}
    </section>
  );
}

/** How often the System section asks again where the web node is (a failover moves it). */
const SYSTEM_EVERY_MS = 5000;

/** The servers this web node uses (the bus's Redis, PostgreSQL), and when each last moved: nothing for a node on one process's memory and files. */
function System() {
  const state = useHmiState();
  const tz = state.timeZone;
  const [nodes, setNodes] = useState<ServiceNode[] | undefined>(undefined);
  useEffect(() => {
    const ctl = new AbortController();
    const load = (): void => void fetchSystemNodes(ctl.signal).then(setNodes, () => undefined);
    load();
    const timer = setInterval(load, SYSTEM_EVERY_MS);
    return () => {
      clearInterval(timer);
      ctl.abort();
    };
  }, []);
  if (!nodes || nodes.length === 0) return null;
  const t = msg().system;
  return (
    <section class="panel system" aria-labelledby="h-system">
      <h2 id="h-system">{t.title}</h2>
      <p class="caption">{t.caption}</p>
      <table class="system-nodes">
        <thead>
          <tr>
            <th scope="col">{t.for}</th>
            <th scope="col">{t.server}</th>
            <th scope="col">{t.lastChange}</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.role} data-role={n.role}>
              <th scope="row">{t.role[n.role]}</th>
              <td>
                {n.engine === 'redis' ? 'Redis' : 'PostgreSQL'} {n.node}
              </td>
              <td>
                {n.switchedAt
                  ? t.movedHere(formatDateTimeZoned(Date.parse(n.switchedAt), tz), n.switches, count(n.switches))
                  : n.failover
                    ? t.noFailoverYet
                    : t.single}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Devices() {
  const state = useHmiState();
  return (
    <main class="page devices" aria-labelledby="page-title">
      <h1 id="page-title">{msg().titles.devices}</h1>
      {state.devices.value.map((d) => (
        <Device key={d.name} d={d} />
      ))}
      <System />
    </main>
  );
}

/** Since when, as the banner says it (the time and its zone; the age beside it dates it), with the date once that is no longer plain. */
function sinceWords(ts: number, now: number, tz: string): string {
  return now - ts < 12 * 3600_000 ? formatTimeZoned(ts, tz) : formatDateTimeZoned(ts, tz);
}
