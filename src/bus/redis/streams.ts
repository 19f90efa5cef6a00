/**
 * Reading and writing Redis streams, for every role that uses them
 * (commands, outcomes, journal, requests to services, samples): reads on a
 * connection of their own, consumer groups, pending entries taken back,
 * appends retried through a dropped connection.
 */
import { BusError } from '../errors.js';
import type { SubscribeOptions, Unsubscribe } from '../types.js';
import { type StreamEntry, parseEntries, parseStreams } from './codec.js';
import { settlesWithin } from '../../util/settle.js';
import { type Client, type RedisConnection, reconnectDelay, sleep } from './connection.js';

/** How long stopping a reader waits for the entry its handler is on (it may wait for Redis on another connection). */
const STOP_WAIT_MS = 1000;

/** A subscription's group and reclaim period, when it is durable. */
export const durableRead = (o: SubscribeOptions | undefined): { group?: string; reclaimMs?: number } =>
  o?.durable ? { group: o.durable, ...(o.reclaimMs !== undefined ? { reclaimMs: o.reclaimMs } : {}) } : {};

export interface ReadOptions {
  keys: string[];
  group?: string;
  /** With a group: acknowledge each entry once its handler returned. */
  ackAfter: boolean;
  /** With a group: every so often, take the entries pending this long with other consumers. */
  reclaimMs?: number;
  onEntry: (key: string, entry: StreamEntry, recovered: boolean) => unknown;
}

export class Streams {
  /** Consumer groups known to exist, as "key group". */
  readonly groups = new Set<string>();

  constructor(private readonly conn: RedisConnection) {}

  /**
   * Reads streams on a connection of its own (reads block). Without a group
   * it follows the streams from now on, and resumes after the last entry seen
   * when the connection comes back. With a group it first takes back the
   * group's pending entries (left by a process that stopped), then reads new
   * ones; `ackAfter` acknowledges each entry once its handler returned.
   */
  async read(o: ReadOptions): Promise<Unsubscribe> {
    const { conn } = this;
    if (conn.closed) throw new BusError('PLANTA_BUS_CLOSED', 'the bus is closed');
    const { keys, group } = o;
    // Everything the reader asks Redis goes through its own connection: destroying it rejects what waits for a
    // Redis that is away (in the client's offline queue), so a stop never waits for Redis to come back.
    const c = conn.duplicate('streams');
    conn.watch(c, 'streams');
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    const stop: Unsubscribe = async () => {
      if (stopped) return;
      stopped = true;
      conn.stops.delete(stop);
      c.destroy();
      // A handler may still wait for Redis on another connection (a command's claim): not past the bound.
      await settlesWithin(running, STOP_WAIT_MS);
    };
    // From here on the bus's close stops the reader, even one still connecting or taking back its pending entries.
    conn.stops.add(stop);
    const handle = async (key: string, entry: StreamEntry, recovered: boolean): Promise<void> => {
      if (stopped) return;
      try {
        await o.onEntry(key, entry, recovered);
      } catch (err) {
        // Failed because it is being stopped (a store it writes to is closing): taken again at the next start.
        if (stopped || conn.closed) return;
        conn.subscriberErrors++;
        conn.log?.error({ err, key, entry: entry.id }, 'a stream subscriber failed');
      }
      if (group && o.ackAfter) await c.sendCommand(['XACK', key, group, entry.id]);
    };
    const ids: string[] = [];
    try {
      await conn.open(c);
      if (group) {
        for (const key of keys) await this.ensureGroup(key, group, '$', false, c);
        for (const key of keys) await this.recover(c, key, group, (e) => handle(key, e, true));
      } else {
        for (const key of keys) {
          const last = parseEntries(await c.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', '1']));
          ids.push(last[0]?.id ?? '0-0');
        }
      }
    } catch (err) {
      const closed = stopped || conn.closed;
      await stop();
      if (closed) throw new BusError('PLANTA_BUS_CLOSED', 'the bus closed while a stream reader started', { cause: err });
      throw err;
    }
    const count = ['COUNT', '100', 'BLOCK', String(conn.blockMs), 'STREAMS', ...keys];
    let reclaimed = Date.now();
    const loop = async (): Promise<void> => {
      while (!stopped && !conn.closed) {
        try {
          if (group && o.reclaimMs !== undefined && Date.now() - reclaimed >= o.reclaimMs) {
            reclaimed = Date.now();
            for (const key of keys) await this.recover(c, key, group, (e) => handle(key, e, true), o.reclaimMs);
          }
          const reply = group
            ? await c.sendCommand(['XREADGROUP', 'GROUP', group, conn.consumer, ...count, ...keys.map(() => '>')])
            : await c.sendCommand(['XREAD', ...count, ...ids]);
          for (const [key, entries] of parseStreams(reply)) {
            for (const entry of entries) {
              if (!group) ids[keys.indexOf(key)] = entry.id;
              await handle(key, entry, false);
            }
          }
        } catch (err) {
          if (stopped || conn.closed) break;
          const message = (err as Error).message;
          // The group is gone (Redis restarted without its data): make it again, from the stream's start.
          if (group && /NOGROUP/.test(message)) for (const key of keys) await this.ensureGroup(key, group, '0', true, c).catch(() => undefined);
          else conn.log?.debug({ err: message, keys }, 'stream read failed; retrying');
          await sleep(100);
        }
      }
    };
    running = loop();
    return stop;
  }

  /** Takes every pending entry of a group (XAUTOCLAIM), oldest first; with `minIdleMs`, only those idle that long. */
  private async recover(c: Client, key: string, group: string, each: (e: StreamEntry) => Promise<void>, minIdleMs = 0): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = (await c.sendCommand(['XAUTOCLAIM', key, group, this.conn.consumer, String(minIdleMs), cursor, 'COUNT', '100'])) as unknown[];
      cursor = String(reply[0]);
      for (const e of parseEntries(reply[1])) await each(e);
    } while (cursor !== '0-0' && !this.conn.closed);
  }

  /** Creates a consumer group (and its stream) if missing; `from` is where a new group starts. */
  async ensureGroup(key: string, group: string, from: '$' | '0' = '$', force = false, c: Client = this.conn.cmd): Promise<void> {
    if (!force && this.groups.has(`${key} ${group}`)) return;
    try {
      await c.sendCommand(['XGROUP', 'CREATE', key, group, from, 'MKSTREAM']);
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groups.add(`${key} ${group}`);
  }

  /**
   * Runs a write again and again while the connection drops under it
   * (commands issued while Redis is away wait in the client's queue; only
   * those on the wire when it dropped fail). A stream entry may so be written
   * twice: a command's claim, an outcome's id and the journal's order make
   * that harmless. Gives up at `until` (a command's expiry) or when the bus closes.
   */
  async persist(what: string, write: () => Promise<unknown>, until = Infinity): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (this.conn.closed) throw new BusError('PLANTA_BUS_CLOSED', `${what}: the bus is closed`, { cause: err });
        if (Date.now() >= until) throw new BusError('PLANTA_BUS_CONNECTION', `${what}: ${(err as Error).message}`, { cause: err });
        this.conn.log?.warn({ code: 'PLANTA_BUS_CONNECTION', what, attempt, err: (err as Error).message }, 'write to Redis failed; trying again');
        await sleep(reconnectDelay(attempt));
      }
    }
  }

  xadd(key: string, field: string, value: string, until = Infinity): Promise<void> {
    return this.persist(`append to ${key}`, () => this.conn.cmd.sendCommand(['XADD', key, 'MAXLEN', '~', this.conn.maxLen, '*', field, value]), until);
  }
}
