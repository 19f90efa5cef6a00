/**
 * Live state on the Redis bus: the last value of everything in hashes,
 * changes on Pub/Sub channels, and this process's link to Redis. The roles
 * with live state (values and device statuses, alarm states) each add their
 * channels here.
 *
 * Pub/Sub is fire-and-forget: when its connection comes back, every
 * channel's state is read again from the hashes and handed to the
 * subscribers whole (values with `{resync: true}`) before any newer change;
 * the link is up again only then. What a publisher cannot send now is kept
 * by its role, newest per key, and published when Redis is back.
 */
import { settlesWithin } from '../../util/settle.js';
import { redactUrl } from '../../util/url.js';
import type { BusLink, Unsubscribe } from '../types.js';
import { type RedisConnection, sleep } from './connection.js';

/** How long a publisher waits for Redis to take its live state before it goes on (the send goes on too). */
const LIVE_WAIT_MS = 500;

/** A channel of live state and the hash behind it, as a role describes it. */
export interface LiveChannel<T> {
  /** The channel's name under the prefix; the resync's log counts what it read under this name. */
  readonly name: string;
  /** Its whole state, read from Redis. */
  read(): Promise<T[]>;
  /** An item's id and time: a notification held during a resync is passed on only if newer than what was read. */
  stamp(item: T): [id: string, ts: number];
  /** Hands the state read again to the subscribers. */
  handOver(items: T[]): void;
  /** Hands a notification to the subscribers, only the items `fresh` lets through; may throw on an unreadable message. */
  dispatch(message: string, fresh: (item: T) => boolean): void;
}

/** `fresh` when nothing is held back: every item passes (a role may skip filtering). */
export const ALL = (): boolean => true;

export class LiveState {
  // Each channel's items are of its own type: the channel itself keeps them apart.
  private readonly channels: LiveChannel<unknown>[] = [];
  /** The channels subscribed so far (in the order they were), and Redis's confirmation. */
  private readonly subscribed = new Map<LiveChannel<unknown>, Promise<void>>();
  /** Notifications held while the state is read again after a reconnect. */
  private held: [LiveChannel<unknown>, string][] | undefined;
  private resyncGeneration = 0;
  private subReady = false;
  private link: BusLink = { up: true, since: Date.now() };
  private readonly linkHandlers = new Set<(link: BusLink) => void>();

  constructor(private readonly conn: RedisConnection) {}

  /** Adds a channel (before anything subscribes). */
  add<T>(channel: LiveChannel<T>): void {
    this.channels.push(channel as LiveChannel<unknown>);
  }

  /** Reads the state again each time the Pub/Sub connection comes back (not at its first connection). */
  resyncOnReconnect(): void {
    this.conn.sub.on('ready', () => {
      if (this.subReady) this.resync();
      this.subReady = true;
    });
  }

  /** The link follows both connections: down at their first failure, up once both answer and no resync is under way. */
  followLink(): void {
    for (const c of [this.conn.cmd, this.conn.sub]) {
      c.on('error', (err: Error) => this.linkDown(err.message));
      c.on('reconnecting', () => this.linkDown('reconnecting'));
      c.on('ready', () => this.linkUp());
    }
  }

