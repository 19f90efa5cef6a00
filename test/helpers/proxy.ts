/**
 * A TCP proxy on loopback that can be stopped (every connection cut, the port refused) and started again: a network outage to one peer;
 * or made silent (connections stay open, nothing passes either way): a cable pulled, where no reset ever comes; or its open connections
 * silenced while new ones pass (a firewall or NAT that lost their state, a route that changed).
 *
 * A pulled cable holds bytes back, it does not lose them: TCP retransmits, so once the cable is back what was sent
 * arrives, in order (a connection that gave up meanwhile is gone). Dropping them instead would hand a peer replies
 * shifted against its requests — a fault no TCP link produces. A connection silenced for good loses them.
 */
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private held = false;
  /** Client sides of the connections silenced for good. */
  private readonly muted = new WeakSet<net.Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    this.server = net.createServer((down) => {
      const up = net.connect(this.target.port, this.target.host);
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          down.destroy();
          up.destroy();
        });
      }
      const dropped = (): boolean => this.muted.has(down);
      down.on('data', (d: Buffer) => void (dropped() || up.write(d)));
      up.on('data', (d: Buffer) => void (dropped() || down.write(d)));
      if (this.held) for (const s of [down, up]) s.pause();
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Bytes are held back both ways, connections kept; when it ends, what was held passes, in order. */
  get silent(): boolean {
    return this.held;
  }

  set silent(on: boolean) {
    this.held = on;
    for (const s of this.sockets) {
      if (on) s.pause();
      else s.resume();
    }
  }

  /** The connections open now pass nothing any more, and are never reset; new ones pass. */
  silenceOpenConnections(): void {
    for (const s of this.sockets) this.muted.add(s);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.sockets) c.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
