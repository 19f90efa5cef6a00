/**
 * A Modbus RTU server: the devices (unit ids) at the far end of a serial line,
 * or behind an RTU-over-TCP converter. Requests are served in arrival order
 * by the same handler and the same checks as the Modbus/TCP server; a request
 * for a unit not served here is another device's and gets no answer, nor
 * does a broadcast (unit 0), which every unit executes.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ModbusConnectionError } from './errors.js';
import { RTU, type FrameDecoder } from './packager.js';
import type { ModbusRequest } from './pdu.js';
import { packageFrame } from './packager.js';
import { type HandlerResult, type RequestContext, type RequestHandler, type ServeStats, answerFrame, refusalFrame, startRequest } from './serve.js';
import { SerialTransport, type SerialTransportOptions } from './serial-transport.js';
import type { TransportConnection } from './transport.js';
import { RTU_OVER_TCP_GAP_MS } from './rtu.js';

export interface RtuServerOptions {
  handler: RequestHandler;
  /** The unit ids answered here (1..247); a broadcast (0) reaches the handler with unit id 0. */
  units: Iterable<number>;
  /** Whether to keep an RTU-over-TCP connection just accepted; false: it is closed at once. */
  admit?: () => boolean;
}

export interface RtuServerStats extends ServeStats {
  /** Frames dropped: bad CRC, impossible length, cut short by a silence. */
  badFrames: number;
  crcErrors: number;
  /** Requests for units not served here (another device's): not answered. */
  otherUnits: number;
  /** Writes broadcast to unit 0: executed, not answered. */
  broadcasts: number;
}

export interface RtuServerEvents {
  /** A handler threw something that is not a Modbus exception (answered with 04). */
  handlerError: [error: unknown, req: ModbusRequest];
}

/** The byte stream a session serves. */
interface Line {
  readonly name: string;
  readonly id: number;
  remotePort: number;
  write(bytes: Buffer): void;
}

interface Job {
  unitId: number;
  pdu: Buffer;
}

const isWrite = (fc: number): boolean => fc === 5 || fc === 6 || fc === 15 || fc === 16;

export class ModbusRtuServer extends EventEmitter<RtuServerEvents> {
  readonly stats: RtuServerStats = { requests: 0, exceptions: 0, handlerFailures: 0, badFrames: 0, crcErrors: 0, otherUnits: 0, broadcasts: 0 };
  handler: RequestHandler;
  private readonly units: ReadonlySet<number>;
  private readonly serials: TransportConnection[] = [];
  private readonly tcpServers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private nextId = 1;
  private readonly admit: (() => boolean) | undefined;

  constructor(options: RtuServerOptions) {
    super();
    this.handler = options.handler;
    this.admit = options.admit;
    this.units = new Set(options.units);
    for (const u of this.units) if (!Number.isInteger(u) || u < 1 || u > 247) throw new RangeError(`unit id ${u} is outside 1..247`);
  }

  /** Serves a serial port; resolves once it is open. */
  listenSerial(options: SerialTransportOptions): Promise<void> {
    const transport = new SerialTransport(options);
    return new Promise((resolve, reject) => {
      let session: Session | undefined;
      const line: Line = { name: options.path, id: this.nextId++, remotePort: 0, write: (b) => connection.write(b) };
      const connection = transport.connect(
        {
          onOpen: () => {
            session = new Session(this, line, RTU.decoder('request', (_t, unit, pdu) => session!.onFrame(unit, pdu), (kind) => this.badFrame(kind), transport.frameGapMs));
            resolve();
          },
          onData: (buf, n) => session?.push(buf, n),
          onClose: (err, opened) => {
            if (!opened) reject(err);
          },
        },
        5000,
      );
      this.serials.push(connection);
    });
  }

