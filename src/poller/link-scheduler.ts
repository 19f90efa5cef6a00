/**
 * One scheduler per link: a serial line (or a converter, or a gateway to
 * one) carries one request at a time for all its devices. The scheduler
 * takes the devices' requests in turn — one from each (device, scan group)
 * queue in a round, operator commands first — so that one device's long
 * scan never holds back another's fast group; it measures each device's
 * round trip; and a unit that stopped answering is backed off: after two
 * timeouts (or a gateway's "no answer from the target", 0B) in a row its requests fail at once (Bad, no communication)
 * without using the line, except one probe after a pause that doubles up to
 * a cap. A missing slave costs the line one timeout per pause, not one per
 * request per scan.
 */
import {
  type ClientState,
  type ClientStats,
  ModbusClientClosedError,
  type ModbusClient,
  ModbusConnectionError,
  type ModbusError,
  ModbusExceptionError,
  ModbusProtocolError,
  type ModbusRequest,
  type ModbusResponse,
  ModbusRtuClient,
  ModbusTcpClient,
  ModbusTimeoutError,
} from '../modbus/index.js';
import { PlantaError } from '../errors.js';
import type { DeviceConfig, LinkConfig } from '../config/resolve.js';
import { COMMAND_GROUP, type DeviceChannel } from './channel.js';
import { gatewaySilence } from './read-errors.js';

/** A request not sent: its unit is backed off after it stopped answering. */
export class UnitSilentError extends PlantaError<'PLANTA_POLLER_UNIT_SILENT'> {
  constructor(message: string) {
    super('PLANTA_POLLER_UNIT_SILENT', message);
  }
}

export interface LinkSchedulerOptions {
  /** The link's name, for messages. */
  name: string;
  /** Timeouts in a row after which a unit is backed off. Default 2. */
  timeoutsBeforeBackoff?: number;
  /** The first pause of a silent unit; it doubles with every probe it misses. Default 1000 ms. */
  backoffInitialMs?: number;
  /** The longest pause: a unit back on the line answers within this. Default 10000 ms. */
  backoffMaxMs?: number;
}

export interface LinkDevice {
  name: string;
  unitId: number;
  timeoutMs: number;
  /** Its requests in flight at once (devices[].window): above 1 only behind a Modbus/TCP gateway, whose frames carry transaction ids. Default 1. */
  window?: number;
}

interface Job {
  unit: Unit;
  req: ModbusRequest;
  group: string;
  resolve: (res: ModbusResponse) => void;
  reject: (err: Error) => void;
}

/**
 * The request figures of one device (the connection's figures are the link's). CRC errors and other units' frames
 * count for the device whose request was on the line when they came: a bad CRC in a reply is most often noise near
 * the device that sent it, or a baud rate or parity set wrong in it.
 */
type UnitStats = Pick<ClientStats, 'requests' | 'responses' | 'timeouts' | 'exceptions' | 'protocolErrors' | 'connectionErrors' | 'crcErrors' | 'otherUnits'>;

interface Unit {
  device: LinkDevice;
  stats: UnitStats;
  timeoutsInARow: number;
  /** Its requests on the line now, at most device.window. */
  inflight: number;
  /** performance.now() before which its scans' requests are not sent. */
  pausedUntil: number;
  pauses: number;
  latency?: (ms: number) => void;
  disconnect: ((err: ModbusError) => void)[];
  state: ((state: ClientState) => void)[];
}

export class LinkScheduler {
  private readonly units = new Map<string, Unit>();
  /** Scan requests by (device, group), taken in turn; commands before them. */
  private readonly queues = new Map<string, Job[]>();
  private order: string[] = [];
  private cursor = 0;
  private readonly commands: Job[] = [];
  /** Requests on the link now: one on an RTU line, up to the connection's window behind a gateway. */
  private inflight = 0;
  private readonly o: Required<LinkSchedulerOptions>;

