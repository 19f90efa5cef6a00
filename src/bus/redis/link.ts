/**
 * Every connection Planta makes to Redis (the bus's roles, Pub/Sub, stream
 * readers, sign-in attempts) is made here, from one URL of either kind:
 *
 *   redis://[user:pass@]HOST:PORT[/DB]      (rediss:// for TLS): one Redis, as always
 *   redis-sentinel://[user:pass@]HOST:PORT,HOST:PORT,…/MASTER_NAME[?sentinelPassword=…]
 *                                           (rediss-sentinel:// for TLS): the master that the
 *                                           Redis Sentinels name, followed through a failover
 *
 * A link is one node-redis client with the same events (`error`,
 * `reconnecting`, `ready`), the same offline queue and reconnection as
 * before. With Sentinel, each time the client loses its connection (the
 * master died, or the sentinels demoted it and killed its clients) or a
 * write is refused as READONLY, the link asks the sentinels where the master
 * is; once they name another node, it replaces its client by one to that
 * node (its channels subscribed again), and the new client's `ready` is what
 * every role already answers a reconnection with: the live state read again,
 * leases confirmed, kept values and the outbox forwarded.
 *
 * Why not node-redis's createSentinel: its client pools connections, retries
 * a command that failed on a lost connection by itself (a write may so run
 * twice behind the caller's back), has no per-connection `ready` and
 * `reconnecting` and a Pub/Sub of its own; the bus's guarantees are built on
 * the plain client's behaviour, which this keeps. Redis Cluster is not
 * supported (the bus's keys are few and hot; one master is enough).
 */
import { EventEmitter } from 'node:events';
import type { createClient } from 'redis';
import { BusError } from '../errors.js';

export interface RedisNode {
  host: string;
  port: number;
}

/** What a bus URL names: one Redis, or the master of a set of sentinels. */
export type RedisTarget =
  | { kind: 'redis'; url: string }
  | {
      kind: 'sentinel';
      sentinels: RedisNode[];
      master: string;
      tls: boolean;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
    };

const SENTINEL_URL = /^(rediss?)-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/;

/** Reads a bus URL; a wrong one throws PLANTA_BUS_BAD_URL (never a connection attempt to nowhere). */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: 'redis', url };
  const m = SENTINEL_URL.exec(url);
  if (!m) throw new BusError('PLANTA_BUS_BAD_URL', `bus URL: expected redis://HOST:PORT, rediss://…, or redis-sentinel://HOST:PORT,HOST:PORT,…/MASTER_NAME`);
  const [, scheme, user, pass, hostList, master, query] = m;
  const sentinels = hostList!.split(',').map((h) => {
    const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h.trim());
    if (!hp) throw new BusError('PLANTA_BUS_BAD_URL', `bus URL: "${h}" is not HOST:PORT`);
    return { host: hp[1]!.replace(/^\[|\]$/g, ''), port: Number(hp[2] ?? 26379) };
  });
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys()) {
    if (key !== 'sentinelUsername' && key !== 'sentinelPassword') throw new BusError('PLANTA_BUS_BAD_URL', `bus URL: unknown parameter "${key}" (sentinelUsername, sentinelPassword)`);
  }
  const dec = (s: string | undefined | null): string | undefined => (s ? decodeURIComponent(s) : undefined);
  return {
    kind: 'sentinel',
    sentinels,
    master: decodeURIComponent(master!),
    tls: scheme === 'rediss',
    ...(dec(user) ? { username: dec(user)! } : {}),
    ...(dec(pass) ? { password: dec(pass)! } : {}),
    ...(params.get('sentinelUsername') ? { sentinelUsername: params.get('sentinelUsername')! } : {}),
    ...(params.get('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword')! } : {}),
  };
}

type Create = typeof createClient;
/** The client options a link passes on (the same for every node it may use). */
export interface LinkOptions {
  name?: string;
  pingInterval?: number;
  disableOfflineQueue?: boolean;
  socket?: { reconnectStrategy?: (retries: number) => number; connectTimeout?: number; socketTimeout?: number };
}
const rawClient = (create: Create, o: LinkOptions & { url?: string }) => create(o);
type Raw = ReturnType<typeof rawClient>;

/** Where a link is, and since when: for /readyz and the failover metric. */
export interface LinkPlace {
  /** host:port of the Redis node in use (the master, with Sentinel). */
  node: string;
  /** With Sentinel: when the link last moved to another node (absent: never since the start). */
  switchedAt?: number;
  /** Moves to another node since the start. */
  switches: number;
  sentinel: boolean;
}

/** How long a question to one sentinel may take. */
const ASK_MS = 1000;
/** How often a link that lost its node asks the sentinels where the master is, until it is connected again. */
const ASK_EVERY_MS = 250;

/**
 * The sentinels' answer to "where is the master", shared by every link of a
 * process made from one URL: asked again at most every 200 ms however many
 * connections lost their node at once.
 */
class SentinelAsker {
  private pending: Promise<RedisNode | undefined> | undefined;
  private last: { at: number; node: RedisNode | undefined } | undefined;
  /** The links to tell when a sentinel announces a new master (+switch-master). */
  private readonly listeners = new Set<() => void>();
  private watcher: Raw | undefined;
  private next = 0;

