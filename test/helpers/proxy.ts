/** A TCP proxy on loopback that can be stopped (every connection cut, the port refused) and started again: a network outage to one peer. */
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

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
      down.pipe(up).pipe(down);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.sockets) c.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
