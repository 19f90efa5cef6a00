/**
 * The connection banner, on every page under the top bar: the live stream
 * lost (and since when), the server cut off from the plant's bus (live data
 * stopped), and each device without valid replies — whatever its TCP
 * connection does — or whose poller is silent. It goes away by itself once
 * the stream, the bus or the device is back.
 */
import type { DeviceStatus } from '../../../src/web/protocol.js';
import { formatDuration, formatTimeZoned } from '../shared/format.js';
import { useHmiState } from '../shared/context.js';
import type { DeviceView } from './state.js';
import { msg } from '../i18n/locale.js';

/** The server restarted with another configuration: this page's tags and pages are out of date. */
function ConfigChanged() {
  const t = msg().banner;
  return (
    <div class="banner banner-config" role="alert">
      <span class="banner-line">
        <span class="banner-icon" aria-hidden="true">!</span>
        <span>
          <strong>{t.configChanged}</strong>
          {t.configOutdated}{' '}
          <button type="button" class="banner-button" onClick={() => window.location.reload()}>
            {t.reload}
          </button>
        </span>
      </span>
    </div>
  );
}

export function ConnectionBanner() {
  const changed = useHmiState().configChanged.value;
  return (
    <>
      {changed && <ConfigChanged />}
      <LinkOrDeviceBanner />
    </>
  );
}

function LinkOrDeviceBanner() {
  const state = useHmiState();
  const link = state.link.value;
  const now = state.clock.value;
  const tz = state.timeZone;
  const t = msg().banner;
  if (link.state === 'down') {
    return (
      <div class="banner banner-link" role="alert">
        <span class="banner-icon" aria-hidden="true">✕</span>
        <span>
          <strong>{t.lostSince(formatTimeZoned(link.since, tz))}</strong>
          {t.reconnecting}
          <span class="banner-detail">{t.lostDetail(link.detail, formatDuration(now - link.since))}</span>
        </span>
      </div>
    );
  }
  if (link.state === 'connecting' && now - link.since > 3000) {
    return (
      <div class="banner banner-link" role="status">
        <span class="banner-icon" aria-hidden="true">…</span>
        <span>{t.connecting(formatTimeZoned(link.since, tz))}</span>
      </div>
    );
  }
  const bus = state.bus.value;
  const down = state.devices.value.filter((d) => d.status?.state === 'down');
  if (bus.up && down.length === 0) return null;
  return (
    <div class="banner banner-device" role="alert">
      {!bus.up && (
        <div class="banner-line">
          <span class="banner-icon" aria-hidden="true">✕</span>
          <span>
            <strong>{t.busStopped(formatTimeZoned(bus.since, tz), formatDuration(now - bus.since))}</strong>
            <span class="banner-detail">{t.busDetail(bus.detail ?? '')}</span>
          </span>
        </div>
      )}
      {down.map((d) => (
        <DeviceLine key={d.name} d={d} status={d.status!} now={now} tz={tz} />
      ))}
    </div>
  );
}

function DeviceLine({ d, status, now, tz }: { d: DeviceView; status: DeviceStatus; now: number; tz: string }) {
  const since = d.downSince ?? now;
  const t = msg().banner;
  const error = status.lastError ? t.lastError(status.lastError.code, status.lastError.message) : '';
  return (
    <div class="banner-line">
      <span class="banner-icon" aria-hidden="true">✕</span>
      <span>
        {heardOf(status.lastError?.code) ? (
          <strong>{t.noReply(d.name, formatTimeZoned(since, tz), formatDuration(now - since))}</strong>
        ) : (
          <strong>{t.noLive(d.name, formatTimeZoned(since, tz), formatDuration(now - since))}</strong>
        )}
        <span class="banner-detail">
          {' '}
          ({heardOf(status.lastError?.code) ? tcpWords(status) : t.down}
          {error}). <a href="#/devices">{t.deviceDetails}</a>
        </span>
      </span>
    </div>
  );
}

/** The TCP connection in words: the link is down whatever it does, and an open one tells the operator where to look. */
function tcpWords(s: DeviceStatus): string {
  const t = msg().banner;
  switch (s.tcp) {
    case 'connected':
      return t.tcpOpen;
    case 'connecting':
      return t.tcpOpening;
    case 'closed':
      return t.tcpClosed;
    default:
      return t.down;
  }
}

/** Whether the server still hears of the device: not when its poller is silent or stopped, or the server has no answer from Redis (the PLC may be fine). */
export const heardOf = (code: string | undefined): boolean => code !== 'PLANTA_POLLER_SILENT' && code !== 'PLANTA_BUS_UNREACHABLE' && code !== 'PLANTA_POLLER_STOPPED';
