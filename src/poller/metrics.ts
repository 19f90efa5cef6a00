/**
 * The poller's Prometheus metrics: round trips and scan lateness observed as
 * they happen; counters and gauges read from the pollers' own figures when
 * scraped, so polling pays nothing for them.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ClientStats } from '../modbus/index.js';
import type { DevicePoller, PollerObservers } from './device-poller.js';

/** A link open in this poller: its name (links[].name) and its connection's figures. */
export interface LinkFigures {
  name: string;
  stats: ClientStats;
}

export function registerPollerMetrics(registry: Registry, devices: () => readonly DevicePoller[], links: () => readonly LinkFigures[] = () => []): PollerObservers {
  const latency = new Histogram({
    name: 'planta_modbus_request_duration_seconds',
    help: 'Modbus request round trip, from sending to the reply',
    labelNames: ['device'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: 'planta_scan_lateness_seconds',
    help: 'How late a scan started behind its slot (jitter)',
    labelNames: ['device'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  /** A counter whose value is read from the pollers when scraped. */
  const counter = (name: string, help: string, labelNames: string[], read: (d: DevicePoller, set: (labels: Record<string, string>, v: number) => void) => void): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        for (const d of devices()) read(d, (labels, v) => this.inc({ device: d.device.name, ...labels }, v));
      },
    });
  };
  counter('planta_modbus_requests_total', 'Modbus requests sent', ['device'], (d, set) => set({}, d.status().requests));
  counter('planta_modbus_errors_total', 'Failed Modbus requests by kind', ['device', 'kind'], (d, set) => {
    const e = d.status().errors;
    set({ kind: 'timeout' }, e.timeout);
    set({ kind: 'connection' }, e.connection);
    set({ kind: 'protocol' }, e.protocol);
    // RTU links only: replies with a bad CRC, frames of another unit, while this device's request was on the line.
    if (e.crc !== undefined) set({ kind: 'crc' }, e.crc);
    if (e.otherUnit !== undefined) set({ kind: 'other_unit' }, e.otherUnit);
  });
  new Counter({
    name: 'planta_link_frames_dropped_total',
    help: 'Frames a link dropped, by why: bad CRC, another unit, late (no request waiting), any bad frame (CRC, impossible length, cut short)',
    labelNames: ['link', 'kind'],
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      for (const l of links()) {
        this.inc({ link: l.name, kind: 'crc' }, l.stats.crcErrors);
        this.inc({ link: l.name, kind: 'other_unit' }, l.stats.otherUnits);
        this.inc({ link: l.name, kind: 'late' }, l.stats.unexpectedReplies);
        this.inc({ link: l.name, kind: 'bad_frame' }, l.stats.badFrames);
      }
    },
  });
  counter('planta_modbus_exceptions_total', 'Modbus exception responses by exception code', ['device', 'code'], (d, set) => {
    for (const [code, n] of Object.entries(d.status().errors.exception)) set({ code }, n);
  });
  counter('planta_modbus_reconnects_total', 'Reconnections to the device', ['device'], (d, set) => set({}, d.status().reconnects));
  counter('planta_scan_overruns_total', 'Scan slots missed because the previous scan ran late', ['device'], (d, set) => set({}, d.status().overruns));
  counter('planta_scan_overrun_causes_total', "Scan slots missed by cause: planta-late (Planta's own lateness), device-slow, cpu-starved (other processes held the CPU)", ['device', 'cause'], (d, set) => {
    for (const [cause, n] of Object.entries(d.status().overrunCauses ?? {})) set({ cause }, n);
  });
  counter('planta_scan_shed_total', 'Scans of a scan group skipped on purpose while its device was behind (devices[].shedOrder)', ['device', 'group'], (d, set) => {
    for (const g of d.status().scanGroups ?? []) set({ group: g.name }, g.shed);
  });
  counter('planta_scan_missed_total', "Slots of a scan group skipped by its device's overruns", ['device', 'group'], (d, set) => {
    for (const g of d.status().scanGroups ?? []) set({ group: g.name }, g.missed);
  });
  counter('planta_modbus_timeouts_excused_total', 'Timeouts that left values as they were: this process could not run for part of the timeout', ['device'], (d, set) =>
    set({}, d.status().excusedTimeouts ?? 0),
  );
  new Gauge({
    name: 'planta_device_connected',
    help: '1 while valid replies come from the device (its link is up, whatever the TCP connection does)',
    labelNames: ['device'],
    registers: [registry],
    collect(this: Gauge) {
      for (const d of devices()) this.set({ device: d.device.name }, d.status().state === 'connected' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'planta_tags',
    help: 'Tags by device and quality',
    labelNames: ['device', 'quality'],
    registers: [registry],
    collect(this: Gauge) {
      this.reset();
      for (const d of devices()) for (const [quality, n] of Object.entries(d.status().qualities)) this.set({ device: d.device.name, quality }, n);
    },
  });
  return {
    latency: (device, s) => latency.observe({ device }, s),
    lateness: (device, s) => lateness.observe({ device }, s),
  };
}