  /** Serves RTU frames on TCP connections (port 0: a free port); resolves with the bound address. */
  listenTcp(host: string, port: number): Promise<{ host: string; port: number }> {
    const server = net.createServer((socket) => this.accept(socket));
    this.tcpServers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', () => undefined);
        const a = server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** (For its sessions.) */
  badFrame(kind: string): void {
    this.stats.badFrames++;
    if (kind === 'crc') this.stats.crcErrors++;
  }

  /** (For its sessions.) */
  serves(unitId: number): boolean {
    return this.units.has(unitId);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const c of this.serials.splice(0)) c.destroy(new ModbusConnectionError('server closed'));
    await Promise.all(this.tcpServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    if (this.admit && !this.admit()) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const line: Line = {
      name: socket.remoteAddress ?? '',
      id: this.nextId++,
      remotePort: socket.remotePort ?? 0,
      write: (b) => void (socket.destroyed || socket.write(b)),
    };
    const session: Session = new Session(this, line, RTU.decoder('request', (_t, unit, pdu) => session.onFrame(unit, pdu), (kind) => this.badFrame(kind), RTU_OVER_TCP_GAP_MS));
    socket.on('data', (chunk: Buffer) => session.push(chunk, chunk.length));
  }
}

class Context implements RequestContext {
  readonly transactionId = 0;
  constructor(
    private readonly line: Line,
    readonly unitId: number,
  ) {}

  get connectionId(): number {
    return this.line.id;
  }

  get remoteAddress(): string {
    return this.line.name;
  }

  get remotePort(): number {
    return this.line.remotePort;
  }

  /** A device on a serial line (behind a converter too) cannot hang anything up: it stays silent. */
  destroy(): void {}

  writeRaw(bytes: Buffer): void {
    this.line.write(bytes);
  }

  writePdu(pdu: Buffer): void {
    this.line.write(packageFrame(RTU, 0, this.unitId, pdu));
  }
}

/** One line's requests, served one at a time in arrival order. */
class Session {
  private readonly jobs: Job[] = [];
  private busy = false;

  constructor(
    private readonly server: ModbusRtuServer,
    private readonly line: Line,
    private readonly decoder: FrameDecoder,
  ) {}

  push(buf: Buffer, n: number): void {
    this.decoder.push(buf, n);
  }

  onFrame(unitId: number, pdu: Buffer): void {
    if (unitId !== 0 && !this.server.serves(unitId)) {
      this.server.stats.otherUnits++;
      return;
    }
    if (!this.busy && this.jobs.length === 0) {
      this.run(unitId, pdu);
      return;
    }
    // Copied: the PDU is a view of a read buffer.
    this.jobs.push({ unitId, pdu: Buffer.from(pdu) });
  }

  private drain(): void {
    while (!this.busy && this.jobs.length > 0) {
      const { unitId, pdu } = this.jobs.shift()!;
      this.run(unitId, pdu);
    }
  }

  private run(unitId: number, pdu: Buffer): void {
    if (unitId === 0) this.broadcast(pdu);
    else this.serve(unitId, pdu);
  }

  /** Every unit executes a broadcast write; nobody answers, whatever happens. */
  private broadcast(pdu: Buffer): void {
    if (!isWrite(pdu[0]!)) return;
    this.server.stats.broadcasts++;
    const started = startRequest(pdu, this.server.handler, new Context(this.line, 0), this.server.stats);
    if (started.kind === 'run' && started.result instanceof Promise) {
      this.busy = true;
      started.result.then(this.resume, this.resume);
    }
  }

  private serve(unitId: number, pdu: Buffer): void {
    const started = startRequest(pdu, this.server.handler, new Context(this.line, unitId), this.server.stats);
    if (started.kind === 'refused') {
      this.line.write(refusalFrame(RTU, 0, unitId, started.fc, started.exception));
      return;
    }
    if (started.kind === 'failed') {
      this.answer(unitId, started.req, undefined, started.error);
      return;
    }
    const { req, result } = started;
    if (!(result instanceof Promise)) {
      this.answer(unitId, req, result, undefined);
      return;
    }
    this.busy = true;
    result.then(
      (res) => {
        this.answer(unitId, req, res, undefined);
        this.resume();
      },
      (err: unknown) => {
        this.answer(unitId, req, undefined, err);
        this.resume();
      },
    );
  }

  private readonly resume = (): void => {
    this.busy = false;
    this.drain();
  };

  private answer(unitId: number, req: ModbusRequest, res: HandlerResult | undefined, err: unknown): void {
    const frame = answerFrame(RTU, 0, unitId, req, res, err, this.server.stats, (e, r) => this.server.emit('handlerError', e, r));
    if (frame !== undefined) this.line.write(frame);
  }
}
