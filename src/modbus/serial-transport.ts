/**
 * A serial port as a transport (the `serialport` package, loaded only when a
 * port is opened: its native binding costs nothing to processes without one).
 * The line is half-duplex: a frame may start only after 3.5 characters of
 * silence since the last byte either way, so writes wait for that.
 */
import type { EventEmitter } from 'node:events';
import { ModbusConnectionError, type ModbusError } from './errors.js';
import { type LineTiming, type SerialFormat, lineTiming } from './rtu.js';
import { preciseTimeout } from './precise-timer.js';
import type { ConnectionHandlers, Transport, TransportConnection } from './transport.js';

/** What is used of a `serialport` port (a SerialPort, or a SerialPortMock in tests). */
export interface SerialPortLike extends EventEmitter {
  write(bytes: Buffer): boolean;
  close(callback?: (err: Error | null) => void): void;
  readonly isOpen: boolean;
  readonly writableLength: number;
}

export interface SerialOpenOptions {
  path: string;
  baudRate: number;
  parity: SerialFormat['parity'];
  dataBits: SerialFormat['dataBits'];
  stopBits: SerialFormat['stopBits'];
}

/** Makes a port that opens itself and emits 'open' (or 'error' then 'close'). */
export type PortOpener = (options: SerialOpenOptions) => SerialPortLike | Promise<SerialPortLike>;

export interface SerialTransportOptions extends SerialFormat {
  path: string;
  /** How ports are made; default: serialport's SerialPort. */
  openPort?: PortOpener;
}

/**
 * A USB adapter hands over what it received every latency period (16 ms on
 * FTDI chips by default), so a frame can reach the process in bursts that far
 * apart at low baud rates: a shorter silence seen here may lie inside a frame.
 * Frames are cut by their length anyway; this silence only ends a frame of
 * unknown length and drops a broken one. Sending keeps the line's own t3.5.
 */
const RECEIVE_GAP_FLOOR_MS = 20;

/**
 * Node's timers fire on whole milliseconds, and late: a silence of 1.75 ms
 * would last 2 to 3, a third of an exchange at 115200 baud. Silences shorter
 * than this are waited with a fine timer (precise-timer.ts: a thread asleep
 * until the time, then at most 0.25 ms turn by turn), so that a frame leaves within tens of
 * microseconds of its earliest time; longer ones with Node's timers, whose
 * millisecond then matters less.
 */
const FINE_BELOW_MS = 10;

const openSerialPort: PortOpener = async (options) => {
  const { SerialPort } = await import('serialport');
  return new SerialPort(options);
};

/**
 * What the port is opened with: the line's format goes to the UART as is. A
 * pty (socat, tests) ignores parity and stop bits; only a real UART puts them
 * on the wire, so wrong parity shows only on hardware (as CRC errors or
 * silence).
 */
export function serialOpenOptions(o: { path: string } & SerialFormat): SerialOpenOptions {
  return { path: o.path, baudRate: o.baud, parity: o.parity, dataBits: o.dataBits, stopBits: o.stopBits };
}

export function describeSerial(o: { path: string } & SerialFormat): string {
  return `${o.path} ${o.baud} ${o.dataBits}${o.parity[0]!.toUpperCase()}${o.stopBits}`;
}

export class SerialTransport implements Transport {
  readonly description: string;
  readonly timing: LineTiming;

  constructor(private readonly options: SerialTransportOptions) {
    this.description = describeSerial(options);
    this.timing = lineTiming(options);
  }

  /**
   * The silence that ends a frame as this process sees it: t3.5, but no less
   * than RECEIVE_GAP_FLOOR_MS — the wire's silences reach us blurred.
   */
  get frameGapMs(): number {
    return Math.max(this.timing.interFrameMs, RECEIVE_GAP_FLOOR_MS);
  }

  wireTimeMs(bytes: number): number {
    return bytes * this.timing.charMs;
  }