  constructor(
    readonly client: ModbusClient,
    options: LinkSchedulerOptions,
    /** Called when the last device's channel closes (the connection closes next). */
    private readonly onEmpty: () => void = () => undefined,
  ) {
    this.o = { timeoutsBeforeBackoff: 2, backoffInitialMs: 1000, backoffMaxMs: 10_000, ...options };
    client.on('disconnect', (err) => {
      for (const u of this.units.values()) for (const l of u.disconnect) l(err);
    });
    client.on('state', (state) => {
      for (const u of this.units.values()) for (const l of u.state) l(state);
    });
  }

  /** Whether the device's unit is backed off now (for status and tests). */
  paused(device: string): boolean {
    const u = this.units.get(device);
    return u !== undefined && u.pausedUntil > performance.now();
  }

  /** The device's share of the link. */
  channel(device: LinkDevice): DeviceChannel {
    if (this.units.has(device.name)) throw new Error(`device ${device.name} is already on link ${this.o.name}`);
    const unit: Unit = {
      device,
      stats: { requests: 0, responses: 0, timeouts: 0, exceptions: {}, protocolErrors: 0, connectionErrors: 0, crcErrors: 0, otherUnits: 0 },
      timeoutsInARow: 0,
      inflight: 0,
      pausedUntil: 0,
      pauses: 0,
      disconnect: [],
      state: [],
    };
    this.units.set(device.name, unit);
    const client = this.client;
    return {
      request: (req, group = '') => this.enqueue(unit, req, group),
      get stats(): ClientStats {
        return { ...client.stats, ...unit.stats };
      },
      get state() {
        return client.state;
      },
      get connected() {
        return client.connected;
      },
      onLatency: (listener) => void (unit.latency = listener),
      onDisconnect: (listener) => void unit.disconnect.push(listener),
      onState: (listener) => void unit.state.push(listener),
      close: () => this.remove(unit),
    };
  }

  private enqueue(unit: Unit, req: ModbusRequest, group: string): Promise<ModbusResponse> {
    if (this.units.get(unit.device.name) !== unit) return Promise.reject(new ModbusClientClosedError());
    return new Promise((resolve, reject) => {
      const job: Job = { unit, req, group, resolve, reject };
      if (group === COMMAND_GROUP) {
        this.commands.push(job);
      } else {
        const key = `${unit.device.name}\0${group}`;
        let q = this.queues.get(key);
        if (!q) {
          q = [];
          this.queues.set(key, q);
          this.order.push(key);
        }
        q.push(job);
      }
      this.pump();
    });
  }

