/**
 * Commands on Redis: submitting (a web node), executing (the poller of the
 * device) and outcomes. Keys:
 *   P commands:<device>   stream of operator commands; consumer group "pollers"
 *   P claim:<command id>  the at-most-once claim: SET NX PX, "claimed:<consumer>", "writing:<consumer>", then "done:<status>"
 *   P outcomes            stream of command outcomes
 *
 * A command waits in its device's stream until a poller takes it
 * (XREADGROUP), stays pending until its final outcome is published (then
 * XACK), and pending entries are claimed again after a restart
 * (XAUTOCLAIM). Delivery alone is at least once; the claim (`claimCommand`,
 * SET NX PX) is what makes a write happen at most once, and it is refused
 * once the command's expiry has passed. A web node submits on a connection
 * of its own without an offline queue: a command is taken by Redis at once
 * or refused, never sent after an outage (and one reaching Redis after its
 * `acceptBy` is never executed).
 */
import { resolvesWithin } from '../../util/settle.js';
import { redactUrl } from '../../util/url.js';
import { CLAIM_RETENTION_MS, FINAL_STATUSES, isRefusal, outcomeOf } from '../command-messages.js';
import { BusError } from '../errors.js';
import type {
  CommandBus,
  CommandClaim,
  CommandExecutionBus,
  CommandOutcome,
  CommandRequest,
  CommandSubscription,
  EntryHandler,
  OutcomeBus,
  SubscribeOptions,
  Unsubscribe,
} from '../types.js';
import type { StreamEntry } from './codec.js';
import type { Client, RedisConnection } from './connection.js';
import { type LeaseHold, leaseKey } from './hold.js';
import { type Streams, durableRead } from './streams.js';

/** The consumer group of the pollers on each device's command stream. */
const POLLERS = 'pollers';
/**
 * The at-most-once claim of a command, granted only to the holder of its
 * device's lease when leases are in use (ARGV[3] is the owner, or empty).
 * Granted again to the same claimer when it says so (ARGV[4]): a claim sent
 * again after its answer was lost with the connection (a failover) finds its
 * own; the poller's ledger on disk keeps one process from taking a command twice.
 */
const CLAIM = `if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 'LEASE' end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'OK' end
if ARGV[4] == 'again' and redis.call('GET', KEYS[1]) == ARGV[1] then return 'OK' end
return 'DUP'`;
/** A command's final outcome on its claim (made if missing, so that no later delivery of it is ever executed). */
const SETTLE = `if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])`;

export class RedisCommands implements CommandBus, CommandExecutionBus, OutcomeBus {
  /** Commands handed to this process's handler, until their final outcome: id → stream entry. */
  private readonly delivered = new Map<string, { key: string; entry: string }>();
  /** A web node's connection for submitting commands (no offline queue), made at the first, and Redis's clock minus ours. */
  private submitter: { client: Client; first: Promise<unknown> } | undefined;
  private clockOffset = 0;

  constructor(
    private readonly conn: RedisConnection,
    private readonly streams: Streams,
    private readonly hold: LeaseHold,
  ) {}

  private commandStream(device: string): string {
    return this.conn.key(`commands:${device}`);
  }

  private claimKey(id: string): string {
    return this.conn.key(`claim:${id}`);
  }

