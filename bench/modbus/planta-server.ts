/**
 * Planta's server for bench:modbus, with the data pattern of test/peers/c/lm-server.c.
 * usage: planta-server.ts PORT — prints "listening PORT" when ready.
 */
import { BitArea, ModbusTcpServer, RegisterArea, createAreaHandler } from '../../src/modbus/index.js';

const SIZE = 10000;
const coils = new BitArea(SIZE);
const discreteInputs = new BitArea(SIZE);
const holdingRegisters = new RegisterArea(SIZE);
const inputRegisters = new RegisterArea(SIZE);
for (let i = 0; i < SIZE; i++) {
  coils.set(i, i % 3 === 0);
  discreteInputs.set(i, i % 2 === 1);
  holdingRegisters.set(i, i);
  inputRegisters.set(i, (i * 7) & 0xffff);
}
const server = new ModbusTcpServer({
  port: Number(process.argv[2] ?? 0),
  handler: createAreaHandler({ coils, discreteInputs, holdingRegisters, inputRegisters }),
});
const { port } = await server.listen();
console.log(`listening ${port}`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
