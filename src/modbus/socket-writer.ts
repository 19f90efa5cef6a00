/**
 * Writes to a TCP socket's handle directly, as net.Socket's own write path
 * ends up doing, without the Writable stream around it: no WriteWrap object
 * per write while writes complete at once (one is reused), no stream state
 * machine, no nextTick after each write. On loopback that was about half a
 * microsecond of a server's CPU per request, of about 11 (a canned-reply
 * server written both ways; docs/benchmarks.md). It needs Node's stream_wrap binding
 * (process.binding, the same internals net.Socket uses); where this Node
 * lacks it, or the socket has no handle, writes go through socket.write().
 *
 * Only for a socket whose every write goes through its writer (end() is
 * fine: the OS shuts the socket down after the writes it still holds).
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** Bytes held for the OS at most before write() asks the caller to stop reading (Writable's default). */
const HIGH_WATER = 16 * 1024;

interface WriteReq {
  handle: unknown;
  oncomplete: ((status: number) => void) | null;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
}

interface StreamWrap {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface Handle {
  writeBuffer(req: WriteReq, data: Buffer): number;
}

let streamWrap: StreamWrap | null | undefined;

function binding(): StreamWrap | undefined {
  if (streamWrap === undefined) {
    streamWrap = null;
    try {
      const b = (process as unknown as { binding(name: string): Partial<StreamWrap> }).binding('stream_wrap');
      if (typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number') {
        streamWrap = b as StreamWrap;
      }
    } catch {
      // This Node keeps it to itself: socket.write() it is.
    }
  }
  return streamWrap ?? undefined;
}

export class SocketWriter {
  private pending = 0;
  /** A request object no write holds (every write so far completed at once). */
  private spareReq: WriteReq | undefined;
  private readonly handle: Handle | undefined;
  private readonly wrap: StreamWrap | undefined;

  /** `onDrain`: called when every byte written was taken after write() returned false. */
  constructor(
    private readonly socket: net.Socket,
    private readonly onDrain: () => void,
  ) {
    const handle = (socket as unknown as { _handle?: Partial<Handle> | null })._handle;
    this.wrap = binding();
    this.handle = this.wrap && handle && typeof handle.writeBuffer === 'function' ? (handle as Handle) : undefined;
    if (!this.handle) socket.on('drain', onDrain);
  }

  /** Bytes written and not yet taken by the OS. */
  get pendingBytes(): number {
    return this.handle === undefined ? this.socket.writableLength : this.pending;
  }

  /** Whether write() asked the caller to stop reading and onDrain has not come yet. */
  get full(): boolean {
    return this.handle === undefined ? this.socket.writableNeedDrain : this.pending >= HIGH_WATER;
  }

  /** Writes `data`; false when enough is left for the OS that the caller should stop reading until onDrain. */
  write(data: Buffer): boolean {
    const handle = this.handle;
    if (handle === undefined || this.socket.destroyed) {
      return this.socket.write(data);
    }
    const req = this.spareReq ?? new this.wrap!.WriteWrap();
    this.spareReq = undefined;
    req.handle = handle;
    req.oncomplete = null;
    const err = handle.writeBuffer(req, data);
    if (err !== 0) {
      this.socket.destroy(Object.assign(new Error(`write ${getSystemErrorName(err)}`), { errno: err, code: getSystemErrorName(err), syscall: 'write' }));
      return false;
    }
    if (this.wrap!.streamBaseState[this.wrap!.kLastWriteWasAsync] === 0) {
      this.spareReq = req;
      return this.pending < HIGH_WATER;
    }
    // The OS took part of it: the rest is written as the socket allows; the buffer must live until then.
    req.buffer = data;
    this.pending += data.length;
    req.oncomplete = (status: number): void => {
      req.buffer = null;
      this.pending -= data.length;
      if (status < 0) {
        if (!this.socket.destroyed) this.socket.destroy(Object.assign(new Error(`write ${getSystemErrorName(status)}`), { errno: status, code: getSystemErrorName(status) }));
        return;
      }
      if (this.pending === 0) this.onDrain();
    };
    return this.pending < HIGH_WATER;
  }
}