  /**
   * Without `acceptBy`, a command waits for the connection until its expiry.
   * With it, the command goes on the submit connection, which has no offline
   * queue: while Redis is away nothing is sent, then or later (refused at
   * once, PLANTA_BUS_NOT_QUEUED); sent and not confirmed by `acceptBy`, it is
   * PLANTA_BUS_UNCONFIRMED. The entry carries `acceptBy` on Redis's clock, and
   * a poller never executes an entry Redis stamped later (onCommand).
   */
  async submitCommand(request: CommandRequest): Promise<void> {
    const key = this.commandStream(request.device);
    if (request.acceptBy === undefined) {
      // The group exists before the first command: a command queued before its poller ever started waits for it.
      await this.streams.ensureGroup(key, POLLERS);
      await this.streams.xadd(key, 'c', JSON.stringify(request), request.expiresAt);
      return;
    }
    const { client: c, first } = this.submitConnection();
    // The connection's very first time: it may still be connecting.
    if (!c.isReady) await resolvesWithin(first, request.acceptBy - Date.now());
    const left = request.acceptBy - Date.now();
    if (!c.isReady || left <= 0) throw new BusError('PLANTA_BUS_NOT_QUEUED', `Redis at ${redactUrl(this.conn.o.url)} is out of reach: the command was not sent to it`);
    const entry = JSON.stringify({ ...request, acceptBy: request.acceptBy + this.clockOffset });
    const sent = (async () => {
      if (!this.streams.groups.has(`${key} ${POLLERS}`)) {
        await c.sendCommand(['XGROUP', 'CREATE', key, POLLERS, '$', 'MKSTREAM']).catch((err: Error) => {
          if (!/BUSYGROUP/.test(err.message)) throw err;
        });
        this.streams.groups.add(`${key} ${POLLERS}`);
      }
      await c.sendCommand(['XADD', key, 'MAXLEN', '~', this.conn.maxLen, '*', 'c', entry]);
    })();
    if (!(await resolvesWithin(sent, left))) {
      const err = await sent.then(() => undefined, (e: unknown) => e as Error);
      throw new BusError('PLANTA_BUS_UNCONFIRMED', `Redis did not confirm the command within ${left} ms${err ? ` (${err.message})` : ''}`, { cause: err });
    }
  }

  private submitConnection(): { client: Client; first: Promise<unknown> } {
    if (this.submitter) return this.submitter;
    const c = this.conn.duplicate('submit', { disableOfflineQueue: true });
    this.conn.watch(c, 'submit');
    // The requester's deadline is turned into Redis's time, measured on each connection (to half a round trip).
    c.on('ready', () => {
      const t0 = Date.now();
      c.sendCommand(['TIME']).then(
        (t) => {
          const [s, us] = (t as unknown as string[]).map(Number) as [number, number];
          this.clockOffset = Math.round(s * 1000 + us / 1000 - (t0 + Date.now()) / 2);
        },
        () => undefined,
      );
    });
    this.submitter = { client: c, first: c.connect() };
    return this.submitter;
  }

  async subscribeCommands(handler: (request: CommandRequest) => void, options?: CommandSubscription): Promise<Unsubscribe> {
    const devices = options?.devices ?? this.conn.o.devices;
    if (!devices || devices.length === 0) {
      throw new BusError('PLANTA_BUS_NO_DEVICES', 'subscribeCommands on the Redis bus needs the devices this process executes commands for (option devices)');
    }
    return this.streams.read({
      keys: devices.map((d) => this.commandStream(d)),
      group: POLLERS,
      ackAfter: false,
      reclaimMs: this.conn.o.reclaimMs ?? 2000,
      onEntry: (key, entry, recovered) => this.onCommand(key, entry, recovered, handler),
    });
  }

  private async onCommand(key: string, entry: StreamEntry, recovered: boolean, handler: (request: CommandRequest) => void): Promise<void> {
    let request: CommandRequest;
    try {
      request = JSON.parse(entry.fields.c ?? '') as CommandRequest;
      if (typeof request.id !== 'string' || typeof request.expiresAt !== 'number') throw new Error('no id or expiry');
    } catch (err) {
      this.conn.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', key, entry: entry.id, err: (err as Error).message }, 'unreadable command dropped');
      await this.conn.cmd.sendCommand(['XACK', key, POLLERS, entry.id]);
      return;
    }
    // Taken back from this process itself (a periodic reclaim): it is still being executed here.
    if (recovered && this.delivered.has(request.id)) return;
    const stamped = Number(entry.id.split('-')[0]);
    if (request.acceptBy !== undefined && stamped > request.acceptBy) {
      // Its requester was told it was not queued: it reached Redis too late (a stalled connection), so it never runs.
      this.conn.log?.warn({ id: request.id, command: request.command, late: stamped - request.acceptBy }, 'a command that reached the bus after its acceptance deadline is dropped');
      await this.publishCommandOutcome(
        outcomeOf(request, 'expired', {
          code: 'PLANTA_COMMAND_NOT_QUEUED',
          reason: `not sent: it reached the bus ${stamped - request.acceptBy} ms after its requester was told it was not queued`,
        }),
      );
      await this.conn.cmd.sendCommand(['XACK', key, POLLERS, entry.id]);
      return;
    }
    this.delivered.set(request.id, { key, entry: entry.id });
    if (recovered) {
      // Pending from before a restart: taken and not reported means it may have been written. Never again.
      const claim = await this.conn.cmd.get(this.claimKey(request.id));
      if (claim?.startsWith('done:')) {
        this.delivered.delete(request.id);
        await this.conn.cmd.sendCommand(['XACK', key, POLLERS, entry.id]);
        return;
      }
      if (claim?.startsWith('claimed:') || claim?.startsWith('writing:')) {
        const writing = claim.startsWith('writing:');
        this.conn.log?.warn({ id: request.id, command: request.command, claim }, 'a command taken before a restart has no outcome: reported as interrupted, not sent again');
        await this.publishCommandOutcome(
          outcomeOf(request, writing ? 'unknown' : 'failed', {
            code: 'PLANTA_COMMAND_INTERRUPTED',
            reason: writing
              ? 'the poller stopped after it began writing and before it read the values back: the PLC may or may not have taken it — check the plant; it is not sent again'
              : 'the poller stopped while executing it; it is not sent again: check the PLC',
          }),
        );
        return;
      }
    }
    handler(request);
  }