  connect(handlers: ConnectionHandlers, connectTimeoutMs: number): TransportConnection {
    return new SerialConnection(this, this.options, handlers, connectTimeoutMs);
  }
}

class SerialConnection implements TransportConnection {
  private port: SerialPortLike | undefined;
  private destroyed: ModbusError | undefined;
  private opened = false;
  private closed = false;
  private error: Error | undefined;
  /** Frames waiting for the line's silence, and the timer that sends them. */
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private sendTimer: NodeJS.Timeout | undefined;
  /** Cancels the fine timer waiting for the line's silence, while one waits. */
  private fineWait: (() => void) | undefined;
  /** performance.now() when the line last carried a byte (sent or received). */
  private lineBusyUntil = 0;

  constructor(
    private readonly transport: SerialTransport,
    options: SerialTransportOptions,
    private readonly handlers: ConnectionHandlers,
    connectTimeoutMs: number,
  ) {
    const timer = setTimeout(() => this.destroy(new ModbusConnectionError(`opening ${transport.description} timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    Promise.resolve()
      .then(() => (options.openPort ?? openSerialPort)(serialOpenOptions(options)))
      .then(
        (port) => {
          this.port = port;
          port.on('error', (err: Error) => void (this.error = err));
          port.once('close', () => this.onClosed());
          port.once('open', () => {
            clearTimeout(timer);
            if (this.destroyed) {
              port.close();
              return;
            }
            this.opened = true;
            handlers.onOpen();
          });
          port.on('data', (chunk: Buffer) => {
            this.lineBusyUntil = performance.now();
            handlers.onData(chunk, chunk.length);
          });
          // A port that fails to open emits 'error' and never 'open' or 'close'.
          port.once('error', () => {
            if (!this.opened) {
              clearTimeout(timer);
              this.onClosed();
            }
          });
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.error = err as Error;
          this.onClosed();
        },
      );
  }

  get pendingBytes(): number {
    return this.queuedBytes + (this.port?.writableLength ?? 0);
  }

  write(bytes: Buffer): void {
    if (this.closed || this.destroyed) return;
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.flush();
  }

  destroy(error?: ModbusError): void {
    if (this.closed) return;
    this.destroyed ??= error ?? new ModbusConnectionError(`${this.transport.description} closed`);
    clearTimeout(this.sendTimer);
    this.fineWait?.();
    this.fineWait = undefined;
    if (this.port?.isOpen) this.port.close();
    else if (!this.opened) this.onClosed();
  }

  /** Sends queued frames once the line has been silent for t3.5. */
  private flush(): void {
    if (this.sendTimer !== undefined || this.fineWait !== undefined || this.closed || this.destroyed || !this.port?.isOpen) return;
    const wait = this.lineBusyUntil + this.transport.timing.interFrameMs - performance.now();
    if (wait >= FINE_BELOW_MS) {
      // Node's timer to within a few ms of the time, the fine one for the rest.
      this.sendTimer = setTimeout(() => {
        this.sendTimer = undefined;
        this.flush();
      }, wait - FINE_BELOW_MS / 2);
      return;
    }
    if (wait > 0) {
      this.fineWait = preciseTimeout(wait, () => {
        this.fineWait = undefined;
        this.flush();
      });
      return;
    }
    const frame = this.queue.shift();
    if (frame === undefined) return;
    this.queuedBytes -= frame.length;
    this.port.write(frame);
    this.lineBusyUntil = performance.now() + this.transport.wireTimeMs(frame.length);
    if (this.queue.length > 0) this.flush();
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.sendTimer);
    this.fineWait?.();
    this.fineWait = undefined;
    const what = this.transport.description;
    const why = this.error ? `: ${this.error.message}` : '';
    const reason = this.destroyed ?? new ModbusConnectionError(this.opened ? `${what} closed${why}` : `cannot open ${what}${why}`);
    this.handlers.onClose(reason, this.opened);
  }
}
