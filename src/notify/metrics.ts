/** Notifications sent, failed and queued per channel; the labels are the configuration's channel names only. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface NotifyMetrics {
  sent(channel: string): void;
  failed(channel: string): void;
}

export function registerNotifyMetrics(registry: Registry, channels: readonly string[], queued: (channel: string) => number): NotifyMetrics {
  const sent = new Counter({ name: 'planta_notify_sent_total', help: 'Notifications a channel accepted', labelNames: ['channel'], registers: [registry] });
  const failed = new Counter({ name: 'planta_notify_failed_total', help: 'Sendings that failed (each retry counts)', labelNames: ['channel'], registers: [registry] });
  new Gauge({
    name: 'planta_notify_queued',
    help: 'Notifications waiting in the outbox',
    labelNames: ['channel'],
    registers: [registry],
    collect(this: Gauge) {
      for (const c of channels) this.set({ channel: c }, queued(c));
    },
  });
  for (const c of channels) {
    sent.inc({ channel: c }, 0);
    failed.inc({ channel: c }, 0);
  }
  return { sent: (c) => sent.inc({ channel: c }), failed: (c) => failed.inc({ channel: c }) };
}