  async releaseCommand(id: string): Promise<void> {
    // No longer "being executed here": the next reclaim (of its idle pending entry) delivers it again.
    this.delivered.delete(id);
  }

  async claimCommand(request: CommandRequest, options: { again?: boolean } = {}): Promise<CommandClaim> {
    const left = request.expiresAt - Date.now();
    if (left <= 0) return 'expired';
    // A device once leased here and not held now: no owner matches, the claim is refused.
    const owner = this.hold.claimOwner(request.device);
    // A claim whose answer was lost with its connection may be sent again by the same poller: it finds its own (CLAIM).
    const got = String(
      await this.conn.cmd.sendCommand(['EVAL', CLAIM, '2', this.claimKey(request.id), leaseKey(this.conn, request.device), `claimed:${this.conn.consumer}`, String(left + CLAIM_RETENTION_MS), owner, options.again ? 'again' : '']),
    );
    if (got === 'LEASE') {
      // Another poller holds the device now: it takes the command over (its pending entry is reclaimed), this one leaves it alone.
      this.delivered.delete(request.id);
      return 'not-owner';
    }
    if (got !== 'OK') {
      // Another execution holds it and reports its outcome; this delivery is done.
      const d = this.delivered.get(request.id);
      this.delivered.delete(request.id);
      if (d) await this.conn.cmd.sendCommand(['XACK', d.key, POLLERS, d.entry]);
      return 'duplicate';
    }
    // On a replica too before the PLC is written: a Sentinel failover cannot hand the command to another poller as unclaimed.
    await this.conn.replicated(`the claim of command ${request.id}`);
    // The claim may have waited on a reconnection: a command is never written late.
    return Date.now() >= request.expiresAt ? 'expired' : 'claimed';
  }

  async commandWriting(request: CommandRequest): Promise<void> {
    await this.conn.cmd.set(this.claimKey(request.id), `writing:${this.conn.consumer}`, { condition: 'XX', expiration: 'KEEPTTL' });
  }

  async publishCommandOutcome(outcome: CommandOutcome): Promise<void> {
    await this.streams.xadd(this.conn.key('outcomes'), 'o', JSON.stringify(outcome));
    // A refused request's record is not the outcome of its id (which may be another user's command): it settles nothing.
    if (!FINAL_STATUSES.includes(outcome.status) || isRefusal(outcome)) return;
    const d = this.delivered.get(outcome.id);
    this.delivered.delete(outcome.id);
    // Marked done before acknowledged: a restart in between finds the outcome reported, not an interruption.
    const settle = ['EVAL', SETTLE, '1', this.claimKey(outcome.id), `done:${outcome.status}`, String(CLAIM_RETENTION_MS)];
    await this.streams.persist(`settle command ${outcome.id}`, () => (d ? this.conn.cmd.multi().addCommand(settle).xAck(d.key, POLLERS, d.entry).exec() : this.conn.cmd.sendCommand(settle)));
  }

  async subscribeCommandOutcomes(handler: EntryHandler<CommandOutcome>, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.streams.read({
      keys: [this.conn.key('outcomes')],
      ...durableRead(options),
      ackAfter: true,
      onEntry: (_key, entry) => handler(JSON.parse(entry.fields.o ?? 'null') as CommandOutcome),
    });
  }


  /** The bus closes: the submit connection goes. */
  close(): void {
    if (this.submitter?.client.isOpen) this.submitter.client.destroy();
  }
}
