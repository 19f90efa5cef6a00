/**
 * Requests to services on Redis: a request goes to the stream
 * `P rpc:<service>` (consumer group "servers": one of the service's
 * processes takes it), its answer comes back on the asker's channel
 * `P reply:<node>`.
 */
import { randomUUID } from 'node:crypto';
import { redactUrl } from '../../util/url.js';
import { BusError } from '../errors.js';
import { answer } from '../service.js';
import type { RpcBus, ServiceReply, ServiceRequest, Unsubscribe } from '../types.js';
import type { RedisConnection } from './connection.js';
import type { Streams } from './streams.js';

/** The consumer group of the processes answering a service's requests. */
const SERVERS = 'servers';

export class RedisRpc implements RpcBus {
  /** This process's reply channel for its requests to services, and the requests waiting for an answer. */
  private readonly node = randomUUID();
  private replies: Promise<void> | undefined;
  private readonly waiting = new Map<string, (reply: ServiceReply) => void>();

  constructor(
    private readonly conn: RedisConnection,
    private readonly streams: Streams,
  ) {}

  serve(service: string, handler: (request: ServiceRequest) => Promise<unknown>): Promise<Unsubscribe> {
    return this.streams.read({
      keys: [this.conn.key(`rpc:${service}`)],
      group: SERVERS,
      ackAfter: true,
      onEntry: async (_key, entry) => {
        const r = JSON.parse(entry.fields.r ?? 'null') as { id: string; node: string; deadline: number } & ServiceRequest;
        // Nobody waits for it any more: an action is never carried out after its requester gave up.
        if (Date.now() >= r.deadline) return;
        const reply = await answer(handler, { op: r.op, body: r.body });
        await this.conn.cmd.publish(this.conn.key(`reply:${r.node}`), JSON.stringify({ id: r.id, reply }));
      },
    });
  }

  async request(service: string, request: ServiceRequest, timeoutMs: number): Promise<ServiceReply> {
    const { conn } = this;
    // Redis is away: the request would wait in the client's queue and find nobody waiting for it; say so at once.
    if (!conn.cmd.isReady || !conn.sub.isReady) {
      throw new BusError('PLANTA_BUS_UNREACHABLE', `the ${service} service cannot be asked: no connection to Redis at ${redactUrl(conn.o.url)}; nothing was sent, and nothing will be done later`);
    }
    this.replies ??= conn.sub.subscribe(conn.key(`reply:${this.node}`), (message) => {
      try {
        const { id, reply } = JSON.parse(message) as { id: string; reply: ServiceReply };
        this.waiting.get(id)?.(reply);
      } catch (err) {
        conn.log?.warn({ code: 'PLANTA_BUS_BAD_MESSAGE', err: (err as Error).message }, 'unreadable reply dropped');
      }
    });
    await this.replies;
    const id = randomUUID();
    const key = conn.key(`rpc:${service}`);
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<ServiceReply>((resolve, reject) => {
        this.waiting.set(id, resolve);
        timer = setTimeout(
          () => reject(new BusError('PLANTA_BUS_NO_ANSWER', `the ${service} service did not answer within ${timeoutMs} ms (is its process running?)`)),
          timeoutMs,
        );
        // A group exists before the first request: one sent while the service restarts waits for it (until its deadline).
        this.streams
          .ensureGroup(key, SERVERS)
          .then(() => conn.cmd.sendCommand(['XADD', key, 'MAXLEN', '~', '10000', '*', 'r', JSON.stringify({ id, node: this.node, deadline, ...request })]))
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }
}
