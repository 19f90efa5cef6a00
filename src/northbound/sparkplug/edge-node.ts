/**
 * Planta as a Sparkplug B 3.0 edge node: one MQTT session to a broker, the
 * plant's devices as Sparkplug devices, their tags as metrics.
 *
 * - NDEATH is the session's MQTT will, with the session's bdSeq (kept in the
 *   store file, so a restart never reuses the bdSeq of a will the broker may
 *   still hold); NBIRTH (seq 0, bdSeq, Node Control/Rebirth) then a DBIRTH per
 *   device whose link is up, with every metric's name, alias, datatype,
 *   value and properties. NDATA/DDATA by exception, aliases only; seq counts
 *   every message after NBIRTH, 0..255 and round again.
 * - A device whose link is down gets a DDEATH, and a DBIRTH when it is back.
 * - Alarm states are metrics of the edge node (Alarms/<id>/State, /Active):
 *   in the NBIRTH, then NDATA at each change.
 * - An NCMD `Node Control/Rebirth` sends the births again.
 * - With a primary host (`primaryHost`), its STATE decides: nothing is sent
 *   before it is online; while it is offline (or the broker is away) the
 *   data waits in the store file, and when it is back the births go first,
 *   then the stored data in order (is_historical), then live data again.
 * - An NCMD/DCMD writing a metric is an operator command when `commands:`
 *   maps it (src/northbound/commands.ts), refused and audited otherwise.
 *
 * Every message goes out through one chain (`run`), so births, data, deaths
 * and stored data leave in the order they were decided.
 */
import { createHash } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import type { AlarmBus, AlarmState, DeviceStatus, Unsubscribe, ValueBus } from '../../bus/types.js';
import type { TagValue } from '../../tags/types.js';
import type { SparkplugConfig } from '../../config/northbound-schema.js';
import type { PlantConfig } from '../../config/resolve.js';
import type { Quality } from '../../tags/quality.js';
import { DiskQueue } from '../../util/disk-queue.js';
import type { Logger } from '../../util/log.js';
import { type NorthboundCommands, commandDevice } from '../commands.js';
import type { Credentials } from '../credentials.js';
import { type MetricDef, alarmMetric, birthMetric, dataMetric, metricDefs } from './metrics.js';
import { DataType, type Metric, type Payload, decodePayload, encodePayload, metricValue } from './payload.js';
import { type EdgeNodeStats, registerSparkplugMetrics } from './stats.js';

const NAMESPACE = 'spBv1.0';
const REBIRTH = 'Node Control/Rebirth';
const STORE_KEY = 'data';
/** Stored batches forwarded per read of the store. */
const FORWARD_CHUNK = 64;

export interface EdgeNodeOptions {
  config: SparkplugConfig;
  plant: PlantConfig;
  bus: ValueBus & AlarmBus;
  commands: NorthboundCommands;
  credentials?: Credentials;
  log?: Logger;
  registry?: Registry;
  /** MQTT reconnect pause (ms). Default 1000. */
  reconnectMs?: number;
}


/** Data kept for later: a device's values, or (device '') alarm states. */
interface StoredBatch {
  device: string;
  values: TagValue[];
  alarms?: AlarmState[];
}