  /**
   * A channel is subscribed on its first subscriber, and only then: a process that only follows device statuses (a
   * poller) never receives, nor decodes, every value change of the plant. The promise resolves when Redis confirmed.
   */
  async subscribe<H>(name: string, handlers: { add(h: H): unknown; delete(h: H): unknown }, handler: H): Promise<Unsubscribe> {
    const ch = this.channels.find((c) => c.name === name);
    if (!ch) throw new Error(`no live channel ${name}`);
    let subscribed = this.subscribed.get(ch);
    if (!subscribed) {
      subscribed = this.conn.sub.subscribe(this.conn.key(ch.name), (message: string) => this.onNotification(ch, message));
      this.subscribed.set(ch, subscribed);
    }
    await subscribed;
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
    };
  }

  /**
   * Live state is last-value-wins: what cannot be published now, or could
   * not (the connection dropped while a publication was on its way), is
   * kept, newest per key, and published when it can be. It never throws, so
   * a poller keeps polling while Redis is away.
   */
  async publish<T>(keep: (items: T[]) => void, items: T[], send: () => Promise<unknown>): Promise<void> {
    const sent = send().then(
      () => undefined,
      (err: unknown) => {
        if (this.conn.closed) return;
        keep(items);
        this.conn.log?.warn({ code: 'PLANTA_BUS_CONNECTION', err: (err as Error).message }, 'live state not published; kept until Redis is back');
      },
    );
    // A command queued just as the connection dropped waits in the client for the reconnection (then it is sent, in order):
    // the caller, a poller between two scans, does not wait that long.
    await settlesWithin(sent, LIVE_WAIT_MS);
  }

  async subscribeLink(handler: (link: BusLink) => void): Promise<Unsubscribe> {
    this.linkHandlers.add(handler);
    this.conn.guard(() => handler(this.link));
    return async () => void this.linkHandlers.delete(handler);
  }

  /** The bus closes: no subscriber of the link is called again. */
  clear(): void {
    this.linkHandlers.clear();
  }

  /** A connection failed: from now on nothing this process shows of the plant is live. */
  private linkDown(why: string): void {
    if (this.conn.closed || !this.link.up) return;
    this.setLink({ up: false, since: Date.now(), detail: `no connection to Redis at ${redactUrl(this.conn.o.url)} (${why})` });
  }

  /** Both connections answer and no resync is under way: the live state is current again. */
  private linkUp(): void {
    if (this.conn.closed || this.link.up || !this.conn.cmd.isReady || !this.conn.sub.isReady || this.held !== undefined) return;
    this.setLink({ up: true, since: Date.now() });
  }

  private setLink(link: BusLink): void {
    this.link = link;
    for (const h of this.linkHandlers) this.conn.guard(() => h(link));
  }

  private onNotification(channel: LiveChannel<unknown>, message: string): void {
    if (this.held) this.held.push([channel, message]);
    else this.dispatch(channel, message, ALL);
  }

  private dispatch(channel: LiveChannel<unknown>, message: string, fresh: (item: unknown) => boolean): void {
    try {
      channel.dispatch(message, fresh);
    } catch (err) {
      this.conn.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', channel: channel.name, err: (err as Error).message }, 'unreadable notification dropped');
    }
  }

  /**
   * After the Pub/Sub connection came back: notifications may have been lost,
   * so the state is read again from the hashes and handed over whole; the
   * notifications that arrive meanwhile are held, then passed on unless the
   * state read already has something newer.
   */
  resync(): void {
    const { conn } = this;
    if (conn.closed) return;
    this.held ??= [];
    const generation = ++this.resyncGeneration;
    void (async () => {
      while (!conn.closed && generation === this.resyncGeneration) {
        try {
          // Answered after the client's own resubscriptions: from here on, no notification is missed.
          const probe = conn.key('resync');
          await conn.sub.subscribe(probe, () => undefined);
          await conn.sub.unsubscribe(probe);
          // Only the channels this process follows, in the order they were added (values before alarms).
          const channels = this.channels.filter((ch) => this.subscribed.has(ch));
          const states = await Promise.all(channels.map((ch) => ch.read()));
          if (generation !== this.resyncGeneration || conn.closed) return;
          const newer = new Map<LiveChannel<unknown>, Map<string, number>>(channels.map((ch, i) => [ch, new Map(states[i]!.map((item) => ch.stamp(item)))]));
          const held = this.held ?? [];
          this.held = undefined;
          conn.metrics?.resyncs.inc();
          conn.log?.info(Object.fromEntries(channels.map((ch, i) => [ch.name, states[i]!.length])), 'live state read again after a reconnect');
          channels.forEach((ch, i) => ch.handOver(states[i]!));
          for (const [ch, message] of held) {
            const known = newer.get(ch)!;
            this.dispatch(ch, message, (item) => {
              const [id, ts] = ch.stamp(item);
              return ts >= (known.get(id) ?? -Infinity);
            });
          }
          this.linkUp();
          return;
        } catch (err) {
          conn.log?.debug({ err: (err as Error).message }, 'resync failed; trying again');
          await sleep(200);
        }
      }
    })();
  }
}
