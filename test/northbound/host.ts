/**
 * A Sparkplug host application for tests: subscribes to everything of the
 * namespace and decodes every message with Eclipse Tahu's own decoder
 * (sparkplug-payload, generated from the specification's sparkplug_b.proto
 * with its own protobufjs), never with Planta's encoder; sends STATE, NCMD
 * and DCMD encoded the same way.
 */
import { createRequire } from 'node:module';
import mqtt, { type MqttClient } from 'mqtt';
import type * as Tahu from 'sparkplug-payload/lib/sparkplugbpayload.js';

const tahu = createRequire(import.meta.url)('sparkplug-payload') as { get(ns: string): typeof Tahu };
export const spb = tahu.get('spBv1.0');

/** A decoded metric, its 64-bit numbers as plain numbers. */
export interface HostMetric {
  name?: string;
  alias?: number;
  type: string;
  value: unknown;
  timestamp?: number;
  isHistorical?: boolean;
  isNull?: boolean;
  properties?: Record<string, { type: string; value: unknown }>;
}

export interface Received {
  topic: string;
  type: string;
  device?: string;
  timestamp?: number;
  seq?: number;
  metrics: HostMetric[];
}

const num = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'toNumber' in v && typeof v.toNumber === 'function' ? (v.toNumber as () => number)() : v);

export function decode(topic: string, bytes: Uint8Array): Received {
  const p = spb.decodePayload(bytes);
  const parts = topic.split('/');
  const r: Received = {
    topic,
    type: parts[2]!,
    metrics: (p.metrics ?? []).map((m) => {
      const out: HostMetric = { type: m.type, value: num(m.value) };
      if (m.name !== undefined && m.name !== null) out.name = m.name;
      if (m.alias !== undefined && m.alias !== null) out.alias = num(m.alias) as number;
      if (m.timestamp !== undefined && m.timestamp !== null) out.timestamp = num(m.timestamp) as number;
      if (m.isHistorical) out.isHistorical = true;
      if (m.isNull) out.isNull = true;
      if (m.properties) out.properties = Object.fromEntries(Object.entries(m.properties).map(([k, v]) => [k, { type: v.type, value: num(v.value) }]));
      return out;
    }),
  };
  if (parts[4] !== undefined) r.device = parts[4];
  if (p.timestamp !== undefined && p.timestamp !== null) r.timestamp = num(p.timestamp) as number;
  if (p.seq !== undefined && p.seq !== null) r.seq = num(p.seq) as number;
  return r;
}

export class TestHost {
  readonly messages: Received[] = [];
  private constructor(
    readonly client: MqttClient,
    readonly hostId: string | undefined,
  ) {}

  /** Connects and subscribes to spBv1.0/#; as primary host `hostId`, with its STATE will (offline), online once subscribed unless `online` is false. */
  static async connect(url: string, o: { hostId?: string; online?: boolean } = {}): Promise<TestHost> {
    const will = o.hostId ? { topic: `spBv1.0/STATE/${o.hostId}`, payload: Buffer.from(JSON.stringify({ online: false, timestamp: Date.now() })), qos: 1 as const, retain: true } : undefined;
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 100, ...(will ? { will } : {}) });
    const host = new TestHost(client, o.hostId);
    client.on('message', (topic, payload) => {
      // Only what edge nodes send: STATE and the commands are hosts' (this one's included).
      if (topic.startsWith('spBv1.0/STATE/') || /^spBv1\.0\/[^/]+\/[ND]CMD\//.test(topic)) return;
      host.messages.push(decode(topic, payload));
    });
    await client.subscribeAsync('spBv1.0/#', { qos: 1 });
    if (o.hostId && o.online !== false) await host.state(true);
    return host;
  }

  async state(online: boolean): Promise<void> {
    await this.client.publishAsync(`spBv1.0/STATE/${this.hostId}`, JSON.stringify({ online, timestamp: Date.now() }), { qos: 1, retain: true });
  }

  /** Sends an NCMD (device undefined) or a DCMD, encoded by Tahu. */
  async command(group: string, node: string, device: string | undefined, metrics: Tahu.UMetric[], timestamp = Date.now()): Promise<void> {
    const topic = device === undefined ? `spBv1.0/${group}/NCMD/${node}` : `spBv1.0/${group}/DCMD/${node}/${device}`;
    await this.client.publishAsync(topic, Buffer.from(spb.encodePayload({ timestamp, metrics })), { qos: 0 });
  }

  of(type: string, device?: string): Received[] {
    return this.messages.filter((m) => m.type === type && (device === undefined || m.device === device));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
