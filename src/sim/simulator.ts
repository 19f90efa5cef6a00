/**
 * A running simulator: a Modbus/TCP server for the SBR PLC (or the load
 * device) — and, asked for, the same plants on a serial line or an
 * RTU-over-TCP port, one plant per unit id — its PLC scan loop, its
 * misbehaviour modes (all units, or one) and its write log.
 */
import {
  type ConnectionClosed,
  type ConnectionLimits,
  GatewayTargetFailedError,
  ModbusRtuServer,
  ModbusTcpServer,
  NO_RESPONSE,
  type RequestHandler,
  type SerialTransportOptions,
  createAreaHandler,
} from '../modbus/index.js';
import type { Logger } from '../util/log.js';
import { Periodic } from '../util/scheduler.js';
import { LoadDevice } from './load.js';
import { type Misbehaviour, misbehaving } from './misbehaviour.js';
import { SbrPlant } from './sbr/plant.js';
import { WriteLog } from './write-log.js';

export interface SimulatorOptions {
  host?: string;
  port?: number;
  /** SBR: simulated seconds per real second. Default 60. */
  speed?: number;
  /** SBR: PLC scan period. Default 50 ms. */
  scanMs?: number;
  seed?: number;
  /** SBR: start program 1 at power-on. Default true, so a demo shows a running plant. */
  autostart?: boolean;
  misbehaviour?: Misbehaviour;
  /**
   * SBR: the unit ids served, one plant each (1..247); on Modbus/TCP another
   * unit is answered with exception 0B (gateway target failed to respond).
   * Default: one plant answering any unit id on TCP, unit 1 on RTU.
   */
  units?: number[];
  /** SBR: also serve the units on this serial line (Modbus RTU). */
  serial?: SerialTransportOptions;
  /** SBR: also serve the units as RTU frames on this TCP port (an RTU-over-TCP converter's far side); 0 picks one. */
  rtuOverTcp?: { host?: string; port: number };
  /** Serve the generic load device instead of the SBR plant. */
  load?: { devices: number; registers: number; changeMs: number };
  /** Connection limits of the Modbus server (src/modbus/server.ts); maxConnections defaults to 64 (1024 for the load device). */
  connections?: Partial<ConnectionLimits>;
  /** Where evictions and connections closed for a limit are logged. */
  log?: Logger;
}

export interface SimulatorAddresses {
  host: string;
  port: number;
  /** The RTU-over-TCP port, when asked for. */
  rtuOverTcp?: { host: string; port: number };
}

export class Simulator {
  readonly writes = new WriteLog();
  /** The SBR plant of each unit id (one plant under unit 1 when it answers any unit id). */
  readonly plants = new Map<number, SbrPlant>();
  readonly load: LoadDevice | undefined;
  readonly server: ModbusTcpServer;
  readonly rtu: ModbusRtuServer | undefined;
  /** The mode of every unit without one of its own. */
  misbehaviour: Misbehaviour;
  /** Modes of single units (`planta sim mode silent --unit 2`). */
  readonly unitModes = new Map<number, Misbehaviour>();
  private readonly scanLoop: Periodic | undefined;
  private lastScan = 0;

