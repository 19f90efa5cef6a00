/**
 * The far end of bench:rtu's serial line: a Modbus RTU device (unit 1) that
 * also plays the wire. A pty moves bytes at memory speed whatever its baud
 * rate, so this device answers each request when a real half-duplex line
 * would deliver the answer: the request's characters, then the 3.5-character
 * silence, then the reply's characters (bits per character / baud each),
 * counted from the request's arrival. The client measured against it sees
 * the timing of a line at that baud with a device that answers at the
 * earliest the spec allows; deliveries are timed to tens of microseconds by the
 * fine timer the serial transport uses (a thread asleep until the time: no
 * busy CPU taken from the other processes when all share one core).
 * usage: device.ts PATH BAUD   (8N1) — prints "serving" when the port is open.
 */
import { ModbusRtuServer, RegisterArea, createAreaHandler, lineTiming } from '../../src/modbus/index.js';
import { preciseTimeout } from '../../src/modbus/precise-timer.js';

const [path, baudText] = process.argv.slice(2);
const baud = Number(baudText);
const t = lineTiming({ baud, parity: 'none', dataBits: 8, stopBits: 1 });
const registers = new RegisterArea(1000);
for (let i = 0; i < 1000; i++) registers.set(i, i);
const areas = createAreaHandler({ holdingRegisters: registers, inputRegisters: registers });

function at<T>(due: number, value: () => T, resolve: (v: T) => void): void {
  const left = due - performance.now();
  if (left > 0) preciseTimeout(left, () => at(due, value, resolve));
  else resolve(value());
}

const server = new ModbusRtuServer({
  units: [1],
  handler: (req, ctx) => {
    if (req.fc !== 3) return areas(req, ctx);
    const arrived = performance.now();
    // FC03: 8 characters of request; 5 + 2 per register of reply.
    const due = arrived + (8 + 5 + 2 * req.quantity) * t.charMs + t.interFrameMs;
    return new Promise((resolve) => at(due, () => areas(req, ctx), resolve));
  },
});
await server.listenSerial({ path: path!, baud, parity: 'none', dataBits: 8, stopBits: 1 });
console.log('serving');
