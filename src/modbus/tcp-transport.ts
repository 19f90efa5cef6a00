/**
 * TCP as a transport: for Modbus/TCP (MBAP frames) and for RTU frames in a
 * TCP stream (RTU-over-TCP converters).
 */
import net from 'node:net';
import { ModbusConnectionError, ModbusError } from './errors.js';
import { SocketWriter } from './socket-writer.js';
import type { ConnectionHandlers, Transport, TransportConnection } from './transport.js';

export class TcpTransport implements Transport {
  /** Reads land in one reused buffer: the decoder copies what it keeps before the next read. */
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);

  /** `frameGapMs`: for RTU frames, which carry no length, the silence that ends one whose length its bytes cannot tell. */
  constructor(
    readonly host: string,
    readonly port: number,
    readonly frameGapMs: number | undefined = undefined,
  ) {}

  get description(): string {
    return `${this.host}:${this.port}`;
  }

  wireTimeMs(): number {
    return 0;
  }

  connect(handlers: ConnectionHandlers, connectTimeoutMs: number): TransportConnection {
    const { host, port } = this;
    // No stream machinery per read (no Buffer, no 'data' event): the onread callback gets the reused buffer.
    const socket = net.connect({
      host,
      port,
      onread: {
        buffer: this.readBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          handlers.onData(buf as Buffer, n);
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    let opened = false;
    const connectTimer = setTimeout(() => {
      socket.destroy(new ModbusConnectionError(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    // Requests go to the socket's handle, not through the Writable stream (see SocketWriter); the client writes only once open.
    let writer: SocketWriter | undefined;
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      opened = true;
      writer = new SocketWriter(socket, () => undefined);
      socket.setKeepAlive(true, 5000);
      handlers.onOpen();
    });
    let error: Error | undefined;
    socket.on('error', (err) => {
      error = err;
    });
    socket.once('close', () => {
      clearTimeout(connectTimer);
      const reason =
        error instanceof ModbusError
          ? error
          : new ModbusConnectionError(
              opened
                ? `connection to ${host}:${port} closed${error ? `: ${error.message}` : ' by the peer'}`
                : `cannot connect to ${host}:${port}${error ? `: ${error.message}` : ''}`,
            );
      handlers.onClose(reason, opened);
    });
    return {
      write: (bytes) => void (writer ?? socket).write(bytes),
      get pendingBytes() {
        return writer?.pendingBytes ?? socket.writableLength;
      },
      destroy: (err) => void socket.destroy(err),
    };
  }
}
