/**
 * A running simulator: a Modbus/TCP server for the SBR PLC (or the load
 * device), its PLC scan loop, its misbehaviour mode and its write log.
 */
import { type ConnectionClosed, type ConnectionLimits, ModbusTcpServer, type RequestHandler, createAreaHandler } from '../modbus/index.js';
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
  /** Serve the generic load device instead of the SBR plant. */
  load?: { devices: number; registers: number; changeMs: number };
  /** Connection limits of the Modbus server (src/modbus/server.ts); maxConnections defaults to 64 (1024 for the load device). */
  connections?: Partial<ConnectionLimits>;
  /** Where evictions and connections closed for a limit are logged. */
  log?: Logger;
}

export class Simulator {
  readonly writes = new WriteLog();
  readonly plant: SbrPlant | undefined;
  readonly load: LoadDevice | undefined;
  readonly server: ModbusTcpServer;
  misbehaviour: Misbehaviour;
  private readonly scanLoop: Periodic | undefined;
  private lastScan = 0;

  constructor(readonly options: SimulatorOptions = {}) {
    this.misbehaviour = options.misbehaviour ?? { mode: 'normal' };
    let inner: RequestHandler;
    if (options.load) {
      this.load = new LoadDevice(options.load);
      inner = this.load.handler;
    } else {
      const plant = new SbrPlant({ speed: options.speed ?? 60, seed: options.seed ?? 1, autostart: options.autostart ?? true });
      this.plant = plant;
      inner = createAreaHandler({
        coils: plant.bits,
        discreteInputs: plant.bits,
        holdingRegisters: plant.words,
        inputRegisters: plant.words,
        beforeWrite: (w) => plant.checkWrite(w),
      });
      this.scanLoop = new Periodic(options.scanMs ?? 50, () => {
        // The process advances by the real time elapsed, so a late scan does not slow the plant's clock.
        const now = performance.now();
        plant.scan(now - this.lastScan);
        this.lastScan = now;
      });
    }
    this.server = new ModbusTcpServer({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 5020,
      maxConnections: options.load ? 1024 : 64,
      ...options.connections,
      handler: misbehaving(this.writes.recording(inner), () => this.misbehaviour),
    });
    const log = options.log;
    if (log) this.server.on('closed', (e) => logClosed(log, e));
  }

  async start(): Promise<{ host: string; port: number }> {
    const address = await this.server.listen();
    this.lastScan = performance.now();
    this.scanLoop?.start();
    return address;
  }

  /** A PLC restart: memory back to its power-on values, every connection dropped. */
  restart(): void {
    this.plant?.powerOn();
    this.server.dropConnections();
  }

  async stop(): Promise<void> {
    await this.scanLoop?.stop();
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