  constructor(readonly options: SimulatorOptions = {}) {
    this.misbehaviour = options.misbehaviour ?? { mode: 'normal' };
    const rtu = options.serial !== undefined || options.rtuOverTcp !== undefined;
    let inner: RequestHandler;
    if (options.load) {
      if (rtu || options.units) throw new RangeError('the load device is served on Modbus/TCP only, with its own unit ids');
      this.load = new LoadDevice(options.load);
      inner = this.load.handler;
    } else {
      const units = options.units ?? [1];
      for (const u of units) if (!Number.isInteger(u) || u < 1 || u > 247) throw new RangeError(`unit id ${u} is outside 1..247`);
      const handlers = new Map<number, RequestHandler>();
      for (const [i, u] of units.entries()) {
        // Each plant its own noise, so that the units are told apart by their values too.
        const plant = new SbrPlant({ speed: options.speed ?? 60, seed: (options.seed ?? 1) + i, autostart: options.autostart ?? true });
        this.plants.set(u, plant);
        handlers.set(u, createAreaHandler({ coils: plant.bits, discreteInputs: plant.bits, holdingRegisters: plant.words, inputRegisters: plant.words, beforeWrite: (w) => plant.checkWrite(w) }));
      }
      const anyUnit = options.units === undefined ? handlers.get(1)! : undefined;
      inner = (req, ctx) => {
        if (anyUnit) return anyUnit(req, ctx);
        if (ctx.unitId === 0) {
          // A broadcast (RTU, or forwarded by a gateway): every plant executes it; nobody answers, refusals included.
          for (const h of handlers.values()) {
            try {
              h(req, ctx);
            } catch {
              // Unanswered either way.
            }
          }
          return NO_RESPONSE;
        }
        const h = handlers.get(ctx.unitId);
        if (!h) throw new GatewayTargetFailedError(req.fc);
        return h(req, ctx);
      };
      this.scanLoop = new Periodic(options.scanMs ?? 50, () => {
        // The process advances by the real time elapsed, so a late scan does not slow the plant's clock.
        const now = performance.now();
        for (const p of this.plants.values()) p.scan(now - this.lastScan);
        this.lastScan = now;
      });
    }
    const handler = misbehaving(this.writes.recording(inner), (unitId) => this.modeOf(unitId));
    this.server = new ModbusTcpServer({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 5020,
      maxConnections: options.load ? 1024 : 64,
      ...options.connections,
      handler,
      admit: () => !this.hangsUp(),
    });
    if (rtu) this.rtu = new ModbusRtuServer({ handler, units: this.plants.keys(), admit: () => !this.hangsUp() });
    const log = options.log;
    if (log) this.server.on('closed', (e) => logClosed(log, e));
  }

  /** The plant of the first unit (the only one, unless several units were asked for). */
  get plant(): SbrPlant | undefined {
    return this.plants.values().next().value;
  }

  /** How unit `unitId` behaves now. */
  modeOf(unitId: number): Misbehaviour {
    return this.unitModes.get(unitId) ?? this.misbehaviour;
  }

  /** Whether a new connection is closed at once: every unit it could reach hangs up. */
  private hangsUp(): boolean {
    const units = [...this.plants.keys()];
    return units.length > 0 ? units.every((u) => this.modeOf(u).mode === 'hangup') : this.misbehaviour.mode === 'hangup';
  }

  /** Sets the mode of every unit (`unit` undefined: and forgets the units' own), or of one unit. */
  setMode(mode: Misbehaviour, unit?: number): void {
    if (unit === undefined) {
      this.misbehaviour = mode;
      this.unitModes.clear();
    } else if (mode.mode === 'normal' && this.misbehaviour.mode === 'normal') {
      this.unitModes.delete(unit);
    } else {
      this.unitModes.set(unit, mode);
    }
  }

  async start(): Promise<SimulatorAddresses> {
    const address: SimulatorAddresses = await this.server.listen();
    const { serial, rtuOverTcp } = this.options;
    try {
      if (this.rtu && rtuOverTcp) address.rtuOverTcp = await this.rtu.listenTcp(rtuOverTcp.host ?? this.options.host ?? '127.0.0.1', rtuOverTcp.port);
      if (this.rtu && serial) await this.rtu.listenSerial(serial);
    } catch (err) {
      await this.rtu?.close();
      await this.server.close();
      throw err;
    }
    this.lastScan = performance.now();
    this.scanLoop?.start();
    return address;
  }

  /** A PLC restart: memory back to its power-on values, every connection dropped. */
  restart(): void {
    for (const p of this.plants.values()) p.powerOn();
    this.server.dropConnections();
  }

  async stop(): Promise<void> {
    await this.scanLoop?.stop();
    await this.rtu?.close();
    await this.server.close();
  }
}

/** Each eviction is a warning (someone lost a connection); idle and half-frame closes are routine. */
function logClosed(log: Logger, e: ConnectionClosed): void {
  if (e.reason === 'evicted') {
    const limit = e.limit === 'per-address' ? 'the connections of its address' : 'the connection limit';
    log.warn({ code: 'PLANTA_SIM_CONNECTION_EVICTED', ...e }, `Modbus connection ${e.remote} evicted for ${e.newcomer}: ${limit} was reached and it was idle longest (${e.idleMs} ms)`);
  } else {
    const why = e.reason === 'idle' ? `sent no complete request for ${e.idleMs} ms` : `left a frame half-sent for ${e.idleMs} ms`;
    log.info({ code: e.reason === 'idle' ? 'PLANTA_SIM_CONNECTION_IDLE' : 'PLANTA_SIM_CONNECTION_FRAME_TIMEOUT', ...e }, `Modbus connection ${e.remote} closed: it ${why}`);
  }
}
