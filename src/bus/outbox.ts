/**
 * A poller's outbox: the samples it could not hand to Redis (Redis down or
 * out of reach) wait here on local disk, in their order per device, until
 * they are forwarded to the samples streams — a disk queue
 * (src/util/disk-queue.ts) keyed by device: durable once appended, the
 * oldest entries dropped and counted past `maxBytes`, the file's space given
 * back once drained, an outbox file of earlier versions read on open.
 *
 * One process owns a file (SQLite's exclusive locking mode): a second poller
 * on the same machine opening it gets PLANTA_BUS_OUTBOX_BUSY and takes
 * another file (`openOutbox`).
 */
import { extname } from 'node:path';
import { DiskQueue } from '../util/disk-queue.js';
import { BusError } from './errors.js';

export interface OutboxEntry {
  seq: number;
  /** The device: entries are forwarded in order per device. */
  device: string;
  /** The scan's upTo (ScanInfo), or null. */
  upTo: number | null;
  /** The encoded batch (redis/codec.ts encodeBatch). */
  values: string;
}

export class Outbox {
  private readonly queue: DiskQueue;
  /** Entries dropped since this outbox was opened: past maxBytes, or left to another poller that took the device over. */
  dropped = 0;

  constructor(path: string, maxBytes: number) {
    try {
      this.queue = new DiskQueue(path, maxBytes, { exclusive: true });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new BusError('PLANTA_BUS_OUTBOX_BUSY', `outbox ${path} is used by another process`);
      throw err;
    }
  }

  get path(): string {
    return this.queue.path;
  }

  get maxBytes(): number {
    return this.queue.maxBytes;
  }

  get bytes(): number {
    return this.queue.bytes;
  }

  /** Entries waiting, of one device or of all. */
  pending(device?: string): number {
    return this.queue.pending(device);
  }

  /** The devices with entries waiting. */
  devices(): string[] {
    return this.queue.keys();
  }

  /** Appends an entry, dropping the oldest ones past maxBytes; returns how many were dropped. */
  append(device: string, upTo: number | null, values: string): number {
    const { entries } = this.queue.append(device, Buffer.from(values), { mark: upTo });
    this.dropped += entries;
    return entries;
  }

  /** The oldest entries of a device, at most `max`. */
  oldest(device: string, max: number): OutboxEntry[] {
    return this.queue.oldest(device, max).map((e) => ({ seq: e.seq, device, upTo: e.mark, values: e.data.toString() }));
  }

  /** Removes a device's entries up to and including `entries`' last (forwarded). */
  remove(device: string, entries: readonly OutboxEntry[]): void {
    const last = entries.at(-1);
    if (last) this.queue.remove(device, last.seq);
  }

  /** Drops every entry of a device; returns how many. */
  drop(device: string): number {
    const { entries } = this.queue.drop(device);
    this.dropped += entries;
    return entries;
  }

  /** Bytes of the file and its write-ahead log. */
  fileBytes(): number {
    return this.queue.fileBytes();
  }

  close(): void {
    this.queue.close();
  }
}

/** Opens `path`, or, when another process holds it, `path` with -2 … -9 before its extension. */
export function openOutbox(path: string, maxBytes: number): Outbox {
  const ext = extname(path);
  const base = path.slice(0, path.length - ext.length);
  for (let i = 1; ; i++) {
    try {
      return new Outbox(i === 1 ? path : `${base}-${i}${ext}`, maxBytes);
    } catch (err) {
      if (!(err instanceof BusError) || err.code !== 'PLANTA_BUS_OUTBOX_BUSY' || i >= 9) throw err;
    }
  }
}
