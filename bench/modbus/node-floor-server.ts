/**
 * Node's floor for a Modbus/TCP server in bench:modbus: what any server in
 * Node pays before doing Modbus. It reads like Planta's server (the `onread`
 * buffer) and answers every frame with one canned FC03 x 125 reply (the
 * transaction id copied), one socket.write per read — no decoding, no
 * handler, no encoding. Not a server: a reference.
 * usage: node-floor-server.ts PORT — prints "listening PORT" when ready.
 */
import net from 'node:net';

const reply = Buffer.alloc(7 + 2 + 250);
reply.writeUInt16BE(253, 4);
reply[6] = 1;
reply[7] = 3;
reply[8] = 250;
for (let i = 0; i < 125; i++) reply.writeUInt16BE(i, 9 + 2 * i);
const readBuffer = Buffer.allocUnsafe(64 * 1024);

const server = net.createServer({ pauseOnConnect: true }, (raw) => {
  // The handle moved onto a socket that reads into one buffer, as src/modbus/server.ts adopt() does.
  const holder = raw as unknown as { _handle: unknown };
  const handle = holder._handle;
  holder._handle = null;
  raw.destroy();
  const socket: net.Socket = new net.Socket({
    handle,
    onread: {
      buffer: readBuffer,
      callback: (_n: number, buf: Uint8Array): boolean => {
        reply[0] = buf[0]!;
        reply[1] = buf[1]!;
        socket.write(reply);
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as net.AddressInfo).port}`));
process.on('SIGTERM', () => process.exit(0));
