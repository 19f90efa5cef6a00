/**
 * Reading and writing Redis streams, for every role that uses them
 * (commands, outcomes, journal, requests to services, samples): reads on a
 * connection of their own, consumer groups, pending entries taken back,
 * appends retried through a dropped connection.
 */
import { BusError } from '../errors.js';
import type { SubscribeOptions, Unsubscribe } from '../types.js';
import { type StreamEntry, parseEntries, parseStreams } from './codec.js';
import { type RedisConnection, reconnectDelay, sleep } from './connection.js';

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
    const c = conn.duplicate('streams');
    conn.watch(c, 'streams');
    await conn.open(c);
    let stopped = false;
    const handle = async (key: string, entry: StreamEntry, recovered: boolean): Promise<void> => {
      try {
        await o.onEntry(key, entry, recovered);
      } catch (err) {
        // Failed because it is being stopped (a store it writes to is closing): taken again at the next start.
        if (stopped || conn.closed) return;
        conn.subscriberErrors++;
        conn.log?.error({ err, key, entry: entry.id }, 'a stream subscriber failed');
      }
      if (group && o.ackAfter) await conn.cmd.sendCommand(['XACK', key, group, entry.id]);
    };
    const ids: string[] = [];
    if (group) {
      for (const key of keys) await this.ensureGroup(key, group);
      for (const key of keys) await this.recover(key, group, (e) => handle(key, e, true));
    } else {
      for (const key of keys) {
        const last = parseEntries(await conn.cmd.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', '1']));
        ids.push(last[0]?.id ?? '0-0');
      }
    }
    const count = ['COUNT', '100', 'BLOCK', String(conn.blockMs), 'STREAMS', ...keys];
    let reclaimed = Date.now();
    const loop = async (): Promise<void> => {
      while (!stopped && !conn.closed) {
        try {
          if (group && o.reclaimMs !== undefined && Date.now() - reclaimed >= o.reclaimMs) {
            reclaimed = Date.now();
            for (const key of keys) await this.recover(key, group, (e) => handle(key, e, true), o.reclaimMs);
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
          if (group && /NOGROUP/.test(message)) for (const key of keys) await this.ensureGroup(key, group, '0', true).catch(() => undefined);
          else conn.log?.debug({ err: message, keys }, 'stream read failed; retrying');
          await sleep(100);
        }
      }
    };
    const running = loop();
    const stop: Unsubscribe = async () => {
      if (stopped) return;
      stopped = true;
      conn.stops.delete(stop);
      c.destroy();
      await running;
    };
    conn.stops.add(stop);
    return stop;
  }

  /** Takes every pending entry of a group (XAUTOCLAIM), oldest first; with `minIdleMs`, only those idle that long. */
  private async recover(key: string, group: string, each: (e: StreamEntry) => Promise<void>, minIdleMs = 0): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = (await this.conn.cmd.sendCommand(['XAUTOCLAIM', key, group, this.conn.consumer, String(minIdleMs), cursor, 'COUNT', '100'])) as unknown[];
      cursor = String(reply[0]);
      for (const e of parseEntries(reply[1])) await each(e);
    } while (cursor !== '0-0' && !this.conn.closed);
  }

  /** Creates a consumer group (and its stream) if missing; `from` is where a new group starts. */
  async ensureGroup(key: string, group: string, from: '$' | '0' = '$', force = false): Promise<void> {
    if (!force && this.groups.has(`${key} ${group}`)) return;
    try {
      await this.conn.cmd.sendCommand(['XGROUP', 'CREATE', key, group, from, 'MKSTREAM']);
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
