/**
 * The live stream hub: one subscription to the bus, one encoding per event,
 * the same bytes written to every browser. Keeps a mirror of the last values
 * (for snapshots) and a bounded ring of recent events (for resume).
 *
 * A slow client never makes the server buffer without bound: once its socket
 * holds more than `maxBufferedBytes`, it gets no more deltas; when it drains
 * it gets a fresh snapshot (every tag's latest value: the deltas it missed,
 * coalesced per tag); if it does not drain within `slowTimeoutMs` it is
 * disconnected and resyncs on reconnect.
 *
 * The mirror is also this node's last known state, which the REST reads
 * answer from at once, whatever the bus does. When the link to the bus is
 * lost, every value not already bad goes out as a last usable value (with
 * the time it was read) and a `bus` event says since when live data
 * stopped; the resync when the link is back sends them as they are. A value
 * once known is never replaced by "waiting for initial data" (a poller that
 * restarted, or Redis restarted empty): it stays, as a last usable value,
 * until a read replaces it.
 */
import type { Socket } from 'node:net';
import { BUS_UNREACHABLE, POLLER_SILENT, POLLER_STOPPED } from '../bus/liveness.js';
import { isRefusal } from '../bus/command-messages.js';
import type { AlarmBus, AlarmState, BusLink, DeviceStatus, JournalBus, OutcomeBus, Unsubscribe, ValueBus, ValueFrame } from '../bus/types.js';
import { QUALITIES, type Quality, isBad } from '../tags/quality.js';
import { tagSpace } from '../tags/space.js';
import type { TagDefinition, TagValue, TagValueType } from '../tags/types.js';
import type { Logger } from '../util/log.js';
import type { StreamDelta, StreamSnapshot, StreamValue } from './protocol.js';
import { HEARTBEAT, encodeEvent, retryField, startEventStream } from './sse.js';

export interface StreamHubOptions {
  bus: ValueBus & OutcomeBus & AlarmBus & JournalBus;
  tags: readonly TagDefinition[];
  log?: Logger;
  /** Events kept for resume. Default 4096. */
  ringEvents?: number;
  /** Bytes of events kept for resume. Default 16 MiB: over 3 minutes at 10,000 changes/s; a client away longer gets a fresh snapshot. */
  ringBytes?: number;
  /** Default 15000 ms. */
  heartbeatMs?: number;
  /** Reconnection delay suggested to browsers. Default 2000 ms. */
  retryMs?: number;
  /** Bytes a client's socket may hold before it counts as slow. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** A slow client still not drained after this long is disconnected. Default 30000 ms. */
  slowTimeoutMs?: number;
  /** At most one devices event per interval. Default 1000 ms. */
  devicesIntervalMs?: number;
}

export interface StreamStats {
  clients: number;
  events: number;
  /** Times a client fell behind and later got a snapshot instead of the deltas it missed. */
  coalesced: number;
  /** Clients disconnected for staying behind. */
  slowDisconnects: number;
  resumed: number;
  snapshotsSent: number;
  /** Deltas of values from the bus, each encoded once and written to every client. */
  deltas: number;
  /** Of those, the deltas the bus brought already encoded (frames in this node's tag space), sent as they came. */
  forwarded: number;
  /** Writes of events to the clients: each one the events of one turn of the event loop, the same bytes to every client. */
  writes: number;
}

interface Client {
  socket: Socket;
  lagging: boolean;
  laggingSince: number;
}

interface RingEntry {
  seq: number;
  bytes: Buffer;
}

const QUALITY_CODE = Object.fromEntries(QUALITIES.map((q, i) => [q, i])) as Record<Quality, number>;