  constructor(
    private readonly create: Create,
    private readonly t: Extract<RedisTarget, { kind: 'sentinel' }>,
  ) {}

  ask(): Promise<RedisNode | undefined> {
    if (this.last && Date.now() - this.last.at < 200) return Promise.resolve(this.last.node);
    this.pending ??= this.askAll().then((node) => {
      this.last = { at: Date.now(), node };
      this.pending = undefined;
      return node;
    });
    return this.pending;
  }

  /**
   * Calls `f` each time a sentinel announces that the master moved: the
   * links move at once instead of at their next failed reconnection. One
   * subscription to one sentinel per process, to the next one when it fails.
   */
  onSwitch(f: () => void): () => void {
    this.listeners.add(f);
    if (!this.watcher) this.watch();
    return () => {
      this.listeners.delete(f);
      if (this.listeners.size > 0 || !this.watcher) return;
      const w = this.watcher;
      this.watcher = undefined;
      if (w.isOpen) w.destroy();
    };
  }

  private watch(): void {
    const s = this.t.sentinels[this.next++ % this.t.sentinels.length]!;
    const w = this.sentinelClient(s, { reconnectStrategy: false });
    this.watcher = w;
    const again = (): void => {
      if (this.watcher !== w) return;
      this.watcher = undefined;
      if (w.isOpen) w.destroy();
      if (this.listeners.size > 0) setTimeout(() => this.listeners.size > 0 && !this.watcher && this.watch(), 250).unref();
    };
    w.on('error', again);
    w.on('end', again);
    w.connect()
      .then(() =>
        w.subscribe('+switch-master', (message: string) => {
          if (!message.startsWith(`${this.t.master} `)) return;
          this.last = undefined;
          for (const f of this.listeners) f();
        }),
      )
      .catch(again);
  }

  private sentinelClient(s: RedisNode, socket: { reconnectStrategy?: false } = {}): Raw {
    return this.create({
      socket: { host: s.host, port: s.port, connectTimeout: ASK_MS, ...socket, ...(this.t.tls ? { tls: true as const } : {}) },
      ...(this.t.sentinelUsername ? { username: this.t.sentinelUsername } : {}),
      ...(this.t.sentinelPassword ? { password: this.t.sentinelPassword } : {}),
    } as LinkOptions) as Raw;
  }

  /** The first sentinel that answers names the master; a sentinel that does not know it (null) is passed over. */
  private async askAll(): Promise<RedisNode | undefined> {
    for (const s of this.t.sentinels) {
      const c = this.sentinelClient(s, { reconnectStrategy: false });
      c.on('error', () => undefined);
      try {
        await withDeadline(c.connect(), ASK_MS);
        const reply = (await withDeadline(c.sendCommand(['SENTINEL', 'get-master-addr-by-name', this.t.master]), ASK_MS)) as unknown;
        if (Array.isArray(reply) && reply.length === 2) return { host: String(reply[0]), port: Number(reply[1]) };
      } catch {
        // The next sentinel.
      } finally {
        c.destroy();
      }
    }
    return undefined;
  }
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const FORWARDED = ['error', 'ready', 'reconnecting', 'connect', 'end'] as const;

/**
 * One connection to Redis that follows the master (see the top of the
 * file). Only the calls Planta makes are offered.
 */
export class RedisLink extends EventEmitter {
  private c: Raw;
  private opened = false;
  private closed = false;
  private checking = false;
  private asking: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private readonly subs = new Map<string, Set<(message: string, channel: string) => void>>();
  private readonly placeState: LinkPlace;

  private constructor(
    private readonly create: Create,
    private readonly target: RedisTarget,
    private readonly asker: SentinelAsker | undefined,
    private readonly o: LinkOptions,
    node: RedisNode | undefined,
  ) {
    super();
    this.c = this.make(node);
    this.placeState = { node: node ? `${node.host}:${node.port}` : nodeOfUrl(target), switches: 0, sentinel: target.kind === 'sentinel' };
  }

  /** A link for `url`; with Sentinel, the master is asked for first (PLANTA_BUS_UNREACHABLE when no sentinel names it). */
  static async open(url: string, o: LinkOptions): Promise<RedisLink> {
    const target = parseRedisUrl(url);
    const create = (await import('redis')).createClient;
    if (target.kind === 'redis') return new RedisLink(create, target, undefined, o, undefined);
    const asker = new SentinelAsker(create, target);
    const node = await asker.ask();
    if (!node) throw new BusError('PLANTA_BUS_UNREACHABLE', `no sentinel of ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} named the master "${target.master}"`);
    return new RedisLink(create, target, asker, o, node);
  }

  get place(): LinkPlace {
    return { ...this.placeState };
  }

  get isReady(): boolean {
    return this.c.isReady;
  }

  get isOpen(): boolean {
    return this.c.isOpen;
  }

