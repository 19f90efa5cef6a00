/**
 * The connection banner: the live stream lost (and since when), or a device
 * without communication. Shown on every page under the top bar; it goes
 * away by itself once the stream or the device is back.
 */
import { formatDuration, formatTimeZoned } from '../format.js';
import { useHmiState } from '../context.js';

/** The server restarted with another configuration: this page's tags and pages are out of date. */
function ConfigChanged() {
  return (
    <div class="banner banner-config" role="alert">
      <span class="banner-line">
        <span class="banner-icon" aria-hidden="true">!</span>
        <span>
          <strong>The server's configuration changed.</strong> Tags on this page may be out of date.{' '}
          <button type="button" class="banner-button" onClick={() => window.location.reload()}>
            Reload the page
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
  if (link.state === 'down') {
    return (
      <div class="banner banner-link" role="alert">
        <span class="banner-icon" aria-hidden="true">✕</span>
        <span>
          <strong>Live data lost since {formatTimeZoned(link.since, tz)}</strong> — reconnecting
          <span class="banner-detail"> ({link.detail}; {formatDuration(now - link.since)} ago). Values shown are the last received.</span>
        </span>
      </div>
    );
  }
  if (link.state === 'connecting' && now - link.since > 3000) {
    return (
      <div class="banner banner-link" role="status">
        <span class="banner-icon" aria-hidden="true">…</span>
        <span>Connecting to live data since {formatTimeZoned(link.since, tz)}</span>
      </div>
    );
  }
  const down = state.devices.value.filter((d) => d.status && d.status.state !== 'connected');
  if (down.length === 0) return null;
  return (
    <div class="banner banner-device" role="alert">
      {down.map((d) => (
        <div class="banner-line" key={d.name}>
          <span class="banner-icon" aria-hidden="true">✕</span>
          <span>
            <strong>
              PLC {d.name}: {heardOf(d.status?.lastError?.code) ? 'no communication' : 'no live data'} since {formatTimeZoned(d.downSince ?? now, tz)}
            </strong>
            <span class="banner-detail">
              {' '}
              ({d.status?.state === 'connecting' ? 'connecting' : 'down'}
              {d.status?.lastError ? `; last error ${d.status.lastError.code}: ${d.status.lastError.message}` : ''}). <a href="#/devices">Device details</a>
            </span>
          </span>
        </div>
      ))}
    </div>
  );
}

/** Whether the server still hears of the device: not when its poller is silent or the server has no answer from Redis (the PLC may be fine). */
const heardOf = (code: string | undefined): boolean => code !== 'PLANTA_POLLER_SILENT' && code !== 'PLANTA_BUS_UNREACHABLE';
