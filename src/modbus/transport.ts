/**
 * Transports: bytes to and from a device (a TCP socket, a serial port),
 * nothing of frames. A transport makes connections; a client keeps one open
 * at a time and makes a new one after a failure.
 */
import type { ModbusError } from './errors.js';

export interface ConnectionHandlers {
  /** The connection is open: writes may start. */
  onOpen(): void;
  /** The first `n` bytes of `buf` arrived; `buf` may be reused once this returns. */
  onData(buf: Buffer, n: number): void;
  /** Closed, or failed to open (`opened` false); `error` says why. Called once. */
  onClose(error: ModbusError, opened: boolean): void;
}

export interface TransportConnection {
  write(bytes: Buffer): void;
  /** Bytes written and not yet taken by the operating system. */
  readonly pendingBytes: number;
  /** Closes at once; onClose follows (with `error`, if given). */
  destroy(error?: ModbusError): void;
}

export interface Transport {
  /** What it connects to, for messages: "10.0.0.5:502", "/dev/ttyUSB0 19200 8E1". */
  readonly description: string;
  connect(handlers: ConnectionHandlers, connectTimeoutMs: number): TransportConnection;
  /** How long `bytes` bytes take on the wire (a serial line's characters; 0 on TCP). */
  wireTimeMs(bytes: number): number;
  /** The silence, as the process sees it, that ends a frame on this line (about t3.5 on a serial line), if it has one. */
  readonly frameGapMs: number | undefined;
}