  /** Another link to the same place (another connection), with some options changed. */
  duplicate(overrides: Partial<LinkOptions> = {}): RedisLink {
    const node = this.target.kind === 'sentinel' ? parseNode(this.placeState.node) : undefined;
    return new RedisLink(this.create, this.target, this.asker, { ...this.o, ...overrides }, node);
  }

  async connect(): Promise<this> {
    this.opened = true;
    this.unwatch ??= this.asker?.onSwitch(() => void this.recheck());
    await this.c.connect();
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.asking);
    this.unwatch?.();
    await this.c.close();
  }

  destroy(): void {
    this.closed = true;
    clearInterval(this.asking);
    this.unwatch?.();
    if (this.c.isOpen) this.c.destroy();
  }

  sendCommand(args: string[]): Promise<unknown> {
    return this.c.sendCommand(args).catch((err: unknown) => {
      // A write the node refused as a replica: the sentinels moved the master and this link has not heard yet.
      if (err instanceof Error && err.message.startsWith('READONLY')) void this.recheck();
      throw err;
    });
  }

  multi(): ReturnType<Raw['multi']> {
    return this.c.multi();
  }

  get(key: string): Promise<string | null> {
    return this.c.get(key) as Promise<string | null>;
  }

  set(key: string, value: string, o?: Parameters<Raw['set']>[2]): Promise<string | null> {
    return this.c.set(key, value, o) as Promise<string | null>;
  }

  del(keys: string | string[]): Promise<number> {
    return this.c.del(keys) as Promise<number>;
  }

  hVals(key: string): Promise<string[]> {
    return this.c.hVals(key) as Promise<string[]>;
  }

  sMembers(key: string): Promise<string[]> {
    return this.c.sMembers(key) as Promise<string[]>;
  }

  publish(channel: string, message: string): Promise<number> {
    return this.c.publish(channel, message) as Promise<number>;
  }

  async subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void> {
    let set = this.subs.get(channel);
    if (!set) this.subs.set(channel, (set = new Set()));
    set.add(listener);
    await this.c.subscribe(channel, listener);
  }

  async unsubscribe(channel: string, listener?: (message: string, channel: string) => void): Promise<void> {
    if (listener) this.subs.get(channel)?.delete(listener);
    if (!listener || this.subs.get(channel)?.size === 0) this.subs.delete(channel);
    await this.c.unsubscribe(channel, listener);
  }

  private make(node: RedisNode | undefined): Raw {
    const t = this.target;
    const c =
      t.kind === 'redis'
        ? rawClient(this.create, { ...this.o, url: t.url })
        : rawClient(this.create, {
            ...this.o,
            ...(t.username ? { username: t.username } : {}),
            ...(t.password ? { password: t.password } : {}),
            socket: { ...this.o.socket, host: node!.host, port: node!.port, ...(t.tls ? { tls: true as const } : {}) },
          } as LinkOptions);
    for (const event of FORWARDED) {
      c.on(event, (...args: unknown[]) => {
        if (c !== this.c) return;
        if (event === 'error' && this.listenerCount('error') === 0) return;
        this.emit(event, ...args);
      });
    }
    // Lost its node: perhaps the sentinels moved the master. Asked at once, then every ASK_EVERY_MS until connected again
    // (the client's own reconnection backs off to 1 s: the new master is found sooner).
    if (t.kind === 'sentinel') c.on('error', () => this.askWhileDown());
    return c;
  }

  private askWhileDown(): void {
    void this.recheck();
    if (this.asking || this.closed) return;
    this.asking = setInterval(() => {
      if (this.closed || this.c.isReady) {
        clearInterval(this.asking);
        this.asking = undefined;
        return;
      }
      void this.recheck();
    }, ASK_EVERY_MS);
    this.asking.unref();
  }

  /** Asks the sentinels where the master is, and moves there if it is not where this link is. */
  private async recheck(): Promise<void> {
    if (!this.asker || this.checking || this.closed) return;
    this.checking = true;
    try {
      const node = await this.asker.ask();
      if (!node || this.closed || `${node.host}:${node.port}` === this.placeState.node) return;
      this.moveTo(node);
    } finally {
      this.checking = false;
    }
  }

  private moveTo(node: RedisNode): void {
    const old = this.c;
    this.c = this.make(node);
    this.placeState.node = `${node.host}:${node.port}`;
    this.placeState.switchedAt = Date.now();
    this.placeState.switches++;
    this.emit('switch', this.place);
    if (this.opened) {
      // Connecting sets the client open at once: the subscriptions queue up ahead of anything sent once it is ready.
      this.c.connect().catch(() => undefined);
      for (const [channel, listeners] of this.subs) for (const l of listeners) this.c.subscribe(channel, l).catch(() => undefined);
    }
    // What waited in the old client's queue fails: its callers keep it or send it again, as after any lost connection.
    old.on('error', () => undefined);
    if (old.isOpen) old.destroy();
  }
}

function nodeOfUrl(t: RedisTarget): string {
  if (t.kind !== 'redis') return '';
  try {
    const u = new URL(t.url);
    return `${u.hostname || '127.0.0.1'}:${u.port || 6379}`;
  } catch {
    return '';
  }
}

function parseNode(s: string): RedisNode {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}