/** The edge node id a configuration gets by default: the plant's name, lower case, spaces as "-". */
export function defaultNodeId(plant: string): string {
  return plant.toLowerCase().replace(/[/+#\s]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'planta';
}

export class SparkplugEdgeNode {
  readonly stats: EdgeNodeStats = { connects: 0, messages: 0, births: 0, stored: 0, forwarded: 0, dropped: 0, refusedWrites: 0, commands: 0 };
  readonly group: string;
  readonly node: string;
  /** The identity written into the audit trail for a write from MQTT. */
  readonly writer: string;
  private client: MqttClient | undefined;
  private readonly store: DiskQueue;
  private readonly defs: MetricDef[];
  private readonly byTag = new Map<string, MetricDef>();
  private readonly byName = new Map<string, MetricDef>();
  private readonly byAlias = new Map<number, MetricDef>();
  private readonly byAlarm = new Map<string, MetricDef[]>();
  /** The last state of every alarm, for the NBIRTH. */
  private readonly alarms = new Map<string, AlarmState>();
  /** The last value of every tag, for the births. */
  private readonly last = new Map<string, TagValue>();
  /** The quality each tag was last sent with: a change (back to Good too) carries the Quality property. */
  private readonly sentQuality = new Map<string, Quality>();
  private readonly down = new Set<string>();
  /** Devices born in this session (DBIRTH sent, no DDEATH since). */
  private readonly born = new Set<string>();
  private seq = 0;
  private bdSeq: number;
  /** Births sent in this session, with the primary host online: data may go out live. */
  private live = false;
  private hostOnline: boolean;
  private lastStateTs = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly stops: Unsubscribe[] = [];
  private stopped = false;

  constructor(private readonly o: EdgeNodeOptions) {
    this.group = o.config.group;
    this.node = o.config.node ?? defaultNodeId(o.plant.plant.name);
    this.writer = `mqtt:${o.config.primaryHost ?? new URL(o.config.broker).host}`;
    this.hostOnline = o.config.primaryHost === undefined;
    this.store = new DiskQueue(o.config.store, o.config.storeSize);
    this.store.connection.exec('CREATE TABLE IF NOT EXISTS sparkplug_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    const row = this.store.connection.prepare("SELECT value FROM sparkplug_meta WHERE key = 'bdSeq'").get() as { value: number } | undefined;
    // The next session's bdSeq: one past the last one used, so a will still held by the broker never matches a new birth.
    this.bdSeq = row ? (row.value + 1) % 256 : 0;
    this.saveBdSeq();
    this.defs = metricDefs(o.plant, o.config.commands, (name) => commandDevice(o.plant, name));
    for (const d of this.defs) {
      if (d.tag) this.byTag.set(d.tag.name, d);
      this.byName.set(`${d.device ?? ''}\n${d.name}`, d);
      this.byAlias.set(d.alias, d);
      if (d.alarm) this.byAlarm.set(d.alarm.id, [...(this.byAlarm.get(d.alarm.id) ?? []), d]);
    }
    if (o.registry) registerSparkplugMetrics(o.registry, this);
  }

  topic(type: string, device?: string): string {
    return `${NAMESPACE}/${this.group}/${type}/${this.node}${device === undefined ? '' : `/${device}`}`;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get isLive(): boolean {
    return this.live;
  }

  get pending(): number {
    return this.store.pending(STORE_KEY);
  }

  get currentBdSeq(): number {
    return this.bdSeq;
  }

  /** Follows the bus, then connects (births go out once connected and, with a primary host, once it is online). */
  async start(): Promise<void> {
    for (const v of await this.o.bus.snapshot()) this.last.set(v.tag, v);
    for (const s of await this.o.bus.deviceStatuses()) if (s.state === 'down') this.down.add(s.device);
    this.stops.push(await this.o.bus.subscribeValues((values) => this.onValues(values)));
    this.stops.push(await this.o.bus.subscribeDeviceStatus((s) => this.onDeviceStatus(s)));
    for (const a of await this.o.bus.alarmStates()) this.alarms.set(a.id, a);
    this.stops.push(await this.o.bus.subscribeAlarmStates((states) => this.onAlarms(states)));
    const c = this.o.config;
    const options: IClientOptions = {
      clientId: c.clientId ?? `planta-${this.group}-${this.node}`.replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 64),
      clean: true,
      keepalive: Math.max(1, Math.round(c.keepalive / 1000)),
      reconnectPeriod: this.o.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      queueQoSZero: false,
      will: { topic: this.topic('NDEATH'), payload: this.deathPayload(), qos: 1, retain: false },
      ...(this.o.credentials ? { username: this.o.credentials.username, password: this.o.credentials.password } : {}),
    };
    const client = mqtt.connect(c.broker, options);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) => this.o.log?.warn({ err: err.message, broker: c.broker }, 'sparkplug: broker connection error'));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /** Sends the NDEATH (a clean stop is announced, not left to the will), disconnects and closes the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const stop of this.stops.splice(0)) await stop();
    await this.chain;
    const client = this.client;
    if (client) {
      if (client.connected) await client.publishAsync(this.topic('NDEATH'), this.deathPayload(), { qos: 1 }).catch(() => undefined);
      await client.endAsync();
    }
    this.store.close();
  }

  /** Queues `f` behind everything decided before it. */
  private run(f: () => Promise<void> | void): void {
    this.chain = this.chain.then(f).catch((err: unknown) => this.o.log?.error({ err }, 'sparkplug: a message could not be handled'));
  }

  /** Resolves once everything queued so far went out (tests, benchmarks). */
  idle(): Promise<void> {
    return this.chain;
  }

  private saveBdSeq(): void {
    this.store.connection.prepare("INSERT INTO sparkplug_meta (key, value) VALUES ('bdSeq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(this.bdSeq);
  }

  private deathPayload(): Buffer {
    return Buffer.from(encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', datatype: DataType.Int64, longValue: this.bdSeq }] }));
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 256;
    return s;
  }

  private async onConnect(): Promise<void> {
    this.stats.connects++;
    const client = this.client!;
    this.o.log?.info({ broker: this.o.config.broker, node: this.node, bdSeq: this.bdSeq }, 'sparkplug: connected to the broker');
    const topics = [this.topic('NCMD'), `${this.topic('DCMD')}/+`];
    if (this.o.config.primaryHost) topics.push(`${NAMESPACE}/STATE/${this.o.config.primaryHost}`);
    try {
      // Commands and the host's STATE are subscribed before the NBIRTH (a host may send a rebirth request at once).
      await client.subscribeAsync(topics, { qos: 1 });
    } catch (err) {
      this.o.log?.warn({ err: (err as Error).message }, 'sparkplug: subscribing failed');
      return;
    }
    // A new session learns the host's state again (its retained STATE comes with the subscription): it may have changed meanwhile.
    if (this.o.config.primaryHost === undefined) this.hostOnline = true;
    else if (!this.hostOnline) return;
    this.run(() => this.goLive());
  }

  private onClose(): void {
    const wasLive = this.live;
    this.live = false;
    if (this.o.config.primaryHost !== undefined) this.hostOnline = false;
    this.born.clear();
    // The next connection is a new session: a new bdSeq, in its will and in its NBIRTH.
    if (this.client?.options.will && !this.stopped) {
      this.bdSeq = (this.bdSeq + 1) % 256;
      this.saveBdSeq();
      this.client.options.will.payload = this.deathPayload();
    }
    this.seq = 0;
    if (wasLive && !this.stopped) this.o.log?.warn({ broker: this.o.config.broker, pending: this.pending }, 'sparkplug: broker connection lost: data is stored until it is back');
  }

  /** Births, then the stored data in order, then live. */
  private async goLive(): Promise<void> {
    if (!this.connected || !this.hostOnline || this.stopped) return;
    this.live = false;
    await this.births();
    await this.forward();
    this.live = this.connected && this.hostOnline;
  }

  private async publish(topic: string, payload: Payload, qos: 0 | 1 = 0): Promise<boolean> {
    const client = this.client;
    if (!client?.connected) return false;
    try {
      await client.publishAsync(topic, Buffer.from(encodePayload(payload)), { qos });
      this.stats.messages++;
      return true;
    } catch (err) {
      this.o.log?.warn({ err: (err as Error).message, topic }, 'sparkplug: publishing failed');
      return false;
    }
  }

  private async births(): Promise<void> {
    this.seq = 0;
    this.born.clear();
    const nodeMetrics: Metric[] = [
      { name: 'bdSeq', datatype: DataType.Int64, longValue: this.bdSeq, timestamp: Date.now() },
      { name: REBIRTH, datatype: DataType.Boolean, booleanValue: false, timestamp: Date.now() },
      ...this.defs.filter((d) => d.device === undefined && !d.alarm).map((d) => birthMetric(d, undefined, true)),
      ...this.defs.filter((d) => d.alarm).map((d) => alarmMetric(d, this.alarms.get(d.alarm!.id), true)),
    ];
    if (!(await this.publish(this.topic('NBIRTH'), { timestamp: Date.now(), seq: this.nextSeq(), metrics: nodeMetrics }, 0))) return;
    this.stats.births++;
    for (const device of this.o.plant.devices) {
      if (!this.down.has(device.name)) await this.deviceBirth(device.name);
    }
  }

  private async deviceBirth(device: string): Promise<void> {
    const metrics = this.defs
      .filter((d) => d.device === device)
      .map((d) => {
        const v = d.tag ? this.last.get(d.tag.name) : undefined;
        if (d.tag) this.sentQuality.set(d.tag.name, v?.quality ?? 'Bad_WaitingForInitialData');
        return birthMetric(d, v, d.command !== undefined);
      });
    if (await this.publish(this.topic('DBIRTH', device), { timestamp: Date.now(), seq: this.nextSeq(), metrics })) {
      this.born.add(device);
      this.stats.births++;
    }
  }

  private onValues(values: TagValue[]): void {
    for (const v of values) this.last.set(v.tag, v);
    this.run(() => this.handleValues(values));
  }

  private async handleValues(values: TagValue[]): Promise<void> {
    const perDevice = new Map<string, TagValue[]>();
    for (const v of values) {
      const d = this.byTag.get(v.tag);
      if (!d?.device) continue;
      let list = perDevice.get(d.device);
      if (!list) perDevice.set(d.device, (list = []));
      list.push(v);
    }
    for (const [device, list] of perDevice) {
      // Live only with nothing stored before it: stored data goes out first, in order.
      if (this.live && this.connected && this.pending === 0) {
        // Not written (the connection failed under it): kept, and sent after the next births.
        if (this.born.has(device) && !(await this.sendData(device, list, false))) this.keep({ device, values: list });
      } else {
        this.keep({ device, values: list });
      }
    }
  }

  private onAlarms(states: AlarmState[]): void {
    const known = states.filter((s) => this.byAlarm.has(s.id));
    for (const s of known) this.alarms.set(s.id, s);
    if (known.length === 0) return;
    this.run(async () => {
      if (this.live && this.connected && this.pending === 0) {
        if (!(await this.sendAlarms(known, false))) this.keep({ device: '', values: [], alarms: known });
      } else {
        this.keep({ device: '', values: [], alarms: known });
      }
    });
  }

  /** Alarm states as NDATA: the edge node's own metrics. */
  private sendAlarms(states: AlarmState[], historical: boolean): Promise<boolean> {
    const metrics = states.flatMap((s) => (this.byAlarm.get(s.id) ?? []).map((d) => alarmMetric(d, s, false, historical)));
    return this.publish(this.topic('NDATA'), { timestamp: Date.now(), seq: this.nextSeq(), metrics });
  }

  private keep(batch: StoredBatch): void {
    const dropped = this.store.append(STORE_KEY, Buffer.from(JSON.stringify(batch)), { mark: Date.now() });
    this.stats.stored++;
    if (dropped.entries > 0) {
      this.stats.dropped += dropped.entries;
      this.o.log?.warn({ dropped: dropped.entries }, 'sparkplug: the store is full: its oldest data was dropped');
    }
  }

  private async sendData(device: string, values: TagValue[], historical: boolean): Promise<boolean> {
    const metrics: Metric[] = [];
    for (const v of values) {
      const d = this.byTag.get(v.tag)!;
      const changed = this.sentQuality.get(v.tag) !== v.quality;
      this.sentQuality.set(v.tag, v.quality);
      metrics.push(dataMetric(d, v, changed, historical));
    }
    return this.publish(this.topic('DDATA', device), { timestamp: Date.now(), seq: this.nextSeq(), metrics });
  }

  /** Sends the stored data in order, removing each batch once written; stops when the broker goes. */
  private async forward(): Promise<void> {
    for (;;) {
      const entries = this.store.oldest(STORE_KEY, FORWARD_CHUNK);
      if (entries.length === 0) return;
      for (const e of entries) {
        if (!this.connected || !this.hostOnline) return;
        const batch = JSON.parse(e.data.toString('utf8')) as StoredBatch;
        if (batch.alarms) {
          if (!(await this.sendAlarms(batch.alarms, true))) return;
          this.stats.forwarded++;
        } else if (this.born.has(batch.device)) {
          if (!(await this.sendData(batch.device, batch.values, true))) return;
          this.stats.forwarded++;
        } else {
          // A device that is dead now cannot have data (Sparkplug): its state comes with its next DBIRTH.
          this.stats.dropped++;
        }
        this.store.remove(STORE_KEY, e.seq);
      }
    }
  }

  private onDeviceStatus(s: DeviceStatus): void {
    const isDown = s.state === 'down';
    if (isDown === this.down.has(s.device)) return;
    if (isDown) this.down.add(s.device);
    else this.down.delete(s.device);
    this.run(async () => {
      if (!this.live || !this.connected) return;
      if (isDown && this.born.has(s.device)) {
        if (await this.publish(this.topic('DDEATH', s.device), { timestamp: Date.now(), seq: this.nextSeq() })) this.born.delete(s.device);
      } else if (!isDown && !this.born.has(s.device)) {
        await this.deviceBirth(s.device);
      }
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic.startsWith(`${NAMESPACE}/STATE/`)) return this.onState(payload);
    const parts = topic.split('/');
    const type = parts[2];
    if ((type !== 'NCMD' && type !== 'DCMD') || parts[1] !== this.group || parts[3] !== this.node) return;
    let p: Payload;
    try {
      p = decodePayload(payload);
    } catch (err) {
      this.o.log?.warn({ topic, err: (err as Error).message }, 'sparkplug: a command that is not a Sparkplug payload was ignored');
      return;
    }
    const device = type === 'DCMD' ? parts[4] : undefined;
    for (const m of p.metrics ?? []) {
      if (type === 'NCMD' && m.name === REBIRTH) {
        if (metricValue(m) === true) {
          this.o.log?.info('sparkplug: rebirth requested');
          this.run(() => this.goLive());
        }
        continue;
      }
      void this.write(topic, p, m, device);
    }
  }

  private async write(topic: string, p: Payload, m: Metric, device: string | undefined): Promise<void> {
    const def = m.name !== undefined ? this.byName.get(`${device ?? ''}\n${m.name}`) : m.alias !== undefined ? this.byAlias.get(m.alias) : undefined;
    const target = `${device ? `${device}/` : ''}${def?.name ?? m.name ?? `alias ${m.alias ?? '?'}`}`;
    const mapping = def && def.device === device && def.command ? this.o.config.commands[def.name] : undefined;
    const value = metricValue(m);
    // The same message delivered again (MQTT QoS 1) is the same command id: it runs at most once.
    const id = p.timestamp !== undefined ? `sp-${createHash('sha256').update(`${topic}\n${p.timestamp}\n${p.seq ?? ''}\n${target}\n${String(value)}`).digest('hex').slice(0, 40)}` : undefined;
    const r = await this.o.commands.write({ target, mapping, value, user: this.writer, ...(id ? { id } : {}) });
    if (r.ok) this.stats.commands++;
    else this.stats.refusedWrites++;
  }

  /** The primary host's STATE: Sparkplug 3.0 JSON {online, timestamp} (the older text ONLINE/OFFLINE too); an older timestamp is ignored. */
  private onState(payload: Buffer): void {
    let online: boolean;
    let ts = 0;
    const text = payload.toString('utf8').trim();
    if (text === 'ONLINE' || text === 'OFFLINE') online = text === 'ONLINE';
    else {
      try {
        const s = JSON.parse(text) as { online?: unknown; timestamp?: unknown };
        if (typeof s.online !== 'boolean') return;
        online = s.online;
        ts = typeof s.timestamp === 'number' ? s.timestamp : 0;
      } catch {
        return;
      }
    }
    if (ts < this.lastStateTs) return;
    this.lastStateTs = ts;
    if (online === this.hostOnline) return;
    this.hostOnline = online;
    this.o.log?.info({ host: this.o.config.primaryHost, online }, online ? 'sparkplug: the primary host is online' : 'sparkplug: the primary host is offline: data is stored until it is back');
    if (online) this.run(() => this.goLive());
    else this.live = false;
  }
}