export class StreamHub {
  readonly stats: StreamStats = { clients: 0, events: 0, coalesced: 0, slowDisconnects: 0, resumed: 0, snapshotsSent: 0, deltas: 0, forwarded: 0, writes: 0 };
  /** Called with each bus delta's age (seconds since its values were read) once it is written to every client. */
  observeFanout: ((seconds: number) => void) | undefined;
  /** Identifies this run: ids of another run cannot be resumed. */
  readonly epoch = Date.now().toString(36);
  private readonly names: string[];
  private readonly index: ReadonlyMap<string, number>;
  /** The tag space of `names`: a frame in it is this hub's delta already. */
  private readonly space: string;
  // The mirror of the last values, by tag index.
  private readonly values: (TagValueType | null)[];
  private readonly qualities: Uint8Array;
  private readonly sourceTs: Float64Array;
  private readonly serverTs: Float64Array;
  private readonly exceptions: Int16Array;
  private readonly devices = new Map<string, DeviceStatus>();
  private link: BusLink = { up: true, since: Date.now() };
  private readonly alarms = new Map<string, AlarmState>();
  private seq = 0;
  private readonly ring: RingEntry[] = [];
  private ringHead = 0;
  private ringBytes = 0;
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: Unsubscribe[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private devicesTimer: NodeJS.Timeout | undefined;
  private devicesDirty = false;
  private lastDevicesEvent = 0;
  private snapshotCache: { seq: number; bytes: Buffer } | undefined;
  /** Events emitted in this turn, written to the clients together at its end (flush); the read times of its deltas. */
  private pending: Buffer[] = [];
  private pendingTimes: number[] = [];
  private readonly o: Required<Omit<StreamHubOptions, 'log'>> & { log?: Logger };

  constructor(options: StreamHubOptions) {
    this.o = {
      ringEvents: 4096,
      ringBytes: 16 * 1024 * 1024,
      heartbeatMs: 15_000,
      retryMs: 2000,
      maxBufferedBytes: 1024 * 1024,
      slowTimeoutMs: 30_000,
      devicesIntervalMs: 1000,
      ...options,
    };
    this.names = options.tags.map((t) => t.name);
    const space = tagSpace(this.names);
    this.index = space.index;
    this.space = space.id;
    const n = this.names.length;
    this.values = new Array<TagValueType | null>(n).fill(null);
    this.qualities = new Uint8Array(n).fill(QUALITY_CODE.Bad_WaitingForInitialData);
    this.sourceTs = new Float64Array(n);
    this.serverTs = new Float64Array(n);
    this.exceptions = new Int16Array(n).fill(-1);
  }

  /** Bytes waiting in all clients' sockets (what slow clients cost the server). */
  bufferedBytes(): number {
    let n = 0;
    for (const c of this.clients) n += c.socket.writableLength;
    return n;
  }

  get currentId(): string {
    return `${this.epoch}.${this.seq}`;
  }

  /** This node's link to the bus: while it is down, what this hub holds is the last known state, not live. */
  get busLink(): BusLink {
    return this.link;
  }

  /** The last known value of a tag, if it has one (the REST reads' answer, never waiting for the bus). */
  lastValue(tag: string): TagValue | undefined {
    const i = this.index.get(tag);
    if (i === undefined) return undefined;
    const quality = QUALITIES[this.qualities[i]!]!;
    if (quality === 'Bad_WaitingForInitialData' && this.sourceTs[i] === 0) return undefined;
    const v: TagValue = { tag, value: this.values[i] ?? null, quality, sourceTs: this.sourceTs[i]!, serverTs: this.serverTs[i]! };
    if (this.exceptions[i]! >= 0) v.exceptionCode = this.exceptions[i]!;
    return v;
  }

  /** Every alarm's last known state (kept from the bus's publications: the live copy while the link is up). */
  lastAlarms(): AlarmState[] {
    return [...this.alarms.values()];
  }

  /** The last known status of a device. */
  lastStatus(device: string): DeviceStatus | undefined {
    return this.devices.get(device);
  }

  async start(): Promise<void> {
    // Subscribe first and hold what arrives until the snapshot is in, so nothing falls between the two.
    let held: (TagValue[] | ValueFrame)[] | undefined = [];
    this.unsubscribe.push(
      await this.o.bus.subscribeValues(
        (batch) => {
          if (held) held.push(batch);
          else this.onValues(batch);
        },
        (frame) => {
          if (held) held.push(frame);
          else this.onFrame(frame);
        },
      ),
    );
    this.unsubscribe.push(await this.o.bus.subscribeDeviceStatus((s) => this.onDevice(s)));
    this.unsubscribe.push(await this.o.bus.subscribeLink((link) => this.onLink(link)));
    // A refused request is its requester's (answered to them, audited), never an outcome shown to everyone.
    this.unsubscribe.push(await this.o.bus.subscribeCommandOutcomes((o) => void (isRefusal(o) || this.emit('command', JSON.stringify(o)))));
    this.unsubscribe.push(
      await this.o.bus.subscribeAlarmStates((states) => {
        for (const a of states) this.alarms.set(a.id, a);
        this.emit('alarms', JSON.stringify(states));
      }),
    );
    this.unsubscribe.push(await this.o.bus.subscribeJournal((entries) => this.emit('journal', JSON.stringify(entries))));
    for (const a of await this.o.bus.alarmStates()) this.alarms.set(a.id, a);
    this.mirror(await this.o.bus.snapshot());
    for (const s of await this.o.bus.deviceStatuses()) this.devices.set(s.device, s);
    const pending = held;
    held = undefined;
    for (const batch of pending) {
      if (Array.isArray(batch)) this.onValues(batch);
      else this.onFrame(batch);
    }
    this.heartbeat = setInterval(() => this.broadcast(HEARTBEAT, false), this.o.heartbeatMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearTimeout(this.devicesTimer);
    for (const u of this.unsubscribe.splice(0)) await u();
    for (const c of this.clients) c.socket.end();
    this.clients.clear();
    this.stats.clients = 0;
  }

  /**
   * Takes over a socket whose HTTP request asked for the stream: writes the
   * response head, then either the missed events (resume) or a snapshot.
   */
  attach(socket: Socket, lastEventId: string | undefined, extraHeaders = ''): void {
    // What this turn emitted goes to the clients already here: the newcomer's snapshot or replay includes it.
    this.flush();
    startEventStream(socket, 'keep-alive', extraHeaders);
    socket.write(retryField(this.o.retryMs));
    const client: Client = { socket, lagging: false, laggingSince: 0 };
    const replay = this.replayFrom(lastEventId);
    if (replay) {
      this.stats.resumed++;
      for (const e of replay) socket.write(e.bytes);
    } else {
      socket.write(this.snapshotEvent());
    }
    this.clients.add(client);
    this.stats.clients = this.clients.size;
    const remove = (): void => {
      this.clients.delete(client);
      this.stats.clients = this.clients.size;
    };
    socket.once('close', remove);
    socket.on('error', remove);
    socket.on('drain', () => this.onDrain(client));
  }

  /** The events after `lastEventId`, or undefined when a snapshot is needed instead. */
  private replayFrom(lastEventId: string | undefined): RingEntry[] | undefined {
    if (!lastEventId) return undefined;
    const m = /^([0-9a-z]+)\.(\d+)$/.exec(lastEventId.trim());
    if (!m || m[1] !== this.epoch) return undefined;
    const last = Number(m[2]);
    if (last > this.seq) return undefined;
    const live = this.ring.length - this.ringHead;
    const oldest = live > 0 ? this.ring[this.ringHead]!.seq : this.seq + 1;
    if (last < oldest - 1) return undefined;
    return this.ring.slice(this.ringHead).filter((e) => e.seq > last);
  }

  // ------------------------------------------------------------ from the bus

  private mirror(values: readonly TagValue[]): void {
    for (const v of values) {
      const i = this.index.get(v.tag);
      if (i !== undefined) this.set(i, v);
    }
  }

  private set(i: number, v: TagValue): void {
    // A bad read that brings no value (a poller that restarted and failed its first read): the known value stays
    // beside the bad quality, as a poller keeps its own last value beside a failed read.
    if (v.value !== null || !isBad(v.quality)) this.values[i] = v.value;
    this.qualities[i] = QUALITY_CODE[v.quality];
    this.sourceTs[i] = v.sourceTs;
    this.serverTs[i] = v.serverTs;
    this.exceptions[i] = v.exceptionCode ?? -1;
  }

  /** A known value that is not bad becomes a last usable value; true when it changed. */
  private stale(i: number): boolean {
    const q = QUALITIES[this.qualities[i]!]!;
    if (q === 'Bad_WaitingForInitialData' || q === 'Uncertain_LastUsableValue' || isBad(q)) return false;
    this.qualities[i] = QUALITY_CODE.Uncertain_LastUsableValue;
    return true;
  }

  private encoded(i: number, t: number): StreamValue {
    return encodeValue(i, this.values[i] ?? null, QUALITIES[this.qualities[i]!]!, this.sourceTs[i]!, this.exceptions[i]! >= 0 ? this.exceptions[i] : undefined, t);
  }

  /**
   * Nothing is heard of `device` (its poller is silent or stopped, or Redis does not answer this node), or of any
   * device (`undefined`: this node lost the bus): the values browsers are served from go out as last usable values,
   * with the time they were read. The next report sends them as they are.
   */
  private markStale(device: string | undefined): void {
    const t = Date.now();
    const values: StreamValue[] = [];
    for (const [i, tag] of this.o.tags.entries()) {
      if ((device === undefined || tag.device === device) && this.stale(i)) values.push(this.encoded(i, t));
    }
    if (values.length > 0) this.emit('delta', JSON.stringify({ t, values } satisfies StreamDelta));
  }

  private onValues(batch: TagValue[]): void {
    const t = batch[0]?.sourceTs ?? Date.now();
    const values: StreamValue[] = [];
    for (const v of batch) {
      const i = this.index.get(v.tag);
      if (i === undefined) continue;
      if (v.quality === 'Bad_WaitingForInitialData' && this.qualities[i] !== QUALITY_CODE.Bad_WaitingForInitialData) {
        // Known before (a poller restarted, Redis restarted empty): the last known value stays until a read replaces it.
        if (this.stale(i)) values.push(this.encoded(i, t));
        continue;
      }
      this.set(i, v);
      values.push(encodeValue(i, this.values[i] ?? null, v.quality, v.sourceTs, v.exceptionCode, t));
    }
    if (values.length === 0) return;
    const delta: StreamDelta = { t, values };
    this.emit('delta', JSON.stringify(delta));
    this.stats.deltas++;
    if (this.observeFanout) this.pendingTimes.push(t);
  }

  /**
   * A frame in this hub's tag space is the delta onValues would make of its values (its values are plain: each has a
   * value, none is waiting for its first read): the mirror takes the values from it, and it goes to the browsers as it
   * came — no TagValue is made, and nothing is encoded again.
   */
  private onFrame(frame: ValueFrame): void {
    if (frame.space !== this.space) return this.onValues(frame.values());
    const { t, values: rows } = JSON.parse(frame.delta) as StreamDelta;
    const n = this.names.length;
    for (const r of rows) {
      const i = r[0];
      if (!(i >= 0 && i < n)) continue;
      this.values[i] = r[1];
      this.qualities[i] = r.length === 2 ? QUALITY_CODE.Good : QUALITY_CODE[r[2]];
      this.sourceTs[i] = r.length === 2 ? t : r[3];
      this.serverTs[i] = frame.serverTs;
      this.exceptions[i] = r[4] ?? -1;
    }
    if (rows.length === 0) return;
    this.emit('delta', frame.delta);
    this.stats.deltas++;
    this.stats.forwarded++;
    if (this.observeFanout) this.pendingTimes.push(t);
  }

  private onLink(link: BusLink): void {
    const was = this.link;
    this.link = link;
    if (link.up === was.up) return;
    this.o.log?.[link.up ? 'info' : 'warn']({ since: new Date(link.since).toISOString(), detail: link.detail }, link.up ? 'live data from the bus again' : 'live data stopped: the values served are the last known');
    if (!link.up) this.markStale(undefined);
    this.emit('bus', JSON.stringify(link));
  }

  private onDevice(status: DeviceStatus): void {
    this.devices.set(status.device, status);
    if (status.state === 'down' && SILENCES.has(status.lastError?.code ?? '')) this.markStale(status.device);
    this.devicesDirty = true;
    if (this.devicesTimer) return;
    const wait = Math.max(0, this.lastDevicesEvent + this.o.devicesIntervalMs - Date.now());
    this.devicesTimer = setTimeout(() => {
      this.devicesTimer = undefined;
      if (!this.devicesDirty) return;
      this.devicesDirty = false;
      this.lastDevicesEvent = Date.now();
      this.emit('devices', JSON.stringify([...this.devices.values()]));
    }, wait);
  }

  // ------------------------------------------------------------ to the browsers

  private emit(event: string, data: string): void {
    const seq = ++this.seq;
    const bytes = encodeEvent(`${this.epoch}.${seq}`, event, data);
    this.stats.events++;
    this.ring.push({ seq, bytes });
    this.ringBytes += bytes.length;
    while (this.ring.length - this.ringHead > this.o.ringEvents || this.ringBytes > this.o.ringBytes) {
      this.ringBytes -= this.ring[this.ringHead]!.bytes.length;
      this.ring[this.ringHead++] = undefined as unknown as RingEntry;
    }
    if (this.ringHead > 1024) {
      this.ring.splice(0, this.ringHead);
      this.ringHead = 0;
    }
    this.pending.push(bytes);
    if (this.pending.length === 1) queueMicrotask(this.flush);
  }

  /**
   * The events emitted in this turn of the event loop, written together: one write per client, the same bytes for
   * all. Several bus messages read from one socket read (a web node catching up after a pause) cost one write per
   * client instead of one each, so a node that falls behind catches up instead of falling further behind.
   */
  private readonly flush = (): void => {
    const frames = this.pending;
    if (frames.length === 0) return;
    this.pending = [];
    this.stats.writes++;
    this.broadcast(frames.length === 1 ? frames[0]! : Buffer.concat(frames), true);
    if (this.pendingTimes.length > 0) {
      // Written to every client's socket: from the values' read time to here (bench:distributed's per-stage figures).
      const now = Date.now();
      for (const t of this.pendingTimes) this.observeFanout?.((now - t) / 1000);
      this.pendingTimes = [];
    }
  };

  private broadcast(bytes: Buffer, isEvent: boolean): void {
    const now = Date.now();
    for (const c of this.clients) {
      if (c.lagging) {
        if (now - c.laggingSince > this.o.slowTimeoutMs) {
          // Out of the set at once: its 'close' comes later, and events meanwhile must not count it again.
          this.clients.delete(c);
          this.stats.clients = this.clients.size;
          this.stats.slowDisconnects++;
          this.o.log?.warn({ remote: c.socket.remoteAddress }, 'stream client too slow, disconnected');
          c.socket.destroy();
        }
        continue;
      }
      if (isEvent && c.socket.writableLength > this.o.maxBufferedBytes) {
        c.lagging = true;
        c.laggingSince = now;
        continue;
      }
      c.socket.write(bytes);
    }
  }

  private onDrain(c: Client): void {
    if (!c.lagging || c.socket.destroyed) return;
    this.flush();
    c.lagging = false;
    this.stats.coalesced++;
    c.socket.write(this.snapshotEvent());
  }

  /** A snapshot of every tag, with the current event id (encoded once per id). */
  private snapshotEvent(): Buffer {
    if (this.snapshotCache?.seq === this.seq) return this.snapshotCache.bytes;
    const t = Date.now();
    const values: StreamValue[] = this.names.map((_, i) => this.encoded(i, -1));
    const snapshot: StreamSnapshot = { epoch: this.epoch, tags: this.names, t, values, devices: [...this.devices.values()], alarms: [...this.alarms.values()], bus: this.link };
    const bytes = encodeEvent(this.currentId, 'snapshot', JSON.stringify(snapshot));
    this.snapshotCache = { seq: this.seq, bytes };
    this.stats.snapshotsSent++;
    return bytes;
  }
}

/** Device errors that mean nothing is heard of the device any more (src/bus/liveness.ts). */
const SILENCES = new Set([POLLER_SILENT, BUS_UNREACHABLE, POLLER_STOPPED]);

function encodeValue(i: number, value: TagValueType | null, quality: Quality, ts: number, exc: number | undefined, t: number): StreamValue {
  if (quality === 'Good' && ts === t) return [i, value];
  return exc === undefined ? [i, value, quality, ts] : [i, value, quality, ts, exc];
}