  /**
   * The next request: a command, else the next non-empty (device, group) queue after the last one served — of a
   * device with room in its window.
   */
  private next(): Job | undefined {
    const room = (j: Job): boolean => j.unit.inflight < (j.unit.device.window ?? 1);
    const c = this.commands.findIndex(room);
    if (c >= 0) return this.commands.splice(c, 1)[0];
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const k = (this.cursor + i) % n;
      const q = this.queues.get(this.order[k]!)!;
      if (q.length > 0 && room(q[0]!)) {
        this.cursor = (k + 1) % n;
        return q.shift();
      }
    }
    return undefined;
  }

  private pump(): void {
    while (this.inflight < this.client.options.window) {
      const job = this.next();
      if (!job) return;
      const u = job.unit;
      // A command always goes: an operator waits for it, and its answer proves the unit alive.
      if (job.group !== COMMAND_GROUP && u.pausedUntil > performance.now()) {
        const left = Math.ceil(u.pausedUntil - performance.now());
        job.reject(new UnitSilentError(`unit ${u.device.unitId} on link ${this.o.name} did not answer ${u.timeoutsInARow} requests in a row: asked again in ${left} ms`));
        continue;
      }
      this.send(job);
    }
  }

  private send(job: Job): void {
    const u = job.unit;
    this.inflight++;
    u.inflight++;
    u.stats.requests++;
    const sentAt = performance.now();
    const line = this.client.stats;
    const crc0 = line.crcErrors;
    const other0 = line.otherUnits;
    const done = (): void => {
      u.stats.crcErrors += line.crcErrors - crc0;
      u.stats.otherUnits += line.otherUnits - other0;
      this.inflight--;
      u.inflight--;
      this.pump();
    };
    this.client.request(job.req, { unitId: u.device.unitId, timeout: u.device.timeoutMs }).then(
      (res) => {
        u.stats.responses++;
        u.latency?.(performance.now() - sentAt);
        this.answered(u);
        job.resolve(res);
        done();
      },
      (err: Error) => {
        this.failed(u, err, sentAt);
        job.reject(err);
        done();
      },
    );
  }

  /** A valid reply (an exception too): the unit is on the line. */
  private answered(u: Unit): void {
    u.timeoutsInARow = 0;
    u.pausedUntil = 0;
    u.pauses = 0;
  }

  private failed(u: Unit, err: Error, sentAt: number): void {
    const s = u.stats;
    if (err instanceof ModbusExceptionError) s.exceptions[err.exceptionCode] = (s.exceptions[err.exceptionCode] ?? 0) + 1;
    if (err instanceof ModbusExceptionError && !gatewaySilence(err)) {
      u.latency?.(performance.now() - sentAt);
      this.answered(u);
    } else if (err instanceof ModbusProtocolError) {
      s.protocolErrors++;
    } else if (err instanceof ModbusTimeoutError || gatewaySilence(err)) {
      // A gateway saying the unit did not answer has spent its own timeout on its line.
      if (err instanceof ModbusTimeoutError) s.timeouts++;
      u.timeoutsInARow++;
      if (u.timeoutsInARow >= this.o.timeoutsBeforeBackoff) {
        const pause = Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** Math.min(u.pauses, 30));
        u.pauses++;
        u.pausedUntil = performance.now() + pause;
      }
    } else if (err instanceof ModbusConnectionError) {
      s.connectionErrors++;
    }
  }

  private async remove(u: Unit): Promise<void> {
    if (this.units.get(u.device.name) !== u) return;
    this.units.delete(u.device.name);
    const closed = new ModbusClientClosedError();
    for (const job of this.commands.filter((j) => j.unit === u)) job.reject(closed);
    this.commands.splice(0, this.commands.length, ...this.commands.filter((j) => j.unit !== u));
    for (const [key, q] of this.queues) {
      if (!key.startsWith(`${u.device.name}\0`)) continue;
      for (const job of q) job.reject(closed);
      this.queues.delete(key);
    }
    this.order = [...this.queues.keys()];
    this.cursor = 0;
    if (this.units.size > 0) return;
    // Forgotten first: a device started meanwhile gets a new connection, not this closing one.
    this.onEmpty();
    await this.client.close();
  }
}

/** The connection of a link: RTU on a serial line or through a converter, or Modbus/TCP to a gateway. */
export function linkClient(link: LinkConfig, devices: readonly DeviceConfig[]): ModbusClient {
  const common = {
    // Each request carries its device's timeout; the connection's is the fallback.
    timeout: Math.max(...devices.map((d) => d.timeoutMs)),
    connectTimeout: Math.max(...devices.map((d) => d.connectTimeoutMs)),
    // A silent unit is backed off, not taken for a dead connection: only every unit silent in a row is.
    timeoutsBeforeReconnect: link.kind === 'serial' ? 0 : devices.length + 1,
  };
  // Behind a gateway each device may have its window of requests in flight (configuration refuses window on RTU links).
  const window = Math.min(64, devices.reduce((n, d) => n + d.window, 0));
  switch (link.kind) {
    case 'serial':
      return new ModbusRtuClient({ serial: { path: link.path, baud: link.baud, parity: link.parity, dataBits: link.dataBits, stopBits: link.stopBits }, ...common });
    case 'rtuOverTcp':
      return new ModbusRtuClient({ host: link.host, port: link.port, ...common });
    case 'tcp':
      return new ModbusTcpClient({ host: link.host, port: link.port, window, ...common });
  }
}
